#include "obs/logger.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <ctime>

namespace tandem::obs {

std::optional<Level> parse_level(std::string_view text) noexcept {
  if (text == "debug" || text == "trace") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  return std::nullopt;
}

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

namespace {

// RFC 3339 UTC time with milliseconds, e.g. 2026-11-27T14:48:44.123Z.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

Logger::Logger(std::string node_id, Level min_level, std::FILE* out)
    : node_id_(std::move(node_id)), min_level_(min_level), out_(out) {}

void Logger::log(Level level, std::string_view event, std::initializer_list<Field> fields) {
  boost::json::object line;
  line.reserve(4 + fields.size());
  line["level"] = to_string(level);
  line["time"] = utc_now();
  line["msg"] = event;
  line["nodeId"] = node_id_;
  for (const auto& field : fields) line[field.key] = field.value;
  std::string text = boost::json::serialize(line);
  text.push_back('\n');
  const std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace tandem::obs
