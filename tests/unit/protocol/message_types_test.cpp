// The one table of message types: every command and event names a row, names are unique,
// and the lists taken from it are the ones the parser and the metrics relied on.
#include "protocol/command.hpp"
#include "protocol/command_parser.hpp"
#include "protocol/event.hpp"
#include "protocol/message_types.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <variant>

namespace tandem::protocol {
namespace {

template <class Variant, std::size_t... I>
std::vector<std::string_view> typed_names(std::index_sequence<I...> /*unused*/) {
  std::vector<std::string_view> names;
  const auto add = [&]<class T>(std::type_identity<T> /*unused*/) {
    if constexpr (requires { T::kType; }) names.push_back(wire_name(T::kType));
  };
  (add(std::type_identity<std::variant_alternative_t<I, Variant>>{}), ...);
  return names;
}

template <class Variant>
std::vector<std::string_view> typed_names() {
  return typed_names<Variant>(std::make_index_sequence<std::variant_size_v<Variant>>{});
}

TEST(MessageTypes, NamesAreUniqueAndFoundAgain) {
  std::set<std::string_view> seen;
  for (const MessageTypeInfo& row : kMessageTypes) {
    EXPECT_TRUE(seen.insert(row.name).second) << row.name;
    EXPECT_EQ(find_message_type(row.name), row.type) << row.name;
    EXPECT_EQ(wire_name(row.type), row.name);
  }
  EXPECT_EQ(find_message_type("PLAYBACK_ACKS"), std::nullopt);
  EXPECT_EQ(find_message_type("join"), std::nullopt);  // names are case-sensitive
}

TEST(MessageTypes, EveryCommandAndEventNamesARowOfItsDirection) {
  const std::vector<std::string_view> commands = typed_names<Command>();
  const std::vector<std::string_view> events = typed_names<Event>();
  EXPECT_EQ(commands.size(), std::variant_size_v<Command> - 2);  // all but Relay, Fallback
  EXPECT_EQ(events.size(), std::variant_size_v<Event> - 1);      // all but PassThroughEvent
  for (const std::string_view name : commands) {
    const auto type = find_message_type(name);
    ASSERT_TRUE(type) << name;
    EXPECT_NE(info(*type).sender, Sender::server) << name;
  }
  for (const std::string_view name : events) {
    const auto type = find_message_type(name);
    ASSERT_TRUE(type) << name;
    EXPECT_NE(info(*type).sender, Sender::client) << name;
  }
}

TEST(MessageTypes, CommandAndEventTypesComeFromTheTable) {
  EXPECT_EQ(command_type(Command{Join{}}), "JOIN");
  EXPECT_EQ(command_type(Command{PositionUpdate{}}), "POSITION_UPDATE");
  EXPECT_EQ(command_type(Command{Relay{MessageType::ice_candidate, "u", {}}}), "ICE_CANDIDATE");
  EXPECT_EQ(command_type(Command{Fallback{"PLAYBACK_ACK", {}}}), "PLAYBACK_ACK");
  EXPECT_EQ(event_type(Event{SeekPauseEvent{}}), "SEEK_PAUSE");
  EXPECT_EQ(event_type(Event{PassThroughEvent{{{"type", "OFFER"}}, false}}), "OFFER");
}

TEST(MessageTypes, ServerOnlyTypesAreRefusedFromClientsAndTheRestIsNot) {
  for (const MessageTypeInfo& row : kMessageTypes) {
    const std::string text = R"({"type":")" + std::string(row.name) + R"("})";
    const ParseResult result = parse_command(text);
    const auto* error = std::get_if<ProtocolError>(&result);
    const bool reserved = error != nullptr && error->message.find("reserved") != std::string::npos;
    EXPECT_EQ(reserved, row.sender == Sender::server) << row.name;
  }
}

// The metric label sets as they were listed by hand before the table existed, plus the
// clock sync types (docs/SYNC.md).
TEST(MessageTypes, MetricLabelLists) {
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(inbound_type_names()),
            sorted({"JOIN", "LEAVE", "PING", "UPDATE_USERNAME", "TOGGLE_GUEST_CONTROL",
                    "TRANSFER_HOST", "PLAY_PAUSE", "SEEK", "READY", "HOST_HEARTBEAT",
                    "POSITION_UPDATE", "URL_CHANGE", "REQUEST_SYNC", "OFFER", "ANSWER",
                    "ICE_CANDIDATE", "PLAYBACK_ACK", "SYNC_PLAYBACK", "SYNC_RESPONSE",
                    "CLOCK_REQUEST", "CLOCK_ACK"}));
  EXPECT_EQ(sorted(outbound_type_names()),
            sorted({"ROOM_STATE", "USER_JOINED", "USER_LEFT", "HOST_CHANGED", "GUEST_CONTROL",
                    "USERNAME_UPDATED", "PLAY_PAUSE", "SEEK_PAUSE", "HOST_HEARTBEAT",
                    "URL_CHANGE", "SYNC_RESPONSE", "PONG", "ERROR", "OFFER", "ANSWER",
                    "ICE_CANDIDATE", "CLOCK_REPLY"}));
}

}  // namespace
}  // namespace tandem::protocol
