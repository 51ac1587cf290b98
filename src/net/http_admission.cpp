#include "net/http_admission.hpp"

#include <algorithm>

namespace tandem::net {

HttpAdmission::HttpAdmission(std::size_t max_connections, std::size_t max_waiting_per_address)
    : max_connections_(std::max<std::size_t>(max_connections, 1)),
      max_waiting_per_address_(std::max<std::size_t>(max_waiting_per_address, 1)) {}

HttpAdmission::Admit HttpAdmission::open(Id id, const std::string& address, bool exempt) {
  Admit result;
  if (entries_.size() >= max_connections_) {
    // The address's own oldest waiting connection goes first if it is at its cap (that
    // also makes room); otherwise the oldest evictable one of any address.
    const auto own = waiting_.find(address);
    if (!exempt && own != waiting_.end() && own->second.size() >= max_waiting_per_address_) {
      result.evict = Eviction{own->second.front(), Reason::per_address};
    } else if (!evictable_.empty()) {
      result.evict = Eviction{evictable_.front(), Reason::max_connections};
    } else {
      return result;  // every connection is busy: refuse the new one
    }
    close(result.evict->id);
  }
  auto [it, inserted] = entries_.try_emplace(id);
  if (!inserted) return result;  // ids are unique; a repeat is ignored
  it->second.address = address;
  it->second.exempt = exempt;
  result.admitted = true;
  // At most one eviction per new connection: when the table was full, the one above made
  // room and left this address below its cap (or it is exempt).
  if (auto more = enter_waiting(id, it->second)) result.evict = more;
  return result;
}

std::optional<HttpAdmission::Eviction> HttpAdmission::wait_request(Id id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  leave_state(it->second);
  return enter_waiting(id, it->second);
}

void HttpAdmission::wait_write(Id id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  leave_state(it->second);
  it->second.state = State::writing;
  it->second.evictable = evictable_.insert(evictable_.end(), id);
}

void HttpAdmission::busy(Id id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  leave_state(it->second);
}

void HttpAdmission::close(Id id) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  leave_state(it->second);
  entries_.erase(it);
}

std::size_t HttpAdmission::waiting(const std::string& address) const {
  const auto it = waiting_.find(address);
  return it == waiting_.end() ? 0 : it->second.size();
}

void HttpAdmission::leave_state(Entry& entry) {
  if (entry.state == State::busy) return;
  evictable_.erase(entry.evictable);
  if (entry.state == State::waiting && !entry.exempt) {
    const auto list = waiting_.find(entry.address);
    list->second.erase(entry.waiting);
    if (list->second.empty()) waiting_.erase(list);
  }
  entry.state = State::busy;
}

// Files `id` as waiting; past its address's cap, the address's oldest waiting connection
// (never `id` itself: the cap is at least 1) is evicted and returned.
std::optional<HttpAdmission::Eviction> HttpAdmission::enter_waiting(Id id, Entry& entry) {
  entry.state = State::waiting;
  entry.evictable = evictable_.insert(evictable_.end(), id);
  if (entry.exempt) return std::nullopt;
  std::list<Id>& list = waiting_[entry.address];
  entry.waiting = list.insert(list.end(), id);
  if (list.size() <= max_waiting_per_address_) return std::nullopt;
  const Id oldest = list.front();
  close(oldest);
  return Eviction{oldest, Reason::per_address};
}

}  // namespace tandem::net
