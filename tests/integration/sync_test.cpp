// Playback sync over the wire (docs/SYNC.md): capabilities negotiated in JOIN / ROOM_STATE,
// the clock exchange answered by the connection, the round trip the server measures itself,
// scheduled starts (startAt) only for members that announced scheduledPlayback, an old
// client's frames unchanged byte for byte (timestamps and peer ids aside), and the sync
// spread from timed position reports in /status and /metrics. Also run in cluster mode.
#include "support/fixture.hpp"

#include <regex>
#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

const json::array kCapabilities{"clockSync", "scheduledPlayback"};

json::object join_capable(std::string_view room, std::string_view user,
                          json::array capabilities = kCapabilities) {
  json::object join = msg::join(room, user);
  join["capabilities"] = std::move(capabilities);
  return join;
}

// The next frame's raw text, which must be of type `type`.
std::string frame(WsClient& client, std::string_view type,
                  std::source_location where = std::source_location::current()) {
  const WsEvent event = client.recv_event();
  if (event.kind != WsEvent::Kind::message || !event.message || type_of(*event.message) != type) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << client.name() << " expected " << type << ", got " << event.describe();
    return {};
  }
  return event.text;
}

// A frame with what legitimately differs between two runs blanked out: the server's clock
// (timestamp, and the eventTimestamp the server sets when it closes a gate) and connection
// ids (peerId: a new UUID per connection).
std::string normalized(const std::string& text) {
  static const std::regex times(R"re("(timestamp|eventTimestamp)":[0-9.]+)re");
  static const std::regex peers(R"re("peerId":"[0-9a-f-]+")re");
  return std::regex_replace(std::regex_replace(text, times, R"("$1":T)"), peers, R"("peerId":P)");
}

class SyncTest : public TandemTest {
 protected:
  void SetUp() override { start_server(); }

  std::unique_ptr<WsClient> capable(std::string_view room, std::string_view user,
                                    json::object* state = nullptr) {
    auto client = connect(std::string(user));
    client->send_json(join_capable(room, user));
    json::object room_state = client->expect("ROOM_STATE");
    if (state != nullptr) *state = std::move(room_state);
    return client;
  }

  // One three-way clock exchange on `client`; the ACK leaves `ack_after` after the reply.
  json::object clock_exchange(WsClient& client, std::uint64_t seq, Millis ack_after = 0ms) {
    client.send_json({{"type", "CLOCK_REQUEST"}, {"seq", seq}, {"clientTime", 1234.5}});
    json::object reply = client.expect("CLOCK_REPLY");
    if (ack_after > 0ms) std::this_thread::sleep_for(ack_after);  // the delay under test
    client.send_json({{"type", "CLOCK_ACK"}, {"seq", seq}});
    return reply;
  }
};

TEST_F(SyncTest, CapabilitiesAreNegotiatedInJoinAndRoomState) {
  json::object state;
  auto a = capable("room", "alice", &state);
  EXPECT_EQ(arr(state, "capabilities"), kCapabilities) << json::serialize(state);
  EXPECT_EQ(num(state, "position"), 0);
  EXPECT_FALSE(has(state, "startAt"));  // paused

  // A list of names this server does not know is still answered.
  auto b = connect("bob");
  b->send_json(join_capable("room", "bob", json::array{"teleport"}));
  const json::object bob_state = b->expect("ROOM_STATE");
  EXPECT_EQ(arr(bob_state, "capabilities"), kCapabilities);
  EXPECT_FALSE(has(bob_state, "position"));  // did not ask for scheduledPlayback

  // An old client's JOIN gets exactly the contract's keys.
  json::object old_state;
  auto c = joined("room", "carol", std::nullopt, std::nullopt, &old_state);
  std::vector<std::string> keys;
  for (const auto& member : old_state) keys.emplace_back(member.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"type", "roomId", "url", "currentTime", "isPlaying",
                                            "hostUserId", "guestControlEnabled", "users",
                                            "nodeId", "timestamp"}));

  // Malformed lists are refused and change nothing.
  auto d = connect("dave");
  json::object bad = msg::join("room", "dave");
  bad["capabilities"] = "clockSync";
  d->send_json(bad);
  EXPECT_EQ(str(d->expect("ERROR"), "code"), "BAD_REQUEST");
  EXPECT_EQ(arr(room_status("room"), "users").size(), 3u);
}

