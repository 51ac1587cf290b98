#pragma once
// The listener and the registry of live WebSocket sessions. Implements cluster::Outbox so
// the room layer can reach connections by id. Runs on the single event-loop thread.
#include "cluster/address_rate.hpp"
#include "cluster/outbox.hpp"
#include "cluster/rooms.hpp"
#include "net/accept_throttle.hpp"
#include "net/http_admission.hpp"
#include "net/idle_wheel.hpp"
#include "net/net_metrics.hpp"
#include "net/types.hpp"
#include "obs/log_throttle.hpp"
#include "obs/logger.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace tandem::net {

class WsSession;
class HttpSession;
class HttpRoutes;

class Server final : public cluster::Outbox {
 public:
  Server(Executor executor, NetConfig config, cluster::Rooms& rooms, obs::Registry& registry,
         obs::Logger& logger);
  ~Server() override;

  // Binds and starts accepting. Returns the bound port (useful with port 0).
  std::uint16_t start();
  // Graceful drain: /ready turns 503, stop accepting, close every WebSocket with 1001,
  // wait for them up to the drain timeout, then call `done`.
  void drain(std::function<void()> done);
  bool draining() const noexcept { return draining_; }
  // After the loop stopped: closes the listener and every connection's socket, so that
  // running the loop a little longer completes and destroys every session while the
  // Server still exists. open_connections() tells when that is done.
  void abort_all();
  std::size_t open_connections() const noexcept {
    return sessions_.size() + http_sessions_.size();
  }
  // Sessions hold this: their destructors must not reach a destroyed Server.
  std::weak_ptr<void> liveness() const { return alive_; }

  // cluster::Outbox
  void send(cluster::ConnId conn, const protocol::Frame& frame) override;
  void close(cluster::ConnId conn, std::uint16_t code, std::string_view reason) override;

  // For sessions.
  cluster::ConnId add_session(WsSession* session);
  void remove_session(cluster::ConnId id);
  bool can_accept_session() const noexcept;
  std::size_t session_count() const noexcept { return sessions_.size(); }
  // Idle connections: a session notes idle_tick() whenever a message arrives and is
  // watched from its accept on. One timer ticks every idle_period_ and checks only the
  // sessions whose silence may have reached NetConfig::idle_timeout (a wheel of slots, one
  // per tick, IdleWheel): a connection costs an id in one slot, not a timer of its own.
  void watch_idle(cluster::ConnId id);
  std::uint64_t idle_tick() const noexcept { return idle_wheel_.now(); }

  // Plain HTTP connections (HttpAdmission): what each is waiting for. A session is admitted
  // by the accept, evicted (aborted) when the admission policy says so, and reports the
  // state changes of its connection.
  void http_waiting_request(std::uint64_t id);
  void http_writing(std::uint64_t id);
  void http_busy(std::uint64_t id);
  void http_closed(std::uint64_t id);

  // The client address of a request arriving from `peer` (TRUSTED_PROXIES and
  // X-Forwarded-For; docs/SECURITY.md).
  std::string client_address(const asio::ip::address& peer,
                             std::string_view forwarded_for) const;
  // WebSocket sessions per client address: false when `address` has MAX_CONNECTIONS_PER_IP
  // already (nothing is counted then). Each true is matched by one release_client.
  bool reserve_client(const std::string& address);
  void release_client(const std::string& address);
  // ALLOWED_ORIGINS for a WebSocket upgrade (`origin`: the header, "" when absent): counts
  // the verdict and logs unlisted and refused origins (at most one line per 10 s). False:
  // refuse the upgrade.
  bool check_origin(std::string_view origin, const std::string& client);
  // ROOM_MAX_NEW_PER_ADDRESS: counts a room `client` is about to create. When the address
  // is past its limit, nothing is counted, the refusal is counted and logged (at most one
  // line per 10 s), and the answer is how long until the address may create one again.
  std::optional<protocol::Millis> refuse_new_room(const std::string& client,
                                                  const std::string& room_id);

  const NetConfig& config() const noexcept { return config_; }
  cluster::Rooms& rooms() noexcept { return rooms_; }
  NetMetrics& metrics() noexcept { return metrics_; }
  obs::Logger& logger() noexcept { return logger_; }
  HttpRoutes& routes() noexcept { return *routes_; }
  Executor executor() const { return executor_; }

 private:
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void evict_http(const HttpAdmission::Eviction& eviction);
  void check_drained();
  void arm_idle_tick();
  void on_idle_tick();

  Executor executor_;
  NetConfig config_;
  cluster::Rooms& rooms_;
  obs::Logger& logger_;
  NetMetrics metrics_;
  std::unique_ptr<HttpRoutes> routes_;
  tcp::acceptor acceptor_;
  boost::unordered_flat_map<cluster::ConnId, WsSession*> sessions_;  // one lookup per delivery
  cluster::ConnId next_id_ = 1;
  std::unordered_map<std::uint64_t, HttpSession*> http_sessions_;
  std::uint64_t next_http_id_ = 1;
  HttpAdmission admission_;
  boost::unordered_flat_map<std::string, std::size_t> clients_;  // WebSocket sessions per address
  std::string own_origin_;                 // PUBLIC_URL's origin, always allowed
  cluster::AddressRate new_rooms_;         // rooms created per client address and minute
  obs::LogThrottle origin_log_{10'000};    // unlisted and refused origins
  obs::LogThrottle new_room_log_{10'000};  // refused room creations
  AcceptThrottle accept_throttle_;
  asio::steady_timer accept_timer_;  // the pause after a failed accept
  bool draining_ = false;
  std::function<void()> drained_;
  asio::steady_timer drain_timer_;
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::duration idle_period_;
  IdleWheel idle_wheel_;
  std::shared_ptr<void> alive_ = std::make_shared<int>(0);
};

}  // namespace tandem::net
