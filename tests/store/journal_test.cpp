// The journal over an in-memory fake store that can be told to fail, refuse or hang.
// Every wait is for a condition with a deadline; nothing sleeps for a fixed time.
#include "store/journal.hpp"
#include "store/entry_codec.hpp"
#include "store/spill_file.hpp"
#include "store/test_util.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

namespace tandem::store {
namespace {

using namespace test_util;
using Clock = std::chrono::steady_clock;

// The fake database, shared by the test and the store the journal owns.
struct FakeDb {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::vector<JournalEntry>> batches;  // committed, in order
  bool down = false;
  bool block = false;  // write_batch waits while set: a database that hangs
  std::function<bool(const JournalEntry&)> refuse;  // entries refused for their data
  std::size_t attempts = 0;                         // write_batch and migrate calls
  std::size_t migrations = 0;
  std::vector<std::pair<Millis, Millis>> archive_calls;
  std::vector<std::pair<Millis, std::size_t>> delete_calls;
  std::size_t old_events = 0;  // rows that retention would delete
  std::vector<std::string> idle_rooms;
  std::thread::id query_thread;
  std::map<std::string, std::int64_t> usage;  // audit bytes per room (100 per row)
  std::vector<std::pair<std::string, std::int64_t>> trim_calls;  // ("" = whole log, excess)
  std::vector<Millis> archived_deletes;

  void set(bool FakeDb::*flag, bool value) {
    const std::lock_guard lock(mu);
    this->*flag = value;
    changed.notify_all();
  }
  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, timeout, pred);
  }
  // Everything committed, flattened (with the lock held by the caller or not running).
  std::vector<JournalEntry> written_locked() const {
    std::vector<JournalEntry> out;
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  std::vector<JournalEntry> written() {
    const std::lock_guard lock(mu);
    return written_locked();
  }
  std::size_t written_count_locked() const {
    std::size_t n = 0;
    for (const auto& b : batches) n += b.size();
    return n;
  }
  bool wait_written(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    return wait([&] { return written_count_locked() >= n; }, timeout);
  }
};

class FakeStore final : public Store {
 public:
  explicit FakeStore(std::shared_ptr<FakeDb> db) : db_(std::move(db)) {}

