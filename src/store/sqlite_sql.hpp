#pragma once
// Every SQL statement of SqliteStore (SQLite 3.35+: RETURNING, ON CONFLICT upserts).
// The logical schema is the same as PostgreSQL's (postgres_sql.hpp); the dialect differs
// only in types: timestamps are BIGINT ms since the Unix epoch in both, JSON is TEXT here
// (declared TEXT, not JSON: SQLite would give a column typed JSON numeric affinity), and
// booleans are 0/1.
#include "store/migration.hpp"

#include <array>

namespace tandem::store::sqlite_sql {

inline constexpr const char* kPragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA foreign_keys = ON;";

inline constexpr const char* kCreateSchemaMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  applied_at BIGINT NOT NULL)";

inline constexpr const char* kSelectMigration =
    "SELECT 1 FROM schema_migrations WHERE version = ?1";
inline constexpr const char* kInsertMigration =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";
inline constexpr const char* kSelectMigrations =
    "SELECT version, name, applied_at FROM schema_migrations ORDER BY version";

inline constexpr std::array kMigrations = {
    Migration{1, "rooms_users_room_events", R"sql(
CREATE TABLE IF NOT EXISTS rooms (
  id VARCHAR(50) PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 50),
  host_user_id VARCHAR(100),
  current_url TEXT,
  "current_time" DOUBLE PRECISION NOT NULL DEFAULT 0,
  is_playing BOOLEAN NOT NULL DEFAULT 0,
  guest_control_enabled BOOLEAN NOT NULL DEFAULT 0,
  pin_hash TEXT,
  state TEXT NOT NULL,
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
  is_playing BOOLEAN NOT NULL DEFAULT 0,
  connection_quality VARCHAR(20) NOT NULL DEFAULT 'connected',
  last_heartbeat BIGINT,
  PRIMARY KEY (room_id, id)
);
CREATE TABLE IF NOT EXISTS room_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id VARCHAR(50) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  user_id VARCHAR(100),
  data TEXT NOT NULL DEFAULT '{}',
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
    // Audit rows are committed to a staging table without the room index (an append to
    // one B-tree) and moved into the indexed table in bulk (kMergeStagedEvents): a room's
    // index page is then rewritten once per merge instead of once per row and commit.
    // `room_events` becomes a view over both, so readers see one table.
    Migration{3, "room_events_staging", R"sql(
ALTER TABLE room_events RENAME TO room_events_indexed;
CREATE TABLE IF NOT EXISTS room_events_staging (
  id INTEGER PRIMARY KEY,
  room_id VARCHAR(50) NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  user_id VARCHAR(100),
  data TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL
);
CREATE VIEW IF NOT EXISTS room_events AS
  SELECT id, room_id, event_type, user_id, data, created_at FROM room_events_indexed
  UNION ALL
  SELECT id, room_id, event_type, user_id, data, created_at FROM room_events_staging;
)sql"},
    // The room's version in a column of its own, for the upsert's compare (kUpsertRoom):
    // reading it from the stored JSON parsed ~2.5 KB of text twice per snapshot. Rows whose
    // state is not valid JSON (none are written so) start at 0, as the old compare read them.
    Migration{4, "rooms_version", R"sql(
ALTER TABLE rooms ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET version = COALESCE(json_extract(state, '$.version'), 0) WHERE json_valid(state);
)sql"},
    // Audit log bounds (audit_quota.hpp): each row's counted size, filled for older rows
    // with the sum the store computes for new ones (and shown by the view); each room's
    // total in room_event_usage (kept with every write and delete); archived rooms found by
    // their archiving time.
    Migration{5, "audit_bounds", R"sql(
ALTER TABLE room_events_indexed ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE room_events_staging ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE room_events_indexed SET size_bytes = length(CAST(room_id AS BLOB))
  + length(CAST(event_type AS BLOB)) + COALESCE(length(CAST(user_id AS BLOB)), 0)
  + length(CAST(data AS BLOB)) + 64 WHERE size_bytes = 0;
UPDATE room_events_staging SET size_bytes = length(CAST(room_id AS BLOB))
  + length(CAST(event_type AS BLOB)) + COALESCE(length(CAST(user_id AS BLOB)), 0)
  + length(CAST(data AS BLOB)) + 64 WHERE size_bytes = 0;
CREATE TABLE IF NOT EXISTS room_event_usage (
  room_id VARCHAR(50) PRIMARY KEY,
  bytes BIGINT NOT NULL,
  row_count BIGINT NOT NULL
);
INSERT OR IGNORE INTO room_event_usage (room_id, bytes, row_count)
  SELECT room_id, SUM(size_bytes), COUNT(*) FROM (
    SELECT room_id, size_bytes FROM room_events_indexed
    UNION ALL SELECT room_id, size_bytes FROM room_events_staging)
  GROUP BY room_id;
CREATE INDEX IF NOT EXISTS idx_rooms_archived_at ON rooms (archived_at)
  WHERE archived_at IS NOT NULL;
DROP VIEW IF EXISTS room_events;
CREATE VIEW room_events AS
  SELECT id, room_id, event_type, user_id, data, created_at, size_bytes FROM room_events_indexed
  UNION ALL
  SELECT id, room_id, event_type, user_id, data, created_at, size_bytes FROM room_events_staging;
)sql"},
};

