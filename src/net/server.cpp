#include "net/server.hpp"

#include "net/client_address.hpp"
#include "net/http_routes.hpp"
#include "net/http_session.hpp"
#include "net/static_assets.hpp"
#include "net/ws_session.hpp"
#include "obs/clock.hpp"

#include <boost/asio/ip/address.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>

namespace tandem::net {
namespace {

// A sixteenth of the idle timeout, within [10 ms, 1 s]: a silent connection is closed
// between idle_timeout and idle_timeout + 2 ticks after its last message (2 min + 2 s by
// default).
std::chrono::steady_clock::duration tick_period(std::chrono::milliseconds timeout) {
  const std::chrono::steady_clock::duration t = std::max(timeout, std::chrono::milliseconds(1));
  return std::clamp<std::chrono::steady_clock::duration>(t / 16, std::chrono::milliseconds(10),
                                                         std::chrono::seconds(1));
}

// Addresses whose room creations are counted at once; when full of live windows, a new
// address is refused a room until one expires (cluster::AddressRate fails closed).
constexpr std::size_t kNewRoomAddressesMax = 100'000;
constexpr protocol::Millis kNewRoomWindow = 60'000;
constexpr std::size_t kLoggedOriginMax = 200;  // characters of an Origin in a log line

// An Origin header as a log field: printable ASCII (anything else as '?'), cut short.
std::string loggable_origin(std::string_view origin) {
  std::string out(origin.substr(0, kLoggedOriginMax));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

protocol::Millis steady_now_ms() { return static_cast<protocol::Millis>(obs::steady_clock_ms()); }

// Whole ticks of silence that make a connection stale (the timeout, rounded up).
std::uint64_t timeout_ticks(std::chrono::milliseconds timeout,
                            std::chrono::steady_clock::duration period) {
  const std::chrono::steady_clock::duration t = std::max(timeout, std::chrono::milliseconds(1));
  return static_cast<std::uint64_t>((t + period - std::chrono::nanoseconds(1)) / period);
}

}  // namespace

Server::Server(Executor executor, NetConfig config, cluster::Rooms& rooms,
               obs::Registry& registry, obs::Logger& logger)
    : executor_(executor),
      config_(std::move(config)),
      rooms_(rooms),
      logger_(logger),
      metrics_(registry),
      routes_(std::make_unique<HttpRoutes>(*this, registry)),
      acceptor_(executor),
      admission_(config_.max_http_connections, config_.max_pending_per_ip),
      new_rooms_(config_.room_max_new_per_address, kNewRoomWindow, kNewRoomAddressesMax),
      accept_timer_(executor),
      drain_timer_(executor),
      idle_timer_(executor),
      idle_period_(tick_period(config_.idle_timeout)),
      idle_wheel_(timeout_ticks(config_.idle_timeout, idle_period_)) {
  // The rooms ask when a JOIN would create a room (they know; asking first cost a read).
  rooms_.set_new_room_gate([this](const std::string& client, const std::string& room_id) {
    return refuse_new_room(client, room_id);
  });
}

Server::~Server() { rooms_.set_new_room_gate({}); }

std::uint16_t Server::start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(config_.host, ec);
  if (ec) throw std::runtime_error("HOST is not an IP address: " + config_.host);
  const tcp::endpoint endpoint{address, config_.port};
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + config_.host + ":" +
                             std::to_string(config_.port) + ": " + ec.message());
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
  // A connection reaches accept() only once its first bytes have arrived (or the kernel
  // gave up waiting, after about the request timeout): idle connections wait in the
  // kernel's queue of half-open connections instead of in the accept queue ahead of
  // prompt clients, and cost no descriptor or session here (docs/SECURITY.md).
  const auto defer = std::chrono::ceil<std::chrono::seconds>(config_.request_timeout);
  const int defer_seconds = std::max(1, static_cast<int>(defer.count()));
  // Linux only; where it fails, the admission policy below still holds (one lost defence).
  ::setsockopt(acceptor_.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds,
               sizeof defer_seconds);
  do_accept();
  idle_timer_.expires_after(idle_period_);
  arm_idle_tick();
  const std::uint16_t port = acceptor_.local_endpoint().port();
  if (config_.public_url.empty()) config_.public_url = "http://localhost:" + std::to_string(port);
  own_origin_ = url_origin(config_.public_url).value_or("");
  return port;
}

