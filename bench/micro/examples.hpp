#pragma once
// Real client messages (../shared/examples/client-messages.json, or $TANDEM_BENCH_EXAMPLES)
// for the microbenchmarks: the compact JSON text of the first message of a given type.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::microbench {

inline std::optional<std::string> example_message(std::string_view type) {
  const char* env = std::getenv("TANDEM_BENCH_EXAMPLES");
  std::ifstream in(env != nullptr ? env : TANDEM_BENCH_EXAMPLES);
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec);
  if (ec || !root.is_object()) return std::nullopt;
  const auto* messages = root.as_object().if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return std::nullopt;
  for (const auto& entry : messages->as_array()) {
    const auto* msg = entry.is_object() ? entry.as_object().if_contains("msg") : nullptr;
    if (msg == nullptr || !msg->is_object()) continue;
    const auto* t = msg->as_object().if_contains("type");
    if (t != nullptr && t->is_string() && t->as_string() == type) {
      return boost::json::serialize(*msg);
    }
  }
  return std::nullopt;
}

}  // namespace tandem::microbench
