#include "store/journal.hpp"

#include "store/entry_codec.hpp"
#include "store/row_count.hpp"

#include <pthread.h>

#include <algorithm>
#include <random>
#include <utility>

namespace tandem::store {
namespace {

using namespace std::chrono_literals;

JournalOptions normalized(JournalOptions o) {
  o.batch_max_entries = std::max<std::size_t>(o.batch_max_entries, 1);
  o.memory_max_entries = std::max<std::size_t>(o.memory_max_entries, 1);
  o.flush_interval = std::max(o.flush_interval, std::chrono::milliseconds{0});
  o.retry_initial = std::max(o.retry_initial, std::chrono::milliseconds{1});
  o.retry_max = std::max(o.retry_max, o.retry_initial);
  return o;
}

}  // namespace

std::size_t coalesce_snapshots(std::vector<JournalEntry>& batch) {
  std::unordered_map<std::string, std::size_t> kept;  // room -> index in `out`
  std::vector<JournalEntry> out;
  out.reserve(batch.size());
  std::size_t removed = 0;
  for (auto& entry : batch) {
    if (const auto* snapshot = std::get_if<RoomSnapshot>(&entry)) {
      const auto [it, inserted] = kept.try_emplace(snapshot->state.id, out.size());
      if (!inserted) {
        out[it->second] = std::move(entry);
        ++removed;
        continue;
      }
    } else if (const auto* archived = std::get_if<RoomArchived>(&entry)) {
      kept.erase(archived->room_id);
    }
    out.push_back(std::move(entry));
  }
  batch = std::move(out);
  return removed;
}

Journal::Metrics::Metrics(obs::Registry& r)
    : backlog(r.gauge("tandem_journal_backlog",
                      "Journal entries not yet written: in memory, in flight and spilled")),
      written(r.counter("tandem_journal_written_total",
                        "Journal entries written to the store (after coalescing)")),
      batches(r.counter("tandem_journal_batches_total", "Journal batches committed")),
      write_failures(r.counter("tandem_journal_write_failures_total",
                               "Failed journal writes (every retry counts)")),
      spilled(r.counter("tandem_journal_spilled_total", "Journal entries put in the spill file")),
      coalesced(r.counter("tandem_journal_coalesced_total",
                          "Room snapshots replaced by a newer one before being written")),
      dropped(r.counter("tandem_journal_dropped_total",
                        "Journal entries lost: refused by the database, unreadable in the "
                        "spill file, or the spill file full or failing")),
      batch_seconds(
          r.gauge("tandem_journal_batch_seconds", "Duration of the last committed journal batch")),
      store_up(r.gauge("tandem_store_up", "1 while the durable store accepts writes")) {}

Journal::Journal(std::unique_ptr<Store> store, JournalOptions options, obs::Registry& registry,
                 obs::Logger& logger)
    : store_(std::move(store)),
      options_(normalized(std::move(options))),
      log_(logger),
      metrics_(registry),
      kind_(store_->kind()),
      spill_(options_.spill_path, options_.spill_max_bytes),
      maintenance_(*store_, options_.maintenance, registry, logger) {
  rng_state_ = (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
               static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  backoff_ = options_.retry_initial;
  metrics_.store_up.set(1);

  const auto recovered = spill_.recover();
  if (!recovered.problem.empty()) {
    log_.error("journal_spill_unreadable",
               {{"path", options_.spill_path.string()}, {"error", recovered.problem}});
  }
  if (recovered.lines > 0) {
    spilling_ = true;
    spill_unread_ = recovered.lines;
    spill_read_ = spill_.committed();
    log_.info("journal_spill_replay",
              {{"path", options_.spill_path.string()}, {"entries", as_int(recovered.lines)}});
  }
  update_backlog_locked();
  writer_ = std::thread([this] {
    // Named for top -H, perf and tandem-bench's per-thread CPU (15 characters at most).
    ::pthread_setname_np(::pthread_self(), "tandem-journal");
    run();
  });
}

Journal::~Journal() {
  flush(Clock::now() + options_.close_grace);
  if (writer_.joinable()) writer_.join();
  std::deque<Query> rest;
  {
    const std::lock_guard lock(mu_);
    rest.swap(queries_);
  }
  for (auto& q : rest) q.failed();
}

// ---- loop side --------------------------------------------------------------------------

void Journal::append(JournalEntry entry) {
  const std::lock_guard lock(mu_);
  if (finished_ || spilling_ || mem_.size() >= options_.memory_max_entries ||
      (options_.spill_during_outage && outage_)) {
    spill_entry_locked(entry);
    return;
  }
  if (const auto* snapshot = std::get_if<RoomSnapshot>(&entry)) {
    const auto it = pending_snapshot_.find(snapshot->state.id);
    if (it != pending_snapshot_.end() && it->second >= mem_front_seq_) {
      mem_[static_cast<std::size_t>(it->second - mem_front_seq_)] = std::move(entry);
      metrics_.coalesced.inc();
      return;
    }
    pending_snapshot_[snapshot->state.id] = mem_front_seq_ + mem_.size();
  } else if (const auto* archived = std::get_if<RoomArchived>(&entry)) {
    pending_snapshot_.erase(archived->room_id);
  }
  if (mem_.empty()) oldest_pending_ = Clock::now();
  mem_.push_back(std::move(entry));
  update_backlog_locked();
  if (mem_.size() == 1 || mem_.size() == options_.batch_max_entries) wake_.notify_one();
}

void Journal::spill_entry_locked(const JournalEntry& entry) {
  const std::string line = encode_entry(entry);
  std::string error;
  bool ok = false;
  if (spill_.is_open()) {
    ok = spill_.append(line, error);
  } else {
    const std::lock_guard io(io_mu_);  // creates the file's descriptors
    ok = spill_.append(line, error);
    if (ok) spill_read_ = spill_.committed();  // a new file: read from its first line
  }
  if (!ok) {
    metrics_.dropped.inc();
    if (!spill_error_logged_) {
      spill_error_logged_ = true;
      log_.error("journal_spill_failed", {{"path", options_.spill_path.string()},
                                          {"error", error},
                                          {"room", entry_room_id(entry)},
                                          {"kind", entry_kind(entry)}});
    }
    return;
  }
  spill_error_logged_ = false;
  if (!spilling_) {
    spilling_ = true;
    const bool memory_full = mem_.size() >= options_.memory_max_entries;
    log_.warn("journal_spilling",
              {{"path", options_.spill_path.string()},
               {"reason", memory_full ? "memory_bound" : (finished_ ? "stopped" : "outage")},
               {"memory", as_int(mem_.size())}});
  }
  ++spill_unread_;
  metrics_.spilled.inc();
  if (finished_) {
    // No writer any more: make it durable now (shutdown path only).
    const std::lock_guard io(io_mu_);
    spill_.sync();
    ++flush_result_.spilled;
  } else if (!spill_dirty_) {
    spill_dirty_ = true;
    spill_dirty_since_ = Clock::now();
    wake_.notify_one();
  }
  update_backlog_locked();
  if (spill_unread_ == 1) wake_.notify_one();
}

void Journal::submit(Query query) {
  {
    const std::lock_guard lock(mu_);
    if (!finished_ && queries_.size() < options_.max_pending_queries) {
      queries_.push_back(std::move(query));
      wake_.notify_one();
      return;
    }
  }
  query.failed();
}

void Journal::query_events(std::string room_id, std::size_t limit, EventsCallback done) {
  auto shared_done = std::make_shared<EventsCallback>(std::move(done));
  Query query;
  query.room_id = room_id;
  query.read = [room_id, limit, shared_done](Store& store) -> std::function<void()> {
    auto events = store.room_events(room_id, limit);
    return [shared_done, events = std::move(events)]() mutable { (*shared_done)(std::move(events)); };
  };
  query.failed = [shared_done] { (*shared_done)(std::nullopt); };
  submit(std::move(query));
}

void Journal::query_room(std::string room_id, RoomCallback done) {
  auto shared_done = std::make_shared<RoomCallback>(std::move(done));
  Query query;
  query.room_id = room_id;
  query.read = [room_id, shared_done](Store& store) -> std::function<void()> {
    auto room = store.load_room(room_id);
    return [shared_done, room = std::move(room)]() mutable { (*shared_done)(std::move(room)); };
  };
  query.failed = [shared_done] { (*shared_done)(std::nullopt); };
  submit(std::move(query));
}

Journal::FlushResult Journal::flush(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!finished_) {
    if (!flush_requested_) {
      flush_requested_ = true;
      const auto now = Clock::now();
      // The writer stops trying a little before the caller's deadline, so that it (not
      // the caller) spills what remains while no write is in flight.
      const Clock::duration left = deadline > now ? deadline - now : Clock::duration::zero();
      writer_deadline_ = deadline - std::min<Clock::duration>(100ms, left / 4);
      wake_.notify_all();
    }
    finished_cv_.wait_until(lock, deadline, [this] { return finished_; });
    if (!finished_) {
      // The writer is stuck in a database call: spill from here. Should that call commit
      // after all, its batch is written twice (once now, once from the spill file).
      log_.warn("journal_flush_deadline",
                {{"store", kind_}, {"backlog", as_int(backlog_locked())}});
      finish_locked();
    }
  }
  return flush_result_;
}

std::size_t Journal::backlog() const {
  const std::lock_guard lock(mu_);
  return backlog_locked();
}

bool Journal::writable() const {
  const std::lock_guard lock(mu_);
  return !outage_ && !spill_error_logged_;
}

std::size_t Journal::backlog_locked() const {
  // Once finished, whatever was pending is in the spill file (and counted there).
  if (finished_) return spill_unread_;
  return mem_.size() + inflight_.size() + spill_unread_;
}

void Journal::update_backlog_locked() {
  metrics_.backlog.set(static_cast<double>(backlog_locked()));
}

// ---- writer side ------------------------------------------------------------------------

void Journal::run() {
  std::unique_lock lock(mu_);
  Clock::time_point spill_retry_at{};
  while (!finished_) {
    const auto now = Clock::now();
    const bool maintenance_allowed = !outage_ && !flush_requested_ && inflight_.empty();

    if (!queries_.empty()) {
      std::deque<Query> queries;
      queries.swap(queries_);
      lock.unlock();
      run_queries(std::move(queries));
      lock.lock();
      continue;
    }
    if (spill_dirty_ && (flush_requested_ || now >= spill_dirty_since_ + options_.flush_interval)) {
      spill_dirty_ = false;
      lock.unlock();
      bool ok = true;
      {
        const std::lock_guard io(io_mu_);
        ok = spill_.sync();
      }
      if (!ok) log_.warn("journal_spill_sync_failed", {{"path", options_.spill_path.string()}});
      lock.lock();
      continue;
    }
    if (flush_requested_ && now >= writer_deadline_) {
      finish_locked();
      break;
    }
    if (!inflight_.empty()) {
      if (now >= retry_at_) {
        lock.unlock();
        write_inflight();
        lock.lock();
        continue;
      }
    } else if (quota_turn_ && maintenance_allowed && maintenance_.quota_pending()) {
      // One quota step after each batch: a room flooded with audited messages is trimmed
      // while it floods, not only when the writer is idle.
      quota_turn_ = false;
      lock.unlock();
      maintenance_step(true);
      lock.lock();
      continue;
    } else if (!mem_.empty() && (mem_.size() >= options_.batch_max_entries || flush_requested_ ||
                                 now >= oldest_pending_ + options_.flush_interval)) {
      const std::size_t n = std::min(options_.batch_max_entries, mem_.size());
      inflight_.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (const auto* snapshot = std::get_if<RoomSnapshot>(&mem_.front())) {
          const auto it = pending_snapshot_.find(snapshot->state.id);
          if (it != pending_snapshot_.end() && it->second == mem_front_seq_) {
            pending_snapshot_.erase(it);
          }
        }
        inflight_.push_back(std::move(mem_.front()));
        mem_.pop_front();
        ++mem_front_seq_;
      }
      metrics_.coalesced.inc(coalesce_snapshots(inflight_));
      inflight_from_spill_ = false;
      if (!mem_.empty()) oldest_pending_ = now;
      retry_at_ = now;
      split_ = false;
      update_backlog_locked();
      continue;
    } else if (mem_.empty() && spill_unread_ > 0 && now >= spill_retry_at) {
      lock.unlock();
      const bool ok = take_from_spill();
      lock.lock();
      if (!ok) spill_retry_at = Clock::now() + options_.retry_max;
      continue;
    } else if (mem_.empty() && spill_unread_ == 0 && spilling_ && !outage_) {
      {
        const std::lock_guard io(io_mu_);
        spill_.remove();
      }
      spilling_ = false;
      spill_dirty_ = false;
      log_.info("journal_spill_drained", {{"path", options_.spill_path.string()}});
      continue;
    } else if (flush_requested_ && mem_.empty() && spill_unread_ == 0) {
      finish_locked();
      break;
    } else if (maintenance_allowed && maintenance_.pending(now)) {
      lock.unlock();
      maintenance_step(false);
      lock.lock();
      continue;
    }

    auto wake = Clock::time_point::max();
    if (!inflight_.empty()) wake = std::min(wake, retry_at_);
    if (!mem_.empty()) wake = std::min(wake, oldest_pending_ + options_.flush_interval);
    if (mem_.empty() && spill_unread_ > 0) wake = std::min(wake, spill_retry_at);
    if (spill_dirty_) wake = std::min(wake, spill_dirty_since_ + options_.flush_interval);
    if (flush_requested_) wake = std::min(wake, writer_deadline_);
    if (maintenance_allowed) wake = std::min(wake, maintenance_.due());
    if (wake == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, wake);
    }
  }
  std::deque<Query> queries;
  queries.swap(queries_);
  lock.unlock();
  for (auto& q : queries) q.failed();
}

