#include "store/postgres_store.hpp"

#include "obs/clock.hpp"
#include "store/overloaded.hpp"
#include "store/postgres_sql.hpp"
#include "store/row_count.hpp"
#include "store/rows.hpp"

#include <boost/json/serialize.hpp>

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

namespace tandem::store {
namespace {

namespace sql = postgres_sql;

// SQLSTATE classes that refuse the data itself: 22 data exception (e.g. a value too long
// or an invalid JSON text), 23 integrity constraint violation, 54 program limit exceeded.
// Anything else (connection, resources, operator intervention, serialization...) may pass
// on a retry.
bool is_transient_sqlstate(const char* state) noexcept {
  if (state == nullptr || std::strlen(state) != 5) return true;
  const std::string_view cls(state, 2);
  return cls != "22" && cls != "23" && cls != "54";
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

template <class Call>
auto PostgresStore::retry_stale(Call&& call) {
  const bool had_connection = conn_ != nullptr;
  try {
    return call();
  } catch (const StoreError&) {
    if (!had_connection || conn_ != nullptr) throw;  // a fresh connection failed, or a
    return call();                                   // statement did: not a stale one
  }
}

// An owned PGresult.
class PostgresStore::Result {
 public:
  explicit Result(PGresult* result) noexcept : result_(result) {}
  ~Result() { PQclear(result_); }
  Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const noexcept { return PQntuples(result_); }
  bool is_null(int row, int col) const noexcept { return PQgetisnull(result_, row, col) != 0; }
  std::string text(int row, int col) const {
    return {PQgetvalue(result_, row, col),
            static_cast<std::size_t>(PQgetlength(result_, row, col))};
  }
  std::optional<std::string> optional_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return text(row, col);
  }
  std::int64_t integer(int row, int col) const {
    const char* begin = PQgetvalue(result_, row, col);
    const char* end = begin + PQgetlength(result_, row, col);
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end) throw StoreError("postgresql: not an integer column");
    return value;
  }
  double real(int row, int col) const {
    const char* begin = PQgetvalue(result_, row, col);
    const char* end = begin + PQgetlength(result_, row, col);
    double value = 0;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end) return 0;  // NaN/Infinity cannot be written by us
    return value;
  }
  bool boolean(int row, int col) const { return PQgetvalue(result_, row, col)[0] == 't'; }
  std::size_t affected() const {
    const char* text = PQcmdTuples(result_);
    std::size_t value = 0;
    std::from_chars(text, text + std::strlen(text), value);
    return value;
  }

 private:
  PGresult* result_;
};

// Statement parameters in text format; a missing value is SQL NULL.
class PostgresStore::Params {
 public:
  Params& text(std::string value) {
    values_.emplace_back(std::move(value));
    return *this;
  }
  Params& text(std::optional<std::string> value) {
    values_.push_back(std::move(value));
    return *this;
  }
  Params& text(std::string_view value) { return text(std::string(value)); }
  Params& integer(std::int64_t value) { return text(std::to_string(value)); }
  Params& integer(std::optional<std::int64_t> value) {
    if (!value) return text(std::optional<std::string>{});
    return integer(*value);
  }
  Params& real(double value) {
    if (!std::isfinite(value)) value = 0;
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return text(std::string(buffer.data(), result.ptr));
  }
  Params& boolean(bool value) { return text(std::string(value ? "true" : "false")); }

  int size() const noexcept { return static_cast<int>(values_.size()); }
  // Pointers into the values: valid while this object is unchanged.
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

// BEGIN ... COMMIT; ROLLBACK when left without commit (if the connection still works).
class PostgresStore::Transaction {
 public:
  explicit Transaction(PostgresStore& store) : store_(store) {
    // A connection that broke while idle is only noticed when used: if BEGIN fails that
    // way, nothing of the transaction was sent, so begin again on a new connection.
    store_.retry_stale([&] { return store_.exec("BEGIN"); });
  }
  ~Transaction() {
    if (done_ || store_.conn_ == nullptr) return;
    PQclear(PQexec(store_.conn_, "ROLLBACK"));
    if (PQstatus(store_.conn_) != CONNECTION_OK) store_.disconnect();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    store_.exec("COMMIT");
    done_ = true;
  }