  void migrate() override {
    const std::lock_guard lock(db_->mu);
    ++db_->attempts;
    db_->changed.notify_all();
    if (db_->down) throw StoreError("fake: down");
    ++db_->migrations;
  }
  std::vector<AuditUsage> write_batch(const std::vector<JournalEntry>& batch) override {
    std::unique_lock lock(db_->mu);
    ++db_->attempts;
    db_->changed.notify_all();
    db_->changed.wait(lock, [&] { return !db_->block; });
    if (db_->down) throw StoreError("fake: down");
    if (db_->refuse) {
      for (const auto& e : batch) {
        if (db_->refuse(e)) throw StoreError("fake: refused", false);
      }
    }
    db_->batches.push_back(batch);
    db_->changed.notify_all();
    // Each audit row counts 100 bytes in this fake.
    std::map<std::string, AuditUsage> added;
    for (const auto& e : batch) {
      if (const auto* audit = std::get_if<AuditEvent>(&e)) {
        AuditUsage& room = added[audit->room_id];
        room.room_id = audit->room_id;
        room.added += 100;
        db_->usage[audit->room_id] += 100;
        room.bytes = db_->usage[audit->room_id];
      }
    }
    std::vector<AuditUsage> out;
    for (auto& [id, room] : added) out.push_back(room);
    return out;
  }
  std::vector<RoomSnapshot> load_live_rooms() override { return {}; }
  std::optional<RoomSnapshot> load_room(const std::string&) override { return std::nullopt; }
  std::vector<ShortIdRecord> load_short_ids(Millis) override { return {}; }
  std::vector<std::string> archive_idle_rooms(Millis before, Millis now) override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    db_->archive_calls.emplace_back(before, now);
    db_->changed.notify_all();
    return std::exchange(db_->idle_rooms, {});
  }
  std::size_t delete_events_before(Millis before, std::size_t limit) override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    db_->delete_calls.emplace_back(before, limit);
    const std::size_t n = std::min(limit, db_->old_events);
    db_->old_events -= n;
    db_->changed.notify_all();
    return n;
  }
  std::int64_t audit_bytes() override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    std::int64_t sum = 0;
    for (const auto& [id, bytes] : db_->usage) sum += bytes;
    return sum;
  }
  AuditDeleted trim_room_events(const std::string& room_id, std::int64_t target,
                                std::size_t max_rows) override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    db_->trim_calls.emplace_back(room_id, target);
    std::int64_t& bytes = db_->usage[room_id];
    AuditDeleted d;
    while (bytes > target && d.rows < static_cast<std::int64_t>(max_rows)) {
      bytes -= 100;
      d.bytes += 100;
      ++d.rows;
    }
    d.bytes_after = bytes;
    db_->changed.notify_all();
    return d;
  }
  AuditDeleted trim_oldest_events(std::int64_t excess, std::size_t max_rows) override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    db_->trim_calls.emplace_back("", excess);
    AuditDeleted d;
    for (auto& [id, bytes] : db_->usage) {
      while (bytes > 0 && d.bytes < excess && d.rows < static_cast<std::int64_t>(max_rows)) {
        bytes -= 100;
        d.bytes += 100;
        ++d.rows;
      }
    }
    db_->changed.notify_all();
    return d;
  }
  std::size_t delete_archived_rooms(Millis before, std::size_t) override {
    const std::lock_guard lock(db_->mu);
    if (db_->down) throw StoreError("fake: down");
    db_->archived_deletes.push_back(before);
    db_->changed.notify_all();
    return 0;
  }
  std::size_t delete_expired_short_ids(Millis, std::size_t) override { return 0; }
  std::vector<StoredEvent> room_events(const std::string& room_id, std::size_t limit) override {
    const std::lock_guard lock(db_->mu);
    db_->query_thread = std::this_thread::get_id();
    if (db_->down) throw StoreError("fake: down");
    std::vector<StoredEvent> out;
    std::int64_t id = 0;
    for (const auto& entry : db_->written_locked()) {
      if (const auto* e = std::get_if<AuditEvent>(&entry); e != nullptr && e->room_id == room_id) {
        out.insert(out.begin(), StoredEvent{++id, e->room_id, e->event_type, e->user_id,
                                            boost::json::serialize(e->data), e->at});
      }
    }
    if (out.size() > limit) out.resize(limit);
    return out;
  }
  std::vector<AppliedMigration> applied_migrations() override { return {}; }
  std::string_view kind() const noexcept override { return "fake"; }

 private:
  std::shared_ptr<FakeDb> db_;
};

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions options() const {
    JournalOptions o;
    o.batch_max_entries = 50;
    o.flush_interval = 5ms;
    o.memory_max_entries = 10'000;
    o.spill_path = dir_.path() / "journal.spill";
    o.retry_initial = 5ms;
    o.retry_max = 40ms;
    o.maintenance.events_retention_days = 0;  // maintenance off unless a test turns it on
    o.maintenance.room_ttl_ms = 0;
    o.close_grace = 2000ms;
    return o;
  }
  std::unique_ptr<Journal> make(JournalOptions o) {
    return std::make_unique<Journal>(std::make_unique<FakeStore>(db_), std::move(o), registry_,
                                     log_.logger());
  }
  static void append_audits(Journal& journal, std::int64_t from, std::int64_t to,
                            const std::string& room = "room") {
    for (std::int64_t i = from; i < to; ++i) journal.append(audit(room, i));
  }
  // The audit seqs, in written order.
  static std::vector<std::int64_t> seqs(const std::vector<JournalEntry>& entries) {
    std::vector<std::int64_t> out;
    for (const auto& e : entries) out.push_back(seq_of(e));
    return out;
  }
  static std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
    std::vector<std::int64_t> out;
    for (std::int64_t i = from; i < to; ++i) out.push_back(i);
    return out;
  }
  std::size_t spill_lines() const {
    const auto path = dir_.path() / "journal.spill";
    if (!std::filesystem::exists(path)) return 0;
    const std::string text = read_file(path);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) - 1;  // header
  }
  double metric(std::string_view name, const obs::Labels& labels = {}) const {
    return registry_.sample(name, labels);
  }

  TempDir dir_;
  std::shared_ptr<FakeDb> db_ = std::make_shared<FakeDb>();
  obs::Registry registry_;
  LogCapture log_;
};

