#pragma once
// The write-behind journal: the event loop appends records (never waiting on the
// database); one writer thread writes them in batches, one transaction per batch, in order.
//
// Order and coalescing. Entries are written in the order appended, except that a room's
// snapshots coalesce: a newer snapshot of a room replaces the room's pending one (the
// newest content, at the place of the first), unless that room's RoomArchived came in
// between, which stays between them. Audit events, archives and short ids are never
// coalesced, dropped or reordered.
//
// Outage. A failed batch (StoreError, transient) is kept and retried with exponential
// backoff and jitter; nothing behind it is written first. One "store_unavailable" log per
// outage, one "store_recovered" when it ends. A batch the database refuses for its data
// (StoreError, not transient) is retried entry by entry; only the refused entries are
// dropped, each logged ("journal_entry_dropped") and counted.
//
// Bounds. At most `memory_max_entries` entries wait in memory. Past that (and, with
// `spill_during_outage`, as soon as a write has failed) new entries go to the spill file
// (spill_file.hpp) instead; the writer fsyncs it every flush interval while it grows, and
// reads it back, in order, once the memory queue has drained; when it is fully written the
// file is removed. A spill file left by a previous run is replayed first at start, before
// any new entry. The spill file is bounded too (`spill_max_bytes`): past it, entries are
// dropped, logged and counted, never held in memory.
//
// What a crash can lose. A committed batch is in the database. SIGKILL loses what was in
// memory and not yet committed: normally the entries of the last flush interval plus the
// batch in flight; during an outage, with `spill_during_outage`, only what was queued
// when the outage began (every later entry is already in the spill file). An OS crash can
// also lose spill lines appended since the last fsync (one flush interval). A crash while
// the spill file drains may write its batch in flight twice (audit rows duplicated once;
// snapshots are idempotent), as may a batch whose COMMIT was lost with the connection.
//
// Shutdown. flush(deadline) writes everything left (memory, then spill) and stops the
// writer; if the database is down, or the deadline comes first, what remains is spilled
// to the file, in order, for the next start. Appends after flush go to the spill file.
//
// Maintenance (maintenance.hpp), on the writer thread while the store is healthy, one
// database call at a time between the journal's own batches: periodically idle rooms are
// archived, old rows, archived rooms and expired short ids deleted; after each batch, rooms
// (and the whole log) past their audit quota are trimmed.
#include "obs/logger.hpp"
#include "obs/metrics.hpp"
#include "store/maintenance.hpp"
#include "store/spill_file.hpp"
#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tandem::store {

struct JournalOptions {
  std::size_t batch_max_entries = 500;
  std::chrono::milliseconds flush_interval{25};  // oldest pending entry waits at most this
  std::size_t memory_max_entries = 100'000;
  std::filesystem::path spill_path = "./data/journal.spill";
  std::uint64_t spill_max_bytes = std::uint64_t{1} << 30;
  bool spill_during_outage = true;
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{5000};
  MaintenanceOptions maintenance;  // retention, quotas, archiving (maintenance.hpp)
  std::size_t max_pending_queries = 64;
  // Wait of the destructor (when flush was not called) before spilling what remains.
  std::chrono::milliseconds close_grace{1000};
};

// Keeps, per room, one snapshot per run of that room's snapshots not separated by its
// RoomArchived: the newest content at the place of the first. Returns how many it removed.
std::size_t coalesce_snapshots(std::vector<JournalEntry>& batch);

class Journal {
 public:
  using Clock = std::chrono::steady_clock;
  using EventsCallback = std::function<void(std::optional<std::vector<StoredEvent>>)>;

  struct FlushResult {
    bool complete = false;    // everything appended before flush is in the database
    std::size_t spilled = 0;  // entries left in the spill file for the next start
  };

  // Replays a spill file left at `options.spill_path` by a previous run (before any new
  // entry) and starts the writer thread. The store is migrated by the writer before its
  // first write (idempotent; retried like a write while the database is down).
  Journal(std::unique_ptr<Store> store, JournalOptions options, obs::Registry& registry,
          obs::Logger& logger);
  // flush(now + close_grace) unless flush was called, then joins the writer.
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Any thread (the event loop); takes a mutex for a moment, never waits on the database.
  void append(JournalEntry entry);

