// RoomState <-> JSON (room/room_codec.hpp) and JournalEntry <-> JSON line (entry_codec).
#include "room/room_codec.hpp"
#include "store/entry_codec.hpp"
#include "store/test_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace tandem::store {
namespace {

using namespace test_util;
namespace json = boost::json;

TEST(RoomCodec, RoundTripsEveryField) {
  const auto state = full_room("room-1");
  const auto text = room::to_json_string(state);
  const auto back = room::room_state_from_json(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(*back, state);
  EXPECT_FALSE(back->members[1].username.has_value());
  ASSERT_TRUE(back->gate);
  EXPECT_EQ(back->gate->ready, std::vector<std::string>{"alice"});
}

TEST(RoomCodec, RoundTripsExtremesAndEmptyValues) {
  room::RoomState s;
  s.id = "x";
  s.current_time = 0.1 + 0.2;  // not representable in short decimal: must be exact
  s.version = std::numeric_limits<std::uint64_t>::max();
  s.next_seq = std::numeric_limits<std::uint64_t>::max() - 1;
  s.created_at = std::numeric_limits<Millis>::min();
  s.updated_at = std::numeric_limits<Millis>::max();
  s.url = "https://example.com/\"quoted\"\\/\u00e9\U0001F600";
  const auto back = room::room_state_from_json(room::to_json_string(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(back->gate);
  EXPECT_TRUE(back->members.empty());
}

TEST(RoomCodec, NonFiniteNumbersAreWrittenAsZero) {
  room::RoomState s;
  s.id = "x";
  s.current_time = std::numeric_limits<double>::infinity();
  const auto back = room::room_state_from_json(room::to_json_string(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->current_time, 0);
}

TEST(RoomCodec, IgnoresUnknownKeys) {
  auto o = room::to_json(full_room("r"));
  o["added_by_a_newer_version"] = json::array{1, 2};
  o["members"].as_array()[0].as_object()["also_new"] = true;
  const auto back = room::room_state_from_json(json::serialize(o));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, full_room("r"));
}

// Members' addresses came later: a snapshot without them (an older node's) still reads, and
// a member without one writes no key.
TEST(RoomCodec, AMembersAddressIsOptional) {
  auto o = room::to_json(full_room("r"));
  EXPECT_EQ(o["members"].as_array()[0].as_object()["address"], "203.0.113.7");
  EXPECT_FALSE(o["members"].as_array()[1].as_object().contains("address"));
  o["members"].as_array()[0].as_object().erase("address");
  const auto back = room::room_state_from_json(json::serialize(o));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->members[0].address, "");
  EXPECT_EQ(back->members[0].user_id, "alice");
}

TEST(RoomCodec, RejectsInvalidInput) {
  const auto valid = room::to_json(full_room("r"));
  auto broken = [&](const std::function<void(json::object&)>& change) {
    json::object o = valid;
    change(o);
    return room::room_state_from_json(json::serialize(o));
  };
  EXPECT_TRUE(broken([](json::object&) {}));
  EXPECT_FALSE(broken([](json::object& o) { o["v"] = 2; })) << "unknown format version";
  EXPECT_FALSE(broken([](json::object& o) { o.erase("v"); }));
  EXPECT_FALSE(broken([](json::object& o) { o.erase("id"); }));
  EXPECT_FALSE(broken([](json::object& o) { o["id"] = ""; }));
  EXPECT_FALSE(broken([](json::object& o) { o["id"] = 5; }));
  EXPECT_FALSE(broken([](json::object& o) { o["is_playing"] = "true"; }));
  EXPECT_FALSE(broken([](json::object& o) { o["current_time"] = "1.5"; }));
  EXPECT_FALSE(broken([](json::object& o) { o["next_seq"] = -1; }));
  EXPECT_FALSE(broken([](json::object& o) { o["next_seq"] = 1.5; }));
  EXPECT_FALSE(broken([](json::object& o) { o["updated_at"] = 18446744073709551615ULL; }));
  EXPECT_FALSE(broken([](json::object& o) { o["members"] = json::object{}; }));
  EXPECT_FALSE(broken([](json::object& o) { o["members"].as_array().push_back(1); }));
  EXPECT_FALSE(
      broken([](json::object& o) { o["members"].as_array()[0].as_object()["username"] = 3; }));
  EXPECT_FALSE(
      broken([](json::object& o) { o["members"].as_array()[0].as_object().erase("join_seq"); }));
  EXPECT_FALSE(broken([](json::object& o) { o["gate"] = "none"; }));
  EXPECT_FALSE(broken([](json::object& o) { o.erase("gate"); }));
  EXPECT_FALSE(broken([](json::object& o) { o["gate"].as_object()["ready"] = json::array{1}; }));
  EXPECT_FALSE(broken([](json::object& o) { o["gate"].as_object().erase("deadline"); }));
  EXPECT_FALSE(room::room_state_from_json(std::string_view("{")));
  EXPECT_FALSE(room::room_state_from_json(std::string_view("[]")));
  EXPECT_FALSE(room::room_state_from_json(std::string_view("")));
}

TEST(EntryCodec, RoundTripsEveryKind) {
  AuditEvent e = audit("r", 5);
  e.data["nested"] = json::object{{"a", json::array{1, "two", nullptr}}};
  const std::vector<JournalEntry> entries = {snapshot("r", 3), RoomArchived{"r", 99}, e,
                                             AuditEvent{"r", "LEAVE", "", {}, 7},
                                             ShortIdRecord{"abc1234", "r", 123456}};
  for (const auto& entry : entries) {
    const auto line = encode_entry(entry);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto back = decode_entry(line);
    ASSERT_TRUE(back) << line;
    EXPECT_EQ(*back, entry) << line;
  }
}

TEST(EntryCodec, RejectsInvalidLines) {
  EXPECT_FALSE(decode_entry(""));
  EXPECT_FALSE(decode_entry("not json"));
  EXPECT_FALSE(decode_entry(R"({"k":"other"})"));
  EXPECT_FALSE(decode_entry(R"({"k":"archived","room_id":"r"})"));
  EXPECT_FALSE(decode_entry(R"({"k":"archived","room_id":1,"at":1})"));
  EXPECT_FALSE(decode_entry(
      R"({"k":"audit","room_id":"r","event_type":"J","user_id":"u","data":[],"at":1})"));
  EXPECT_FALSE(decode_entry(R"({"k":"snapshot","at":1,"state":{}})"));
  EXPECT_FALSE(decode_entry(R"({"k":"short_id","short_id":"s","room_id":"r","expires_at":"1"})"));
  EXPECT_TRUE(decode_entry(R"({"k":"archived","room_id":"r","at":1})"));
}

// 21e308 reads as infinity, which encode_entry would write as `Infinity` (not JSON): the
// line is refused instead of becoming one that can never be read back (found by fuzzing).
TEST(EntryCodec, RejectsNumbersTooLargeForADouble) {
  const std::string audit =
      R"({"k":"audit","room_id":"r","event_type":"SEEK","user_id":"u","data":{"quorum":X},"at":1})";
  const auto with = [&](std::string_view number) {
    std::string line = audit;
    line.replace(line.find('X'), 1, number);
    return line;
  };
  EXPECT_FALSE(decode_entry(with("21e308")));
  EXPECT_FALSE(decode_entry(with("[1,-1e400]")));
  const auto finite = decode_entry(with("1.7e308"));
  ASSERT_TRUE(finite);
  EXPECT_TRUE(decode_entry(encode_entry(*finite)));
}

}  // namespace
}  // namespace tandem::store