TEST_F(JournalTest, WritesEveryEntryOnceInOrder) {
  auto journal = make(options());
  append_audits(*journal, 0, 2000);
  ASSERT_TRUE(db_->wait_written(2000)) << "written: " << db_->written().size();
  EXPECT_EQ(seqs(db_->written()), range(0, 2000));
  EXPECT_EQ(db_->migrations, 1U) << "migrated once, before the first write";
  const auto result = journal->flush(Clock::now() + 5s);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(result.spilled, 0U);
  EXPECT_EQ(metric("tandem_journal_written_total"), 2000);
  EXPECT_EQ(metric("tandem_journal_backlog"), 0);
  EXPECT_GE(metric("tandem_journal_batches_total"), 2000.0 / 50);
}

TEST_F(JournalTest, OneWriteBatchPerBatchOfAtMostTheLimit) {
  auto o = options();
  o.flush_interval = std::chrono::hours(1);  // only a full batch (or flush) triggers a write
  auto journal = make(o);
  append_audits(*journal, 0, 120);
  ASSERT_TRUE(db_->wait_written(100));
  {
    const std::lock_guard lock(db_->mu);
    ASSERT_EQ(db_->batches.size(), 2U);
    EXPECT_EQ(db_->batches[0].size(), 50U);
    EXPECT_EQ(db_->batches[1].size(), 50U);
    EXPECT_EQ(db_->attempts, 3U) << "one migrate, two write_batch";
  }
  // The writer clears its batch just after the store returns.
  EXPECT_TRUE(eventually([&] { return journal->backlog() == 20; }))
      << "the rest waits for the interval: " << journal->backlog();
  const auto result = journal->flush(Clock::now() + 5s);
  EXPECT_TRUE(result.complete);
  const std::lock_guard lock(db_->mu);
  ASSERT_EQ(db_->batches.size(), 3U);
  EXPECT_EQ(db_->batches[2].size(), 20U);
  EXPECT_EQ(seqs(db_->written_locked()), range(0, 120));
}

TEST_F(JournalTest, CoalescesSnapshotsOfARoomKeepingOtherEntriesInOrder) {
  auto o = options();
  o.flush_interval = std::chrono::hours(1);
  auto journal = make(o);
  journal->append(snapshot("a", 1));
  journal->append(audit("a", 1));
  journal->append(snapshot("b", 1));
  journal->append(snapshot("a", 2));  // replaces a@1
  journal->append(audit("a", 2));
  journal->append(RoomArchived{"a", 5});
  journal->append(snapshot("a", 3));  // after the archive: must stay after it
  journal->append(snapshot("a", 4));  // replaces a@3
  journal->append(snapshot("b", 2));  // replaces b@1
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);

  const auto written = db_->written();
  ASSERT_EQ(db_->batches.size(), 1U);
  ASSERT_EQ(written.size(), 6U);
  auto version = [](const JournalEntry& e) { return std::get<RoomSnapshot>(e).state.version; };
  auto room = [](const JournalEntry& e) { return std::get<RoomSnapshot>(e).state.id; };
  EXPECT_EQ(room(written[0]), "a");
  EXPECT_EQ(version(written[0]), 2U) << "newest content, at the first snapshot's place";
  EXPECT_EQ(seq_of(written[1]), 1);
  EXPECT_EQ(room(written[2]), "b");
  EXPECT_EQ(version(written[2]), 2U);
  EXPECT_EQ(seq_of(written[3]), 2);
  EXPECT_EQ(std::get<RoomArchived>(written[4]).room_id, "a");
  EXPECT_EQ(room(written[5]), "a");
  EXPECT_EQ(version(written[5]), 4U);
  EXPECT_EQ(metric("tandem_journal_coalesced_total"), 3);
}