  // The room's audit log, newest first. `done` runs on the writer thread (nullopt when the
  // store fails, when too many queries wait, or after flush: then on the calling thread).
  void query_events(std::string room_id, std::size_t limit, EventsCallback done);
  // One live room's last snapshot (Store::load_room), the same way.
  using RoomCallback = std::function<void(std::optional<RoomSnapshot>)>;
  void query_room(std::string room_id, RoomCallback done);

  // Writes everything appended so far, or spills what remains, by `deadline`; stops the
  // writer. Blocks the caller (shutdown only). Idempotent: later calls return the result.
  FlushResult flush(Clock::time_point deadline);

  // Entries not yet written: in memory, in the batch in flight, and in the spill file.
  std::size_t backlog() const;
  // False from the first failed write of a batch until a batch commits again (the store
  // is down or refuses writes: the journal retries, and spills meanwhile), and while
  // entries cannot even be spilled (dropped). GET /ready turns 503 on it. Learned from
  // writes: an idle journal keeps its last answer.
  bool writable() const;
  std::string_view store_kind() const noexcept { return kind_; }

 private:
  struct Query {
    std::string room_id;
    // Reads on the writer thread; returns what to call with the result (outside the
    // read's error handling, so a throwing callback is not taken for a store failure).
    std::function<std::function<void()>(Store&)> read;
    std::function<void()> failed;  // the store failed, too many queries, or stopped
  };
  void submit(Query query);
  struct Metrics {
    explicit Metrics(obs::Registry& registry);
    obs::Gauge& backlog;
    obs::Counter& written;
    obs::Counter& batches;
    obs::Counter& write_failures;
    obs::Counter& spilled;
    obs::Counter& coalesced;
    obs::Counter& dropped;
    obs::Gauge& batch_seconds;
    obs::Gauge& store_up;
  };

  void run();
  // Writer steps. Each returns after at most one database call.
  void run_queries(std::deque<Query> queries);
  bool take_from_spill();
  void write_inflight();
  void maintenance_step(bool quota_first);
  void ensure_migrated();

  // With mu_ held.
  void spill_entry_locked(const JournalEntry& entry);
  void finish_locked();
  void commit_spill_locked();
  void update_backlog_locked();
  std::size_t backlog_locked() const;

  std::chrono::milliseconds next_backoff();

  std::unique_ptr<Store> store_;
  const JournalOptions options_;
  obs::Logger& log_;
  Metrics metrics_;
  const std::string kind_;

  mutable std::mutex mu_;         // everything below, unless marked writer-only
  std::mutex io_mu_;              // spill file descriptors: reads, syncs, header, replacement
                                  // (lock order: mu_ then io_mu_)
  std::condition_variable wake_;  // -> writer
  std::condition_variable finished_cv_;

  std::deque<JournalEntry> mem_;
  std::uint64_t mem_front_seq_ = 0;  // sequence number of mem_.front()
  std::unordered_map<std::string, std::uint64_t> pending_snapshot_;  // room -> seq in mem_
  Clock::time_point oldest_pending_{};

  SpillFile spill_;
  bool spilling_ = false;         // new entries go to the spill file
  std::size_t spill_unread_ = 0;  // lines in the file not yet taken by the writer
  std::uint64_t spill_read_ = 0;  // offset of the next line to take
  bool spill_dirty_ = false;
  Clock::time_point spill_dirty_since_{};
  bool spill_error_logged_ = false;

  std::vector<JournalEntry> inflight_;  // modified under mu_, read by the writer freely
  bool inflight_from_spill_ = false;
  std::size_t inflight_spill_lines_ = 0;
  std::uint64_t inflight_spill_next_ = 0;

  bool outage_ = false;
  std::deque<Query> queries_;

  bool flush_requested_ = false;
  Clock::time_point writer_deadline_{};
  bool finished_ = false;
  FlushResult flush_result_;

  // Writer-only state.
  bool migrated_ = false;
  bool split_ = false;  // write inflight_ entry by entry (the database refused the batch)
  Clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  Clock::time_point outage_since_{};
  std::uint64_t outage_failures_ = 0;
  Maintenance maintenance_;
  bool quota_turn_ = false;  // a batch committed: quota work may run before the next one
  std::uint64_t rng_state_ = 0;

  std::thread writer_;
};

}  // namespace tandem::store