// A snapshot: the rooms row (un-archived), then its users rows replaced.
inline constexpr const char* kUpsertRoom = R"sql(
INSERT INTO rooms (id, host_user_id, current_url, "current_time", is_playing,
                   guest_control_enabled, pin_hash, state, created_at, updated_at, archived_at,
                   version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11)
ON CONFLICT (id) DO UPDATE SET
  host_user_id = excluded.host_user_id,
  current_url = excluded.current_url,
  "current_time" = excluded."current_time",
  is_playing = excluded.is_playing,
  guest_control_enabled = excluded.guest_control_enabled,
  pin_hash = excluded.pin_hash,
  state = excluded.state,
  created_at = excluded.created_at,
  updated_at = excluded.updated_at,
  archived_at = NULL,
  version = excluded.version
-- Cluster nodes journal snapshots independently: an older version never replaces a newer
-- one (an archived row is a room that may have been created again from version 0).
WHERE rooms.archived_at IS NOT NULL
   OR rooms.version <= excluded.version
RETURNING id)sql";
inline constexpr const char* kDeleteUsers = "DELETE FROM users WHERE room_id = ?1";
inline constexpr const char* kDeleteUser = "DELETE FROM users WHERE room_id = ?1 AND id = ?2";
inline constexpr const char* kUpsertUser = R"sql(
INSERT INTO users (id, room_id, username, "current_time", is_playing, connection_quality,
                   last_heartbeat)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (room_id, id) DO UPDATE SET
  username = excluded.username,
  "current_time" = excluded."current_time",
  is_playing = excluded.is_playing,
  connection_quality = excluded.connection_quality,
  last_heartbeat = excluded.last_heartbeat)sql";

inline constexpr const char* kArchiveRoom = "UPDATE rooms SET archived_at = ?2 WHERE id = ?1";

// Ids are assigned by the store (SqliteStore::next_event_id), so a row keeps its id when
// it moves from staging to the indexed table.
inline constexpr const char* kInsertEvent =
    "INSERT INTO room_events_staging (id, room_id, event_type, user_id, data, created_at, "
    "size_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// The highest id ever assigned: the indexed table's AUTOINCREMENT high-water mark (kept
// even when retention has deleted every row) or a staged row's.
inline constexpr const char* kSelectLastEventId =
    "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'room_events_indexed'), 0),"
    "           COALESCE((SELECT max(id) FROM room_events_indexed), 0),"
    "           COALESCE((SELECT max(id) FROM room_events_staging), 0))";
inline constexpr const char* kCountStagedEvents = "SELECT count(*) FROM room_events_staging";
inline constexpr const char* kMergeStagedEvents =
    "INSERT INTO room_events_indexed (id, room_id, event_type, user_id, data, created_at, "
    "size_bytes) SELECT id, room_id, event_type, user_id, data, created_at, size_bytes "
    "FROM room_events_staging ORDER BY id";
inline constexpr const char* kDeleteStagedEvents = "DELETE FROM room_events_staging";

// A room keeps one short id: its previous one (if another) goes first.
inline constexpr const char* kDeleteOtherShortIds =
    "DELETE FROM short_ids WHERE room_id = ?1 AND short_id <> ?2";
inline constexpr const char* kUpsertShortId = R"sql(
INSERT INTO short_ids (short_id, room_id, expires_at) VALUES (?1, ?2, ?3)
ON CONFLICT (short_id) DO UPDATE SET
  room_id = excluded.room_id,
  expires_at = excluded.expires_at)sql";

inline constexpr const char* kSelectLiveRooms = R"sql(
SELECT id, host_user_id, current_url, "current_time", is_playing, guest_control_enabled,
       pin_hash, state, created_at, updated_at
FROM rooms WHERE archived_at IS NULL ORDER BY id)sql";

inline constexpr const char* kSelectLiveRoom = R"sql(
SELECT id, host_user_id, current_url, "current_time", is_playing, guest_control_enabled,
       pin_hash, state, created_at, updated_at
FROM rooms WHERE id = ?1 AND archived_at IS NULL)sql";

inline constexpr const char* kSelectShortIds =
    "SELECT short_id, room_id, expires_at FROM short_ids WHERE expires_at > ?1 "
    "ORDER BY short_id";

inline constexpr const char* kArchiveIdleRooms =
    "UPDATE rooms SET archived_at = ?2 WHERE archived_at IS NULL AND updated_at < ?1 "
    "RETURNING id";

