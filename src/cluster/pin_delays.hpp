#pragma once
// The node-local waits of PIN checks into a room under attack (PinVerdict::Action::delay).
// At most one per address key on this node, so an address's parallel connections do not
// wait in parallel; a wait ends early only when its connection closes or sends another
// JOIN (cancel). Bounded by the connections that make them.
#include "cluster/outbox.hpp"
#include "protocol/event.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace tandem::cluster {

class PinDelays {
 public:
  explicit PinDelays(boost::asio::any_io_executor executor);
  ~PinDelays();
  PinDelays(const PinDelays&) = delete;
  PinDelays& operator=(const PinDelays&) = delete;

  bool in_flight(const std::string& address_key) const { return addresses_.count(address_key) > 0; }
  // Runs `then` after `wait`, unless cancel(conn) comes first. False (nothing armed) when
  // the address already has a waiting check.
  bool start(ConnId conn, const std::string& address_key, protocol::Millis wait,
             std::function<void()> then);
  void cancel(ConnId conn);
  std::size_t size() const noexcept { return waiting_.size(); }

 private:
  struct Waiting {
    std::string address_key;
    std::shared_ptr<boost::asio::steady_timer> timer;
    std::function<void()> then;
  };
  void fire(ConnId conn, const std::shared_ptr<boost::asio::steady_timer>& timer);

  boost::asio::any_io_executor executor_;
  std::unordered_map<ConnId, Waiting> waiting_;
  std::unordered_set<std::string> addresses_;
  std::shared_ptr<PinDelays*> alive_;  // timers' handlers hold it weakly
};

}  // namespace tandem::cluster