TEST(CoalesceSnapshots, KeepsOnePerRunBetweenArchives) {
  std::vector<JournalEntry> batch = {snapshot("a", 1), audit("a", 1),
                                     snapshot("a", 2), RoomArchived{"a", 9},
                                     snapshot("a", 3), ShortIdRecord{"s", "a", 1},
                                     snapshot("a", 4)};
  EXPECT_EQ(coalesce_snapshots(batch), 2U);
  ASSERT_EQ(batch.size(), 5U);
  EXPECT_EQ(std::get<RoomSnapshot>(batch[0]).state.version, 2U);
  EXPECT_EQ(seq_of(batch[1]), 1);
  EXPECT_TRUE(std::holds_alternative<RoomArchived>(batch[2]));
  EXPECT_EQ(std::get<RoomSnapshot>(batch[3]).state.version, 4U);
  EXPECT_TRUE(std::holds_alternative<ShortIdRecord>(batch[4]));
}

TEST_F(JournalTest, RetriesAFailedBatchWithoutLossOrReordering) {
  db_->set(&FakeDb::down, true);
  auto journal = make(options());
  append_audits(*journal, 0, 300);
  // Writes only (maintenance's first migrate attempt counts in `attempts` too).
  ASSERT_TRUE(db_->wait([&] { return metric("tandem_journal_write_failures_total") >= 4; }))
      << "retried with backoff";
  {
    const std::lock_guard lock(db_->mu);
    EXPECT_TRUE(db_->batches.empty());
  }
  EXPECT_EQ(metric("tandem_store_up"), 0);
  append_audits(*journal, 300, 400);  // more while it is down
  db_->set(&FakeDb::down, false);
  ASSERT_TRUE(db_->wait_written(400));
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), range(0, 400));
  EXPECT_GE(metric("tandem_journal_write_failures_total"), 4);
  EXPECT_EQ(metric("tandem_store_up"), 1);
  EXPECT_EQ(log_.count("store_unavailable"), 1U) << log_.text();
  EXPECT_EQ(log_.count("store_recovered"), 1U) << log_.text();
}

TEST_F(JournalTest, PastTheMemoryBoundEntriesSpillAndComeBackInOrderExactlyOnce) {
  auto o = options();
  o.memory_max_entries = 100;
  o.batch_max_entries = 10;
  o.spill_during_outage = false;  // only the bound makes it spill
  db_->set(&FakeDb::down, true);
  auto journal = make(o);
  append_audits(*journal, 0, 1);
  ASSERT_TRUE(db_->wait([&] { return db_->attempts >= 1; }));  // a batch is in flight
  append_audits(*journal, 1, 1000);

  // In memory: at most the bound (plus the batch in flight); the rest is in the file.
  const auto path = o.spill_path;
  ASSERT_TRUE(std::filesystem::exists(path));
  const std::size_t in_file = spill_lines();
  EXPECT_GE(in_file, 1000U - 100 - 10);
  EXPECT_LE(in_file, 1000U - 100);
  EXPECT_EQ(metric("tandem_journal_spilled_total"), static_cast<double>(in_file));
  EXPECT_EQ(journal->backlog(), 1000U);
  EXPECT_EQ(metric("tandem_journal_backlog"), 1000);
  {
    // The file holds the newest entries, in order.
    SpillFile file(path, std::uint64_t{1} << 30);
    ASSERT_EQ(file.recover().lines, in_file);
    std::vector<std::string> lines;
    std::uint64_t next = 0;
    ASSERT_TRUE(file.read(file.committed(), file.end(), 100000, lines, next));
    ASSERT_EQ(lines.size(), in_file);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto entry = decode_entry(lines[i]);
      ASSERT_TRUE(entry);
      EXPECT_EQ(seq_of(*entry), static_cast<std::int64_t>(1000 - in_file + i));
    }
  }

  db_->set(&FakeDb::down, false);
  ASSERT_TRUE(db_->wait_written(1000)) << db_->written().size();
  EXPECT_EQ(seqs(db_->written()), range(0, 1000));
  ASSERT_TRUE(eventually([&] { return !std::filesystem::exists(path); }))
      << "the drained spill file is removed";
  EXPECT_EQ(journal->backlog(), 0U);
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), range(0, 1000)) << "nothing written twice";
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 0) << log_.text();
  EXPECT_EQ(log_.count("journal_spilling"), 1U);
}

