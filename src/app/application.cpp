#include "app/application.hpp"

#include "cluster/local_rooms.hpp"
#include "cluster/pbkdf2_pin_hasher.hpp"
#include "net/server.hpp"
#include "obs/metrics.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>

namespace tandem::app {

namespace {

// LocalRooms needs an Outbox and the Server needs the Rooms: this breaks the cycle.
class ServerOutbox final : public cluster::Outbox {
 public:
  void attach(net::Server* server) { server_ = server; }
  void send(cluster::ConnId conn, const protocol::Frame& frame) override {
    if (server_ != nullptr) server_->send(conn, frame);
  }
  void close(cluster::ConnId conn, std::uint16_t code, std::string_view reason) override {
    if (server_ != nullptr) server_->close(conn, code, reason);
  }

 private:
  net::Server* server_ = nullptr;
};

protocol::Millis wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int run_server(const Config& config) {
  obs::Logger logger(config.net.node_id, config.log_level);
  if (!config.redis_url.empty() || !config.database_url.empty()) {
    logger.error("unsupported_mode",
                 {{"detail",
                   "REDIS_URL/DATABASE_URL (cluster mode, PostgreSQL) are not available in this "
                   "version; unset them to run standalone"}});
    return 2;
  }

  boost::asio::io_context io{1};
  obs::Registry registry;
  const cluster::Pbkdf2PinHasher hasher(config.pin_hash_iterations);
  const room::RoomMachine machine(config.room, hasher);
  ServerOutbox outbox;
  cluster::LocalRooms rooms(io.get_executor(), outbox, machine, registry, logger,
                            cluster::LocalRoomsOptions{config.net.node_id, config.short_id_ttl},
                            wall_now);
  net::Server server(io.get_executor(), config.net, rooms, registry, logger);
  outbox.attach(&server);

  std::uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    logger.error("listen_failed", {{"error", e.what()}});
    return 1;
  }
  logger.info("listening", {{"host", config.net.host},
                            {"port", port},
                            {"mode", "standalone"},
                            {"reconnectGraceMs", config.room.reconnect_grace}});

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (stopping) {  // a second signal: stop now
          logger.warn("shutdown_forced", {{"signal", signal}});
          io.stop();
          return;
        }
        stopping = true;
        logger.info("shutdown_requested", {{"signal", signal}});
        server.drain([&] {
          logger.info("drained", {{"connections", server.session_count()}});
          signals.cancel();
          io.stop();
        });
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  // A handler must never let an exception escape; if one does, log it and keep serving.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      logger.error("handler_exception", {{"error", e.what()}});
    }
  }
  logger.info("stopped");
  return 0;
}

}  // namespace tandem::app