TEST_F(SyncTest, ClockRequestsAreAnsweredAtOnceJoinedOrNot) {
  auto client = connect("early");
  const std::int64_t before = now_ms();
  client->send_json({{"type", "CLOCK_REQUEST"}, {"seq", 7}, {"clientTime", 98765.4321}});
  const json::object reply = client->expect("CLOCK_REPLY");
  const std::int64_t after = now_ms();
  EXPECT_EQ(int_of(reply, "seq"), 7);
  EXPECT_EQ(num(reply, "clientTime"), 98765.4321);
  const double received = num(reply, "serverReceived");
  const double sent = num(reply, "serverSent");
  EXPECT_LE(received, sent);
  EXPECT_GE(received, static_cast<double>(before) - 1);
  EXPECT_LE(sent, static_cast<double>(after) + 1);
  // An ACK before any JOIN stays with the connection: no NOT_JOINED.
  client->send_json({{"type", "CLOCK_ACK"}, {"seq", 7}});
  client->expect_no_message();
  client->send_json({{"type", "CLOCK_REQUEST"}, {"seq", -1}, {"clientTime", 1}});
  EXPECT_EQ(str(client->expect("ERROR"), "code"), "BAD_REQUEST");
  client->send_json({{"type", "CLOCK_REPLY"}, {"seq", 1}});
  EXPECT_EQ(str(client->expect("ERROR"), "code"), "BAD_REQUEST");
  EXPECT_EQ(metric("tandem_messages_out_total", {{"type", "CLOCK_REPLY"}}), 1);
  EXPECT_EQ(metric("tandem_messages_in_total", {{"type", "CLOCK_REQUEST"}}), 1);
}

TEST_F(SyncTest, TheServerMeasuresTheRoundTripAndLeadsTheStartByIt) {
  auto slow = capable("room", "slow");
  auto fast = capable("room", "fast");
  slow->expect("USER_JOINED");
  // The slow client acknowledges every reply 400 ms late: to the server, a 400 ms path.
  for (std::uint64_t seq = 1; seq <= 3; ++seq) clock_exchange(*slow, seq, 400ms);
  ASSERT_TRUE(eventually([&] {
    const double rtt = num(user_status("room", "slow"), "rttMs");
    return rtt >= 400 && rtt < 1000;
  })) << json::serialize(room_status("room"));

  slow->send_json(msg::play_pause("play", 10, 1.0));
  const json::object play = slow->expect("PLAY_PAUSE");
  EXPECT_EQ(json::serialize(fast->expect("PLAY_PAUSE")), json::serialize(play));
  ASSERT_TRUE(has(play, "startAt")) << json::serialize(play);
  const std::int64_t lead = int_of(play, "startAt") - int_of(play, "timestamp");
  // Half the slow member's round trip plus the 100 ms margin.
  EXPECT_GE(lead, 300) << json::serialize(play);
  EXPECT_LE(lead, 600) << json::serialize(play);
  EXPECT_EQ(num(play, "position"), 10);
}

TEST_F(SyncTest, StartAtGoesOnlyToMembersThatAskedForIt) {
  auto host = capable("room", "host");
  auto old = joined("room", "old");
  host->expect("USER_JOINED");
  auto clock_only = connect("clock");
  clock_only->send_json(join_capable("room", "clock", json::array{"clockSync"}));
  clock_only->expect("ROOM_STATE");
  host->expect("USER_JOINED");
  old->expect("USER_JOINED");

  host->send_json(msg::play_pause("play", 30, 1764254420331.0));
  const json::object scheduled = host->expect("PLAY_PAUSE");
  EXPECT_EQ(num(scheduled, "position"), 30);
  ASSERT_TRUE(has(scheduled, "startAt")) << json::serialize(scheduled);
  const std::int64_t lead = int_of(scheduled, "startAt") - int_of(scheduled, "timestamp");
  EXPECT_GE(lead, 50);
  EXPECT_LE(lead, 1000);
  for (WsClient* plain : {old.get(), clock_only.get()}) {
    const json::object play = plain->expect("PLAY_PAUSE");
    EXPECT_FALSE(has(play, "startAt")) << json::serialize(play);
    EXPECT_FALSE(has(play, "position")) << json::serialize(play);
    EXPECT_EQ(num(play, "currentTime"), 30);
    EXPECT_EQ(int_of(play, "timestamp"), int_of(scheduled, "timestamp"));  // one event
  }
  // A pause carries the position to stop at, to the capable member only.
  host->send_json(msg::play_pause("pause", std::nullopt, 1764254421331.0));
  const json::object pause = host->expect("PLAY_PAUSE");
  EXPECT_TRUE(has(pause, "position"));
  EXPECT_FALSE(has(pause, "startAt"));
  EXPECT_FALSE(has(old->expect("PLAY_PAUSE"), "position"));
  EXPECT_FALSE(has(clock_only->expect("PLAY_PAUSE"), "position"));
}