TEST_F(JournalTest, DuringAnOutageNewEntriesGoStraightToTheSpillFile) {
  auto o = options();
  db_->set(&FakeDb::down, true);
  auto journal = make(o);
  append_audits(*journal, 0, 5);
  ASSERT_TRUE(db_->wait([&] { return db_->attempts >= 1; }));
  ASSERT_TRUE(eventually([&] { return metric("tandem_store_up") == 0; }));
  append_audits(*journal, 5, 55);
  EXPECT_EQ(spill_lines(), 50U) << "durable across a crash of the process";
  db_->set(&FakeDb::down, false);
  ASSERT_TRUE(db_->wait_written(55)) << log_.text();
  EXPECT_EQ(seqs(db_->written()), range(0, 55));
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 0) << log_.text();
  ASSERT_TRUE(eventually([&] { return !std::filesystem::exists(o.spill_path); }));
}

TEST_F(JournalTest, ReplaysALeftoverSpillFileBeforeNewEntries) {
  auto o = options();
  {
    // A previous run: lines 0..9 spilled, 0..3 already written (recorded in the header).
    SpillFile file(o.spill_path, std::uint64_t{1} << 30);
    std::string error;
    std::uint64_t after_four = 0;
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(file.append(encode_entry(audit("room", i)), error)) << error;
      if (i == 3) after_four = file.end();
    }
    ASSERT_TRUE(file.commit(after_four));
    ASSERT_TRUE(file.sync());
  }
  auto journal = make(o);
  append_audits(*journal, 10, 20);  // new entries: after the leftover ones
  ASSERT_TRUE(db_->wait_written(16));
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), range(4, 20));
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 0) << log_.text();
  EXPECT_FALSE(std::filesystem::exists(o.spill_path));
  EXPECT_EQ(log_.count("journal_spill_replay"), 1U);
}

TEST_F(JournalTest, FlushWritesEverythingPending) {
  auto o = options();
  o.flush_interval = std::chrono::hours(1);
  auto journal = make(o);
  append_audits(*journal, 0, 30);
  const auto result = journal->flush(Clock::now() + 5s);
  EXPECT_TRUE(result.complete);
  EXPECT_EQ(seqs(db_->written()), range(0, 30));
  EXPECT_FALSE(std::filesystem::exists(o.spill_path));
  // Idempotent.
  EXPECT_TRUE(journal->flush(Clock::now()).complete);
}

TEST_F(JournalTest, FlushWhileTheStoreIsDownSpillsInOrderForTheNextStart) {
  auto o = options();
  o.memory_max_entries = 20;
  o.batch_max_entries = 5;
  o.spill_during_outage = false;
  db_->set(&FakeDb::down, true);
  {
    auto journal = make(o);
    append_audits(*journal, 0, 1);
    ASSERT_TRUE(db_->wait([&] { return db_->attempts >= 1; }));
    append_audits(*journal, 1, 60);  // in flight + memory + spill file
    const auto start = Clock::now();
    const auto result = journal->flush(Clock::now() + 300ms);
    EXPECT_LT(Clock::now() - start, 2s);
    EXPECT_FALSE(result.complete);
    EXPECT_EQ(result.spilled, 60U);
    EXPECT_EQ(spill_lines(), 60U);
    journal->append(audit("room", 60));  // after flush: straight to the file
    EXPECT_EQ(spill_lines(), 61U);
  }
  {
    const std::lock_guard lock(db_->mu);
    EXPECT_TRUE(db_->batches.empty());
  }
  // The next start replays all of it, in order.
  db_->set(&FakeDb::down, false);
  auto journal = make(o);
  ASSERT_TRUE(db_->wait_written(61));
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), range(0, 61));
  EXPECT_FALSE(std::filesystem::exists(o.spill_path));
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 0) << log_.text();
}

