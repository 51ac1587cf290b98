#include "app/application.hpp"

#include "cluster/caching_pin_hasher.hpp"
#include "cluster/local_rooms.hpp"
#include "cluster/pbkdf2_pin_hasher.hpp"
#include "cluster/redis_rooms.hpp"
#include "net/descriptor_limit.hpp"
#include "net/http_routes.hpp"
#include "net/server.hpp"
#include "obs/clock.hpp"
#include "obs/metrics.hpp"
#include "store/journal.hpp"
#include "store/postgres_store.hpp"
#include "store/restore.hpp"
#include "store/sqlite_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>

namespace tandem::app {

namespace {

// The journal's flush at shutdown gets this long after the drain (DRAIN_TIMEOUT_MS <= 11 s
// keeps the whole shutdown within 15 s).
constexpr auto kFlushBudget = std::chrono::seconds(3);

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

class JournalSink final : public cluster::RoomJournal {
 public:
  explicit JournalSink(store::Journal& journal) : journal_(journal) {}
  void append(store::JournalEntry entry) override { journal_.append(std::move(entry)); }

 private:
  store::Journal& journal_;
};

std::unique_ptr<store::Store> make_store(const Config& config) {
  if (!config.database_url.empty()) {
    return std::make_unique<store::PostgresStore>(config.database_url);
  }
  return std::make_unique<store::SqliteStore>(config.data_dir);
}

cluster::ShortIdOptions short_id_options(const Config& config) {
  return cluster::ShortIdOptions{config.short_id_ttl, config.short_id_pending_ttl,
                                 config.short_id_max_pending};
}

boost::json::array events_to_json(const std::vector<store::StoredEvent>& events) {
  boost::json::array rows;
  rows.reserve(events.size());
  for (const auto& e : events) {
    boost::system::error_code ec;
    boost::json::value data = boost::json::parse(e.data_json, ec);
    if (ec) data = boost::json::object{};
    rows.push_back(boost::json::object{
        {"id", e.id},
        {"roomId", e.room_id},
        {"type", e.event_type},
        {"userId", e.user_id.empty() ? boost::json::value(nullptr) : boost::json::value(e.user_id)},
        {"data", std::move(data)},
        {"createdAt", e.created_at}});
  }
  return rows;
}

// Raises the open-file limit toward what the connection caps need; says once, at start,
// when it cannot (docs/OPERATIONS.md, "Limits").
void check_descriptor_limit(const Config& config, obs::Logger& logger) {
  const net::DescriptorLimit limit = net::raise_descriptor_limit(
      net::descriptors_needed(config.net.max_connections, config.net.max_http_connections));
  if (limit.raised()) {
    logger.info("descriptor_limit_raised",
                {{"from", limit.before}, {"to", limit.after}, {"needed", limit.needed}});
  }
  if (!limit.enough()) {
    logger.warn("descriptor_limit_low",
                {{"limit", limit.after},
                 {"hardLimit", limit.hard},
                 {"needed", limit.needed},
                 {"maxConnections", config.net.max_connections},
                 {"maxHttpConnections", config.net.max_http_connections},
                 {"error", limit.error != 0 ? std::strerror(limit.error) : ""},
                 {"detail", "the open-file limit (ulimit -n) cannot cover MAX_CONNECTIONS + "
                            "MAX_HTTP_CONNECTIONS + 128: raise the hard limit or lower "
                            "MAX_CONNECTIONS; past the limit new connections wait"}});
  }
}

}  // namespace

int run_server(const Config& config) {
  obs::Logger logger(config.net.node_id, config.log_level);
  const bool cluster_mode = !config.redis_url.empty();
  check_descriptor_limit(config, logger);

  boost::asio::io_context io{1};
  obs::Registry registry;

  // The durable record: restore what the last run left, then journal from here on.
  const std::filesystem::path data_dir(config.data_dir);
  const std::filesystem::path spill_path = data_dir / "journal.spill";
  std::error_code fs_error;
  std::filesystem::create_directories(data_dir, fs_error);
  if (fs_error) {
    logger.error("data_dir_unusable", {{"dataDir", config.data_dir}, {"error", fs_error.message()}});
    return 1;
  }
  // One process per data directory: a second one would replay the same spill file and
  // race the first one's writes. The lock dies with the process (even on SIGKILL).
  const std::string lock_path = (data_dir / "tandem.lock").string();
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    logger.error("data_dir_in_use",
                 {{"dataDir", config.data_dir},
                  {"detail", "another tandem-server uses this DATA_DIR (or it is not writable)"}});
    if (lock_fd >= 0) ::close(lock_fd);
    return 1;
  }
  store::Restored restored;
  // Cluster mode: Redis holds the live rooms; the record is read per room, on demand.
  if (!cluster_mode) {
    try {
      auto restore_store = make_store(config);
      restored = store::restore(*restore_store, spill_path, obs::wall_clock_ms(), config.room_ttl);
    } catch (const std::exception& e) {
      // Starting without the rooms the store holds would let new rooms overwrite them.
      logger.error("restore_failed",
                   {{"store", config.database_url.empty() ? "sqlite" : "postgresql"},
                    {"error", e.what()}});
      return 1;
    }
  }

