// Rooms created per client address (ROOM_MAX_NEW_PER_ADDRESS, docs/SECURITY.md): a JOIN
// that would create one more room than the limit gets ERROR RATE_LIMITED and changes
// nothing; joining rooms that exist is never limited. Also run in cluster mode, where the
// JOIN learns whether the room exists from the snapshot it is applied to.
#include "support/fixture.hpp"

namespace tandem::test {
namespace {

class NewRoomsTest : public TandemTest {
 protected:
  std::unique_ptr<WsClient> joined_from(const std::string& address, const std::string& room,
                                        const std::string& user) {
    auto client = connect_from(user, address);
    join(*client, room, user);
    return client;
  }
};

TEST_F(NewRoomsTest, AJoinPastTheLimitIsRefusedAndCreatesNothing) {
  start_server({{"ROOM_MAX_NEW_PER_ADDRESS", "3"}});
  std::vector<std::unique_ptr<WsClient>> members;
  for (int i = 1; i <= 3; ++i) {
    members.push_back(
        joined_from("127.0.0.2", "made-" + std::to_string(i), "u" + std::to_string(i)));
  }
  // The fourth room: refused, and the message after it is answered after the refusal.
  auto fourth = connect_from("u4", "127.0.0.2");
  fourth->send_json(msg::join("made-4", "u4"));
  fourth->send_json(msg::update_username("late"));
  const json::object error = fourth->expect("ERROR");
  EXPECT_EQ(str(error, "code"), "RATE_LIMITED");
  EXPECT_NE(str(error, "message").find("Too many new rooms"), std::string::npos);
  EXPECT_EQ(str(fourth->expect("ERROR"), "code"), "NOT_JOINED");  // nothing joined
  EXPECT_TRUE(arr(status("made-4"), "rooms").empty());
  EXPECT_EQ(num(status(), "totalRooms"), 3);
  EXPECT_EQ(metric("tandem_new_rooms_refused_total"), 1);
  EXPECT_EQ(metric("tandem_errors_total", {{"code", "RATE_LIMITED"}}), 1);
  EXPECT_TRUE(server().wait_for_log_msg("new_room_refused", kTimeout).has_value());

  // Rooms that exist are never limited, on the refused connection too; nor is another address.
  join(*fourth, "made-1", "u4");
  auto other = joined_from("127.0.0.3", "made-4", "v4");
  EXPECT_EQ(num(status(), "totalRooms"), 4);
  EXPECT_EQ(metric("tandem_new_rooms_refused_total"), 1);
  expect_server_healthy();
}

// The existence check must not let a later message overtake the JOIN (in cluster mode it
// waits for Redis): what follows a JOIN is handled after it, as the extension expects.
TEST_F(NewRoomsTest, MessagesAfterAJoinWaitForIt) {
  start_server();
  auto host = joined("ordered-room", "host");
  for (int i = 0; i < 5; ++i) {
    auto guest = connect("guest-" + std::to_string(i));
    guest->send_json(msg::join(i % 2 == 0 ? "ordered-room" : "fresh-" + std::to_string(i),
                               "guest-" + std::to_string(i)));
    guest->send_json(msg::update_username("renamed"));
    guest->expect("ROOM_STATE");
    EXPECT_EQ(
        str(guest->expect("USERNAME_UPDATED", kTimeout, {"USER_JOINED", "USER_LEFT"}), "username"),
        "renamed");
  }
}

}  // namespace
}  // namespace tandem::test
