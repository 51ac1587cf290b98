// LocalRooms with a recording outbox and journal: journaling, restore after a restart,
// PIN lockout and room switching, without sockets.
#include "cluster/local_rooms.hpp"
#include "cluster/pbkdf2_pin_hasher.hpp"
#include "protocol/command_parser.hpp"
#include "vector_journal.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>

namespace tandem::cluster {
namespace {

using protocol::Millis;

class RecordingOutbox final : public Outbox {
 public:
  void send(ConnId conn, const protocol::Frame& frame) override {
    frames[conn].push_back(boost::json::parse(*frame).as_object());
  }
  void close(ConnId conn, std::uint16_t code, std::string_view) override { closed[conn] = code; }

  std::vector<std::string> types(ConnId conn) const {
    std::vector<std::string> out;
    if (auto it = frames.find(conn); it != frames.end()) {
      for (const auto& f : it->second) out.emplace_back(f.at("type").as_string());
    }
    return out;
  }
  std::map<ConnId, std::vector<boost::json::object>> frames;
  std::map<ConnId, std::uint16_t> closed;
};

room::Member member(std::string user, std::uint64_t seq, std::string peer) {
  room::Member m;
  m.user_id = std::move(user);
  m.join_seq = seq;
  m.peer_id = std::move(peer);
  return m;
}

protocol::Command parse(const std::string& text) {
  auto result = protocol::parse_command(text);
  return std::get<protocol::Command>(std::move(result));
}

class LocalRoomsTest : public ::testing::Test {
 protected:
  void make(Millis grace = 10'000, std::size_t room_failures = 100) {
    room::RoomConfig config;
    config.reconnect_grace = grace;
    config.gate_timeout = 7'000;
    machine_ = std::make_unique<room::RoomMachine>(config, hasher_);
    LocalRoomsOptions options;
    options.node_id = "n1";
    options.journal = &journal_;
    options.pin_lockout.max_failures_per_address_room = 3;
    options.pin_lockout.max_failures_per_address = 100;
    options.pin_lockout.max_failures_per_room = room_failures;
    options.pin_lockout.room_delay = 20;
    rooms_ = std::make_unique<LocalRooms>(io_.get_executor(), outbox_, *machine_, registry_,
                                          logger_, options, [this] { return now_; });
  }
  ConnectionInfo conn(ConnId id, std::string address = "10.0.0.1") {
    return ConnectionInfo{id, "peer-" + std::to_string(id), std::move(address)};
  }
  void send(const ConnectionInfo& c, const std::string& json) { rooms_->on_command(c, parse(json)); }
  // What connection `id` got first: an ERROR's code, or the type ("" when nothing yet).
  std::string first_reply(ConnId id) {
    const auto& frames = outbox_.frames[id];
    if (frames.empty()) return "";
    const auto& f = frames.front();
    return std::string(f.at("type") == "ERROR" ? f.at("code").as_string() : f.at("type").as_string());
  }
  // Runs the loop until `done` holds (bounded: the snapshot timer keeps it busy for good).
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  void join(const ConnectionInfo& c, const std::string& room, const std::string& user,
            const std::string& extra = "") {
    send(c, R"({"type":"JOIN","roomId":")" + room + R"(","userId":")" + user + "\"" + extra + "}");
  }

  boost::asio::io_context io_;
  Millis now_ = 1'700'000'000'000;
  Pbkdf2PinHasher hasher_{1000};
  std::unique_ptr<room::RoomMachine> machine_;
  RecordingOutbox outbox_;
  VectorJournal journal_;
  obs::Registry registry_;
  std::FILE* devnull_ = std::fopen("/dev/null", "w");
  obs::Logger logger_{"n1", obs::Level::error, devnull_};
  std::unique_ptr<LocalRooms> rooms_;

