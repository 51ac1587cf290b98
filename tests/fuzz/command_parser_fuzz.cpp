// protocol::parse_command on arbitrary bytes: never throws, never crashes, and what it
// accepts is a valid command (the parser's own rules, re-checked on its output).
#include "fuzz_check.hpp"
#include "protocol/command_parser.hpp"

#include <boost/json/serialize.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tandem::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParseResult result = parse_command(text);
  if (const auto* error = std::get_if<ProtocolError>(&result)) {
    FUZZ_CHECK(!error->message.empty());
    return 0;
  }
  const Command& command = std::get<Command>(result);
  FUZZ_CHECK(!command_type(command).empty());
  if (const auto* join = std::get_if<Join>(&command)) {
    FUZZ_CHECK(!join->room_id.empty() && join->room_id.size() <= 50);
    FUZZ_CHECK(!join->user_id.empty() && join->user_id.size() <= 100);
    if (join->pin) FUZZ_CHECK(join->pin->size() >= 4 && join->pin->size() <= 12);
  } else if (const auto* relay = std::get_if<Relay>(&command)) {
    FUZZ_CHECK(!relay->to.empty());
    (void)boost::json::serialize(relay->message);
  } else if (const auto* fallback = std::get_if<Fallback>(&command)) {
    FUZZ_CHECK(!fallback->type.empty() && fallback->type.size() <= 64);
    (void)boost::json::serialize(fallback->message);
  }
  return 0;
}
