#pragma once
// A per-client-address rate: at most `limit` events per address in a fixed window (new
// short ids for rooms that do not exist yet, standalone mode; cluster mode keeps the same
// counter in Redis with a TTL). Pure: time is an argument.
//
// Memory is bounded: at most `max_addresses` windows are held. When the table is full of
// live windows, a new address is refused (fail closed): under a spray of more addresses
// than that in one window, new addresses wait for windows to expire rather than grow the
// table or bypass the limit.
#include "protocol/event.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

class AddressRate {
 public:
  AddressRate(std::size_t limit, protocol::Millis window, std::size_t max_addresses)
      : limit_(limit), window_(window), max_addresses_(max_addresses) {}

  struct Decision {
    bool allowed = false;
    protocol::Millis retry_after = 0;  // when refused: until this address's window ends
  };
  // Counts one event for `address` if it is within the limit.
  Decision take(const std::string& address, protocol::Millis now);

  std::size_t size() const noexcept { return windows_.size(); }

 private:
  struct Window {
    protocol::Millis start = 0;
    std::size_t count = 0;
  };
  void prune(protocol::Millis now);

  std::size_t limit_;
  protocol::Millis window_;
  std::size_t max_addresses_;
  std::unordered_map<std::string, Window> windows_;
  protocol::Millis pruned_at_ = 0;
};

}  // namespace tandem::cluster