 private:
  PostgresStore& store_;
  bool done_ = false;
};

PostgresStore::PostgresStore(std::string conninfo) : conninfo_(std::move(conninfo)) {}

PostgresStore::~PostgresStore() {
  disconnect();
}

void PostgresStore::disconnect() noexcept {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

PGconn* PostgresStore::connection() {
  if (conn_ != nullptr) {
    if (PQstatus(conn_) == CONNECTION_OK) return conn_;
    disconnect();
  }
  // Array entries before "dbname" are defaults that the connection string may override.
  static constexpr std::array<const char*, 11> kKeys = {"connect_timeout",
                                                        "keepalives",
                                                        "keepalives_idle",
                                                        "keepalives_interval",
                                                        "keepalives_count",
                                                        "tcp_user_timeout",
                                                        "options",
                                                        "client_encoding",
                                                        "application_name",
                                                        "dbname",
                                                        nullptr};
  const std::array<const char*, 11> values = {"5",
                                              "1",
                                              "10",
                                              "5",
                                              "3",
                                              "10000",
                                              "-c statement_timeout=10000",
                                              "UTF8",
                                              "tandem-server",
                                              conninfo_.c_str(),
                                              nullptr};
  PGconn* conn = PQconnectdbParams(kKeys.data(), values.data(), 1);
  if (conn == nullptr) throw StoreError("postgresql: connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = "postgresql: connect: " + trim(PQerrorMessage(conn));
    PQfinish(conn);
    throw StoreError(message);
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  conn_ = conn;
  prepared_.clear();
  return conn_;
}

void PostgresStore::fail(PGresult* result, std::string_view what) {
  std::string message = "postgresql: ";
  message.append(what).append(": ");
  const char* error = result != nullptr ? PQresultErrorMessage(result) : "";
  message += trim(error != nullptr && *error != '\0' ? error : PQerrorMessage(conn_));
  bool transient = true;
  if (PQstatus(conn_) != CONNECTION_OK) {
    disconnect();  // broken: the next call reconnects
  } else if (result != nullptr) {
    transient = is_transient_sqlstate(PQresultErrorField(result, PG_DIAG_SQLSTATE));
  }
  PQclear(result);
  throw StoreError(message, transient);
}

PostgresStore::Result PostgresStore::exec(const char* text) {
  PGconn* conn = connection();
  PGresult* result = PQexec(conn, text);
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result, "exec");
  return Result(result);
}

PostgresStore::Result PostgresStore::exec(const sql::Query& query, const Params& params) {
  PGconn* conn = connection();
  if (!prepared_.contains(query.name)) {
    PGresult* prepared = PQprepare(conn, query.name, query.text, params.size(), nullptr);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) fail(prepared, query.name);
    PQclear(prepared);
    prepared_.insert(query.name);
  }
  const auto values = params.pointers();
  PGresult* result =
      PQexecPrepared(conn, query.name, params.size(), values.data(), nullptr, nullptr, 0);
  const auto status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(result, query.name);
  return Result(result);
}

void PostgresStore::migrate() {
  {
    Transaction tx(*this);
    exec(sql::kLockMigrations);
    exec(sql::kCreateSchemaMigrations);
    tx.commit();
  }
  for (const Migration& m : sql::kMigrations) {
    Transaction tx(*this);
    exec(sql::kLockMigrations);
    if (exec(sql::kSelectMigration, Params().integer(m.version)).rows() > 0) continue;
    exec(sql::kNoStatementTimeout);
    const std::string text(m.sql);
    exec(text.c_str());
    exec(sql::kInsertMigration, Params().integer(m.version).text(m.name).integer(obs::wall_clock_ms()));
    tx.commit();
  }
}

void PostgresStore::write_entry(const JournalEntry& entry, AuditTally& added) {
  std::visit(Overloaded{
                 [&](const RoomSnapshot& e) {
                   RoomRow row = room_row(e);
                   const Result upserted = exec(sql::kUpsertRoom, Params()
                                              .text(row.id)
                                              .text(std::move(row.host_user_id))
                                              .text(std::move(row.current_url))
                                              .real(row.current_time)
                                              .boolean(row.is_playing)
                                              .boolean(row.guest_control_enabled)
                                              .text(std::move(row.pin_hash))
                                              .text(std::move(row.state))
                                              .integer(row.created_at)
                                              .integer(row.updated_at));
                   if (upserted.rows() == 0) return;  // a newer version is stored
                   exec(sql::kDeleteUsers, Params().text(row.id));
                   for (UserRow& user : user_rows(e.state)) {
                     exec(sql::kUpsertUser, Params()
                                                .text(std::move(user.id))
                                                .text(row.id)
                                                .text(std::move(user.username))
                                                .real(user.current_time)
                                                .boolean(user.is_playing)
                                                .text(std::move(user.connection_quality))
                                                .integer(user.last_heartbeat));
                   }
                 },
                 [&](const RoomArchived& e) {
                   exec(sql::kArchiveRoom, Params().text(e.room_id).integer(e.at));
                   exec(sql::kDeleteUsers, Params().text(e.room_id));
                 },
                 [&](const AuditEvent& e) {
                   std::string data = boost::json::serialize(e.data);
                   const std::int64_t size =
                       audit_row_bytes(e.room_id, e.event_type, e.user_id, data.size());
                   exec(sql::kInsertEvent, Params()
                                               .text(e.room_id)
                                               .text(e.event_type)
                                               .text(null_if_empty(e.user_id))
                                               .text(std::move(data))
                                               .integer(e.at)
                                               .integer(size));
                   added.add(e.room_id, size);
                 },
                 [&](const ShortIdRecord& e) {
                   exec(sql::kDeleteOtherShortIds, Params().text(e.room_id).text(e.short_id));
                   exec(sql::kUpsertShortId,
                        Params().text(e.short_id).text(e.room_id).integer(e.expires_at));
                 },
             },
             entry);
}

std::vector<AuditUsage> PostgresStore::write_batch(const std::vector<JournalEntry>& batch) {
  std::vector<AuditUsage> usage;
  if (batch.empty()) return usage;
  Transaction tx(*this);
  AuditTally added;
  for (const auto& entry : batch) write_entry(entry, added);
  for (const auto& [room_id, room] : added.by_room()) {  // in room id order (no deadlock)
    const Result r = exec(sql::kAddUsage, Params().text(room_id).integer(room.bytes).integer(room.rows));
    if (r.rows() > 0) usage.push_back(AuditUsage{room_id, r.integer(0, 0), r.integer(0, 1), room.bytes});
  }
  tx.commit();
  return usage;
}

// Row i of kSelectLiveRoom(s).
RoomSnapshot PostgresStore::read_room(const Result& r, int i) {
  RoomRow row;
  row.id = r.text(i, 0);
  row.host_user_id = r.optional_text(i, 1);
  row.current_url = r.optional_text(i, 2);
  row.current_time = r.real(i, 3);
  row.is_playing = r.boolean(i, 4);
  row.guest_control_enabled = r.boolean(i, 5);
  row.pin_hash = r.optional_text(i, 6);
  row.state = r.text(i, 7);
  row.created_at = r.integer(i, 8);
  row.updated_at = r.integer(i, 9);
  return snapshot_from_row(row);
}

std::vector<RoomSnapshot> PostgresStore::load_live_rooms() {
  const Result r = retry_stale([&] { return exec(sql::kSelectLiveRooms, Params()); });
  std::vector<RoomSnapshot> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_room(r, i));
  return out;
}