void Server::do_accept() {
  acceptor_.async_accept(
      [this](beast::error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void Server::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    // EMFILE and friends: keep serving the connections we have; the connection waits in
    // the backlog while accepting pauses (AcceptThrottle: no busy loop, few log lines).
    metrics_.accept_failures.inc();
    const AcceptThrottle::Step step = accept_throttle_.on_failure(AcceptThrottle::Clock::now());
    if (step.log) {
      logger_.warn("accept_failed", {{"error", ec.message()},
                                     {"failures", *step.log},
                                     {"retryMs", step.delay.count()}});
    }
    accept_timer_.expires_after(step.delay);
    accept_timer_.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor_.is_open()) do_accept();
    });
    return;
  }
  accept_throttle_.on_success();
  beast::error_code peer_ec;
  const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
  if (peer_ec) {  // already reset by the peer
    if (acceptor_.is_open()) do_accept();
    return;
  }
  const asio::ip::address address = unmap(peer.address());
  const std::uint64_t id = next_http_id_++;
  const HttpAdmission::Admit admit =
      admission_.open(id, address.to_string(), config_.trusted_proxies.contains(address));
  if (admit.evict) evict_http(*admit.evict);
  if (!admit.admitted) {
    metrics_.http_refused.inc();
    beast::error_code ignored;
    socket.close(ignored);
  } else {
    socket.set_option(tcp::no_delay(true), ec);
    auto session = std::make_shared<HttpSession>(std::move(socket), *this, id, address);
    http_sessions_.emplace(id, session.get());
    metrics_.http_connections.set(static_cast<double>(http_sessions_.size()));
    session->run();
  }
  if (acceptor_.is_open()) do_accept();
}

void Server::evict_http(const HttpAdmission::Eviction& eviction) {
  if (eviction.reason == HttpAdmission::Reason::per_address) {
    metrics_.http_evicted_per_ip.inc();
  } else {
    metrics_.http_evicted_full.inc();
  }
  // The session's pending operation fails; it is destroyed when that completes.
  if (auto it = http_sessions_.find(eviction.id); it != http_sessions_.end()) it->second->abort();
}

void Server::http_waiting_request(std::uint64_t id) {
  if (auto evict = admission_.wait_request(id)) evict_http(*evict);
}

void Server::http_writing(std::uint64_t id) { admission_.wait_write(id); }

void Server::http_busy(std::uint64_t id) { admission_.busy(id); }

void Server::http_closed(std::uint64_t id) {
  admission_.close(id);
  http_sessions_.erase(id);
  metrics_.http_connections.set(static_cast<double>(http_sessions_.size()));
}

std::string Server::client_address(const asio::ip::address& peer,
                                   std::string_view forwarded_for) const {
  return resolve_client_address(peer, forwarded_for, config_.trusted_proxies).to_string();
}

bool Server::reserve_client(const std::string& address) {
  const auto it = clients_.find(address);
  if (it != clients_.end() && it->second >= config_.max_connections_per_ip) return false;
  ++clients_[address];
  return true;
}

void Server::release_client(const std::string& address) {
  const auto it = clients_.find(address);
  if (it == clients_.end()) return;
  if (--it->second == 0) clients_.erase(it);
}

bool Server::check_origin(std::string_view origin, const std::string& client) {
  const OriginPolicy::Verdict verdict = config_.allowed_origins.check(origin, own_origin_);
  metrics_.ws_origins[OriginPolicy::label(verdict)].inc();
  if (verdict == OriginPolicy::Verdict::allowed || verdict == OriginPolicy::Verdict::absent) {
    return true;
  }
  std::uint64_t held_back = 0;
  if (origin_log_.allow(steady_now_ms(), held_back)) {
    logger_.info("ws_origin_" + std::string(OriginPolicy::label(verdict)),
                 {{"origin", loggable_origin(origin)},
                  {"remote", client},
                  {"heldBack", static_cast<std::int64_t>(held_back)}});
  }
  return verdict == OriginPolicy::Verdict::unlisted;
}

