// WebRTC signaling relays (OFFER / ANSWER / ICE_CANDIDATE) with the real Chromium SDP and
// candidate, and the fallback broadcast of unknown message types.
#include "support/fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

// The example messages use these userIds.
constexpr const char* kAlice = "user_k2x9f0q1v7";
constexpr const char* kBob = "user_3hd82mzt0p";

class RelayTest : public TandemTest {
 protected:
  void SetUp() override {
    start_server();
    alice = joined("movie-night-42", kAlice, "Alice");
    bob = joined("movie-night-42", kBob, "Bob");
    alice->expect("USER_JOINED");
    carol = joined("movie-night-42", "carol", "Carol");
    alice->expect("USER_JOINED");
    bob->expect("USER_JOINED");
  }

  std::unique_ptr<WsClient> alice, bob, carol;
};

TEST_F(RelayTest, OfferReachesOnlyItsTargetWithTheRealSender) {
  json::object offer = client_example("OFFER");
  offer["from"] = "mallory";    // forged
  offer["userId"] = "mallory";  // forged: the client reads userId first
  offer["nodeId"] = "evil-node";
  offer["fromUserId"] = "server";  // forged
  offer["timestamp"] = 5;          // a relay carries the server's time, never the client's
  const std::int64_t before = now_ms();
  alice->send_json(offer);

  const json::object got = bob->expect("OFFER");
  EXPECT_EQ(str(got, "from"), kAlice);
  EXPECT_EQ(str(got, "userId"), kAlice);
  EXPECT_EQ(str(got, "to"), kBob);
  EXPECT_EQ(str(got, "nodeId"), server().node_id());
  EXPECT_EQ(str(got, "fromUserId"), kAlice);
  EXPECT_GE(int_of(got, "timestamp"), before);
  EXPECT_EQ(str(got, "roomId"), "movie-night-42");  // the rest is relayed as sent
  // The SDP arrives byte for byte.
  EXPECT_EQ(json::serialize(obj(got, "offer")),
            json::serialize(obj(client_example("OFFER"), "offer")));
  EXPECT_EQ(str(obj(got, "offer"), "sdp"), str(obj(client_example("OFFER"), "offer"), "sdp"));
  // Exactly the sent keys (nothing dropped, nothing but nodeId added).
  for (const auto& kv : offer) EXPECT_TRUE(got.contains(kv.key())) << kv.key();
  EXPECT_EQ(got.size(), offer.size());

  alice->expect_no_message();
  carol->expect_no_message(100ms);
  EXPECT_EQ(metric("tandem_messages_out_total", {{"type", "OFFER"}}), 1);
}

TEST_F(RelayTest, AnswerAndIceCandidate) {
  bob->send_json(client_example("ANSWER"));
  const json::object answer = alice->expect("ANSWER");
  EXPECT_EQ(str(answer, "from"), kBob);
  EXPECT_EQ(str(answer, "userId"), kBob);
  EXPECT_EQ(str(answer, "nodeId"), server().node_id());
  EXPECT_EQ(json::serialize(obj(answer, "answer")),
            json::serialize(obj(client_example("ANSWER"), "answer")));

  alice->send_json(client_example("ICE_CANDIDATE"));
  const json::object ice = bob->expect("ICE_CANDIDATE");
  EXPECT_EQ(str(ice, "from"), kAlice);
  EXPECT_EQ(str(ice, "userId"), kAlice);
  const json::object& candidate = obj(ice, "candidate");
  EXPECT_EQ(json::serialize(candidate),
            json::serialize(obj(client_example("ICE_CANDIDATE"), "candidate")));
  EXPECT_EQ(num(candidate, "sdpMLineIndex"), 0);
  EXPECT_EQ(str(candidate, "sdpMid"), "0");

  // End of gathering: a null candidate is relayed too.
  alice->send_json(msg::ice_candidate(kBob, nullptr));
  const json::object end = bob->expect("ICE_CANDIDATE");
  EXPECT_TRUE(is_null(end, "candidate")) << json::serialize(end);

  alice->expect_no_message();
  bob->expect_no_message(50ms);
  carol->expect_no_message(50ms);
}

TEST_F(RelayTest, RelaysKeepTheirOrder) {
  // A burst of trickled candidates arrives in the order it was sent.
  for (int i = 0; i < 50; ++i) {
    alice->send_json(
        msg::ice_candidate(kBob, json::object{{"candidate", "candidate:" + std::to_string(i)},
                                              {"sdpMid", "0"},
                                              {"sdpMLineIndex", 0}}));
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(str(obj(bob->expect("ICE_CANDIDATE"), "candidate"), "candidate"),
              "candidate:" + std::to_string(i));
  }
}

