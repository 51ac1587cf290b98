// Playback sync across nodes (docs/SYNC.md): each node encodes a broadcast once per
// capability variant and each node picks per local member; the round trip a node measured
// reaches the shared room state, so the lead of a start covers a slow member on another
// node; timed reports from members on different nodes give the spread on any node.
#include "cluster/cluster_fixture.hpp"

#include <boost/json/serialize.hpp>

#include <thread>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

json::object join_capable(std::string_view room, std::string_view user) {
  json::object join = msg::join(room, user);
  join["capabilities"] = json::array{"clockSync", "scheduledPlayback"};
  return join;
}

class SyncClusterTest : public ClusterFixture {
 protected:
  // alice (capable, host) on node 0; bob (capable) and carol (an old client) on node 1.
  void SetUp() override {
    ClusterFixture::SetUp();
    start_nodes(2);
    alice = connect("alice", 0);
    alice->send_json(join_capable("room", "alice"));
    alice->expect("ROOM_STATE");
    bob = connect("bob", 1);
    bob->send_json(join_capable("room", "bob"));
    const json::object state = bob->expect("ROOM_STATE");
    EXPECT_EQ(arr(state, "capabilities").size(), 2u) << json::serialize(state);
    carol = joined_on(1, "room", "carol");
    alice->expect("USER_JOINED");
    alice->expect("USER_JOINED");
    bob->expect("USER_JOINED");
  }

  std::unique_ptr<WsClient> alice, bob, carol;
};

TEST_F(SyncClusterTest, EachNodeGivesEachMemberItsVariant) {
  alice->send_json(msg::play_pause("play", 20, 1764254420331.0));
  const json::object a = alice->expect("PLAY_PAUSE");
  const json::object b = bob->expect("PLAY_PAUSE");
  const json::object c = carol->expect("PLAY_PAUSE");
  EXPECT_EQ(json::serialize(a), json::serialize(b));  // same variant, on two nodes
  EXPECT_TRUE(has(a, "startAt"));
  EXPECT_EQ(num(a, "position"), 20);
  EXPECT_FALSE(has(c, "startAt")) << json::serialize(c);
  EXPECT_FALSE(has(c, "position")) << json::serialize(c);
  EXPECT_EQ(int_of(c, "timestamp"), int_of(a, "timestamp"));
  alice->expect_no_message(100ms);
  bob->expect_no_message(50ms);
  carol->expect_no_message(50ms);
}

TEST_F(SyncClusterTest, ARoundTripMeasuredOnOneNodeLeadsAStartDecidedOnAnother) {
  // Bob (node 1) acknowledges clock replies 400 ms late: node 1 measures a 400 ms path.
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    bob->send_json({{"type", "CLOCK_REQUEST"}, {"seq", seq}, {"clientTime", 1.0}});
    bob->expect("CLOCK_REPLY");
    std::this_thread::sleep_for(400ms);  // the delay under test
    bob->send_json({{"type", "CLOCK_ACK"}, {"seq", seq}});
  }
  ASSERT_TRUE(eventually([&] {
    const json::object room = status_of(0, "room");
    for (const auto& user : arr(arr(room, "rooms")[0].as_object(), "users")) {
      if (str(user.as_object(), "userId") == "bob") return num(user.as_object(), "rttMs") >= 400;
    }
    return false;
  }));
  alice->send_json(msg::play_pause("play", 20, 1.0));
  const json::object play = alice->expect("PLAY_PAUSE");
  ASSERT_TRUE(has(play, "startAt")) << json::serialize(play);
  const std::int64_t lead = int_of(play, "startAt") - int_of(play, "timestamp");
  EXPECT_GE(lead, 300) << json::serialize(play);
  EXPECT_LE(lead, 600) << json::serialize(play);
}

TEST_F(SyncClusterTest, ReportsFromTwoNodesGiveTheSpreadOnEveryNode) {
  alice->send_json(msg::play_pause("play", 50, 1.0));
  const json::object play = alice->expect("PLAY_PAUSE");
  ASSERT_TRUE(has(play, "startAt")) << json::serialize(play);
  const double start_at = num(play, "startAt");
  bob->expect("PLAY_PAUSE");
  ASSERT_TRUE(eventually([&] { return now_ms() > static_cast<std::int64_t>(start_at) + 300; }, 3s));
  const auto count = [&] {
    return metric_of(0, "tandem_sync_spread_seconds_count") +
           metric_of(1, "tandem_sync_spread_seconds_count");
  };
  const double before = count();
  json::object a = msg::position_update(50.1 + 0.010, true);
  a["sampledAt"] = start_at + 100;
  alice->send_json(a);
  ASSERT_TRUE(eventually([&] {
    const json::object room = arr(status_of(1, "room"), "rooms")[0].as_object();
    return arr(room, "users")[0].as_object().at("syncOffset").is_number();
  }));
  json::object b = msg::position_update(50.2 - 0.015, true);
  b["sampledAt"] = start_at + 200;
  bob->send_json(b);
  ASSERT_TRUE(eventually([&] { return count() == before + 1; }));
  for (std::size_t node = 0; node < 2; ++node) {
    ASSERT_TRUE(eventually([&] {
      const json::object room = arr(status_of(node, "room"), "rooms")[0].as_object();
      return room.at("syncSpread").is_number() && std::abs(num(room, "syncSpread") - 0.025) < 1e-6;
    })) << "node " << node << ": " << json::serialize(status_of(node, "room"));
  }
}

}  // namespace
}  // namespace tandem::test