// Retention: the indexed table holds the old rows; staging only rows written since the
// last merge (old ones only after a long stop), deleted with what is left of the limit.
inline constexpr const char* kDeleteEventsBefore =
    "DELETE FROM room_events_indexed WHERE id IN "
    "(SELECT id FROM room_events_indexed WHERE created_at < ?1 ORDER BY id LIMIT ?2) "
    "RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteStagedEventsBefore =
    "DELETE FROM room_events_staging WHERE id IN "
    "(SELECT id FROM room_events_staging WHERE created_at < ?1 ORDER BY id LIMIT ?2) "
    "RETURNING room_id, size_bytes";

// Audit usage per room (a batch's rows added; deletions subtracted, in the same
// transaction as the rows).
inline constexpr const char* kAddUsage = R"sql(
INSERT INTO room_event_usage (room_id, bytes, row_count) VALUES (?1, ?2, ?3)
ON CONFLICT (room_id) DO UPDATE SET
  bytes = room_event_usage.bytes + excluded.bytes,
  row_count = room_event_usage.row_count + excluded.row_count
RETURNING bytes, row_count)sql";
inline constexpr const char* kSubtractUsage =
    "UPDATE room_event_usage SET bytes = bytes - ?2, row_count = row_count - ?3 "
    "WHERE room_id = ?1 RETURNING bytes";
inline constexpr const char* kDeleteEmptyUsage =
    "DELETE FROM room_event_usage WHERE room_id = ?1 AND row_count <= 0";
inline constexpr const char* kSelectUsage = "SELECT bytes FROM room_event_usage WHERE room_id = ?1";
inline constexpr const char* kSumUsage = "SELECT COALESCE(SUM(bytes), 0) FROM room_event_usage";

// Quotas: the oldest rows' sizes (of a room, or of the whole log), then the rows up to the
// last one needed deleted. Staged rows are all newer than indexed ones, so each table is
// read in id order on its own (the indexed one first).
inline constexpr const char* kSelectRoomEventSizes =
    "SELECT id, size_bytes FROM room_events_indexed WHERE room_id = ?1 ORDER BY id LIMIT ?2";
inline constexpr const char* kSelectStagedRoomEventSizes =
    "SELECT id, size_bytes FROM room_events_staging WHERE room_id = ?1 ORDER BY id LIMIT ?2";
inline constexpr const char* kSelectEventSizes =
    "SELECT id, size_bytes FROM room_events_indexed ORDER BY id LIMIT ?1";
inline constexpr const char* kSelectStagedEventSizes =
    "SELECT id, size_bytes FROM room_events_staging ORDER BY id LIMIT ?1";
inline constexpr const char* kDeleteRoomEventsThrough =
    "DELETE FROM room_events_indexed WHERE room_id = ?1 AND id <= ?2 RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteStagedRoomEventsThrough =
    "DELETE FROM room_events_staging WHERE room_id = ?1 AND id <= ?2 RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteEventsThrough =
    "DELETE FROM room_events_indexed WHERE id <= ?1 RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteStagedEventsThrough =
    "DELETE FROM room_events_staging WHERE id <= ?1 RETURNING room_id, size_bytes";

// Archived rooms past retention, then each one's rows up to its archiving.
inline constexpr const char* kDeleteArchivedRooms =
    "DELETE FROM rooms WHERE id IN (SELECT id FROM rooms WHERE archived_at IS NOT NULL "
    "AND archived_at < ?1 ORDER BY archived_at LIMIT ?2) RETURNING id, archived_at";
inline constexpr const char* kDeleteRoomEventsUntil =
    "DELETE FROM room_events_indexed WHERE room_id = ?1 AND created_at <= ?2 "
    "RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteStagedRoomEventsUntil =
    "DELETE FROM room_events_staging WHERE room_id = ?1 AND created_at <= ?2 "
    "RETURNING room_id, size_bytes";
inline constexpr const char* kDeleteExpiredShortIds =
    "DELETE FROM short_ids WHERE short_id IN "
    "(SELECT short_id FROM short_ids WHERE expires_at < ?1 LIMIT ?2)";

// A room's newest events from both tables (staging is scanned: it holds at most one merge
// interval's rows).
inline constexpr const char* kSelectRoomEvents =
    "SELECT id, room_id, event_type, user_id, data, created_at FROM ("
    " SELECT * FROM (SELECT id, room_id, event_type, user_id, data, created_at"
    "  FROM room_events_staging WHERE room_id = ?1 ORDER BY id DESC LIMIT ?2)"
    " UNION ALL"
    " SELECT * FROM (SELECT id, room_id, event_type, user_id, data, created_at"
    "  FROM room_events_indexed WHERE room_id = ?1 ORDER BY id DESC LIMIT ?2))"
    " ORDER BY id DESC LIMIT ?2";

}  // namespace tandem::store::sqlite_sql
