#pragma once
// Every SQL statement of PostgresStore. The same logical schema as SQLite's
// (sqlite_sql.hpp); PostgreSQL types: rooms.state is JSON (the snapshot kept exactly as
// written: only the server reads it back), room_events.data is JSONB (queryable),
// room_events.id is BIGSERIAL, timestamps are BIGINT ms since the Unix epoch as in SQLite.
// Statements with parameters are prepared once per connection under their name.
#include "store/migration.hpp"

#include <array>

namespace tandem::store::postgres_sql {

struct Query {
  const char* name;  // prepared statement name, unique
  const char* text;
};

// Serializes concurrent migrations (several nodes starting at once): held until COMMIT.
inline constexpr const char* kLockMigrations = "SELECT pg_advisory_xact_lock(7302185161)";
// Migrations may build indexes on large tables: no statement timeout inside them.
inline constexpr const char* kNoStatementTimeout = "SET LOCAL statement_timeout = 0";

inline constexpr const char* kCreateSchemaMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  applied_at BIGINT NOT NULL)";

inline constexpr Query kSelectMigration{"tandem_select_migration",
                                        "SELECT 1 FROM schema_migrations WHERE version = $1"};
inline constexpr Query kInsertMigration{
    "tandem_insert_migration",
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)"};
inline constexpr Query kSelectMigrations{
    "tandem_select_migrations",
    "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"};

