#pragma once
// One JSON object per line: {"level","time","msg","nodeId", fields...}. Components get a
// Logger& through their constructor; nothing logs through a global.
#include <boost/json/value.hpp>

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tandem::obs {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

std::optional<Level> parse_level(std::string_view text) noexcept;
std::string_view to_string(Level level) noexcept;

// A key and a JSON value; strings of any kind are copied into the value.
struct Field {
  Field(std::string_view k, boost::json::value v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(boost::json::string_view(v)) {}
  Field(std::string_view k, std::string_view v)
      : key(k), value(boost::json::string_view(v.data(), v.size())) {}
  Field(std::string_view k, const char* v) : key(k), value(boost::json::string_view(v)) {}

  std::string_view key;
  boost::json::value value;
};

class Logger {
 public:
  Logger(std::string node_id, Level min_level, std::FILE* out = stdout);

  bool enabled(Level level) const noexcept { return level >= min_level_; }
  void log(Level level, std::string_view event, std::initializer_list<Field> fields = {});

  void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::debug)) log(Level::debug, event, fields);
  }
  void info(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::info)) log(Level::info, event, fields);
  }
  void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::warn)) log(Level::warn, event, fields);
  }
  void error(std::string_view event, std::initializer_list<Field> fields = {}) {
    if (enabled(Level::error)) log(Level::error, event, fields);
  }

 private:
  std::string node_id_;
  Level min_level_;
  std::FILE* out_;
  std::mutex mutex_;
};

}  // namespace tandem::obs
