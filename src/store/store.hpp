#pragma once
// A durable store: SqliteStore (standalone default) or PostgresStore. Used only from the
// journal's writer thread (and at start, before the loop runs): implementations need no
// locking but must not be shared between threads.
#include "store/records.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::store {

// The database is unreachable or refused a statement. `transient`: retrying may succeed
// (unreachable, busy, out of resources): the journal keeps the batch and retries it with
// backoff. Not transient: the database refused the data itself (a constraint, an invalid
// value): retrying the same batch can never succeed, so the journal writes that batch's
// entries one by one and drops (logs, counts) only the refused ones.
class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& what, bool transient = true)
      : std::runtime_error(what), transient_(transient) {}
  bool transient() const noexcept { return transient_; }

 private:
  bool transient_ = true;
};

// One row of schema_migrations.
struct AppliedMigration {
  int version = 0;
  std::string name;
  Millis applied_at = 0;

  bool operator==(const AppliedMigration&) const = default;
};

// The audit log's size, counted per room in room_event_usage (docs/STORAGE.md, "Bounds"):
// each room_events row counts audit_row_bytes() (audit_quota.hpp), kept in its size_bytes.
struct AuditUsage {
  std::string room_id;
  std::int64_t bytes = 0;  // the room's rows, after the change
  std::int64_t rows = 0;
  std::int64_t added = 0;  // bytes this change added (write_batch)

  bool operator==(const AuditUsage&) const = default;
};

// room_events rows deleted by one call.
struct AuditDeleted {
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  std::int64_t bytes_after = 0;  // trim_room_events: what the room holds now
};

class Store {
 public:
  virtual ~Store() = default;

  // Connects if needed and applies pending numbered migrations (recorded in
  // schema_migrations); applying them again is a no-op. Throws StoreError.
  virtual void migrate() = 0;
  // Writes one batch in one transaction, in order (snapshots already coalesced by the
  // journal), with the audit usage of the rooms it adds rows to; returns that usage (by
  // room id). All or nothing. Throws StoreError.
  virtual std::vector<AuditUsage> write_batch(const std::vector<JournalEntry>& batch) = 0;
  // Live (not archived) rooms with their last snapshot, and live short ids.
  virtual std::vector<RoomSnapshot> load_live_rooms() = 0;
  // One live room's last snapshot (nullopt: unknown or archived). Cluster mode re-creates
  // a room from it when Redis has lost the room.
  virtual std::optional<RoomSnapshot> load_room(const std::string& room_id) = 0;
  virtual std::vector<ShortIdRecord> load_short_ids(Millis now) = 0;
  // Archives (archived_at = now, users rows deleted) the live rooms whose updated_at is
  // older than `before`; returns their ids.
  virtual std::vector<std::string> archive_idle_rooms(Millis before, Millis now) = 0;
  // Deletes up to `limit` room_events older than `before`; returns how many.
  virtual std::size_t delete_events_before(Millis before, std::size_t limit) = 0;
  // The audit log's counted bytes (the sum of room_event_usage).
  virtual std::int64_t audit_bytes() = 0;
  // Deletes the room's oldest rows, at most `max_rows`, until it holds at most `target`
  // bytes (nothing when it already does).
  virtual AuditDeleted trim_room_events(const std::string& room_id, std::int64_t target,
                                        std::size_t max_rows) = 0;
  // Deletes the log's oldest rows, whichever rooms, until `excess` bytes are freed (at most
  // `max_rows`).
  virtual AuditDeleted trim_oldest_events(std::int64_t excess, std::size_t max_rows) = 0;
  // Deletes up to `max_rooms` rooms archived before `before`, and their rows up to their
  // archiving (a room created again since keeps its new rows); returns the rooms deleted.
  virtual std::size_t delete_archived_rooms(Millis before, std::size_t max_rooms) = 0;
  // Deletes up to `limit` short ids that expired before `before`; returns how many.
  virtual std::size_t delete_expired_short_ids(Millis before, std::size_t limit) = 0;
  // The room's audit log, newest first (by id), at most `limit` rows.
  virtual std::vector<StoredEvent> room_events(const std::string& room_id, std::size_t limit) = 0;
  // The rows of schema_migrations, by version.
  virtual std::vector<AppliedMigration> applied_migrations() = 0;
  // "sqlite" or "postgresql" (logs, metrics).
  virtual std::string_view kind() const noexcept = 0;
};

}  // namespace tandem::store
