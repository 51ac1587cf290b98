#pragma once
// JsonWriter: JSON text written straight into one std::string, without building a
// json::value first. Used by the event encoder (every frame the server sends) and by the
// room codec (every snapshot the journal and Redis store). Keys are compile-time constants
// without characters that need escaping; string values are escaped here.
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::protocol {

namespace detail {
// 2^53: every integer below it is exactly representable as a double.
inline constexpr double kMaxExactInteger = 9007199254740992.0;
}  // namespace detail

class JsonWriter {
 public:
  explicit JsonWriter(std::size_t reserve) { out_.reserve(reserve); }

  std::string take() { return std::move(out_); }

  void begin_object(std::string_view type) {
    out_.append(R"({"type":)");
    string(type);
  }
  void end_object() { out_.push_back('}'); }

  // `{"name":` - an object that does not start with "type" opens at its first key.
  JsonWriter& first_key(std::string_view name) {
    out_.append("{\"").append(name).append("\":");
    return *this;
  }
  void begin_array() { out_.push_back('['); }
  void end_array() { out_.push_back(']'); }
  void comma() { out_.push_back(','); }

  // `,"key":` - keys are compile-time constants without characters that need escaping.
  JsonWriter& key(std::string_view name) {
    out_.append(",\"").append(name).append("\":");
    return *this;
  }

  void raw(std::string_view text) { out_.append(text); }

  void boolean(bool value) { out_.append(value ? "true" : "false"); }

  void null() { out_.append("null"); }

  template <class Integer>
  void integer(Integer value) {
    std::array<char, 24> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out_.append(buffer.data(), result.ptr);
  }

  // Integral values (the common case: eventTimestamp in ms, whole seconds) are written as
  // integers, e.g. 1764254420331 and 734, exactly as a JavaScript client would write them;
  // others as the shortest text that reads back as the same double. Both are plain JSON
  // numbers. Non-finite values cannot come from a validated command; should one appear, 0
  // keeps the frame valid JSON (JSON has no NaN or Infinity).
  void number(double value) {
    if (!std::isfinite(value)) {
      out_.push_back('0');
      return;
    }
    if (std::fabs(value) < detail::kMaxExactInteger && std::trunc(value) == value) {
      integer(static_cast<std::int64_t>(value));
      return;
    }
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out_.append(buffer.data(), result.ptr);
  }

  void optional_string(const std::optional<std::string>& value) {
    if (value) {
      string(*value);
    } else {
      null();
    }
  }

  // "" -> null: the room keeps "no url" as an empty string, the client expects null.
  void string_or_null(std::string_view value) {
    if (value.empty()) {
      null();
    } else {
      string(value);
    }
  }

  // A JSON string. Input is valid UTF-8 (validated or sanitized upstream), so only '"',
  // '\\' and C0 controls need escaping; runs of plain bytes are appended in one go.
  // Eight bytes are checked at a time (an SDP has a CRLF every ~70 bytes and nothing else
  // to escape): only a word that holds a byte to escape is walked byte by byte.
  void string(std::string_view text) {
    out_.push_back('"');
    const char* const data = text.data();
    const std::size_t size = text.size();
    std::size_t run_start = 0;
    std::size_t i = 0;
    while (i < size) {
      if (size - i >= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, data + i, 8);
        if (!needs_escape(word)) {
          i += 8;
          continue;
        }
      }
      const std::size_t end = std::min(size, i + 8);
      for (; i < end; ++i) {
        const auto c = static_cast<unsigned char>(data[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out_.append(data + run_start, i - run_start);
        run_start = i + 1;
        escape(c);
      }
    }
    out_.append(data + run_start, size - run_start);
    out_.push_back('"');
  }

  // Whether any byte of `word` is below 0x20, '"' or '\\'. Exact for "any": a borrow
  // across bytes can only start at a byte that itself matches.
  static constexpr bool needs_escape(std::uint64_t word) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
    const std::uint64_t q = word ^ (kOnes * '"');
    const std::uint64_t quote = (q - kOnes) & ~q & kHigh;
    const std::uint64_t b = word ^ (kOnes * '\\');
    const std::uint64_t backslash = (b - kOnes) & ~b & kHigh;
    return (below_space | quote | backslash) != 0;
  }

  // Any json::value (pass-through payloads). The parser bounds nesting to kMaxJsonDepth, so
  // the recursion is shallow.
  void value(const boost::json::value& value) {
    switch (value.kind()) {
      case boost::json::kind::null:
        null();
        return;
      case boost::json::kind::bool_:
        boolean(value.get_bool());
        return;
      case boost::json::kind::int64:
        integer(value.get_int64());
        return;
      case boost::json::kind::uint64:
        integer(value.get_uint64());
        return;
      case boost::json::kind::double_:
        number(value.get_double());
        return;
      case boost::json::kind::string:
        string(value.get_string());
        return;
      case boost::json::kind::array: {
        out_.push_back('[');
        bool first = true;
        for (const boost::json::value& element : value.get_array()) {
          if (!first) {
            out_.push_back(',');
          }
          first = false;
          this->value(element);
        }
        out_.push_back(']');
        return;
      }
      case boost::json::kind::object: {
        out_.push_back('{');
        bool first = true;
        for (const boost::json::key_value_pair& member : value.get_object()) {
          if (!first) {
            out_.push_back(',');
          }
          first = false;
          string(member.key());
          out_.push_back(':');
          this->value(member.value());
        }
        out_.push_back('}');
        return;
      }
    }
  }

 private:
  void escape(unsigned char c) {
    switch (c) {
      case '"':
        out_.append("\\\"");
        return;
      case '\\':
        out_.append("\\\\");
        return;
      case '\n':
        out_.append("\\n");
        return;
      case '\r':
        out_.append("\\r");
        return;
      case '\t':
        out_.append("\\t");
        return;
      case '\b':
        out_.append("\\b");
        return;
      case '\f':
        out_.append("\\f");
        return;
      default: {
        constexpr std::string_view kHex = "0123456789abcdef";
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out_.append(escaped, sizeof escaped);
        return;
      }
    }
  }

  std::string out_;
};

}  // namespace tandem::protocol
