#pragma once
// Which plain HTTP connections the server keeps when connections arrive faster than they
// finish (docs/SECURITY.md, "Connection admission"). Pure: no IO; the Server closes what
// it says to evict.
//
// A connection is in one of three states. Waiting for a request (just accepted, or kept
// alive between requests): it has not proven anything yet. Writing a response: waiting for
// the peer to read. Busy: a request is being handled (the server's own work, e.g. a Redis
// round trip). Waiting and writing connections can be evicted, oldest first; busy ones are
// never evicted.
//
// - At most `max_connections` connections. A new one when the table is full evicts the
//   connection that has waited longest (for its request or for its peer to read); only when
//   every connection is busy is the new one refused. So a flood of idle connections cannot
//   starve a prompt client: its request is read long before the flood has opened another
//   `max_connections` connections behind it.
// - At most `max_waiting_per_address` connections of one peer address waiting for a
//   request; one more evicts that address's oldest waiting connection, so one address
//   cannot hold the table. Trusted proxies are exempt (their clients are many addresses).
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

namespace tandem::net {

class HttpAdmission {
 public:
  using Id = std::uint64_t;
  enum class Reason { max_connections, per_address };
  struct Eviction {
    Id id;
    Reason reason;
  };
  struct Admit {
    bool admitted = false;          // false: close the new connection (every one is busy)
    std::optional<Eviction> evict;  // close this one first (already forgotten here)
  };

  HttpAdmission(std::size_t max_connections, std::size_t max_waiting_per_address);

  // A new connection from `address`; when admitted, it waits for its first request.
  // `exempt`: not counted per address (a trusted proxy).
  Admit open(Id id, const std::string& address, bool exempt);
  // The connection waits for its next request (keep-alive). May evict an older waiting
  // connection of the same address.
  std::optional<Eviction> wait_request(Id id);
  // The connection waits for its peer to read a response.
  void wait_write(Id id);
  // A request is being handled: not evictable.
  void busy(Id id);
  // The connection is gone (closed, evicted, or handed to a WebSocket session). Unknown
  // ids are ignored.
  void close(Id id);

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t waiting(const std::string& address) const;

 private:
  enum class State { waiting, writing, busy };
  struct Entry {
    std::string address;
    bool exempt = false;
    State state = State::busy;
    std::list<Id>::iterator evictable;  // in evictable_ unless busy
    std::list<Id>::iterator waiting;    // in waiting_[address] while waiting (not exempt)
  };

  void leave_state(Entry& entry);
  std::optional<Eviction> enter_waiting(Id id, Entry& entry);

  std::size_t max_connections_;
  std::size_t max_waiting_per_address_;
  std::unordered_map<Id, Entry> entries_;
  std::list<Id> evictable_;                                 // waiting or writing, oldest first
  std::unordered_map<std::string, std::list<Id>> waiting_;  // per address, oldest first
};

}  // namespace tandem::net
