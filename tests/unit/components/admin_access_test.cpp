// Who gets the admin view (net/admin_access.*) and what the others see of a room
// (cluster::public_room_view): pure functions, no sockets.
#include "net/admin_access.hpp"
#include "cluster/room_status.hpp"

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

namespace tandem {
namespace {

using net::AdminAccess;

net::HttpRequest request(std::initializer_list<std::pair<std::string, std::string>> headers = {}) {
  net::HttpRequest req{boost::beast::http::verb::get, "/status", 11};
  for (const auto& [name, value] : headers) req.insert(name, value);
  return req;
}

TEST(AdminAccess, WithoutATokenOnlyThisHostsLoopbackAddressesAreAdmin) {
  const std::string no_token;
  EXPECT_EQ(net::admin_access(request(), "127.0.0.1", no_token), AdminAccess::granted);
  EXPECT_EQ(net::admin_access(request(), "::1", no_token), AdminAccess::granted);
  EXPECT_EQ(net::admin_access(request(), "::ffff:127.0.0.1", no_token), AdminAccess::granted);
  for (const char* elsewhere : {"127.0.0.2", "10.0.0.1", "203.0.113.9", "2001:db8::1", "",
                                "localhost", "::ffff:127.0.0.2"}) {
    EXPECT_EQ(net::admin_access(request(), elsewhere, no_token), AdminAccess::local_only)
        << elsewhere;
  }
}

TEST(AdminAccess, AForwardedRequestIsNeverThisHost) {
  // A reverse proxy on this host connects from 127.0.0.1 on behalf of remote clients.
  for (const auto& [name, value] :
       {std::pair<std::string, std::string>{"X-Forwarded-For", "203.0.113.9"},
        {"x-forwarded-for", "127.0.0.1"},
        {"Forwarded", "for=127.0.0.1"}}) {
    EXPECT_EQ(net::admin_access(request({{name, value}}), "127.0.0.1", ""), AdminAccess::local_only)
        << name;
  }
}

TEST(AdminAccess, WithATokenOnlyTheTokenCounts) {
  const std::string token = "admin-token-0123456789";
  EXPECT_EQ(net::admin_access(request(), "127.0.0.1", token), AdminAccess::token_required);
  EXPECT_EQ(net::admin_access(request({{"Authorization", "Bearer wrong-token-0123456"}}),
                              "127.0.0.1", token),
            AdminAccess::token_required);
  EXPECT_EQ(net::admin_access(request({{"Authorization", token}}), "127.0.0.1", token),
            AdminAccess::token_required);
  EXPECT_EQ(
      net::admin_access(request({{"Authorization", "Bearer " + token}}), "203.0.113.9", token),
      AdminAccess::granted);
}

TEST(PublicRoomView, KeepsTheRoomIdAndCountsOnly) {
  room::RoomState state;
  state.id = "movie-night";
  state.host_user_id = "alice";
  state.url = "https://www.netflix.com/watch/1";
  state.is_playing = true;
  for (const char* user : {"alice", "bob", "carol"}) {
    room::Member member;
    member.user_id = user;
    member.username = std::string(user) + " name";
    member.connected = std::string_view(user) != "carol";  // one in its grace period
    state.members.push_back(member);
  }
  const auto described = cluster::describe_room(state, 1'000);
  const auto view = cluster::public_room_view(described);
  EXPECT_EQ(boost::json::serialize(view),
            R"({"roomId":"movie-night","connectionCount":2,"users":[{},{},{}]})");
}

}  // namespace
}  // namespace tandem
