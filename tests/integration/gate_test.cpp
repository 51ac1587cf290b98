// The ready gate opened by SEEK: quorum, timeout, replacement by a newer SEEK, cancellation
// by PLAY_PAUSE, and "exactly once".
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class GateTest : public TandemTest {
 protected:
  // Members m[0] (host) .. m[n-1] in "room", every USER_JOINED consumed.
  void members(int n) {
    for (int i = 0; i < n; ++i) {
      m.push_back(joined("room", "user" + std::to_string(i)));
      for (int j = 0; j < i; ++j) m[static_cast<std::size_t>(j)]->expect("USER_JOINED");
    }
  }
  // A server with `env`, members(n), and a gate the host opened at `target` (playing).
  void gate_open(const Env& env, int n, double target) {
    start_server(env);
    members(n);
    m[0]->send_json(msg::seek(target, true));
    all_get_seek_pause(target);
  }
  // The SEEK_PAUSE every member must get.
  void all_get_seek_pause(double target) {
    for (auto& c : m) EXPECT_EQ(num(c->expect("SEEK_PAUSE"), "currentTime"), target);
  }
  // The server's PLAY_PAUSE that closes a gate, as every member got it (identical).
  json::object all_get_gate_play(Millis timeout = kTimeout) {
    json::object first = m[0]->expect("PLAY_PAUSE", timeout);
    for (std::size_t i = 1; i < m.size(); ++i) {
      EXPECT_EQ(json::serialize(m[i]->expect("PLAY_PAUSE", timeout)), json::serialize(first));
    }
    EXPECT_EQ(str(first, "userId"), "server");
    EXPECT_EQ(str(first, "control"), "play");
    return first;
  }
  void nobody_gets_anything(Millis window = kQuiet) {
    for (auto& c : m) c->expect_no_message(c == m.front() ? window : 50ms);
  }
  double gate(const char* outcome) {
    return metric("tandem_gate_outcomes_total", {{"outcome", outcome}});
  }

  std::vector<std::unique_ptr<WsClient>> m;
};

TEST_F(GateTest, QuorumOfReadiesResumesPlaybackOnce) {
  start_server({{"GATE_TIMEOUT_MS", "1500"}});
  members(3);  // quorum = ceil(0.6 x 3) = 2
  m[0]->send_json(msg::seek(100, true));
  all_get_seek_pause(100);

  m[1]->send_json(msg::ready(100));
  nobody_gets_anything();            // one READY of two
  m[1]->send_json(msg::ready(100));  // the same member again: still one
  nobody_gets_anything();

  const std::int64_t ready_sent = now_ms();
  m[2]->send_json(msg::ready(100));
  const json::object play = all_get_gate_play();
  EXPECT_EQ(num(play, "currentTime"), 100);
  // eventTimestamp is the gate's closing time (fix), not the SEEK's opening time.
  EXPECT_GE(int_of(play, "eventTimestamp"), ready_sent);
  EXPECT_LE(int_of(play, "eventTimestamp"), now_ms());
  EXPECT_GT(int_of(play, "timestamp"), 0);

  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), true);
  EXPECT_GE(num(room, "currentTime"), 100);

  // Exactly once: neither the timeout nor a late READY fires it again.
  m[0]->send_json(msg::ready(100));
  m[0]->expect_no_message(1700ms);
  for (std::size_t i = 1; i < m.size(); ++i) m[i]->expect_no_message(50ms);
  EXPECT_EQ(gate("quorum"), 1);
  EXPECT_EQ(gate("timeout"), 0);
}

TEST_F(GateTest, RealClientSeekAndReady) {
  start_server({{"GATE_TIMEOUT_MS", "5000"}});
  auto a = connect("A");
  a->send_json(client_example("JOIN", 0));
  a->expect("ROOM_STATE");
  auto b = connect("B");
  b->send_json(client_example("JOIN", 1));
  b->expect("ROOM_STATE");
  a->expect("USER_JOINED");
  a->send_json(client_example("SEEK"));  // 1502.5, isPlaying, eventTimestamp in the past
  a->expect("SEEK_PAUSE");
  b->expect("SEEK_PAUSE");
  const std::int64_t opened = now_ms();
  a->send_json(msg::ready(1502.5));  // two members: quorum 2
  a->expect_no_message();
  b->send_json(client_example("READY"));
  const json::object play = a->expect("PLAY_PAUSE");
  EXPECT_EQ(json::serialize(b->expect("PLAY_PAUSE")), json::serialize(play));
  EXPECT_EQ(str(play, "userId"), "server");
  EXPECT_EQ(num(play, "currentTime"), 1502.5);
  // Not the client's SEEK eventTimestamp (1764254460000): the server's closing time.
  EXPECT_GE(int_of(play, "eventTimestamp"), opened);
}