TEST_F(RelayTest, RelayToAnAbsentUserIsDroppedAndCounted) {
  const double before = metric("tandem_relays_dropped_total");
  alice->send_json(msg::offer("nobody", obj(client_example("OFFER"), "offer")));
  alice->expect_no_message();  // no error either
  bob->expect_no_message(50ms);
  carol->expect_no_message(50ms);
  expect_alive(*alice);  // the offer has been processed
  EXPECT_EQ(metric("tandem_relays_dropped_total"), before + 1);

  // A member of another room is absent from this one.
  auto dave = joined("other-room", "dave");
  alice->send_json(msg::ice_candidate("dave", json::object{{"candidate", "c"}}));
  dave->expect_no_message();
  expect_alive(*alice);
  EXPECT_EQ(metric("tandem_relays_dropped_total"), before + 2);
}

TEST_F(RelayTest, RelayToAMemberInGraceIsDropped) {
  bob->drop();  // default grace: bob stays a member for 10 s, but is not connected
  ASSERT_TRUE(eventually([&] {
    return str(user_status("movie-night-42", kBob), "connectionQuality") == "reconnecting";
  }));
  const double before = metric("tandem_relays_dropped_total");
  alice->send_json(client_example("OFFER"));
  alice->expect_no_message();
  expect_alive(*alice);
  EXPECT_EQ(metric("tandem_relays_dropped_total"), before + 1);
  // Back on a new connection: relays flow again.
  auto bob2 = joined("movie-night-42", kBob);
  alice->expect("USER_JOINED");
  carol->expect("USER_JOINED");
  alice->send_json(client_example("OFFER"));
  EXPECT_EQ(str(bob2->expect("OFFER"), "from"), kAlice);
}

TEST_F(RelayTest, MalformedRelaysAreBadRequest) {
  std::vector<json::object> bad;
  json::object m = client_example("OFFER");
  m.erase("to");
  bad.push_back(m);
  m = client_example("OFFER");
  m["to"] = 5;
  bad.push_back(m);
  m = client_example("OFFER");
  m["to"] = "bad id!";
  bad.push_back(m);
  m = client_example("OFFER");
  m.erase("offer");
  bad.push_back(m);
  m = client_example("OFFER");
  m["offer"] = "v=0";
  bad.push_back(m);
  m = client_example("OFFER");
  m["offer"] = nullptr;  // only ICE_CANDIDATE may carry null
  bad.push_back(m);
  m = client_example("ANSWER");
  m["answer"] = json::array{};
  bad.push_back(m);
  m = client_example("ICE_CANDIDATE");
  m["candidate"] = "candidate:1";
  bad.push_back(m);
  m = client_example("ICE_CANDIDATE");
  m.erase("candidate");
  bad.push_back(m);
  for (const auto& message : bad) {
    alice->send_json(message);
    EXPECT_EQ(str(alice->expect("ERROR"), "code"), "BAD_REQUEST")
        << json::serialize(message).substr(0, 200);
  }
  bob->expect_no_message();
  carol->expect_no_message(50ms);
  expect_alive(*alice);
}

TEST_F(RelayTest, UnknownTypesAreBroadcastToEveryoneIncludingTheSender) {
  const std::int64_t before = now_ms();
  json::object ack = client_example("PLAYBACK_ACK");  // userId = bob's, sent by bob
  ack["timestamp"] = 5;                               // replaced by the server's
  ack["nodeId"] = "evil-node";                        // replaced by the server's
  bob->send_json(ack);
  json::object seen[3] = {alice->expect("PLAYBACK_ACK"), bob->expect("PLAYBACK_ACK"),
                          carol->expect("PLAYBACK_ACK")};
  for (const auto& got : seen) {
    EXPECT_EQ(json::serialize(got), json::serialize(seen[0]));
    EXPECT_EQ(str(got, "userId"), kBob);
    EXPECT_EQ(str(got, "control"), "play");
    EXPECT_EQ(str(got, "to"), kAlice);  // the client filters on `to`, the server does not
    EXPECT_EQ(str(got, "roomId"), "movie-night-42");
    EXPECT_EQ(str(got, "nodeId"), server().node_id());
    EXPECT_GE(int_of(got, "timestamp"), before);
    EXPECT_LE(int_of(got, "timestamp"), now_ms());
  }
  EXPECT_EQ(seen[0].size(), ack.size());
}