TEST_F(JournalTest, FlushMeetsItsDeadlineWhenTheDatabaseHangs) {
  auto o = options();
  db_->set(&FakeDb::block, true);
  auto journal = make(o);
  append_audits(*journal, 0, 10);
  ASSERT_TRUE(db_->wait([&] { return db_->attempts >= 2; }));  // stuck inside write_batch
  append_audits(*journal, 10, 20);
  const auto start = Clock::now();
  const auto result = journal->flush(Clock::now() + 200ms);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_FALSE(result.complete);
  EXPECT_EQ(result.spilled, 20U) << "the batch in flight too";
  EXPECT_EQ(spill_lines(), 20U);
  db_->set(&FakeDb::down, true);  // the hung call fails when it returns
  db_->set(&FakeDb::block, false);
  journal.reset();  // joins the writer
  {
    const std::lock_guard lock(db_->mu);
    EXPECT_TRUE(db_->batches.empty());
  }
  db_->set(&FakeDb::down, false);
  journal = make(o);
  ASSERT_TRUE(db_->wait_written(20));
  journal->flush(Clock::now() + 5s);
  EXPECT_EQ(seqs(db_->written()), range(0, 20));
}

TEST_F(JournalTest, AnEntryTheDatabaseRefusesIsDroppedAloneAndTheRestKeepTheirOrder) {
  auto o = options();
  o.flush_interval = std::chrono::hours(1);
  db_->refuse = [](const JournalEntry& e) { return seq_of(e) == 3 || seq_of(e) == 7; };
  auto journal = make(o);
  append_audits(*journal, 0, 10);
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), (std::vector<std::int64_t>{0, 1, 2, 4, 5, 6, 8, 9}));
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 2);
  EXPECT_EQ(log_.count("journal_entry_dropped"), 2U);
  EXPECT_EQ(log_.count("store_unavailable"), 0U) << "a refusal is not an outage";
}

TEST_F(JournalTest, QueriesRunOnTheWriterThread) {
  auto journal = make(options());
  append_audits(*journal, 0, 5, "r1");
  append_audits(*journal, 5, 8, "r2");
  ASSERT_TRUE(db_->wait_written(8));

  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::optional<std::vector<StoredEvent>>> answer;
  std::thread::id thread;
  journal->query_events("r1", 3, [&](std::optional<std::vector<StoredEvent>> events) {
    const std::lock_guard lock(mu);
    answer = std::move(events);
    thread = std::this_thread::get_id();
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answer.has_value(); }));
    ASSERT_TRUE(answer->has_value());
    ASSERT_EQ((*answer)->size(), 3U);
    EXPECT_EQ((**answer)[0].data_json, R"({"seq":4})");
    EXPECT_EQ((**answer)[2].data_json, R"({"seq":2})");
    EXPECT_NE(thread, std::this_thread::get_id());
    EXPECT_EQ(thread, db_->query_thread);
    answer.reset();
  }
  db_->set(&FakeDb::down, true);
  journal->query_events("r1", 3, [&](std::optional<std::vector<StoredEvent>> events) {
    const std::lock_guard lock(mu);
    answer = std::move(events);
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return answer.has_value(); }));
  EXPECT_FALSE(answer->has_value()) << "a failing store answers nullopt";
}