  ~LocalRoomsTest() override {
    rooms_.reset();
    std::fclose(devnull_);
  }
};

TEST_F(LocalRoomsTest, JournalsAuditEventsSnapshotsAndArchive) {
  make();
  const auto a = conn(1);
  join(a, "r1", "alice");
  ASSERT_EQ(outbox_.types(1), std::vector<std::string>{"ROOM_STATE"});
  const auto audits = journal_.of<store::AuditEvent>();
  ASSERT_GE(audits.size(), 2u);
  EXPECT_EQ(audits[0].event_type, "ROOM_CREATED");
  EXPECT_EQ(audits[1].event_type, "JOIN");
  // Snapshots are coalesced on the loop: none until the periodic flush.
  EXPECT_EQ(journal_.of<store::RoomSnapshot>().size(), 0u);
  EXPECT_EQ(registry_.sample("tandem_rooms_unsaved"), 1);
  rooms_->flush_snapshots();
  ASSERT_EQ(journal_.of<store::RoomSnapshot>().size(), 1u);
  EXPECT_EQ(registry_.sample("tandem_rooms_unsaved"), 0);

  for (int i = 1; i <= 5; ++i) {
    send(a, R"({"type":"HOST_HEARTBEAT","currentTime":)" + std::to_string(i) + R"(,"isPlaying":true})");
  }
  EXPECT_EQ(journal_.of<store::RoomSnapshot>().size(), 1u);
  rooms_->flush_snapshots();
  const auto snapshots = journal_.of<store::RoomSnapshot>();
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_DOUBLE_EQ(snapshots.back().state.current_time, 5);
  EXPECT_EQ(journal_.of<store::AuditEvent>().size(), audits.size());  // heartbeats not audited

  send(a, R"({"type":"PLAY_PAUSE","control":"pause","currentTime":9})");
  EXPECT_EQ(journal_.of<store::AuditEvent>().back().event_type, "PLAY_PAUSE");
  EXPECT_EQ(journal_.of<store::RoomSnapshot>().size(), 2u);  // audited at once, saved later
  send(a, R"({"type":"LEAVE"})");
  EXPECT_EQ(journal_.of<store::RoomSnapshot>().size(), 2u);  // the archive replaced it
  ASSERT_EQ(journal_.of<store::RoomArchived>().size(), 1u);
  EXPECT_EQ(journal_.of<store::RoomArchived>()[0].room_id, "r1");
  EXPECT_EQ(outbox_.closed.at(1), 1000);
  EXPECT_EQ(rooms_->find("r1"), nullptr);
}

TEST_F(LocalRoomsTest, RestoredMembersResumeWithinGraceAndKeepTheHost) {
  make(/*grace=*/10'000);
  room::RoomState state;
  state.id = "party";
  state.host_user_id = "bob";
  state.url = "https://www.netflix.com/watch/1";
  state.current_time = 42;
  state.pin_hash = hasher_.hash("4821");
  state.members.push_back(member("alice", 2, "old-a"));
  state.members.push_back(member("bob", 1, "old-b"));
  state.next_seq = 3;
  rooms_->restore({store::RoomSnapshot{state, now_ - 5000}},
                  {store::ShortIdRecord{"abc1234", "party", now_ + 60'000}});

  const room::RoomState* restored = rooms_->find("party");
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->connected_count(), 0u);
  EXPECT_EQ(restored->host_user_id, "bob");

  std::optional<std::string> resolved;
  rooms_->room_for_short_id("abc1234", [&](std::optional<std::string> r) { resolved = r; });
  EXPECT_EQ(resolved, "party");

  const auto b = conn(7);
  join(b, "party", "bob", R"(,"pin":"4821")");
  ASSERT_EQ(outbox_.types(7), std::vector<std::string>{"ROOM_STATE"});
  const auto& room_state = outbox_.frames[7][0];
  EXPECT_EQ(room_state.at("hostUserId"), "bob");
  EXPECT_EQ(room_state.at("url"), "https://www.netflix.com/watch/1");
  EXPECT_EQ(room_state.at("users").as_array().size(), 2u);
}

TEST_F(LocalRoomsTest, RestoredMembersThatDoNotComeBackLeaveWhenGraceEnds) {
  make(/*grace=*/30);
  room::RoomState state;
  state.id = "party";
  state.host_user_id = "bob";
  state.members.push_back(member("bob", 1, "old-b"));
  state.next_seq = 2;
  rooms_->restore({store::RoomSnapshot{state, now_}}, {});
  ASSERT_NE(rooms_->find("party"), nullptr);
  now_ += 100;  // the machine's clock passes the grace deadline; the Asio timer waits ~30 ms
  io_.run_for(std::chrono::seconds(2));
  EXPECT_EQ(rooms_->find("party"), nullptr);
  ASSERT_FALSE(journal_.of<store::RoomArchived>().empty());
}

TEST_F(LocalRoomsTest, WrongPinsLockTheGuessersAddressOutOfThatRoom) {
  make();
  join(conn(1), "vault", "owner", R"(,"pin":"1234")");
  join(conn(10), "other-vault", "owner2", R"(,"pin":"5678")");
  for (ConnId id = 2; id <= 4; ++id) join(conn(id, "6.6.6.6"), "vault", "guess" + std::to_string(id), R"(,"pin":"0000")");
  for (ConnId id = 2; id <= 4; ++id) {
    ASSERT_EQ(outbox_.frames[id].size(), 1u);
    EXPECT_EQ(first_reply(id), "PIN_REQUIRED");
  }
  // Locked now: even the right PIN is not checked from that address for that room...
  join(conn(5, "6.6.6.6"), "vault", "guess5", R"(,"pin":"1234")");
  EXPECT_EQ(first_reply(5), "PIN_LOCKED");
  // ...while another address is unaffected, and so is another room from that address.
  join(conn(6, "7.7.7.7"), "vault", "friend", R"(,"pin":"1234")");
  EXPECT_EQ(outbox_.types(6), std::vector<std::string>{"ROOM_STATE"});
  join(conn(7, "6.6.6.6"), "other-vault", "guess7", R"(,"pin":"5678")");
  EXPECT_EQ(outbox_.types(7), std::vector<std::string>{"ROOM_STATE"});
  EXPECT_EQ(registry_.sample("tandem_pin_lockouts_total"), 1);
  EXPECT_EQ(registry_.sample("tandem_pin_failures_total"), 3);
  EXPECT_EQ(registry_.sample("tandem_pin_locked_joins_total"), 1);
  std::size_t failed = 0;
  const store::AuditEvent* lockout = nullptr;
  const auto audits = journal_.of<store::AuditEvent>();
  for (const auto& e : audits) {
    if (e.event_type == "PIN_FAILED") {
      ++failed;
      EXPECT_EQ(e.data.at("address"), "6.6.6.6");
    }
    if (e.event_type == "PIN_LOCKOUT") lockout = &e;
  }
  EXPECT_EQ(failed, 3u);
  ASSERT_NE(lockout, nullptr);
  EXPECT_EQ(lockout->data.at("address"), "6.6.6.6");
  EXPECT_EQ(lockout->data.at("scope"), "address_room");
  // The lock ends with its lockout period (the clock the rules read is the room's).
  now_ += 5 * 60 * 1000;
  join(conn(8, "6.6.6.6"), "vault", "guess8", R"(,"pin":"1234")");
  EXPECT_EQ(outbox_.types(8), std::vector<std::string>{"ROOM_STATE"});
}

TEST_F(LocalRoomsTest, MembersAreNeverLockedOutOfTheirRoom) {
  make();
  const auto owner = conn(1, "6.6.6.6");  // shares its address with the guesser (one NAT)
  join(owner, "vault", "owner", R"(,"pin":"1234")");
  join(conn(2, "7.7.7.7"), "vault", "friend", R"(,"pin":"1234")");
  for (ConnId id = 3; id <= 5; ++id) join(conn(id, "6.6.6.6"), "vault", "guess", R"(,"pin":"0000")");
  join(conn(6, "6.6.6.6"), "vault", "guess", R"(,"pin":"1234")");
  ASSERT_EQ(first_reply(6), "PIN_LOCKED");

  // The host re-joining on its own connection.
  join(owner, "vault", "owner", R"(,"pin":"1234")");
  EXPECT_EQ(outbox_.types(1).back(), "ROOM_STATE");
  // The friend drops and resumes from its address; the host does the same from the locked one.
  rooms_->on_close(conn(2, "7.7.7.7"), CloseKind::network);
  join(conn(12, "7.7.7.7"), "vault", "friend", R"(,"pin":"1234")");
  EXPECT_EQ(outbox_.types(12), std::vector<std::string>{"ROOM_STATE"});
  rooms_->on_close(owner, CloseKind::network);
  join(conn(11, "6.6.6.6"), "vault", "owner", R"(,"pin":"1234")");
  ASSERT_EQ(outbox_.types(11), std::vector<std::string>{"ROOM_STATE"});
  EXPECT_EQ(outbox_.frames[11][0].at("hostUserId"), "owner");
  EXPECT_EQ(rooms_->find("vault")->members.size(), 2u);
}

TEST_F(LocalRoomsTest, AClaimedMemberIdGetsOnlyASmallBudget) {
  make();
  join(conn(1, "6.6.6.6"), "vault", "owner", R"(,"pin":"1234")");
  rooms_->on_close(conn(1, "6.6.6.6"), CloseKind::network);  // in its grace period
  // A guesser behind the owner's address claims its userId (public in /status): three
  // wrong PINs are its budget (they lock the address out of the room too)...
  for (ConnId id = 2; id <= 4; ++id) {
    join(conn(id, "6.6.6.6"), "vault", "owner", R"(,"pin":"000)" + std::to_string(id) + "\"");
    ASSERT_EQ(first_reply(id), "PIN_REQUIRED") << id;
  }
  // ...after which the claim is a stranger's, locked out like any guesser.
  join(conn(5, "6.6.6.6"), "vault", "owner", R"(,"pin":"0005")");
  EXPECT_EQ(first_reply(5), "PIN_LOCKED");
  EXPECT_EQ(registry_.sample("tandem_pin_lockouts_total"), 2);  // the claim and the address
}

TEST_F(LocalRoomsTest, ARoomUnderAttackDelaysChecksButLetsTheRightPinIn) {
  make(10'000, /*room_failures=*/4);
  join(conn(1), "vault", "owner", R"(,"pin":"1234")");
  for (ConnId id = 2; id <= 5; ++id) {
    join(conn(id, "6.6.6." + std::to_string(id)), "vault", "g", R"(,"pin":"0000")");
    ASSERT_EQ(first_reply(id), "PIN_REQUIRED");
  }
  // Under attack: a newcomer's check waits (nothing yet), then its right PIN gets in.
  join(conn(6, "9.9.9.9"), "vault", "newcomer", R"(,"pin":"1234")");
  // A guesser's parallel connection from one address does not wait in parallel.
  join(conn(7, "8.8.8.8"), "vault", "g7", R"(,"pin":"0000")");
  join(conn(8, "8.8.8.8"), "vault", "g8", R"(,"pin":"0001")");
  // A waiting connection that closes is never answered.
  join(conn(9, "5.5.5.5"), "vault", "g9", R"(,"pin":"0002")");
  rooms_->on_close(conn(9, "5.5.5.5"), CloseKind::network);
  EXPECT_TRUE(outbox_.frames[6].empty());
  EXPECT_TRUE(outbox_.frames[7].empty());
  ASSERT_EQ(outbox_.types(8), std::vector<std::string>{"ERROR"});
  EXPECT_EQ(first_reply(8), "PIN_LOCKED");
  EXPECT_EQ(registry_.sample("tandem_pin_delayed_checks_total"), 3);

  ASSERT_TRUE(run_until([&] { return !outbox_.frames[6].empty() && !outbox_.frames[7].empty(); }));
  EXPECT_EQ(outbox_.types(6), std::vector<std::string>{"ROOM_STATE"});
  ASSERT_EQ(outbox_.types(7), std::vector<std::string>{"ERROR"});
  EXPECT_EQ(first_reply(7), "PIN_REQUIRED");
  EXPECT_TRUE(outbox_.frames[9].empty());
  // Under attack one wrong PIN locked 8.8.8.8 out of the room.
  join(conn(10, "8.8.8.8"), "vault", "g10", R"(,"pin":"1234")");
  EXPECT_EQ(first_reply(10), "PIN_LOCKED");
  // Members are not delayed.
  join(conn(11), "vault", "owner", R"(,"pin":"1234")");
  EXPECT_EQ(outbox_.types(11), std::vector<std::string>{"ROOM_STATE"});
}

TEST_F(LocalRoomsTest, SwitchingRoomsLeavesTheOldOneOnlyAfterJoiningTheNew) {
  make();
  const auto a = conn(1);
  const auto b = conn(2);
  join(a, "one", "alice");
  join(b, "one", "bob");
  join(conn(3), "locked", "carol", R"(,"pin":"9999")");
  // A refused JOIN (wrong PIN) leaves bob where he was.
  join(b, "locked", "bob", R"(,"pin":"0000")");
  EXPECT_EQ(rooms_->find("one")->members.size(), 2u);
  send(b, R"({"type":"PING"})");
  EXPECT_EQ(outbox_.types(2).back(), "PONG");
  // A successful one moves him: alice sees him leave.
  join(b, "two", "bob");
  EXPECT_EQ(rooms_->find("one")->members.size(), 1u);
  EXPECT_EQ(outbox_.types(1).back(), "USER_LEFT");
  EXPECT_EQ(rooms_->find("two")->members.size(), 1u);
  EXPECT_EQ(outbox_.closed.count(2), 0u);  // moving does not close the connection
}

TEST_F(LocalRoomsTest, NotJoinedAndPingBeforeJoin) {
  make();
  const auto a = conn(1);
  send(a, R"({"type":"PING"})");
  send(a, R"({"type":"PLAY_PAUSE","control":"play"})");
  ASSERT_EQ(outbox_.types(1), (std::vector<std::string>{"PONG", "ERROR"}));
  EXPECT_EQ(outbox_.frames[1][1].at("code"), "NOT_JOINED");
}

// A joined member's PING is answered by the node, as in cluster mode: the room is not
// touched (no version, no snapshot to write), so PINGs cost the journal nothing.
TEST_F(LocalRoomsTest, AJoinedMembersPingIsAnsweredByTheNodeAndLeavesTheRoomAlone) {
  make();
  const auto a = conn(1);
  join(a, "r1", "alice");
  rooms_->flush_snapshots();
  const std::uint64_t version = rooms_->find("r1")->version;
  const std::size_t snapshots = journal_.of<store::RoomSnapshot>().size();
  now_ += 1'000;
  send(a, R"({"type":"PING"})");
  EXPECT_EQ(outbox_.types(1).back(), "PONG");
  EXPECT_EQ(rooms_->find("r1")->version, version);
  EXPECT_EQ(registry_.sample("tandem_rooms_unsaved"), 0);
  rooms_->flush_snapshots();
  EXPECT_EQ(journal_.of<store::RoomSnapshot>().size(), snapshots);
}

TEST_F(LocalRoomsTest, ShortIdsAreJournaled) {
  make();
  std::optional<std::string> id;
  rooms_->short_id_for("r9", "10.0.0.1", [&](ShortIdAnswer a) { id = a.short_id; });
  ASSERT_TRUE(id);
  auto records = journal_.of<store::ShortIdRecord>();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].short_id, *id);
  EXPECT_EQ(records[0].room_id, "r9");
  EXPECT_EQ(records[0].expires_at, now_ + 10 * 60 * 1000) << "pending: the room does not exist";
  // The JOIN that creates the room gives the id the full TTL, in the record too.
  join(conn(1), "r9", "alice");
  records = journal_.of<store::ShortIdRecord>();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].short_id, *id);
  EXPECT_EQ(records[1].expires_at, now_ + 4 * 3600 * 1000);
}