inline constexpr std::array kMigrations = {
    Migration{1, "rooms_users_room_events", R"sql(
CREATE TABLE IF NOT EXISTS rooms (
  id VARCHAR(50) PRIMARY KEY CHECK (id <> ''),
  host_user_id VARCHAR(100),
  current_url TEXT,
  "current_time" DOUBLE PRECISION NOT NULL DEFAULT 0,
  is_playing BOOLEAN NOT NULL DEFAULT FALSE,
  guest_control_enabled BOOLEAN NOT NULL DEFAULT FALSE,
  pin_hash TEXT,
  state JSON NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  archived_at BIGINT
);
CREATE INDEX IF NOT EXISTS idx_rooms_live_updated_at ON rooms (updated_at)
  WHERE archived_at IS NULL;
CREATE TABLE IF NOT EXISTS users (
  id VARCHAR(100) NOT NULL,
  room_id VARCHAR(50) NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  username TEXT,
  "current_time" DOUBLE PRECISION NOT NULL DEFAULT 0,
  is_playing BOOLEAN NOT NULL DEFAULT FALSE,
  connection_quality VARCHAR(20) NOT NULL DEFAULT 'connected',
  last_heartbeat BIGINT,
  PRIMARY KEY (room_id, id)
);
CREATE TABLE IF NOT EXISTS room_events (
  id BIGSERIAL PRIMARY KEY,
  room_id VARCHAR(50) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  user_id VARCHAR(100),
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_room_events_room_id ON room_events (room_id, id);
CREATE INDEX IF NOT EXISTS idx_room_events_created_at ON room_events (created_at);
)sql"},
    Migration{2, "short_ids", R"sql(
CREATE TABLE IF NOT EXISTS short_ids (
  short_id VARCHAR(16) PRIMARY KEY,
  room_id VARCHAR(50) NOT NULL UNIQUE,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_short_ids_expires_at ON short_ids (expires_at);
)sql"},
    // Audit log bounds (audit_quota.hpp): each row's counted size (older rows: the same
    // sum, over the JSONB's text), each room's total in room_event_usage, and archived
    // rooms found by their archiving time. The UPDATE rewrites every older row once.
    Migration{3, "audit_bounds", R"sql(
ALTER TABLE room_events ADD COLUMN IF NOT EXISTS size_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE room_events SET size_bytes = octet_length(room_id) + octet_length(event_type)
  + COALESCE(octet_length(user_id), 0) + octet_length(data::text) + 64 WHERE size_bytes = 0;
CREATE TABLE IF NOT EXISTS room_event_usage (
  room_id VARCHAR(50) PRIMARY KEY,
  bytes BIGINT NOT NULL,
  row_count BIGINT NOT NULL
);
INSERT INTO room_event_usage (room_id, bytes, row_count)
  SELECT room_id, SUM(size_bytes), COUNT(*) FROM room_events GROUP BY room_id
  ON CONFLICT (room_id) DO NOTHING;
CREATE INDEX IF NOT EXISTS idx_rooms_archived_at ON rooms (archived_at)
  WHERE archived_at IS NOT NULL;
)sql"},
};

inline constexpr Query kUpsertRoom{"tandem_upsert_room", R"sql(
INSERT INTO rooms (id, host_user_id, current_url, "current_time", is_playing,
                   guest_control_enabled, pin_hash, state, created_at, updated_at, archived_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)
ON CONFLICT (id) DO UPDATE SET
  host_user_id = EXCLUDED.host_user_id,
  current_url = EXCLUDED.current_url,
  "current_time" = EXCLUDED."current_time",
  is_playing = EXCLUDED.is_playing,
  guest_control_enabled = EXCLUDED.guest_control_enabled,
  pin_hash = EXCLUDED.pin_hash,
  state = EXCLUDED.state,
  created_at = EXCLUDED.created_at,
  updated_at = EXCLUDED.updated_at,
  archived_at = NULL
-- Cluster nodes journal snapshots independently: an older version never replaces a newer
-- one (an archived row is a room that may have been created again from version 0).
WHERE rooms.archived_at IS NOT NULL
   OR COALESCE((rooms.state->>'version')::bigint, 0) <= COALESCE((EXCLUDED.state->>'version')::bigint, 0)
RETURNING id)sql"};
inline constexpr Query kDeleteUsers{"tandem_delete_users", "DELETE FROM users WHERE room_id = $1"};
inline constexpr Query kUpsertUser{"tandem_upsert_user", R"sql(
INSERT INTO users (id, room_id, username, "current_time", is_playing, connection_quality,
                   last_heartbeat)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (room_id, id) DO UPDATE SET
  username = EXCLUDED.username,
  "current_time" = EXCLUDED."current_time",
  is_playing = EXCLUDED.is_playing,
  connection_quality = EXCLUDED.connection_quality,
  last_heartbeat = EXCLUDED.last_heartbeat)sql"};

inline constexpr Query kArchiveRoom{"tandem_archive_room",
                                    "UPDATE rooms SET archived_at = $2 WHERE id = $1"};

inline constexpr Query kInsertEvent{
    "tandem_insert_event",
    "INSERT INTO room_events (room_id, event_type, user_id, data, created_at, size_bytes) "
    "VALUES ($1, $2, $3, $4, $5, $6)"};

inline constexpr Query kDeleteOtherShortIds{
    "tandem_delete_other_short_ids", "DELETE FROM short_ids WHERE room_id = $1 AND short_id <> $2"};
inline constexpr Query kUpsertShortId{"tandem_upsert_short_id", R"sql(
INSERT INTO short_ids (short_id, room_id, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (short_id) DO UPDATE SET
  room_id = EXCLUDED.room_id,
  expires_at = EXCLUDED.expires_at)sql"};

inline constexpr Query kSelectLiveRooms{"tandem_select_live_rooms", R"sql(
SELECT id, host_user_id, current_url, "current_time", is_playing, guest_control_enabled,
       pin_hash, state, created_at, updated_at
FROM rooms WHERE archived_at IS NULL ORDER BY id)sql"};

inline constexpr Query kSelectLiveRoom{"tandem_select_live_room", R"sql(
SELECT id, host_user_id, current_url, "current_time", is_playing, guest_control_enabled,
       pin_hash, state, created_at, updated_at
FROM rooms WHERE id = $1 AND archived_at IS NULL)sql"};

inline constexpr Query kSelectShortIds{
    "tandem_select_short_ids",
    "SELECT short_id, room_id, expires_at FROM short_ids WHERE expires_at > $1 "
    "ORDER BY short_id"};

inline constexpr Query kArchiveIdleRooms{
    "tandem_archive_idle_rooms",
    "UPDATE rooms SET archived_at = $2 WHERE archived_at IS NULL AND updated_at < $1 "
    "RETURNING id"};

inline constexpr Query kDeleteEventsBefore{
    "tandem_delete_events_before",
    "DELETE FROM room_events WHERE id IN "
    "(SELECT id FROM room_events WHERE created_at < $1 ORDER BY id LIMIT $2) "
    "RETURNING room_id, size_bytes"};

// Audit usage per room (a batch's rows added; deletions subtracted, in the same
// transaction as the rows).
inline constexpr Query kAddUsage{"tandem_add_usage", R"sql(
INSERT INTO room_event_usage (room_id, bytes, row_count) VALUES ($1, $2, $3)
ON CONFLICT (room_id) DO UPDATE SET
  bytes = room_event_usage.bytes + EXCLUDED.bytes,
  row_count = room_event_usage.row_count + EXCLUDED.row_count
RETURNING bytes, row_count)sql"};
inline constexpr Query kSubtractUsage{
    "tandem_subtract_usage",
    "UPDATE room_event_usage SET bytes = bytes - $2, row_count = row_count - $3 "
    "WHERE room_id = $1 RETURNING bytes"};
inline constexpr Query kDeleteEmptyUsage{
    "tandem_delete_empty_usage", "DELETE FROM room_event_usage WHERE room_id = $1 AND row_count <= 0"};
inline constexpr Query kSelectUsage{"tandem_select_usage",
                                    "SELECT bytes FROM room_event_usage WHERE room_id = $1"};
inline constexpr Query kSumUsage{"tandem_sum_usage",
                                 "SELECT COALESCE(SUM(bytes), 0)::bigint FROM room_event_usage"};

// Quotas: the oldest rows' sizes (of a room, or of the whole log), then the rows up to the
// last one needed deleted (RETURNING counts a row another node committed meanwhile too).
inline constexpr Query kSelectRoomEventSizes{
    "tandem_select_room_event_sizes",
    "SELECT id, size_bytes FROM room_events WHERE room_id = $1 ORDER BY id LIMIT $2"};
inline constexpr Query kSelectEventSizes{
    "tandem_select_event_sizes", "SELECT id, size_bytes FROM room_events ORDER BY id LIMIT $1"};
inline constexpr Query kDeleteRoomEventsThrough{
    "tandem_delete_room_events_through",
    "DELETE FROM room_events WHERE room_id = $1 AND id <= $2 RETURNING room_id, size_bytes"};
inline constexpr Query kDeleteEventsThrough{
    "tandem_delete_events_through",
    "DELETE FROM room_events WHERE id <= $1 RETURNING room_id, size_bytes"};

// Archived rooms past retention, then each one's rows up to its archiving.
inline constexpr Query kDeleteArchivedRooms{
    "tandem_delete_archived_rooms",
    "DELETE FROM rooms WHERE id IN (SELECT id FROM rooms WHERE archived_at IS NOT NULL "
    "AND archived_at < $1 ORDER BY archived_at LIMIT $2) AND archived_at < $1 "
    "RETURNING id, archived_at"};
inline constexpr Query kDeleteRoomEventsUntil{
    "tandem_delete_room_events_until",
    "DELETE FROM room_events WHERE room_id = $1 AND created_at <= $2 "
    "RETURNING room_id, size_bytes"};
inline constexpr Query kDeleteExpiredShortIds{
    "tandem_delete_expired_short_ids",
    "DELETE FROM short_ids WHERE short_id IN "
    "(SELECT short_id FROM short_ids WHERE expires_at < $1 LIMIT $2)"};

inline constexpr Query kSelectRoomEvents{
    "tandem_select_room_events",
    "SELECT id, room_id, event_type, user_id, data, created_at FROM room_events "
    "WHERE room_id = $1 ORDER BY id DESC LIMIT $2"};

}  // namespace tandem::store::postgres_sql