// What an old client receives in a room that also holds members with every capability is,
// frame for frame, what it received in the same room without them.
TEST_F(SyncTest, AnOldClientsFramesAreUnchangedByteForByte) {
  const auto scenario = [&](bool with_capable) {
    std::vector<std::string> seen;
    auto host = connect("host");
    host->send_json(with_capable ? join_capable("room", "host") : msg::join("room", "host"));
    host->expect("ROOM_STATE");
    auto old = connect("old");
    old->send_json(msg::join("room", "old", "Old"));
    seen.push_back(frame(*old, "ROOM_STATE"));
    host->expect("USER_JOINED");
    if (with_capable) {
      clock_exchange(*host, 1);
      host->send_json(msg::position_update(1, false));
    }
    host->send_json(msg::play_pause("play", 10, 1764254420331.0));
    seen.push_back(frame(*old, "PLAY_PAUSE"));
    host->send_json(msg::host_heartbeat(12.5, true, 1764254422831.0));
    seen.push_back(frame(*old, "HOST_HEARTBEAT"));
    host->send_json(msg::play_pause("pause", 13, 1764254423331.0));
    seen.push_back(frame(*old, "PLAY_PAUSE"));
    old->send_json(msg::request_sync());
    seen.push_back(frame(*old, "SYNC_RESPONSE"));
    host->send_json(msg::seek(40, true, 1764254424331.0));
    seen.push_back(frame(*old, "SEEK_PAUSE"));
    old->send_json(msg::ready(40));
    host->send_json(msg::ready(40));
    seen.push_back(frame(*old, "PLAY_PAUSE"));  // the gate's release
    host->send_json(msg::custom("PLAYBACK_ACK", {{"currentTime", 41}}));
    seen.push_back(frame(*old, "PLAYBACK_ACK"));
    old->expect_no_message();
    host->send_json(msg::leave());
    seen.push_back(frame(*old, "HOST_CHANGED"));
    seen.push_back(frame(*old, "USER_LEFT"));
    old->send_json(msg::leave());
    old->wait_closed();
    host->wait_closed();
    return seen;
  };
  const std::vector<std::string> alone = scenario(false);
  // The room was archived when both left: the second run starts from the same state.
  ASSERT_TRUE(eventually([&] { return arr(status("room"), "rooms").empty(); }));
  const std::vector<std::string> mixed = scenario(true);
  ASSERT_EQ(alone.size(), mixed.size());
  for (std::size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(normalized(mixed[i]), normalized(alone[i])) << "frame " << i;
  }
  // The normalization blanks values, never keys: the frames still carry them.
  EXPECT_NE(alone[1].find("\"timestamp\":"), std::string::npos);
}

TEST_F(SyncTest, TimedReportsGiveOffsetsAndTheSpread) {
  auto a = capable("room", "alice");
  auto b = capable("room", "bob");
  a->expect("USER_JOINED");
  a->send_json(msg::play_pause("play", 100, 1.0));
  const json::object play = a->expect("PLAY_PAUSE");
  b->expect("PLAY_PAUSE");
  ASSERT_TRUE(has(play, "startAt")) << json::serialize(play);
  const double start_at = num(play, "startAt");
  const double count_before = metric("tandem_sync_spread_seconds_count");
  const double sum_before = metric("tandem_sync_spread_seconds_sum");

  // Reports of an instant after the start, as clients make them: alice 5 ms ahead of the
  // timeline, bob 25 ms behind, sampled 300 ms apart (projected to one instant: 30 ms).
  ASSERT_TRUE(eventually([&] { return now_ms() > static_cast<std::int64_t>(start_at) + 400; }, 3s));
  const auto report = [](double timeline_s, double offset_s, double sampled_at) {
    json::object update = msg::position_update(timeline_s + offset_s, true);
    update["sampledAt"] = sampled_at;
    return update;
  };
  a->send_json(report(100.1, 0.005, start_at + 100));
  b->send_json(report(100.4, -0.025, start_at + 400));
  ASSERT_TRUE(eventually([&] { return metric("tandem_sync_spread_seconds_count") > count_before; }));
  EXPECT_EQ(metric("tandem_sync_spread_seconds_count"), count_before + 1);
  EXPECT_NEAR(metric("tandem_sync_spread_seconds_sum") - sum_before, 0.030, 1e-6);
  EXPECT_EQ(metric("tandem_sync_spread_seconds_bucket", {{"le", "0.04"}}) -
                metric("tandem_sync_spread_seconds_bucket", {{"le", "0.02"}}),
            1);

  const json::object room = room_status("room");
  EXPECT_NEAR(num(room, "syncSpread"), 0.030, 1e-6) << json::serialize(room);
  EXPECT_NEAR(num(user_status("room", "alice"), "syncOffset"), 0.005, 1e-6);
  EXPECT_NEAR(num(user_status("room", "bob"), "syncOffset"), -0.025, 1e-6);

  // An old client's untimed report counts for nothing; its offset is null.
  auto old = joined("room", "old");
  old->send_json(msg::position_update(100.2, true));
  ASSERT_TRUE(eventually([&] { return num(user_status("room", "old"), "currentTime") == 100.2; }));
  EXPECT_TRUE(is_null(user_status("room", "old"), "syncOffset"));
  EXPECT_TRUE(is_null(user_status("room", "old"), "rttMs"));
  EXPECT_EQ(metric("tandem_sync_spread_seconds_count"), count_before + 1);
}

}  // namespace
}  // namespace tandem::test