TEST_F(LocalRoomsTest, NewShortIdsForAbsentRoomsAreLimitedPerAddress) {
  make();
  join(conn(1), "real", "alice");
  const auto ask = [&](const std::string& room, const std::string& address) {
    ShortIdAnswer answer;
    rooms_->short_id_for(room, address, [&](ShortIdAnswer a) { answer = std::move(a); });
    return answer;
  };
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(ask("ghost-" + std::to_string(i), "6.6.6.6").short_id);
  const ShortIdAnswer refused = ask("ghost-60", "6.6.6.6");
  EXPECT_FALSE(refused.short_id);
  EXPECT_EQ(refused.refusal, ShortIdAnswer::Refusal::rate_limited);
  EXPECT_GT(refused.retry_after, 0);
  // The same address still gets the ids it has, and ids of existing rooms.
  EXPECT_TRUE(ask("ghost-0", "6.6.6.6").short_id);
  EXPECT_TRUE(ask("real", "6.6.6.6").short_id);
  EXPECT_TRUE(ask("ghost-60", "7.7.7.7").short_id);  // another address
  EXPECT_EQ(registry_.sample("tandem_short_ids_refused_total", {{"reason", "rate_limited"}}), 1);
}

// ROOM_MAX_NEW_PER_ADDRESS: the JOIN asks the gate only when it would create its room, and
// a refused JOIN changes nothing.
TEST_F(LocalRoomsTest, TheNewRoomGateIsAskedOnlyByAJoinThatCreatesItsRoom) {
  make();
  std::vector<std::string> asked;
  bool refuse = false;
  rooms_->set_new_room_gate([&](const std::string& client, const std::string& room_id)
                                -> std::optional<Millis> {
    asked.push_back(client + " " + room_id);
    if (refuse) return 1'500;
    return std::nullopt;
  });
  join(conn(1, "10.0.0.7"), "r", "a");
  EXPECT_EQ(first_reply(1), "ROOM_STATE");
  join(conn(2, "10.0.0.7"), "r", "b");  // the room exists: not asked
  EXPECT_EQ(asked, std::vector<std::string>{"10.0.0.7 r"});

  refuse = true;
  join(conn(3, "10.0.0.7"), "s", "c");
  ASSERT_EQ(outbox_.frames[3].size(), 1u);
  EXPECT_EQ(first_reply(3), "RATE_LIMITED");
  EXPECT_NE(std::string(outbox_.frames[3][0].at("message").as_string()).find("try again in 2 s"),
            std::string::npos);
  EXPECT_EQ(rooms_->find("s"), nullptr);
  EXPECT_EQ(rooms_->room_count(), 1u);
  send(conn(3, "10.0.0.7"), R"({"type":"UPDATE_USERNAME","username":"x"})");
  EXPECT_EQ(outbox_.frames[3].back().at("code"), "NOT_JOINED");
  join(conn(3, "10.0.0.7"), "r", "c");  // an existing room is never limited
  EXPECT_EQ(outbox_.frames[3].back().at("type"), "ROOM_STATE");
  EXPECT_EQ(asked.size(), 2u);
}

}  // namespace
}  // namespace tandem::cluster
