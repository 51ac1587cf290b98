#pragma once
// How the room logic turns a PIN into a stored hash and checks one. The production
// implementation (salted PBKDF2, constant-time compare) lives outside room/ so the room
// library stays free of crypto and randomness; tests inject a deterministic one.
#include <string>
#include <string_view>

namespace tandem::room {

class PinHasher {
 public:
  virtual ~PinHasher() = default;
  // A self-describing encoded hash (algorithm, parameters, salt, digest).
  virtual std::string hash(std::string_view pin) const = 0;
  virtual bool verify(std::string_view pin, std::string_view encoded) const = 0;
};

}  // namespace tandem::room
