#pragma once
// IdleWheel: which connections have been silent for the idle timeout, checked on a coarse
// clock of ticks without a timer per connection. Sans IO: the Server advances it from one
// timer and tells it how to find a session's last active tick and how to expire one.
//
// Each watched id sits in the slot of the tick at which its connection may first be stale
// (a wheel of timeout_ticks + 2 slots, so a due tick never lands on the slot being
// processed). advance() checks only the slot that has come due: a connection silent for
// more than timeout_ticks whole ticks is expired, one that spoke since moves to the slot of
// its own due tick. An id whose connection is gone stays until its slot comes due, or until
// such ids outnumber the live ones, when a sweep removes them all: the wheel never holds
// more than 2 x live + kSlack ids, and each sweep at least halves it (amortized O(1)).
#include "cluster/rooms.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace tandem::net {

class IdleWheel {
 public:
  static constexpr std::size_t kSlack = 4096;

  explicit IdleWheel(std::uint64_t timeout_ticks)
      : timeout_ticks_(timeout_ticks), slots_(timeout_ticks + 2) {}

  // Ticks advanced so far: what a connection records as its last active tick.
  std::uint64_t now() const noexcept { return tick_; }
  std::size_t entries() const noexcept { return entries_; }

  // Starts watching `id`, active now. `live` counts the watched connections that are still
  // open (this one included); is_live(id) tells whether one is.
  template <class IsLive>
  void watch(cluster::ConnId id, std::size_t live, IsLive&& is_live) {
    if (entries_ >= 2 * live + kSlack) sweep(is_live);
    file(id, tick_ + timeout_ticks_ + 1);
  }

  // One tick. last_active(id) returns the connection's last active tick, or nullopt when
  // it is gone; expire(id) is called for each connection silent for the whole timeout (it
  // may close the connection at once).
  template <class LastActive, class Expire>
  void advance(LastActive&& last_active, Expire&& expire) {
    ++tick_;
    std::vector<cluster::ConnId> due;
    due.swap(slots_[tick_ % slots_.size()]);
    entries_ -= due.size();
    for (const cluster::ConnId id : due) {
      const std::optional<std::uint64_t> active = last_active(id);
      if (!active) continue;
      const std::uint64_t own_due = *active + timeout_ticks_ + 1;
      if (own_due <= tick_) {
        expire(id);
      } else {
        file(id, own_due);
      }
    }
    // Nothing is ever filed at the current tick, so its slot is empty: it gets its storage
    // back for its next turn (unless it held an unusual crowd).
    due.clear();
    if (due.capacity() <= kSlack) slots_[tick_ % slots_.size()].swap(due);
  }

 private:
  void file(cluster::ConnId id, std::uint64_t due) {
    slots_[due % slots_.size()].push_back(id);
    ++entries_;
  }

  template <class IsLive>
  void sweep(IsLive& is_live) {
    entries_ = 0;
    for (auto& slot : slots_) {
      std::erase_if(slot, [&](cluster::ConnId id) { return !is_live(id); });
      entries_ += slot.size();
    }
  }

  std::uint64_t timeout_ticks_;
  std::vector<std::vector<cluster::ConnId>> slots_;  // slot = due tick % size
  std::uint64_t tick_ = 0;
  std::size_t entries_ = 0;
};

}  // namespace tandem::net
