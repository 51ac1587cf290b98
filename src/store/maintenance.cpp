#include "store/maintenance.hpp"

#include "store/audit_quota.hpp"
#include "store/row_count.hpp"

#include <algorithm>

namespace tandem::store {
namespace {

constexpr Millis kDayMs = Millis{24} * 3600 * 1000;
constexpr auto kLogEvery = std::chrono::seconds(10);

}  // namespace

Maintenance::Maintenance(Store& store, MaintenanceOptions options, obs::Registry& registry,
                         obs::Logger& logger)
    : store_(store),
      options_(std::move(options)),
      log_(logger),
      events_deleted_(registry, "tandem_store_events_deleted_total",
                      "room_events rows deleted, by reason: retention (EVENTS_RETENTION_DAYS), "
                      "room_quota (EVENTS_MAX_BYTES_PER_ROOM), total_quota (EVENTS_MAX_BYTES)",
                      "reason", {"retention", "room_quota", "total_quota"}),
      rooms_archived_(
          registry.counter("tandem_store_rooms_archived_total", "Rooms archived after idling")),
      rooms_deleted_(registry.counter(
          "tandem_store_rooms_deleted_total",
          "Archived rooms deleted with their audit rows after ARCHIVED_ROOMS_RETENTION_DAYS")),
      short_ids_deleted_(registry.counter("tandem_store_short_ids_deleted_total",
                                          "Expired short ids deleted from the record")),
      audit_bytes_gauge_(registry.gauge(
          "tandem_store_audit_bytes",
          "The audit log's counted bytes (room_events) as this node last knew them")),
      due_(Clock::now()) {
  options_.interval = std::max(options_.interval, std::chrono::milliseconds{1});
  options_.batch_rows = std::max<std::size_t>(options_.batch_rows, 1);
  options_.batch_rooms = std::max<std::size_t>(options_.batch_rooms, 1);
  if (!options_.wall_clock) {
    options_.wall_clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

bool Maintenance::total_over() const {
  return total_ >= 0 && over_quota(total_, options_.events_max_bytes);
}

bool Maintenance::quota_pending() const { return !rooms_over_.empty() || total_over(); }

bool Maintenance::pending(Clock::time_point now) const {
  return quota_pending() || !tasks_.empty() || now >= due_;
}

Maintenance::Clock::time_point Maintenance::due() const {
  return quota_pending() || !tasks_.empty() ? Clock::time_point::min() : due_;
}

void Maintenance::on_batch(const std::vector<AuditUsage>& usage) {
  for (const auto& room : usage) {
    if (over_quota(room.bytes, options_.events_max_bytes_per_room)) rooms_over_.insert(room.room_id);
    if (total_ >= 0) total_ += room.added;
  }
  if (total_ >= 0) audit_bytes_gauge_.set(static_cast<double>(total_));
}

void Maintenance::step(Clock::time_point now, bool quota_first) {
  if (now >= due_) {
    due_ = now + options_.interval;
    for (Task task : {Task::archive_idle, Task::measure, Task::delete_archived,
                      Task::expire_short_ids, Task::retention}) {
      if (std::find(tasks_.begin(), tasks_.end(), task) == tasks_.end()) tasks_.push_back(task);
    }
  }
  // Quota work and periodic tasks take turns, so that neither starves the other.
  const bool quota = quota_pending() && (quota_first || quota_turn_ || tasks_.empty());
  quota_turn_ = !quota;
  try {
    if (quota) {
      quota_step();
    } else if (!tasks_.empty()) {
      run_task(tasks_.front());
    }
  } catch (const std::exception& e) {
    log_.warn("store_maintenance_failed", {{"store", std::string(store_.kind())}, {"error", e.what()}});
    if (quota) {
      // Dropped until the next batch that passes a quota (or the next measure).
      rooms_over_.clear();
      total_ = -1;
    } else {
      tasks_.pop_front();
      cutoff_set_ = false;
    }
  }
  log_trimmed();
}

void Maintenance::defer(Clock::time_point now) {
  due_ = now + options_.interval;
  tasks_.clear();
  cutoff_set_ = false;
  rooms_over_.clear();
  total_ = -1;
}

void Maintenance::run_task(Task task) {
  const Millis wall = options_.wall_clock();
  const auto finish = [this] {
    tasks_.pop_front();
    cutoff_set_ = false;
  };
  // A task that deletes in batches keeps the cutoff it started with.
  const auto cutoff = [&](Millis value) {
    if (!cutoff_set_) {
      cutoff_ = value;
      cutoff_set_ = true;
      task_done_ = 0;
    }
    return cutoff_;
  };
  switch (task) {
    case Task::archive_idle: {
      if (options_.room_ttl_ms > 0) {
        auto ids = store_.archive_idle_rooms(wall - options_.room_ttl_ms, wall);
        if (!ids.empty()) {
          rooms_archived_.inc(ids.size());
          log_.info("rooms_archived", {{"store", std::string(store_.kind())}, {"count", as_int(ids.size())}});
          if (options_.on_rooms_archived) options_.on_rooms_archived(std::move(ids));
        }
      }
      finish();
      return;
    }
    case Task::measure:
      total_ = store_.audit_bytes();
      audit_bytes_gauge_.set(static_cast<double>(total_));
      finish();
      return;
    case Task::delete_archived: {
      if (options_.archived_rooms_retention_days <= 0) return finish();
      const Millis before = cutoff(wall - Millis{options_.archived_rooms_retention_days} * kDayMs);
      const std::size_t n = store_.delete_archived_rooms(before, options_.batch_rooms);
      rooms_deleted_.inc(n);
      task_done_ += as_int(n);
      if (n < options_.batch_rooms) {
        if (task_done_ > 0) {
          log_.info("archived_rooms_deleted", {{"store", std::string(store_.kind())},
                                               {"rooms", task_done_},
                                               {"archivedBefore", before}});
          tasks_.push_back(Task::measure);  // their rows left the log
        }
        finish();
      }
      return;
    }
    case Task::expire_short_ids: {
      const std::size_t n = store_.delete_expired_short_ids(wall, options_.batch_rows);
      short_ids_deleted_.inc(n);
      if (n < options_.batch_rows) finish();
      return;
    }
    case Task::retention: {
      if (options_.events_retention_days <= 0) return finish();
      const Millis before = cutoff(wall - Millis{options_.events_retention_days} * kDayMs);
      const std::size_t n = store_.delete_events_before(before, options_.batch_rows);
      events_deleted_["retention"].inc(n);
      task_done_ += as_int(n);
      if (n < options_.batch_rows) {
        if (task_done_ > 0) {
          log_.info("events_retention", {{"store", std::string(store_.kind())},
                                         {"deleted", task_done_},
                                         {"before", before}});
          tasks_.push_back(Task::measure);
        }
        finish();
      }
      return;
    }
  }
}

void Maintenance::quota_step() {
  if (!rooms_over_.empty()) {
    const std::string room_id = *rooms_over_.begin();
    const std::int64_t target = quota_target(options_.events_max_bytes_per_room);
    const AuditDeleted d = store_.trim_room_events(room_id, target, options_.batch_rows);
    deleted("room_quota", d.rows, d.bytes);
    // Done when at the target; a step that found nothing to delete ends it too (the
    // usage row was already in bounds, e.g. trimmed by another node).
    if (d.rows == 0 || d.bytes_after <= target) rooms_over_.erase(room_id);
    return;
  }
  if (!total_over()) return;
  const AuditDeleted d =
      store_.trim_oldest_events(total_ - quota_target(options_.events_max_bytes), options_.batch_rows);
  deleted("total_quota", d.rows, d.bytes);
  if (d.rows == 0) total_ = -1;  // the count was off: read it again with the next measure
  if (total_ < 0 && std::find(tasks_.begin(), tasks_.end(), Task::measure) == tasks_.end()) {
    tasks_.push_back(Task::measure);
  }
}

void Maintenance::deleted(const char* reason, std::int64_t rows, std::int64_t bytes) {
  if (rows <= 0) return;
  events_deleted_[reason].inc(static_cast<std::uint64_t>(rows));
  Trimmed& t = std::string_view(reason) == "room_quota" ? trimmed_room_ : trimmed_total_;
  t.rows += rows;
  t.bytes += bytes;
  if (total_ >= 0) {
    total_ = std::max<std::int64_t>(0, total_ - bytes);
    audit_bytes_gauge_.set(static_cast<double>(total_));
  }
}

void Maintenance::log_trimmed() {
  if (trimmed_room_.rows == 0 && trimmed_total_.rows == 0) return;
  const auto now = Clock::now();
  if (now - logged_at_ < kLogEvery) return;
  logged_at_ = now;
  log_.info("audit_quota_trimmed", {{"store", std::string(store_.kind())},
                                    {"roomQuotaRows", trimmed_room_.rows},
                                    {"roomQuotaBytes", trimmed_room_.bytes},
                                    {"totalQuotaRows", trimmed_total_.rows},
                                    {"totalQuotaBytes", trimmed_total_.bytes},
                                    {"auditBytes", total_}});
  trimmed_room_ = {};
  trimmed_total_ = {};
}

}  // namespace tandem::store