  if (cluster_mode && config.database_url.empty()) {
    logger.warn("cluster_without_database",
                {{"detail", "DATABASE_URL is unset: this node keeps its own SQLite record in "
                            "DATA_DIR; set DATABASE_URL to share one PostgreSQL record"}});
  }
  cluster::LocalRooms* rooms_for_writer = nullptr;  // set below, before the loop runs
  store::JournalOptions journal_options;
  journal_options.spill_path = spill_path;
  journal_options.memory_max_entries = config.journal_memory_max_entries;
  store::MaintenanceOptions& maintenance = journal_options.maintenance;
  maintenance.events_retention_days = config.events_retention_days;
  maintenance.room_ttl_ms = config.room_ttl;
  maintenance.archived_rooms_retention_days = config.archived_rooms_retention_days;
  maintenance.events_max_bytes_per_room = config.events_max_bytes_per_room;
  maintenance.events_max_bytes = config.events_max_bytes;
  maintenance.on_rooms_archived = [&io, &rooms_for_writer](std::vector<std::string> ids) {
    boost::asio::post(io, [&rooms_for_writer, ids = std::move(ids)] {
      if (rooms_for_writer != nullptr) rooms_for_writer->forget_archived(ids);
    });
  };
  store::Journal journal(make_store(config), std::move(journal_options), registry, logger);
  JournalSink journal_sink(journal);

  const cluster::Pbkdf2PinHasher slow_hasher(config.pin_hash_iterations);
  const cluster::CachingPinHasher hasher(slow_hasher, 100'000);
  const room::RoomMachine machine(config.room, hasher);
  ServerOutbox outbox;
  std::unique_ptr<cluster::LocalRooms> local_rooms;
  std::unique_ptr<cluster::RedisRooms> redis_rooms;
  cluster::Rooms* rooms = nullptr;
  if (cluster_mode) {
    cluster::RedisRoomsOptions options;
    options.node_id = config.net.node_id;
    options.redis = *redis::parse_redis_url(config.redis_url);  // validated by load_config
    options.short_ids = cluster::RedisShortIdOptions{short_id_options(config),
                                                     config.short_id_max_new_per_address};
    options.pin_lockout = config.pin_lockout;
    options.node_dead_after = config.node_dead_after;
    options.sweep_interval = config.cluster_sweep;
    options.journal = &journal_sink;
    options.load_from_record = [&journal, executor = io.get_executor()](
                                   std::string room_id,
                                   std::function<void(std::optional<room::RoomState>)> done) {
      journal.query_room(std::move(room_id), [executor, done = std::move(done)](
                                                 std::optional<store::RoomSnapshot> found) mutable {
        std::optional<room::RoomState> state;
        if (found) state = std::move(found->state);
        boost::asio::post(executor, [done = std::move(done), state = std::move(state)]() mutable {
          done(std::move(state));
        });
      });
    };
    redis_rooms = std::make_unique<cluster::RedisRooms>(io.get_executor(), outbox, machine,
                                                        registry, logger, std::move(options),
                                                        obs::wall_clock_ms);
    rooms = redis_rooms.get();
  } else {
    cluster::LocalRoomsOptions rooms_options;
    rooms_options.node_id = config.net.node_id;
    rooms_options.short_ids = short_id_options(config);
    rooms_options.short_id_max_new_per_address = config.short_id_max_new_per_address;
    rooms_options.pin_lockout = config.pin_lockout;
    rooms_options.journal = &journal_sink;
    local_rooms = std::make_unique<cluster::LocalRooms>(io.get_executor(), outbox, machine,
                                                        registry, logger,
                                                        std::move(rooms_options), obs::wall_clock_ms);
    local_rooms->restore(std::move(restored.rooms), restored.short_ids);
    rooms_for_writer = local_rooms.get();
    rooms = local_rooms.get();
  }
  net::Server server(io.get_executor(), config.net, *rooms, registry, logger);
  outbox.attach(&server);
  if (config.ready_requires_store) {
    server.routes().set_store_ready([&journal] { return journal.writable(); });
  }
  server.routes().set_events_source(
      [&journal, executor = io.get_executor()](
          std::string room_id, std::size_t limit,
          std::function<void(std::optional<boost::json::array>)> done) {
        journal.query_events(std::move(room_id), limit,
                             [executor, done = std::move(done)](
                                 std::optional<std::vector<store::StoredEvent>> events) mutable {
                               std::optional<boost::json::array> rows;
                               if (events) rows = events_to_json(*events);
                               boost::asio::post(executor, [done = std::move(done),
                                                            rows = std::move(rows)]() mutable {
                                 done(std::move(rows));
                               });
                             });
      });

  std::uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    logger.error("listen_failed", {{"error", e.what()}});
    return 1;
  }
  logger.info("listening", {{"host", config.net.host},
                            {"port", port},
                            {"mode", cluster_mode ? "cluster" : "standalone"},
                            {"store", config.database_url.empty() ? "sqlite" : "postgresql"},
                            {"reconnectGraceMs", config.room.reconnect_grace}});

  if (redis_rooms) redis_rooms->start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  bool stopping = false;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (stopping) {  // a second signal: stop now (the journal still spills what it holds)
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
  // Whatever is still open (drain timed out, or a second signal) is closed now, and the
  // loop runs until those sessions are gone, so that none outlives the Server it uses.
  server.abort_all();
  io.restart();
  const auto abort_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  // Cluster: the disconnects of the closed sessions reach Redis (bounded by the deadline).
  while ((server.open_connections() > 0 || (redis_rooms && !redis_rooms->idle())) &&
         std::chrono::steady_clock::now() < abort_deadline) {
    try {
      io.run_one_for(std::chrono::milliseconds(50));
    } catch (const std::exception& e) {
      logger.error("handler_exception", {{"error", e.what()}});
    }
  }
  if (redis_rooms) redis_rooms->stop();
  if (local_rooms) local_rooms->flush_snapshots();
  const auto flushed = journal.flush(store::Journal::Clock::now() + kFlushBudget);
  logger.info("stopped", {{"journalComplete", flushed.complete}, {"spilled", flushed.spilled}});
  return 0;
}

}  // namespace tandem::app