void Journal::ensure_migrated() {
  if (migrated_) return;
  try {
    store_->migrate();
  } catch (const StoreError& e) {
    throw StoreError(e.what(), true);  // not a refusal of any entry: retry
  }
  migrated_ = true;
}

void Journal::run_queries(std::deque<Query> queries) {
  for (auto& q : queries) {
    std::function<void()> complete;
    try {
      ensure_migrated();
      complete = q.read(*store_);
    } catch (const std::exception& e) {
      log_.warn("store_query_failed", {{"store", kind_}, {"room", q.room_id}, {"error", e.what()}});
      complete = q.failed;
    }
    try {
      complete();
    } catch (const std::exception& e) {
      log_.error("store_query_callback_failed", {{"error", e.what()}});
    }
  }
}

bool Journal::take_from_spill() {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  {
    const std::lock_guard lock(mu_);
    from = spill_read_;
    to = spill_.end();
  }
  std::vector<std::string> lines;
  std::uint64_t next = from;
  bool ok = false;
  {
    const std::lock_guard io(io_mu_);
    ok = spill_.read(from, to, options_.batch_max_entries, lines, next);
  }
  if (!ok || lines.empty()) {
    log_.error("journal_spill_read_failed", {{"path", options_.spill_path.string()},
                                             {"offset", static_cast<std::int64_t>(from)}});
    return false;
  }
  std::vector<JournalEntry> entries;
  entries.reserve(lines.size());
  for (const auto& line : lines) {
    if (auto entry = decode_entry(line)) {
      entries.push_back(std::move(*entry));
    } else {
      metrics_.dropped.inc();
      log_.error("journal_spill_line_invalid",
                 {{"path", options_.spill_path.string()}, {"line", line.substr(0, 200)}});
    }
  }
  metrics_.coalesced.inc(coalesce_snapshots(entries));

  const std::lock_guard lock(mu_);
  if (finished_) return true;
  spill_unread_ -= std::min(spill_unread_, lines.size());
  spill_read_ = next;
  inflight_ = std::move(entries);
  inflight_from_spill_ = true;
  inflight_spill_lines_ = lines.size();
  inflight_spill_next_ = next;
  retry_at_ = Clock::now();
  split_ = false;
  if (inflight_.empty()) commit_spill_locked();
  update_backlog_locked();
  return true;
}