std::optional<RoomSnapshot> PostgresStore::load_room(const std::string& room_id) {
  const Result r = retry_stale([&] { return exec(sql::kSelectLiveRoom, Params().text(room_id)); });
  if (r.rows() == 0) return std::nullopt;
  return read_room(r, 0);
}

std::vector<ShortIdRecord> PostgresStore::load_short_ids(Millis now) {
  const Result r = retry_stale([&] { return exec(sql::kSelectShortIds, Params().integer(now)); });
  std::vector<ShortIdRecord> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ShortIdRecord{r.text(i, 0), r.text(i, 1), r.integer(i, 2)});
  }
  return out;
}

std::vector<std::string> PostgresStore::archive_idle_rooms(Millis before, Millis now) {
  Transaction tx(*this);
  const Result r = exec(sql::kArchiveIdleRooms, Params().integer(before).integer(now));
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
  for (const auto& id : ids) exec(sql::kDeleteUsers, Params().text(id));
  tx.commit();
  return ids;
}

void PostgresStore::tally(const Result& r, AuditTally& deleted) {
  for (int i = 0; i < r.rows(); ++i) deleted.add(r.text(i, 0), r.integer(i, 1));
}

std::int64_t PostgresStore::subtract_usage(const AuditTally& deleted, const std::string& room_id) {
  std::int64_t left = 0;
  for (const auto& [id, room] : deleted.by_room()) {  // in room id order (no deadlock)
    const Result r =
        exec(sql::kSubtractUsage, Params().text(id).integer(room.bytes).integer(room.rows));
    if (id == room_id && r.rows() > 0) left = r.integer(0, 0);
    exec(sql::kDeleteEmptyUsage, Params().text(id));
  }
  return left;
}

std::vector<SizedRow> PostgresStore::sizes(const Result& r) {
  std::vector<SizedRow> rows;
  rows.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) rows.push_back(SizedRow{r.integer(i, 0), r.integer(i, 1)});
  return rows;
}