TEST_F(JournalTest, MaintenanceArchivesIdleRoomsAndDeletesOldEventsInBatches) {
  auto o = options();
  o.maintenance.events_retention_days = 30;
  o.maintenance.room_ttl_ms = 4 * 3600 * 1000;
  o.maintenance.batch_rows = 1000;
  o.maintenance.wall_clock = [] { return Millis{1'800'000'000'000}; };
  std::mutex mu;
  std::vector<std::string> archived;
  o.maintenance.on_rooms_archived = [&](std::vector<std::string> ids) {
    const std::lock_guard lock(mu);
    archived = std::move(ids);
  };
  {
    const std::lock_guard lock(db_->mu);
    db_->old_events = 2500;
    db_->idle_rooms = {"idle-1", "idle-2"};
  }
  auto journal = make(o);
  ASSERT_TRUE(db_->wait([&] { return db_->old_events == 0 && db_->delete_calls.size() == 3; }));
  journal->flush(Clock::now() + 5s);
  {
    const std::lock_guard lock(db_->mu);
    ASSERT_EQ(db_->archive_calls.size(), 1U);
    EXPECT_EQ(db_->archive_calls[0].first, 1'800'000'000'000 - 4 * 3600 * 1000);
    EXPECT_EQ(db_->archive_calls[0].second, 1'800'000'000'000);
    for (const auto& [before, limit] : db_->delete_calls) {
      EXPECT_EQ(before, 1'800'000'000'000 - Millis{30} * 24 * 3600 * 1000);
      EXPECT_EQ(limit, 1000U);
    }
  }
  const std::lock_guard lock(mu);
  EXPECT_EQ(archived, (std::vector<std::string>{"idle-1", "idle-2"}));
  EXPECT_EQ(metric("tandem_store_events_deleted_total", {{"reason", "retention"}}), 2500);
  EXPECT_EQ(metric("tandem_store_rooms_archived_total"), 2);
}