std::optional<protocol::Millis> Server::refuse_new_room(const std::string& client,
                                                        const std::string& room_id) {
  const auto decision = new_rooms_.take(client, steady_now_ms(), room_id);
  if (decision.allowed) return std::nullopt;
  metrics_.new_rooms_refused.inc();
  std::uint64_t held_back = 0;
  if (new_room_log_.allow(steady_now_ms(), held_back)) {
    logger_.warn("new_room_refused", {{"room", room_id},
                                      {"remote", client},
                                      {"heldBack", static_cast<std::int64_t>(held_back)}});
  }
  return decision.retry_after;
}

bool Server::can_accept_session() const noexcept {
  return !draining_ && sessions_.size() < config_.max_connections;
}

cluster::ConnId Server::add_session(WsSession* session) {
  const cluster::ConnId id = next_id_++;
  sessions_.emplace(id, session);
  metrics_.connections.set(static_cast<double>(sessions_.size()));
  metrics_.connections_total.inc();
  return id;
}

void Server::remove_session(cluster::ConnId id) {
  sessions_.erase(id);
  metrics_.connections.set(static_cast<double>(sessions_.size()));
  if (draining_) check_drained();
}

void Server::send(cluster::ConnId conn, const protocol::Frame& frame) {
  if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->send(frame);
}

void Server::close(cluster::ConnId conn, std::uint16_t code, std::string_view reason) {
  if (auto it = sessions_.find(conn); it != sessions_.end()) it->second->close(code, reason);
}

void Server::drain(std::function<void()> done) {
  if (draining_) return;
  draining_ = true;
  drained_ = std::move(done);
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_timer_.cancel();
  logger_.info("draining", {{"connections", sessions_.size()}});
  // Copy the ids: closing may complete synchronously and remove sessions.
  std::vector<cluster::ConnId> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) ids.push_back(id);
  for (auto id : ids) close(id, 1001, "server shutting down");
  drain_timer_.expires_after(config_.drain_timeout);
  drain_timer_.async_wait([this](beast::error_code ec) {
    if (ec) return;
    logger_.warn("drain_timeout", {{"connections", sessions_.size()}});
    if (drained_) std::exchange(drained_, nullptr)();
  });
  check_drained();
}

void Server::abort_all() {
  draining_ = true;
  beast::error_code ignored;
  acceptor_.close(ignored);
  accept_timer_.cancel();
  drain_timer_.cancel();
  idle_timer_.cancel();
  drained_ = nullptr;
  for (const auto& [id, session] : sessions_) session->abort();
  for (const auto& [id, session] : http_sessions_) session->abort();
}

void Server::watch_idle(cluster::ConnId id) {
  idle_wheel_.watch(id, sessions_.size(),
                    [this](cluster::ConnId conn) { return sessions_.contains(conn); });
}

void Server::arm_idle_tick() {
  idle_timer_.async_wait([this](beast::error_code ec) {
    if (ec) return;  // cancelled: the Server may be gone
    on_idle_tick();
  });
}

void Server::on_idle_tick() {
  idle_wheel_.advance(
      [this](cluster::ConnId id) -> std::optional<std::uint64_t> {
        const auto it = sessions_.find(id);
        if (it == sessions_.end()) return std::nullopt;
        return it->second->last_active_tick();
      },
      // May remove the session from sessions_ at once.
      [this](cluster::ConnId id) { sessions_.at(id)->expire_idle(); });
  // Fixed-rate ticks: a slow pass does not stretch the timeout.
  idle_timer_.expires_at(idle_timer_.expiry() + idle_period_);
  arm_idle_tick();
}

void Server::check_drained() {
  if (!sessions_.empty() || !drained_) return;
  drain_timer_.cancel();
  std::exchange(drained_, nullptr)();
}

}  // namespace tandem::net
