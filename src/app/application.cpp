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
#include <optional>

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

// The data directory, locked for this process (the lock dies with the process).
struct DataDir {
  std::filesystem::path spill_path;
};

// Step 1: create DATA_DIR and take its lock. One process per data directory: a second one
// would replay the same spill file and race the first one's writes.
std::optional<DataDir> open_data_dir(const Config& config, obs::Logger& logger) {
  const std::filesystem::path data_dir(config.data_dir);
  std::error_code fs_error;
  std::filesystem::create_directories(data_dir, fs_error);
  if (fs_error) {
    logger.error("data_dir_unusable", {{"dataDir", config.data_dir}, {"error", fs_error.message()}});
    return std::nullopt;
  }
  // Held open (never closed) until the process ends, even on SIGKILL.
  const std::string lock_path = (data_dir / "tandem.lock").string();
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    logger.error("data_dir_in_use",
                 {{"dataDir", config.data_dir},
                  {"detail", "another tandem-server uses this DATA_DIR (or it is not writable)"}});
    if (lock_fd >= 0) ::close(lock_fd);
    return std::nullopt;
  }
  return DataDir{data_dir / "journal.spill"};
}

// Step 2: what the last run left in the durable record (standalone only: in cluster mode
// Redis holds the live rooms and the record is read per room, on demand). nullopt: the
// store could not be read, and starting without its rooms would let new rooms overwrite them.
std::optional<store::Restored> restore_record(const Config& config, bool cluster_mode,
                                              const DataDir& dir, obs::Logger& logger) {
  if (cluster_mode) {
    if (config.database_url.empty()) {
      logger.warn("cluster_without_database",
                  {{"detail", "DATABASE_URL is unset: this node keeps its own SQLite record in "
                              "DATA_DIR; set DATABASE_URL to share one PostgreSQL record"}});
    }
    return store::Restored{};
  }
  try {
    auto restore_store = make_store(config);
    return store::restore(*restore_store, dir.spill_path, obs::wall_clock_ms(), config.room_ttl);
  } catch (const std::exception& e) {
    logger.error("restore_failed", {{"store", config.database_url.empty() ? "sqlite" : "postgresql"},
                                    {"error", e.what()}});
    return std::nullopt;
  }
}

// Step 3's options: the journal's spill file and maintenance; rooms the store archives as
// idle are forgotten by the standalone runtime (posted to the loop; `forget` is set before
// the loop runs).
store::JournalOptions journal_options(const Config& config, const DataDir& dir,
                                      boost::asio::io_context& io,
                                      cluster::LocalRooms* const& forget) {
  store::JournalOptions options;
  options.spill_path = dir.spill_path;
  options.memory_max_entries = config.journal_memory_max_entries;
  store::MaintenanceOptions& maintenance = options.maintenance;
  maintenance.events_retention_days = config.events_retention_days;
  maintenance.room_ttl_ms = config.room_ttl;
  maintenance.archived_rooms_retention_days = config.archived_rooms_retention_days;
  maintenance.events_max_bytes_per_room = config.events_max_bytes_per_room;
  maintenance.events_max_bytes = config.events_max_bytes;
  maintenance.on_rooms_archived = [&io, &forget](std::vector<std::string> ids) {
    boost::asio::post(io, [&forget, ids = std::move(ids)] {
      if (forget != nullptr) forget->forget_archived(ids);
    });
  };
  return options;
}

// The rooms of this process: standalone (in memory) or cluster (Redis).
struct RoomsBackend {
  std::unique_ptr<cluster::LocalRooms> local;
  std::unique_ptr<cluster::RedisRooms> redis;
  cluster::Rooms* rooms = nullptr;
};

// Step 4, cluster mode: rooms in Redis; a room Redis lost is read back from the journal.
RoomsBackend make_redis_rooms(const Config& config, boost::asio::io_context& io,
                              cluster::Outbox& outbox, const room::RoomMachine& machine,
                              store::Journal& journal, cluster::RoomJournal& sink,
                              obs::Registry& registry, obs::Logger& logger) {
  cluster::RedisRoomsOptions options;
  options.node_id = config.net.node_id;
  options.redis = *redis::parse_redis_url(config.redis_url);  // validated by load_config
  options.redis.sentinel = config.redis_sentinel;
  options.short_ids = cluster::RedisShortIdOptions{short_id_options(config),
                                                   config.short_id_max_new_per_address};
  options.pin_lockout = config.pin_lockout;
  options.node_dead_after = config.node_dead_after;
  options.sweep_interval = config.cluster_sweep;
  options.journal = &sink;
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
  RoomsBackend backend;
  backend.redis = std::make_unique<cluster::RedisRooms>(io.get_executor(), outbox, machine, registry,
                                                        logger, std::move(options),
                                                        obs::wall_clock_ms);
  backend.rooms = backend.redis.get();
  return backend;
}

