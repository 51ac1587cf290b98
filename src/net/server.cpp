#include "net/server.hpp"

#include "net/http_routes.hpp"
#include "net/http_session.hpp"
#include "net/ws_session.hpp"

#include <boost/asio/ip/address.hpp>

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
      drain_timer_(executor),
      idle_timer_(executor),
      idle_period_(tick_period(config_.idle_timeout)),
      idle_wheel_(timeout_ticks(config_.idle_timeout, idle_period_)) {}

Server::~Server() = default;

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
  do_accept();
  idle_timer_.expires_after(idle_period_);
  arm_idle_tick();
  const std::uint16_t port = acceptor_.local_endpoint().port();
  if (config_.public_url.empty()) config_.public_url = "http://localhost:" + std::to_string(port);
  return port;
}

void Server::do_accept() {
  acceptor_.async_accept([this](beast::error_code ec,
                                                              tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      // EMFILE and friends: keep serving the connections we have, try again shortly.
      logger_.warn("accept_failed", {{"error", ec.message()}});
    } else if (http_sessions_.size() >= config_.max_http_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), *this)->run();
    }
    if (acceptor_.is_open()) do_accept();
  });
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
  drain_timer_.cancel();
  idle_timer_.cancel();
  drained_ = nullptr;
  for (const auto& [id, session] : sessions_) session->abort();
  for (HttpSession* session : http_sessions_) session->abort();
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