TEST_F(GateTest, AloneTheHostsOwnReadyIsTheQuorum) {
  start_server({{"GATE_TIMEOUT_MS", "5000"}});
  members(1);
  m[0]->send_json(msg::seek(30, true));
  all_get_seek_pause(30);
  m[0]->send_json(msg::ready());
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 30);
}

TEST_F(GateTest, FiveMembersNeedThreeReadies) {
  start_server({{"GATE_TIMEOUT_MS", "5000"}});
  members(5);  // ceil(0.6 x 5) = 3
  m[0]->send_json(msg::seek(60, true));
  all_get_seek_pause(60);
  m[3]->send_json(msg::ready());
  m[4]->send_json(msg::ready());
  nobody_gets_anything();
  m[1]->send_json(msg::ready());
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 60);
}

TEST_F(GateTest, QuorumCountsMembersConnectedAtTheSeek) {
  start_server({{"GATE_TIMEOUT_MS", "5000"}, {"RECONNECT_GRACE_MS", "30000"}});
  members(5);
  // Two members drop (still members, inside their grace): expected = 3, quorum = 2.
  m[3]->drop();
  m[4]->drop();
  m.resize(3);
  ASSERT_TRUE(eventually([&] { return num(room_status("room"), "connectionCount") == 3; }));
  m[0]->send_json(msg::seek(75, true));
  all_get_seek_pause(75);
  m[1]->send_json(msg::ready());
  nobody_gets_anything();
  m[2]->send_json(msg::ready());
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 75);
}

TEST_F(GateTest, AReadyFromAMemberWhoJoinedAfterTheSeekCounts) {
  gate_open({{"GATE_TIMEOUT_MS", "30000"}}, 2, 90);  // expected 2, quorum 2
  m[1]->send_json(msg::ready());
  nobody_gets_anything();
  m.push_back(joined("room", "late"));  // joins while the gate is open
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(str(m[i]->expect("USER_JOINED"), "userId"), "late");
  m[2]->send_json(msg::ready());  // the second distinct READY: quorum
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 90);
  nobody_gets_anything();
  EXPECT_EQ(gate("quorum"), 1);
}

TEST_F(GateTest, TheGateOutlivesItsOpenerLeaving) {
  gate_open({{"GATE_TIMEOUT_MS", "30000"}}, 3, 120);  // expected 3, quorum 2
  m[0]->send_json(msg::leave());
  EXPECT_EQ(m[0]->wait_closed(), 1000);
  m.erase(m.begin());
  for (auto& c : m) {
    EXPECT_EQ(str(c->expect("HOST_CHANGED"), "hostUserId"), "user1");
    EXPECT_EQ(str(c->expect("USER_LEFT"), "userId"), "user0");
  }
  m[0]->send_json(msg::ready());
  nobody_gets_anything();
  m[1]->send_json(msg::ready());
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 120);
  nobody_gets_anything();
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), true);
  EXPECT_EQ(gate("quorum"), 1);
}

TEST_F(GateTest, TheGateOutlivesItsOpenerDropping) {
  const int timeout_ms = 800;
  gate_open({{"GATE_TIMEOUT_MS", std::to_string(timeout_ms)}, {"RECONNECT_GRACE_MS", "30000"}}, 3,
            130);
  m[0]->drop();  // the host's page closes: it stays host through its grace
  m.erase(m.begin());
  ASSERT_TRUE(eventually([&] { return num(room_status("room"), "connectionCount") == 2; }));
  // Nobody READY: the timeout resumes playback for those still here, once.
  EXPECT_EQ(num(all_get_gate_play(Millis(timeout_ms) + kTimeout), "currentTime"), 130);
  nobody_gets_anything();
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), true);
  EXPECT_EQ(str(room, "hostUserId"), "user0");
  EXPECT_EQ(gate("timeout"), 1);
}

TEST_F(GateTest, TimeoutResumesPlaybackWithTheClosingTime) {
  const int timeout_ms = 500;
  start_server({{"GATE_TIMEOUT_MS", std::to_string(timeout_ms)}});
  members(3);
  const std::int64_t opened = now_ms();
  const auto opened_steady = Clock::now();
  m[0]->send_json(msg::seek(250.5, true));
  all_get_seek_pause(250.5);
  m[1]->send_json(msg::ready());  // one of two: not enough
  const json::object play = all_get_gate_play(Millis(timeout_ms) + kTimeout);
  EXPECT_GE(std::chrono::duration_cast<Millis>(Clock::now() - opened_steady).count(),
            timeout_ms - 20);
  EXPECT_EQ(num(play, "currentTime"), 250.5);
  EXPECT_GE(int_of(play, "eventTimestamp"), opened + timeout_ms);
  EXPECT_LE(int_of(play, "eventTimestamp"), now_ms());
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), true);
  // Exactly once: a READY after the timeout changes nothing.
  m[2]->send_json(msg::ready());
  nobody_gets_anything();
  EXPECT_EQ(gate("timeout"), 1);
  EXPECT_EQ(gate("quorum"), 0);
}

