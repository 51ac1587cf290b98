#pragma once
// The cluster store: PostgreSQL through libpq, one connection, used by the journal's
// writer thread only (blocking calls are fine there; the event loop never waits on it).
// The connection is opened on the first call and opened again on the call after it broke,
// so a database restart only costs the journal's retries. Every failure is a StoreError.
// Values are always sent as parameters of prepared statements, never spliced into SQL.
#include "store/audit_quota.hpp"
#include "store/store.hpp"

#include <optional>

#include <string>
#include <unordered_set>

struct pg_conn;
struct pg_result;

namespace tandem::store {

namespace postgres_sql {
struct Query;
}

class PostgresStore final : public Store {
 public:
  // `conninfo`: a URI (postgresql://user:pw@host:port/db?...) or "key=value ..." string.
  // Defaults it may override: connect_timeout=5 s, TCP keepalives and a 10 s TCP user
  // timeout (a dead peer is noticed, not waited on), statement_timeout=10 s,
  // client_encoding=UTF8, application_name=tandem-server.
  explicit PostgresStore(std::string conninfo);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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
  std::string_view kind() const noexcept override { return "postgresql"; }

  // Closes the connection (the next call reconnects).
  void disconnect() noexcept;

 private:
  class Result;
  static RoomSnapshot read_room(const Result& r, int i);
  class Params;
  class Transaction;

  pg_conn* connection();
  // Runs `call`; if it failed because a connection opened by an earlier call had died
  // meanwhile (the server restarted while we were idle), runs it once more on a new one.
  template <class Call>
  auto retry_stale(Call&& call);
  Result exec(const char* sql);
  Result exec(const postgres_sql::Query& query, const Params& params);
  [[noreturn]] void fail(pg_result* result, std::string_view what);
  void write_entry(const JournalEntry& entry, AuditTally& added);
  // Adds the rows of a DELETE ... RETURNING room_id, size_bytes to `deleted`.
  static void tally(const Result& r, AuditTally& deleted);
  // Subtracts the deleted rows from room_event_usage (inside the caller's transaction);
  // returns the bytes left to `room_id`'s usage row ("" / none: 0).
  std::int64_t subtract_usage(const AuditTally& deleted, const std::string& room_id = {});
  // The rows of a SELECT id, size_bytes.
  static std::vector<SizedRow> sizes(const Result& r);
  // Deletes the oldest rows of `room_id` (nullopt: of the whole log), at most `max_rows`,
  // that free `excess` bytes; returns them (for subtract_usage).
  AuditTally delete_oldest(const std::optional<std::string>& room_id, std::int64_t excess,
                           std::size_t max_rows);

  std::string conninfo_;
  pg_conn* conn_ = nullptr;
  std::unordered_set<std::string> prepared_;
};

}  // namespace tandem::store