// Step 4, standalone: rooms in this process, restored from the record.
RoomsBackend make_local_rooms(const Config& config, boost::asio::io_context& io,
                              cluster::Outbox& outbox, const room::RoomMachine& machine,
                              store::Restored&& restored, cluster::RoomJournal& sink,
                              obs::Registry& registry, obs::Logger& logger) {
  cluster::LocalRoomsOptions options;
  options.node_id = config.net.node_id;
  options.short_ids = short_id_options(config);
  options.short_id_max_new_per_address = config.short_id_max_new_per_address;
  options.pin_lockout = config.pin_lockout;
  options.journal = &sink;
  RoomsBackend backend;
  backend.local = std::make_unique<cluster::LocalRooms>(io.get_executor(), outbox, machine,
                                                        registry, logger, std::move(options),
                                                        obs::wall_clock_ms);
  backend.local->restore(std::move(restored.rooms), restored.short_ids);
  backend.rooms = backend.local.get();
  return backend;
}

// Step 5's HTTP sources: /ready's store check and /api/events from the journal.
void connect_routes(net::Server& server, const Config& config, store::Journal& journal,
                    boost::asio::any_io_executor executor) {
  if (config.ready_requires_store) {
    server.routes().set_store_ready([&journal] { return journal.writable(); });
  }
  server.routes().set_events_source(
      [&journal, executor](std::string room_id, std::size_t limit,
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
}

// Step 6: serves until SIGINT/SIGTERM has drained the server (a second signal: at once).
// `signals` was made before the port opened: a signal that arrives in between waits in it
// instead of killing the process with the default action.
// A handler must never let an exception escape; if one does, it is logged and serving goes on.
void run_until_drained(boost::asio::io_context& io, boost::asio::signal_set& signals,
                       net::Server& server, obs::Logger& logger) {
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
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      logger.error("handler_exception", {{"error", e.what()}});
    }
  }
}

// Step 7: whatever is still open (drain timed out, or a second signal) is closed, and the
// loop runs until those sessions are gone (none may outlive the Server it uses); cluster
// mode: until their disconnects reached Redis (bounded). Then the journal is flushed.
void shut_down(boost::asio::io_context& io, net::Server& server, RoomsBackend& backend,
               store::Journal& journal, obs::Logger& logger) {
  server.abort_all();
  io.restart();
  const auto abort_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((server.open_connections() > 0 || (backend.redis && !backend.redis->idle())) &&
         std::chrono::steady_clock::now() < abort_deadline) {
    try {
      io.run_one_for(std::chrono::milliseconds(50));
    } catch (const std::exception& e) {
      logger.error("handler_exception", {{"error", e.what()}});
    }
  }
  if (backend.redis) backend.redis->stop();
  if (backend.local) backend.local->flush_snapshots();
  const auto flushed = journal.flush(store::Journal::Clock::now() + kFlushBudget);
  logger.info("stopped", {{"journalComplete", flushed.complete}, {"spilled", flushed.spilled}});
}

}  // namespace

int run_server(const Config& config) {
  obs::Logger logger(config.net.node_id, config.log_level);
  const bool cluster_mode = !config.redis_url.empty();
  boost::asio::io_context io{1};
  // Before anything a supervisor or a test could see (the first log line, the port): from
  // here a SIGTERM is a drain request, never the default action that kills the process.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  check_descriptor_limit(config, logger);
  obs::Registry registry;

  const std::optional<DataDir> dir = open_data_dir(config, logger);
  if (!dir) return 1;
  std::optional<store::Restored> restored = restore_record(config, cluster_mode, *dir, logger);
  if (!restored) return 1;

  cluster::LocalRooms* forget_archived = nullptr;  // set below, before the loop runs
  store::Journal journal(make_store(config), journal_options(config, *dir, io, forget_archived),
                         registry, logger);
  JournalSink journal_sink(journal);

  const cluster::Pbkdf2PinHasher slow_hasher(config.pin_hash_iterations);
  const cluster::CachingPinHasher hasher(slow_hasher, 100'000);
  const room::RoomMachine machine(config.room, hasher);
  ServerOutbox outbox;
  RoomsBackend backend =
      cluster_mode ? make_redis_rooms(config, io, outbox, machine, journal, journal_sink,
                                      registry, logger)
                   : make_local_rooms(config, io, outbox, machine, std::move(*restored),
                                      journal_sink, registry, logger);
  forget_archived = backend.local.get();

  net::Server server(io.get_executor(), config.net, *backend.rooms, registry, logger);
  outbox.attach(&server);
  connect_routes(server, config, journal, io.get_executor());
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
  if (backend.redis) backend.redis->start();

  run_until_drained(io, signals, server, logger);
  shut_down(io, server, backend, journal, logger);
  return 0;
}

}  // namespace tandem::app