TEST_F(GateTest, SeekWhilePausedResumesNothing) {
  start_server({{"GATE_TIMEOUT_MS", "400"}});
  members(2);
  m[0]->send_json(msg::seek(42, false));
  all_get_seek_pause(42);
  m[0]->send_json(msg::ready());
  m[1]->send_json(msg::ready());  // quorum reached
  nobody_gets_anything(700ms);    // and past the timeout too
  const json::object room = room_status("room");
  EXPECT_EQ(flag(room, "isPlaying"), false);
  EXPECT_EQ(num(room, "currentTime"), 42);
  EXPECT_EQ(gate("quorum"), 1);

  m[0]->send_json(msg::seek(43, false));  // and by timeout
  all_get_seek_pause(43);
  nobody_gets_anything(700ms);
  EXPECT_EQ(gate("timeout"), 1);
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);
}

TEST_F(GateTest, ANewerSeekReplacesTheGate) {
  const int timeout_ms = 600;
  start_server({{"GATE_TIMEOUT_MS", std::to_string(timeout_ms)}});
  members(3);
  m[0]->send_json(msg::seek(100, true));
  all_get_seek_pause(100);
  m[1]->send_json(msg::ready());  // counts for the first gate only
  expect_alive(*m[1]);            // (processed before the next SEEK, sent on another socket)
  m[0]->send_json(msg::seek(200, true));
  all_get_seek_pause(200);
  m[2]->send_json(msg::ready());  // one of two for the new gate: nothing
  nobody_gets_anything(100ms);
  // Only the second gate ever fires (by its timeout): one PLAY_PAUSE, target 200.
  const json::object play = all_get_gate_play(Millis(timeout_ms) + kTimeout);
  EXPECT_EQ(num(play, "currentTime"), 200);
  nobody_gets_anything(Millis(timeout_ms) + 200ms);
  EXPECT_EQ(gate("replaced"), 1);
  EXPECT_EQ(gate("timeout"), 1);
  EXPECT_EQ(gate("quorum"), 0);
}

TEST_F(GateTest, ANewerSeekByQuorum) {
  start_server({{"GATE_TIMEOUT_MS", "5000"}});
  members(2);
  m[0]->send_json(msg::seek(10, true));
  all_get_seek_pause(10);
  m[0]->send_json(msg::seek(20, false));
  all_get_seek_pause(20);
  m[0]->send_json(msg::seek(30, true));
  all_get_seek_pause(30);
  m[0]->send_json(msg::ready());
  m[1]->send_json(msg::ready());
  EXPECT_EQ(num(all_get_gate_play(), "currentTime"), 30);
  nobody_gets_anything();
  EXPECT_EQ(gate("replaced"), 2);
  EXPECT_EQ(gate("quorum"), 1);
}

TEST_F(GateTest, PlayPauseCancelsTheGate) {
  const int timeout_ms = 500;
  start_server({{"GATE_TIMEOUT_MS", std::to_string(timeout_ms)}});
  members(2);
  m[0]->send_json(msg::seek(100, true));
  all_get_seek_pause(100);
  m[0]->send_json(msg::play_pause("pause", 100));
  for (auto& c : m) EXPECT_EQ(str(c->expect("PLAY_PAUSE"), "userId"), "user0");
  m[1]->send_json(msg::ready());
  m[0]->send_json(msg::ready());                     // would be the quorum of the cancelled gate
  nobody_gets_anything(Millis(timeout_ms) + 300ms);  // and its timeout never fires
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);
  EXPECT_EQ(gate("cancelled"), 1);
  EXPECT_EQ(gate("timeout"), 0);
  EXPECT_EQ(gate("quorum"), 0);
}

TEST_F(GateTest, ReadyWithoutAGateDoesNothing) {
  start_server();
  members(2);
  m[1]->send_json(msg::ready(5));
  m[0]->send_json(msg::ready());
  nobody_gets_anything();
  expect_alive(*m[1]);
  EXPECT_EQ(flag(room_status("room"), "isPlaying"), false);
}

}  // namespace
}  // namespace tandem::test
