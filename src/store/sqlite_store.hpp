#pragma once
// The standalone store: one SQLite file, <DATA_DIR>/tandem.db (the directory is created
// if missing), in WAL mode with synchronous=NORMAL (a committed batch survives a crash of
// the process; an OS crash can lose the last few commits) and a busy timeout. Statements
// are prepared once and cached. Like every Store it is used by one thread at a time.
// Audit rows are staged and indexed in bulk (SqliteOptions; docs/STORAGE.md).
#include "store/audit_quota.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tandem::store {

// Audit rows are committed to a staging table and moved into the indexed one in bulk
// (sqlite_sql.hpp, migration 3): after `merge_interval` or once `merge_rows` are staged,
// whichever comes first, inside the batch that reaches it.
struct SqliteOptions {
  std::chrono::milliseconds merge_interval{1000};
  std::size_t merge_rows = 4096;
};

class SqliteStore final : public Store {
 public:
  static constexpr std::string_view kFileName = "tandem.db";
  static constexpr int kBusyTimeoutMs = 5000;

  // Opens lazily (on the first call), so constructing never fails.
  explicit SqliteStore(std::filesystem::path data_dir, SqliteOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void migrate() override;
  std::vector<AuditUsage> write_batch(const std::vector<JournalEntry>& batch) override;
  std::vector<RoomSnapshot> load_live_rooms() override;
  std::optional<RoomSnapshot> load_room(const std::string& room_id) override;
  std::vector<ShortIdRecord> load_short_ids(Millis now) override;
  std::vector<std::string> archive_idle_rooms(Millis before, Millis now) override;
  std::size_t delete_events_before(Millis before, std::size_t limit) override;
  std::int64_t audit_bytes() override;
  AuditDeleted trim_room_events(const std::string& room_id, std::int64_t target,
                                std::size_t max_rows) override;
  AuditDeleted trim_oldest_events(std::int64_t excess, std::size_t max_rows) override;
  std::size_t delete_archived_rooms(Millis before, std::size_t max_rooms) override;
  std::size_t delete_expired_short_ids(Millis before, std::size_t limit) override;
  std::vector<StoredEvent> room_events(const std::string& room_id, std::size_t limit) override;
  std::vector<AppliedMigration> applied_migrations() override;
  std::string_view kind() const noexcept override { return "sqlite"; }

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  class Statement;
  static RoomSnapshot read_room(Statement& select);
  class Transaction;

  sqlite3* db();
  sqlite3_stmt* prepared(std::string_view sql);
  void exec(const char* sql);
  [[noreturn]] void fail(int rc, std::string_view what);
  void close() noexcept;

  void write_entry(const JournalEntry& entry, AuditTally& added);
  // Runs a DELETE ... RETURNING room_id, size_bytes into `deleted`.
  void delete_into(Statement& del, AuditTally& deleted);
  // Subtracts the deleted rows from room_event_usage (inside the caller's transaction);
  // returns the bytes left to `room_id`'s usage row ("" / none: 0).
  std::int64_t subtract_usage(const AuditTally& deleted, const std::string& room_id = {});
  // Appends the rows of `select` (id, size_bytes in id order, bound already) to `rows`.
  static void read_sizes(Statement& select, std::vector<SizedRow>& rows);
  // Deletes the oldest rows of `room_id` (nullopt: of the whole log), at most `max_rows`,
  // that free `excess` bytes; returns them (for subtract_usage).
  AuditTally delete_oldest(const std::optional<std::string>& room_id, std::int64_t excess,
                           std::size_t max_rows);
  void write_users(const std::string& room_id, std::vector<UserRow> rows);
  std::int64_t next_event_id();
  void merge_staged_events_if_due();
  void forget_written_state() noexcept;

  std::filesystem::path data_dir_;
  SqliteOptions options_;
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  bool broken_ = false;  // an IO-level error: reopen on the next call
  std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
  // Read from the database when unknown (-1: after opening, and after a failed batch,
  // whose rows and ids were rolled back).
  std::int64_t last_event_id_ = -1;
  std::int64_t staged_rows_ = -1;
  // Each live room's users rows as this store last wrote them (write_users), so a snapshot
  // rewrites only the rows that changed. Dropped when the room is archived, and entirely
  // after a failed batch or a reopen.
  std::unordered_map<std::string, std::vector<UserRow>> users_written_;
  std::chrono::steady_clock::time_point last_merge_ = std::chrono::steady_clock::now();
};

}  // namespace tandem::store
