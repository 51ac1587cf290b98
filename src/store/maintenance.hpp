#pragma once
// The durable record's housekeeping, run by the journal's writer thread between its batches
// (docs/STORAGE.md, "Retention and bounds"). Each step() is at most one database call (one
// transaction), so writes never stall behind a large delete.
//
// Periodic (every `interval`, the first run at start): rooms idle longer than room_ttl are
// archived; the audit log's size is read (room_event_usage; in a cluster other nodes write
// it too); rooms archived longer than archived_rooms_retention_days are deleted with their
// audit rows; expired short ids are deleted; room_events older than events_retention_days
// are deleted. Each delete runs `batch_rows` rows (or `batch_rooms` rooms) per step until a
// step finds less.
//
// Quotas (after every committed batch): a room whose audit rows pass events_max_bytes_per_room
// loses its oldest rows until it is at 90 % of it; the whole log past events_max_bytes loses
// its oldest rows, whichever rooms, until it is at 90 %. The journal gives quota work a turn
// after each batch, so a room flooded with audited messages is trimmed while it floods.
// Deletions are counted (tandem_store_events_deleted_total{reason}) and logged at most
// every 10 s.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace tandem::store {

struct MaintenanceOptions {
  std::chrono::milliseconds interval{60'000};
  int events_retention_days = 30;          // 0: keep
  Millis room_ttl_ms = Millis{4} * 3600 * 1000;  // 0: never archive idle rooms
  int archived_rooms_retention_days = 30;  // 0: keep archived rooms
  std::int64_t events_max_bytes_per_room = std::int64_t{1} << 20;  // 0: no quota
  std::int64_t events_max_bytes = std::int64_t{1} << 30;           // 0: no quota
  std::size_t batch_rows = 1000;
  std::size_t batch_rooms = 100;
  std::function<Millis()> wall_clock;  // ms since the epoch; default: the system clock
  // Called on the writer thread with the ids of rooms archived as idle.
  std::function<void(std::vector<std::string>)> on_rooms_archived;
};

class Maintenance {
 public:
  using Clock = std::chrono::steady_clock;

  Maintenance(Store& store, MaintenanceOptions options, obs::Registry& registry,
              obs::Logger& logger);

  // After a committed batch: the audit usage of the rooms it added rows to.
  void on_batch(const std::vector<AuditUsage>& usage);
  // Some work can run now.
  bool pending(Clock::time_point now) const;
  // Quota work is waiting (the journal runs one step of it after each batch).
  bool quota_pending() const;
  // When pending() next turns true with nothing else happening (for the writer's wait).
  Clock::time_point due() const;
  // One step: at most one database call. Quota work and periodic tasks take turns, unless
  // `quota_first` (the journal's turn after a batch). Failures are logged; the task at hand
  // is dropped (it comes again with the next period, or the next batch over a quota).
  void step(Clock::time_point now, bool quota_first = false);
  // The store could not even be prepared: nothing runs until the next period.
  void defer(Clock::time_point now);

 private:
  enum class Task { archive_idle, measure, delete_archived, expire_short_ids, retention };
  struct Trimmed {  // deletions since the last log line
    std::int64_t rows = 0;
    std::int64_t bytes = 0;
  };

  void run_task(Task task);
  void quota_step();
  void deleted(const char* reason, std::int64_t rows, std::int64_t bytes);
  void log_trimmed();
  bool total_over() const;

  Store& store_;
  MaintenanceOptions options_;
  obs::Logger& log_;
  obs::CounterSet events_deleted_;
  obs::Counter& rooms_archived_;
  obs::Counter& rooms_deleted_;
  obs::Counter& short_ids_deleted_;
  obs::Gauge& audit_bytes_gauge_;

  Clock::time_point due_;
  std::deque<Task> tasks_;
  bool quota_turn_ = false;  // alternates quota steps with periodic tasks
  Millis cutoff_ = 0;        // of the task at the front, fixed when it starts
  bool cutoff_set_ = false;
  std::int64_t task_done_ = 0;  // what the task at the front deleted so far
  std::set<std::string> rooms_over_;  // rooms past their quota, trimmed one step at a time
  std::int64_t total_ = -1;           // the log's counted bytes (-1: not read yet)
  Trimmed trimmed_room_;
  Trimmed trimmed_total_;
  Clock::time_point logged_at_{};
};

}  // namespace tandem::store
