#include "cluster/pin_delays.hpp"

#include <chrono>

namespace tandem::cluster {

PinDelays::PinDelays(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), alive_(std::make_shared<PinDelays*>(this)) {}

PinDelays::~PinDelays() {
  for (auto& [conn, waiting] : waiting_) waiting.timer->cancel();
}

bool PinDelays::start(ConnId conn, const std::string& address_key, protocol::Millis wait,
                      std::function<void()> then) {
  cancel(conn);
  if (!addresses_.insert(address_key).second) return false;
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, std::chrono::milliseconds(wait));
  waiting_[conn] = Waiting{address_key, timer, std::move(then)};
  std::weak_ptr<PinDelays*> alive = alive_;
  timer->async_wait([alive, conn, timer](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (!ec && self) (**self).fire(conn, timer);
  });
  return true;
}

void PinDelays::fire(ConnId conn, const std::shared_ptr<boost::asio::steady_timer>& timer) {
  auto it = waiting_.find(conn);
  // A cancelled wait's timer may still complete (cancel raced its expiry): not ours.
  if (it == waiting_.end() || it->second.timer != timer) return;
  std::function<void()> then = std::move(it->second.then);
  addresses_.erase(it->second.address_key);
  waiting_.erase(it);
  then();  // last: it may start a new wait
}

void PinDelays::cancel(ConnId conn) {
  auto it = waiting_.find(conn);
  if (it == waiting_.end()) return;
  it->second.timer->cancel();
  addresses_.erase(it->second.address_key);
  waiting_.erase(it);
}

}  // namespace tandem::cluster
