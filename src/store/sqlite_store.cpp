#include "store/sqlite_store.hpp"

#include "obs/clock.hpp"
#include "store/overloaded.hpp"
#include "store/row_count.hpp"
#include "store/rows.hpp"
#include "store/sqlite_sql.hpp"

#include <boost/json/serialize.hpp>

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <limits>
#include <system_error>
#include <utility>

namespace tandem::store {
namespace {

namespace sql = sqlite_sql;

// Refusals of the data itself: retrying the same statement cannot succeed.
bool is_transient(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return false;
    default:
      return true;
  }
}

// The connection is unusable after these: close it, the next call reopens the file.
bool needs_reopen(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

}  // namespace

// A cached prepared statement in use: bound, stepped, and reset when it goes out of scope.
class SqliteStore::Statement {
 public:
  Statement(SqliteStore& store, std::string_view text)
      : store_(store), stmt_(store.prepared(text)) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& text(int index, std::string_view value) {
    // A null pointer would bind NULL: an empty value still binds "".
    const char* data = value.data() != nullptr ? value.data() : "";
    check(sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
  }
  Statement& text(int index, const std::string& value) {
    return text(index, std::string_view(value));
  }
  Statement& text(int index, const std::optional<std::string>& value) {
    if (!value) return null(index);
    return text(index, std::string_view(*value));
  }
  Statement& integer(int index, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& integer(int index, const std::optional<std::int64_t>& value) {
    if (!value) return null(index);
    return integer(index, *value);
  }
  Statement& real(int index, double value) {
    check(sqlite3_bind_double(stmt_, index, value));
    return *this;
  }
  Statement& boolean(int index, bool value) { return integer(index, value ? 1 : 0); }
  Statement& null(int index) {
    check(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  // True while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store_.fail(rc, "step");
  }
  void run() {
    while (step()) {
    }
  }

  std::string column_text(int col) const {
    const auto* data = sqlite3_column_text(stmt_, col);
    const int size = sqlite3_column_bytes(stmt_, col);
    if (data == nullptr) return {};
    return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
  }
  std::optional<std::string> column_optional_text(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return column_text(col);
  }
  std::int64_t column_integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double column_real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool column_boolean(int col) const { return sqlite3_column_int64(stmt_, col) != 0; }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) store_.fail(rc, "bind");
  }

  SqliteStore& store_;
  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE (the write lock up front, so a busy database waits at BEGIN under the
// busy timeout instead of failing mid-batch); ROLLBACK unless committed.
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore& store) : store_(store) { store_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_ && store_.db_ != nullptr)
      sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    store_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteStore& store_;
  bool done_ = false;
};

SqliteStore::SqliteStore(std::filesystem::path data_dir, SqliteOptions options)
    : data_dir_(std::move(data_dir)), options_(options), path_(data_dir_ / kFileName) {}

SqliteStore::~SqliteStore() {
  close();
}

void SqliteStore::close() noexcept {
  for (auto& [text, stmt] : statements_) sqlite3_finalize(stmt);
  statements_.clear();
  forget_written_state();
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

void SqliteStore::fail(int rc, std::string_view what) {
  std::string message = "sqlite: ";
  message.append(what).append(": ");
  message.append(db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  // Closed on the next call, once the statements in use have been reset.
  if (needs_reopen(rc)) broken_ = true;
  throw StoreError(message, is_transient(rc));
}

sqlite3* SqliteStore::db() {
  if (broken_) {
    close();
    broken_ = false;
  }
  if (db_ != nullptr) return db_;
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) {
    throw StoreError("sqlite: cannot create " + data_dir_.string() + ": " + ec.message());
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "sqlite: cannot open " + path_.string() + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    throw StoreError(message);
  }
  db_ = db;
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  exec(sql::kPragmas);
  return db_;
}

sqlite3_stmt* SqliteStore::prepared(std::string_view text) {
  sqlite3* handle = db();
  if (const auto it = statements_.find(text); it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(handle, text.data(), static_cast<int>(text.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) fail(rc, "prepare");
  statements_.emplace(text, stmt);
  return stmt;
}

void SqliteStore::exec(const char* text) {
  sqlite3* handle = db();
  const int rc = sqlite3_exec(handle, text, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc, "exec");
}

void SqliteStore::migrate() {
  exec(sql::kCreateSchemaMigrations);
  for (const Migration& m : sql::kMigrations) {
    Transaction tx(*this);
    bool applied = false;
    {
      Statement select(*this, sql::kSelectMigration);
      select.integer(1, m.version);
      applied = select.step();
    }
    if (applied) continue;  // ~Transaction rolls the empty transaction back
    const std::string text(m.sql);
    exec(text.c_str());
    Statement insert(*this, sql::kInsertMigration);
    insert.integer(1, m.version).text(2, m.name).integer(3, obs::wall_clock_ms()).run();
    tx.commit();
  }
}

void SqliteStore::write_entry(const JournalEntry& entry, AuditTally& added) {
  std::visit(Overloaded{
                 [&](const RoomSnapshot& e) {
                   const RoomRow row = room_row(e);
                   Statement upsert(*this, sql::kUpsertRoom);
                   upsert.text(1, row.id)
                       .text(2, row.host_user_id)
                       .text(3, row.current_url)
                       .real(4, row.current_time)
                       .boolean(5, row.is_playing)
                       .boolean(6, row.guest_control_enabled)
                       .text(7, row.pin_hash)
                       .text(8, row.state)
                       .integer(9, row.created_at)
                       .integer(10, row.updated_at)
                       .integer(11, static_cast<std::int64_t>(row.version));
                   const bool applied = upsert.step();  // no row: a newer version is stored
                   upsert.run();
                   if (!applied) return;
                   write_users(row.id, user_rows(e.state));
                 },
                 [&](const RoomArchived& e) {
                   Statement(*this, sql::kArchiveRoom).text(1, e.room_id).integer(2, e.at).run();
                   Statement(*this, sql::kDeleteUsers).text(1, e.room_id).run();
                   users_written_.erase(e.room_id);
                 },
                 [&](const AuditEvent& e) {
                   const std::string data = boost::json::serialize(e.data);
                   const std::int64_t size =
                       audit_row_bytes(e.room_id, e.event_type, e.user_id, data.size());
                   Statement(*this, sql::kInsertEvent)
                       .integer(1, next_event_id())
                       .text(2, e.room_id)
                       .text(3, e.event_type)
                       .text(4, null_if_empty(e.user_id))
                       .text(5, data)
                       .integer(6, e.at)
                       .integer(7, size)
                       .run();
                   ++staged_rows_;
                   added.add(e.room_id, size);
                 },
                 [&](const ShortIdRecord& e) {
                   Statement(*this, sql::kDeleteOtherShortIds)
                       .text(1, e.room_id)
                       .text(2, e.short_id)
                       .run();
                   Statement(*this, sql::kUpsertShortId)
                       .text(1, e.short_id)
                       .text(2, e.room_id)
                       .integer(3, e.expires_at)
                       .run();
                 },
             },
             entry);
}

std::vector<AuditUsage> SqliteStore::write_batch(const std::vector<JournalEntry>& batch) {
  std::vector<AuditUsage> usage;
  if (batch.empty()) return usage;
  try {
    Transaction tx(*this);
    AuditTally added;
    for (const auto& entry : batch) write_entry(entry, added);
    for (const auto& [room_id, room] : added.by_room()) {
      Statement upsert(*this, sql::kAddUsage);
      upsert.text(1, room_id).integer(2, room.bytes).integer(3, room.rows);
      if (upsert.step()) {
        usage.push_back(AuditUsage{room_id, upsert.column_integer(0), upsert.column_integer(1),
                                   room.bytes});
      }
    }
    merge_staged_events_if_due();
    tx.commit();
  } catch (...) {
    forget_written_state();  // rolled back
    throw;
  }
  return usage;
}

// What this store remembers of what it wrote no longer holds (a reopen, or a batch rolled
// back): the last id and the staged count are read again, and every room's users rows are
// rewritten in full.
void SqliteStore::forget_written_state() noexcept {
  last_event_id_ = -1;
  staged_rows_ = -1;
  users_written_.clear();
}

// A room's users rows as its snapshot has them. The first time this store writes a room
// they are all replaced; after that only the rows that differ from what it wrote last are
// (a heartbeat changes one member, a PLAY_PAUSE none), and members gone are deleted.
void SqliteStore::write_users(const std::string& room_id, std::vector<UserRow> rows) {
  const auto upsert = [&](const UserRow& user) {
    Statement(*this, sql::kUpsertUser)
        .text(1, user.id)
        .text(2, room_id)
        .text(3, user.username)
        .real(4, user.current_time)
        .boolean(5, user.is_playing)
        .text(6, user.connection_quality)
        .integer(7, user.last_heartbeat)
        .run();
  };
  const auto find = [](const std::vector<UserRow>& in, const std::string& id) -> const UserRow* {
    for (const UserRow& row : in) {
      if (row.id == id) return &row;
    }
    return nullptr;
  };
  const auto written = users_written_.find(room_id);
  if (written == users_written_.end()) {
    Statement(*this, sql::kDeleteUsers).text(1, room_id).run();
    for (const UserRow& user : rows) upsert(user);
    users_written_.emplace(room_id, std::move(rows));
    return;
  }
  for (const UserRow& old : written->second) {
    if (find(rows, old.id) == nullptr) {
      Statement(*this, sql::kDeleteUser).text(1, room_id).text(2, old.id).run();
    }
  }
  for (const UserRow& user : rows) {
    const UserRow* old = find(written->second, user.id);
    if (old == nullptr || !(*old == user)) upsert(user);
  }
  written->second = std::move(rows);
}

std::int64_t SqliteStore::next_event_id() {
  if (last_event_id_ < 0) {
    Statement select(*this, sql::kSelectLastEventId);
    last_event_id_ = select.step() ? select.column_integer(0) : 0;
  }
  if (staged_rows_ < 0) {
    Statement count(*this, sql::kCountStagedEvents);
    staged_rows_ = count.step() ? count.column_integer(0) : 0;
  }
  return ++last_event_id_;
}

void SqliteStore::merge_staged_events_if_due() {
  if (staged_rows_ <= 0) return;  // none, or unknown (nothing was staged by this batch)
  const auto now = std::chrono::steady_clock::now();
  if (static_cast<std::size_t>(staged_rows_) < options_.merge_rows &&
      now - last_merge_ < options_.merge_interval) {
    return;
  }
  Statement(*this, sql::kMergeStagedEvents).run();
  Statement(*this, sql::kDeleteStagedEvents).run();
  staged_rows_ = 0;
  last_merge_ = now;
}

// A row of kSelectLiveRoom(s).
RoomSnapshot SqliteStore::read_room(Statement& select) {
  RoomRow row;
  row.id = select.column_text(0);
  row.host_user_id = select.column_optional_text(1);
  row.current_url = select.column_optional_text(2);
  row.current_time = select.column_real(3);
  row.is_playing = select.column_boolean(4);
  row.guest_control_enabled = select.column_boolean(5);
  row.pin_hash = select.column_optional_text(6);
  row.state = select.column_text(7);
  row.created_at = select.column_integer(8);
  row.updated_at = select.column_integer(9);
  return snapshot_from_row(row);
}

std::vector<RoomSnapshot> SqliteStore::load_live_rooms() {
  std::vector<RoomSnapshot> out;
  Statement select(*this, sql::kSelectLiveRooms);
  while (select.step()) out.push_back(read_room(select));
  return out;
}

std::optional<RoomSnapshot> SqliteStore::load_room(const std::string& room_id) {
  Statement select(*this, sql::kSelectLiveRoom);
  select.text(1, room_id);
  if (!select.step()) return std::nullopt;
  return read_room(select);
}

std::vector<ShortIdRecord> SqliteStore::load_short_ids(Millis now) {
  std::vector<ShortIdRecord> out;
  Statement select(*this, sql::kSelectShortIds);
  select.integer(1, now);
  while (select.step()) {
    out.push_back(
        ShortIdRecord{select.column_text(0), select.column_text(1), select.column_integer(2)});
  }
  return out;
}

std::vector<std::string> SqliteStore::archive_idle_rooms(Millis before, Millis now) {
  std::vector<std::string> ids;
  Transaction tx(*this);
  {
    Statement update(*this, sql::kArchiveIdleRooms);
    update.integer(1, before).integer(2, now);
    while (update.step()) ids.push_back(update.column_text(0));
  }
  for (const auto& id : ids) {
    Statement(*this, sql::kDeleteUsers).text(1, id).run();
    users_written_.erase(id);  // before the commit: if it fails, the next write is in full
  }
  tx.commit();
  return ids;
}

void SqliteStore::delete_into(Statement& del, AuditTally& deleted) {
  while (del.step()) deleted.add(del.column_text(0), del.column_integer(1));
}

std::int64_t SqliteStore::subtract_usage(const AuditTally& deleted, const std::string& room_id) {
  std::int64_t left = 0;
  for (const auto& [id, room] : deleted.by_room()) {
    {
      Statement update(*this, sql::kSubtractUsage);
      update.text(1, id).integer(2, room.bytes).integer(3, room.rows);
      if (update.step() && id == room_id) left = update.column_integer(0);
    }
    Statement(*this, sql::kDeleteEmptyUsage).text(1, id).run();
  }
  if (!deleted.by_room().empty()) staged_rows_ = -1;  // staged rows may be gone: count again
  return left;
}

std::size_t SqliteStore::delete_events_before(Millis before, std::size_t limit) {
  if (limit == 0) return 0;
  const std::int64_t capped = capped_rows(limit);
  Transaction tx(*this);
  AuditTally deleted;
  {
    Statement del(*this, sql::kDeleteEventsBefore);
    del.integer(1, before).integer(2, capped);
    delete_into(del, deleted);
  }
  if (deleted.total().rows < capped) {
    Statement del(*this, sql::kDeleteStagedEventsBefore);
    del.integer(1, before).integer(2, capped - deleted.total().rows);
    delete_into(del, deleted);
  }
  subtract_usage(deleted);
  tx.commit();
  return static_cast<std::size_t>(deleted.total().rows);
}

std::int64_t SqliteStore::audit_bytes() {
  Statement sum(*this, sql::kSumUsage);
  return sum.step() ? sum.column_integer(0) : 0;
}

void SqliteStore::read_sizes(Statement& select, std::vector<SizedRow>& rows) {
  while (select.step()) rows.push_back(SizedRow{select.column_integer(0), select.column_integer(1)});
}

AuditTally SqliteStore::delete_oldest(const std::optional<std::string>& room_id,
                                      std::int64_t excess, std::size_t max_rows) {
  const bool one_room = room_id.has_value();
  const auto selects =
      one_room ? std::array{sql::kSelectRoomEventSizes, sql::kSelectStagedRoomEventSizes}
               : std::array{sql::kSelectEventSizes, sql::kSelectStagedEventSizes};
  const auto deletes =
      one_room ? std::array{sql::kDeleteRoomEventsThrough, sql::kDeleteStagedRoomEventsThrough}
               : std::array{sql::kDeleteEventsThrough, sql::kDeleteStagedEventsThrough};
  const auto bind = [&](Statement& statement, std::int64_t value) {
    if (one_room) {
      statement.text(1, *room_id).integer(2, value);
    } else {
      statement.integer(1, value);
    }
  };
  // The oldest rows: merged ones first, then staged ones (all newer).
  std::vector<SizedRow> rows;
  for (const char* text : selects) {
    if (rows.size() >= max_rows) break;
    Statement select(*this, text);
    bind(select, capped_rows(max_rows - rows.size()));
    read_sizes(select, rows);
  }
  AuditTally deleted;
  const auto cut = cut_id(rows, excess);
  if (!cut) return deleted;
  for (const char* text : deletes) {
    Statement del(*this, text);
    bind(del, *cut);
    delete_into(del, deleted);
  }
  return deleted;
}

AuditDeleted SqliteStore::trim_room_events(const std::string& room_id, std::int64_t target,
                                           std::size_t max_rows) {
  Transaction tx(*this);
  std::int64_t bytes = 0;
  {
    Statement usage(*this, sql::kSelectUsage);
    usage.text(1, room_id);
    if (usage.step()) bytes = usage.column_integer(0);
  }
  if (bytes <= target || max_rows == 0) return AuditDeleted{0, 0, bytes};
  const AuditTally deleted = delete_oldest(room_id, bytes - target, max_rows);
  const std::int64_t left = deleted.total().rows > 0 ? subtract_usage(deleted, room_id) : bytes;
  tx.commit();
  return AuditDeleted{deleted.total().rows, deleted.total().bytes, left};
}

AuditDeleted SqliteStore::trim_oldest_events(std::int64_t excess, std::size_t max_rows) {
  if (excess <= 0 || max_rows == 0) return {};
  Transaction tx(*this);
  const AuditTally deleted = delete_oldest(std::nullopt, excess, max_rows);
  subtract_usage(deleted);
  tx.commit();
  return deleted.total();
}

std::size_t SqliteStore::delete_archived_rooms(Millis before, std::size_t max_rooms) {
  if (max_rooms == 0) return 0;
  Transaction tx(*this);
  std::vector<std::pair<std::string, Millis>> rooms;
  {
    Statement del(*this, sql::kDeleteArchivedRooms);
    del.integer(1, before).integer(2, capped_rows(max_rooms));
    while (del.step()) rooms.emplace_back(del.column_text(0), del.column_integer(1));
  }
  AuditTally deleted;
  for (const auto& [room_id, archived_at] : rooms) {
    for (const char* text : {sql::kDeleteRoomEventsUntil, sql::kDeleteStagedRoomEventsUntil}) {
      Statement del(*this, text);
      del.text(1, room_id).integer(2, archived_at);
      delete_into(del, deleted);
    }
  }
  subtract_usage(deleted);
  tx.commit();
  return rooms.size();
}

std::size_t SqliteStore::delete_expired_short_ids(Millis before, std::size_t limit) {
  if (limit == 0) return 0;
  Statement(*this, sql::kDeleteExpiredShortIds).integer(1, before).integer(2, capped_rows(limit)).run();
  return static_cast<std::size_t>(sqlite3_changes64(db_));
}

std::vector<StoredEvent> SqliteStore::room_events(const std::string& room_id, std::size_t limit) {
  std::vector<StoredEvent> out;
  if (limit == 0) return out;
  const auto capped = static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int32_t>::max()));
  Statement select(*this, sql::kSelectRoomEvents);
  select.text(1, room_id).integer(2, capped);
  while (select.step()) {
    out.push_back(StoredEvent{select.column_integer(0), select.column_text(1),
                              select.column_text(2), select.column_text(3), select.column_text(4),
                              select.column_integer(5)});
  }
  return out;
}

std::vector<AppliedMigration> SqliteStore::applied_migrations() {
  std::vector<AppliedMigration> out;
  Statement select(*this, sql::kSelectMigrations);
  while (select.step()) {
    out.push_back(AppliedMigration{static_cast<int>(select.column_integer(0)),
                                   select.column_text(1), select.column_integer(2)});
  }
  return out;
}

}  // namespace tandem::store
