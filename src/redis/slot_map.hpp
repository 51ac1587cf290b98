#pragma once
// Which master of a Redis Cluster owns each of the 16384 slots, as CLUSTER SLOTS tells it,
// and the redirects (MOVED, ASK) by which a master says a slot is served elsewhere. Pure.
#include "redis/hash_slot.hpp"
#include "redis/redis_config.hpp"
#include "redis/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tandem::redis {

class SlotMap {
 public:
  // From a CLUSTER SLOTS reply given by a node reached at `asked_host` (an empty address in
  // the reply means that host). nullopt, and why, when the reply is malformed or leaves a
  // slot without a master (a cluster that is not fully set up).
  static std::optional<SlotMap> from_cluster_slots(const Reply& reply, const std::string& asked_host,
                                                   std::string* error = nullptr);

  const Endpoint& master_of(std::uint16_t slot) const { return masters_[owner_[slot]]; }
  const std::vector<Endpoint>& masters() const noexcept { return masters_; }
  // A MOVED redirect: the slot is served by `to` from now on.
  void move(std::uint16_t slot, const Endpoint& to);

 private:
  std::vector<Endpoint> masters_;
  std::vector<std::uint16_t> owner_;  // per slot, an index into masters_
};

struct Redirect {
  bool ask = false;  // ASK: this command only, after ASKING; MOVED: from now on
  std::uint16_t slot = 0;
  Endpoint to;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381", else nullopt.
std::optional<Redirect> parse_redirect(const Reply& reply);

}  // namespace tandem::redis