// A room flooded with audited events is trimmed between batches, while it floods: each
// batch that leaves it past its quota is followed by a trim to 90 % of it; the whole log
// past its quota loses its oldest rows too.
TEST_F(JournalTest, RoomsAndTheWholeLogAreTrimmedToTheirQuotasBetweenBatches) {
  auto o = options();
  o.maintenance.events_max_bytes_per_room = 10'000;  // 100 rows of the fake's 100 bytes
  o.maintenance.events_max_bytes = 50'000;
  o.maintenance.interval = 3'600'000ms;  // only the first periodic run (it measures the log)
  auto journal = make(o);
  ASSERT_TRUE(db_->wait([&] { return !db_->archived_deletes.empty(); }));  // measured: 0
  for (int i = 0; i < 1000; ++i) {
    journal->append(AuditEvent{"flooded", "URL_CHANGE", "mallory", {{"seq", i}}, 1000 + i});
    if (i % 10 == 0) journal->append(AuditEvent{"calm-" + std::to_string(i / 100), "JOIN", "u", {}, 1000});
  }
  ASSERT_TRUE(db_->wait_written(1100));
  ASSERT_TRUE(db_->wait([&] { return db_->usage["flooded"] <= 10'000; }))
      << "flooded room at " << db_->usage["flooded"];
  journal->flush(Clock::now() + 5s);
  const std::lock_guard lock(db_->mu);
  // Trimmed to 90 % (9,000 bytes) each time it passed 10,000: several times, while writing.
  std::size_t room_trims = 0;
  for (const auto& [room, target] : db_->trim_calls) {
    if (room == "flooded") {
      ++room_trims;
      EXPECT_EQ(target, 9'000);
    }
  }
  EXPECT_GT(room_trims, 3u);
  for (int r = 0; r < 10; ++r) EXPECT_EQ(db_->usage["calm-" + std::to_string(r)], 1000) << r;
  std::int64_t total = 0;
  for (const auto& [id, bytes] : db_->usage) total += bytes;
  EXPECT_LE(total, 50'000);
  EXPECT_GT(metric("tandem_store_events_deleted_total", {{"reason", "room_quota"}}), 0);
}

TEST_F(JournalTest, PastTheWholeLogsQuotaTheOldestRowsGo) {
  auto o = options();
  o.maintenance.events_max_bytes_per_room = 0;  // no room quota
  o.maintenance.events_max_bytes = 100'000;     // 1,000 rows of the fake's
  o.maintenance.interval = 3'600'000ms;
  auto journal = make(o);
  ASSERT_TRUE(db_->wait([&] { return !db_->archived_deletes.empty(); }));
  for (int i = 0; i < 3000; ++i) {
    journal->append(AuditEvent{"room-" + std::to_string(i % 7), "PLAY_PAUSE", "u", {}, 1000 + i});
  }
  ASSERT_TRUE(db_->wait_written(3000));
  ASSERT_TRUE(db_->wait([&] {
    std::int64_t total = 0;
    for (const auto& [id, bytes] : db_->usage) total += bytes;
    return total <= 100'000;
  }));
  journal->flush(Clock::now() + 5s);
  const std::lock_guard lock(db_->mu);
  bool whole_log = false;
  for (const auto& [room, excess] : db_->trim_calls) whole_log |= room.empty() && excess > 0;
  EXPECT_TRUE(whole_log);
  EXPECT_GT(metric("tandem_store_events_deleted_total", {{"reason", "total_quota"}}), 0);
  EXPECT_EQ(metric("tandem_store_events_deleted_total", {{"reason", "room_quota"}}), 0);
}

// The producer appends in six chunks, each released by the test once the store is down
// (or up) for it; a down phase ends only after a failed write and its retry, an up phase
// after a commit. So failures, retries and spilling (the memory holds 50 entries, a chunk
// is 500) all happen while another thread appends.
TEST_F(JournalTest, AppendsFromAnotherThreadWhileTheStoreFlaps) {
  auto o = options();
  o.memory_max_entries = 50;
  o.batch_max_entries = 7;
  auto journal = make(o);
  constexpr int kChunks = 6;
  constexpr std::int64_t kChunk = 500;
  std::atomic<int> released{0};
  std::atomic<int> appended{0};
  std::thread producer([&] {
    for (int chunk = 0; chunk < kChunks; ++chunk) {
      while (released.load() <= chunk) std::this_thread::yield();
      for (std::int64_t i = chunk * kChunk; i < (chunk + 1) * kChunk; ++i) {
        journal->append(audit("room", i));
        if (i % 10 == 0) std::this_thread::sleep_for(1ms);  // a steady rate, as a loop's
      }
      appended = chunk + 1;
    }
  });
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    const bool down = chunk % 2 == 0;
    db_->set(&FakeDb::down, down);
    const auto [attempts, written] = [&] {
      const std::lock_guard lock(db_->mu);
      return std::pair{db_->attempts, db_->written_count_locked()};
    }();
    released = chunk + 1;
    if (down) {
      EXPECT_TRUE(db_->wait([&] { return db_->attempts >= attempts + 2; }))
          << "chunk " << chunk << ": no failed write and retry";
    } else {
      EXPECT_TRUE(db_->wait([&] { return db_->written_count_locked() > written; }))
          << "chunk " << chunk << ": nothing committed";
    }
    while (appended.load() <= chunk) std::this_thread::yield();
  }
  producer.join();
  db_->set(&FakeDb::down, false);
  ASSERT_TRUE(db_->wait_written(kChunks * kChunk)) << db_->written().size();
  EXPECT_TRUE(journal->flush(Clock::now() + 5s).complete);
  EXPECT_EQ(seqs(db_->written()), range(0, kChunks * kChunk));
  EXPECT_GE(metric("tandem_journal_write_failures_total"), 3);
  EXPECT_GT(metric("tandem_journal_spilled_total"), 0);
  EXPECT_EQ(metric("tandem_journal_dropped_total"), 0) << log_.text();
}

}  // namespace
}  // namespace tandem::store