void Journal::commit_spill_locked() {
  if (!inflight_from_spill_) return;
  inflight_from_spill_ = false;
  inflight_spill_lines_ = 0;
  const std::lock_guard io(io_mu_);
  if (!spill_.commit(inflight_spill_next_)) {
    log_.warn("journal_spill_commit_failed", {{"path", options_.spill_path.string()}});
  }
}

void Journal::write_inflight() {
  // Only this thread changes inflight_, so reading it without the lock is safe.
  const auto start = Clock::now();
  const std::size_t count = split_ ? 1 : inflight_.size();
  std::string error;
  bool transient = true;
  bool failed = false;
  std::vector<AuditUsage> usage;
  try {
    ensure_migrated();
    if (split_) {
      usage = store_->write_batch(std::vector<JournalEntry>{inflight_.front()});
    } else {
      usage = store_->write_batch(inflight_);
    }
  } catch (const StoreError& e) {
    failed = true;
    error = e.what();
    transient = e.transient();
  } catch (const std::exception& e) {
    failed = true;
    error = e.what();
    transient = false;
  }
  const auto now = Clock::now();

  if (!failed) {
    maintenance_.on_batch(usage);
    quota_turn_ = true;
    metrics_.written.inc(count);
    metrics_.batches.inc();
    metrics_.batch_seconds.set(std::chrono::duration<double>(now - start).count());
    bool recovered = false;
    {
      const std::lock_guard lock(mu_);
      if (finished_) return;
      if (split_) {
        inflight_.erase(inflight_.begin());
      } else {
        inflight_.clear();
      }
      if (inflight_.empty()) {
        split_ = false;
        commit_spill_locked();
      }
      recovered = outage_;
      outage_ = false;
      metrics_.store_up.set(1);  // with outage_, so that /ready and the gauge agree
      retry_at_ = now;
      update_backlog_locked();
    }
    backoff_ = options_.retry_initial;
    if (recovered) {
      log_.info(
          "store_recovered",
          {{"store", kind_},
           {"down_ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(now - outage_since_).count()},
           {"failures", static_cast<std::int64_t>(outage_failures_)},
           {"backlog", as_int(backlog())}});
    }
    return;
  }

  metrics_.write_failures.inc();
  if (!transient) {
    std::unique_lock lock(mu_);
    if (finished_) return;
    retry_at_ = now;
    if (!split_ && inflight_.size() > 1) {
      split_ = true;  // find the refused entries: write one at a time
      lock.unlock();
      log_.warn("journal_batch_refused",
                {{"store", kind_}, {"error", error}, {"entries", as_int(inflight_.size())}});
      return;
    }
    const JournalEntry refused = std::move(inflight_.front());
    inflight_.erase(inflight_.begin());
    if (inflight_.empty()) {
      split_ = false;
      commit_spill_locked();
    }
    update_backlog_locked();
    lock.unlock();
    metrics_.dropped.inc();
    log_.error("journal_entry_dropped", {{"store", kind_},
                                         {"kind", entry_kind(refused)},
                                         {"room", entry_room_id(refused)},
                                         {"error", error}});
    return;
  }

  const auto delay = next_backoff();
  bool first = false;
  {
    const std::lock_guard lock(mu_);
    if (finished_) return;
    first = !outage_;
    outage_ = true;
    metrics_.store_up.set(0);
    retry_at_ = now + delay;
  }
  if (first) {
    outage_since_ = now;
    outage_failures_ = 0;
    log_.warn("store_unavailable",
              {{"store", kind_}, {"error", error}, {"backlog", as_int(backlog())}});
  }
  ++outage_failures_;
}

void Journal::maintenance_step(bool quota_first) {
  try {
    ensure_migrated();
  } catch (const std::exception& e) {
    log_.warn("store_maintenance_failed", {{"store", kind_}, {"error", e.what()}});
    maintenance_.defer(Clock::now());
    return;
  }
  maintenance_.step(Clock::now(), quota_first);
}

// With mu_ held. Ends the journal: what is still pending goes to the spill file, ahead of
// what had already spilled.
void Journal::finish_locked() {
  if (finished_) return;
  FlushResult result;
  if (inflight_.empty() && mem_.empty() && spill_unread_ == 0) {
    result.complete = true;
    if (spill_.is_open()) {
      const std::lock_guard io(io_mu_);
      spill_.remove();
    }
    spilling_ = false;
  } else {
    std::vector<std::string> prefix;
    prefix.reserve(mem_.size() + (inflight_from_spill_ ? 0 : inflight_.size()));
    if (!inflight_from_spill_) {
      for (const auto& entry : inflight_) prefix.push_back(encode_entry(entry));
    }
    for (const auto& entry : mem_) prefix.push_back(encode_entry(entry));
    const std::size_t in_file = spill_unread_ + (inflight_from_spill_ ? inflight_spill_lines_ : 0);
    std::string error;
    bool ok = false;
    {
      const std::lock_guard io(io_mu_);
      ok = prefix.empty() ? spill_.sync() : spill_.rewrite_with_prefix(prefix, error);
    }
    if (ok) {
      result.spilled = prefix.size() + in_file;
    } else {
      result.spilled = in_file;
      metrics_.dropped.inc(prefix.size());
      log_.error("journal_spill_failed", {{"path", options_.spill_path.string()},
                                          {"error", error},
                                          {"lost", as_int(prefix.size())}});
    }
    spill_unread_ = result.spilled;
    spill_read_ = spill_.committed();
    spilling_ = true;  // appends from now on go to the file
    mem_.clear();
    pending_snapshot_.clear();
    // inflight_ stays as it is: a writer stuck in a database call may still be reading it
    // (it sees finished_ when the call returns and leaves everything alone).
  }
  spill_dirty_ = false;
  finished_ = true;
  flush_result_ = result;
  update_backlog_locked();
  log_.info("journal_flushed",
            {{"store", kind_}, {"complete", result.complete}, {"spilled", as_int(result.spilled)}});
  finished_cv_.notify_all();
  wake_.notify_all();
}

std::chrono::milliseconds Journal::next_backoff() {
  // Full backoff doubles up to retry_max; the wait is uniformly in [backoff/2, backoff].
  const auto base = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.retry_max);
  rng_state_ += 0x9e3779b97f4a7c15ULL;  // splitmix64
  std::uint64_t z = rng_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const auto half = base.count() / 2;
  const auto span = static_cast<std::uint64_t>(base.count() - half) + 1;
  return std::chrono::milliseconds{half + static_cast<std::int64_t>(z % span)};
}

}  // namespace tandem::store