std::size_t PostgresStore::delete_events_before(Millis before, std::size_t limit) {
  if (limit == 0) return 0;
  Transaction tx(*this);
  AuditTally deleted;
  tally(exec(sql::kDeleteEventsBefore, Params().integer(before).integer(capped_rows(limit))),
        deleted);
  subtract_usage(deleted);
  tx.commit();
  return static_cast<std::size_t>(deleted.total().rows);
}

std::int64_t PostgresStore::audit_bytes() {
  const Result r = retry_stale([&] { return exec(sql::kSumUsage, Params()); });
  return r.rows() > 0 ? r.integer(0, 0) : 0;
}

AuditTally PostgresStore::delete_oldest(const std::optional<std::string>& room_id,
                                        std::int64_t excess, std::size_t max_rows) {
  const auto params = [&](std::int64_t value) {  // ($1 the room, when one) and a number
    Params p;
    if (room_id) p.text(*room_id);
    p.integer(value);
    return p;
  };
  const auto cut = cut_id(sizes(exec(room_id ? sql::kSelectRoomEventSizes : sql::kSelectEventSizes,
                                     params(capped_rows(max_rows)))),
                          excess);
  AuditTally deleted;
  if (!cut) return deleted;
  tally(exec(room_id ? sql::kDeleteRoomEventsThrough : sql::kDeleteEventsThrough, params(*cut)),
        deleted);
  return deleted;
}

AuditDeleted PostgresStore::trim_room_events(const std::string& room_id, std::int64_t target,
                                             std::size_t max_rows) {
  Transaction tx(*this);
  const Result usage = exec(sql::kSelectUsage, Params().text(room_id));
  const std::int64_t bytes = usage.rows() > 0 ? usage.integer(0, 0) : 0;
  if (bytes <= target || max_rows == 0) return AuditDeleted{0, 0, bytes};
  const AuditTally deleted = delete_oldest(room_id, bytes - target, max_rows);
  const std::int64_t left = deleted.total().rows > 0 ? subtract_usage(deleted, room_id) : bytes;
  tx.commit();
  return AuditDeleted{deleted.total().rows, deleted.total().bytes, left};
}

AuditDeleted PostgresStore::trim_oldest_events(std::int64_t excess, std::size_t max_rows) {
  if (excess <= 0 || max_rows == 0) return {};
  Transaction tx(*this);
  const AuditTally deleted = delete_oldest(std::nullopt, excess, max_rows);
  subtract_usage(deleted);
  tx.commit();
  return deleted.total();
}

std::size_t PostgresStore::delete_archived_rooms(Millis before, std::size_t max_rooms) {
  if (max_rooms == 0) return 0;
  Transaction tx(*this);
  const Result rooms =
      exec(sql::kDeleteArchivedRooms, Params().integer(before).integer(capped_rows(max_rooms)));
  AuditTally deleted;
  for (int i = 0; i < rooms.rows(); ++i) {
    tally(exec(sql::kDeleteRoomEventsUntil, Params().text(rooms.text(i, 0)).integer(rooms.integer(i, 1))),
          deleted);
  }
  subtract_usage(deleted);
  tx.commit();
  return static_cast<std::size_t>(rooms.rows());
}

std::size_t PostgresStore::delete_expired_short_ids(Millis before, std::size_t limit) {
  if (limit == 0) return 0;
  return retry_stale([&] {
           return exec(sql::kDeleteExpiredShortIds,
                       Params().integer(before).integer(capped_rows(limit)));
         })
      .affected();
}

std::vector<StoredEvent> PostgresStore::room_events(const std::string& room_id, std::size_t limit) {
  std::vector<StoredEvent> out;
  if (limit == 0) return out;
  const auto rows = static_cast<std::int64_t>(std::min<std::size_t>(limit, 1U << 30));
  const Result r = retry_stale(
      [&] { return exec(sql::kSelectRoomEvents, Params().text(room_id).integer(rows)); });
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(StoredEvent{r.integer(i, 0), r.text(i, 1), r.text(i, 2),
                              r.optional_text(i, 3).value_or(""), r.text(i, 4), r.integer(i, 5)});
  }
  return out;
}

std::vector<AppliedMigration> PostgresStore::applied_migrations() {
  const Result r = retry_stale([&] { return exec(sql::kSelectMigrations, Params()); });
  std::vector<AppliedMigration> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(
        AppliedMigration{static_cast<int>(r.integer(i, 0)), r.text(i, 1), r.integer(i, 2)});
  }
  return out;
}

}  // namespace tandem::store