TEST_F(RelayTest, FallbackOverwritesForgedIdentities) {
  // carol (a guest) poses as alice, and as the server, in a broadcast any member may send.
  json::object ack = msg::custom("PLAYBACK_ACK", {{"userId", kAlice},
                                                  {"from", kAlice},
                                                  {"fromUserId", "server"},
                                                  {"currentTime", 12.5},
                                                  {"nested", json::object{{"a", json::array{1, 2, 3}}}}});
  carol->send_json(ack);
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    const json::object got = c->expect("PLAYBACK_ACK");
    EXPECT_EQ(str(got, "userId"), "carol");
    EXPECT_EQ(str(got, "from"), "carol");
    EXPECT_EQ(str(got, "fromUserId"), "carol");
    EXPECT_EQ(num(got, "currentTime"), 12.5);
    EXPECT_EQ(json::serialize(obj(got, "nested")), R"({"a":[1,2,3]})");
  }
  // The host's SYNC_RESPONSE is a fallback broadcast too: it cannot pass for the server's.
  alice->send_json(msg::custom("SYNC_RESPONSE", {{"currentTime", 3}, {"fromUserId", "server"}}));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    const json::object got = c->expect("SYNC_RESPONSE");
    EXPECT_EQ(str(got, "userId"), kAlice);
    EXPECT_EQ(str(got, "fromUserId"), kAlice);
  }
}

// Issue 24 finding 5: a guest's SYNC_RESPONSE {fromUserId:"server", url: evil} reached every
// member and steered the demo. Steering types obey guest control like PLAY_PAUSE.
TEST_F(RelayTest, AGuestsSteeringBroadcastIsRefusedAndReachesNobody) {
  for (const char* type : {"SYNC_RESPONSE", "SYNC_PLAYBACK"}) {
    carol->send_json(msg::custom(type, {{"fromUserId", "server"},
                                        {"url", "https://evil.example/"},
                                        {"currentTime", 999},
                                        {"isPlaying", true}}));
    const json::object error = carol->expect("ERROR");
    EXPECT_EQ(str(error, "code"), "FORBIDDEN") << type;
  }
  alice->expect_no_message(100ms);
  bob->expect_no_message(50ms);
  carol->expect_no_message(50ms);
  // With guest control on the same message goes through, as PLAY_PAUSE would.
  alice->send_json(msg::toggle_guest_control(true));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) c->expect("GUEST_CONTROL");
  carol->send_json(msg::custom("SYNC_PLAYBACK", {{"currentTime", 42}}));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    const json::object got = c->expect("SYNC_PLAYBACK");
    EXPECT_EQ(str(got, "userId"), "carol");
    EXPECT_EQ(num(got, "currentTime"), 42);
  }
  EXPECT_EQ(metric("tandem_errors_total", {{"code", "FORBIDDEN"}}), 2);
}

TEST_F(RelayTest, FallbackTypeNamesAreChecked) {
  for (const std::string& type :
       {std::string(65, 'A'), std::string("HELLO WORLD"), std::string("bad-type"), std::string(""),
        std::string("\xC3\xA9T\xC3\xA9")}) {
    alice->send_json(msg::custom(type));
    EXPECT_EQ(str(alice->expect("ERROR"), "code"), "BAD_REQUEST") << type;
  }
  bob->expect_no_message();
  alice->send_json(msg::custom(std::string(64, 'A')));  // 64 is the limit, and fine
  EXPECT_EQ(type_of(bob->expect(std::string(64, 'A'))), std::string(64, 'A'));
}

TEST_F(RelayTest, RoomsAreIsolated) {
  auto x = joined("other-room", "xavier");
  auto y = joined("other-room", "yvonne");
  x->expect("USER_JOINED");
  alice->send_json(msg::play_pause("play", 1));
  alice->send_json(msg::custom("PLAYBACK_ACK"));
  x->send_json(msg::play_pause("pause", 2));
  x->send_json(msg::custom("PLAYBACK_ACK", {{"room", "other"}}));
  for (auto* c : {alice.get(), bob.get(), carol.get()}) {
    EXPECT_EQ(num(c->expect("PLAY_PAUSE"), "currentTime"), 1);
    EXPECT_FALSE(has(c->expect("PLAYBACK_ACK"), "room"));
    c->expect_no_message(100ms);
  }
  for (auto* c : {x.get(), y.get()}) {
    EXPECT_EQ(num(c->expect("PLAY_PAUSE"), "currentTime"), 2);
    EXPECT_EQ(str(c->expect("PLAYBACK_ACK"), "room"), "other");
    c->expect_no_message(100ms);
  }
}

}  // namespace
}  // namespace tandem::test
