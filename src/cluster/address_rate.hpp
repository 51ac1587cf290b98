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
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem::cluster {

class AddressRate {
 public:
  AddressRate(std::size_t limit, protocol::Millis window, std::size_t max_addresses)
      : limit_(limit), window_(window), max_addresses_(max_addresses) {}

  struct Decision {
    bool allowed = false;
    protocol::Millis retry_after = 0;  // when refused: until this address's window ends
  };
  // Counts one event for `address` if it is within the limit. `item` (optional) names what
  // is counted: an item the address already counted in its window is allowed without
  // counting again (a room that several connections of one address are creating at once
  // is one room). At most `limit` items are kept per address: memory follows what was
  // counted.
  Decision take(const std::string& address, protocol::Millis now, std::string_view item = {});

  std::size_t size() const noexcept { return windows_.size(); }

 private:
  struct Window {
    protocol::Millis start = 0;
    std::size_t count = 0;
    std::vector<std::string> items;  // counted in this window (when named)
  };
  void prune(protocol::Millis now);

  std::size_t limit_;
  protocol::Millis window_;
  std::size_t max_addresses_;
  std::unordered_map<std::string, Window> windows_;
  protocol::Millis pruned_at_ = 0;
};

}  // namespace tandem::cluster
