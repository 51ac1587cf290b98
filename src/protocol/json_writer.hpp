#pragma once
// JsonWriter: JSON text written straight into one std::string, without building a
// json::value first. Used by the event encoder (every frame the server sends) and by the
// room codec (every snapshot the journal and Redis store). Keys are compile-time constants
// without characters that need escaping; string values are escaped here.
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  // '\\' and C0 controls need escaping. The text is scanned sixteen bytes at a time (eight
  // without SSE2), and a block that holds a byte to escape gives that byte's position at
  // once. The runs between escapes are copied with one memcpy each into room made in the
  // string up front: an SDP has a CRLF every ~70 bytes, and appending each run and each
  // escape separately made a relayed OFFER's encoding 2.4 times as slow (docs/BENCHMARKS.md,
  // round 5).
  void string(std::string_view text) {
    const char* const data = text.data();
    const std::size_t size = text.size();
    std::size_t pos = out_.size();
    // The text and its quotes, plus room for a few escapes where the reserve already has it
    // (a frame sized up front must not reallocate for them).
    const std::size_t needed = size + 2;
    const std::size_t spare = out_.capacity() - pos;
    out_.resize(pos + std::max(needed, std::min(spare, needed + size / 4 + 16)));
    char* dst = out_.data();
    dst[pos++] = '"';
    // Makes room for `left` more bytes of output.
    const auto reserve = [&](std::size_t left) {
      if (out_.size() - pos < left) {
        out_.resize(pos + left + left / 4 + 16);
        dst = out_.data();
      }
    };
    std::size_t run_start = 0;
    for (std::size_t i = next_escape(data, 0, size); i < size; i = next_escape(data, i, size)) {
      // Left to write: the run, this escape (at most 6 bytes for its 1), the rest of the text
      // and the closing quote.
      reserve(size - run_start + 6);
      std::memcpy(dst + pos, data + run_start, i - run_start);
      pos += i - run_start;
      pos += write_escape(dst + pos, static_cast<unsigned char>(data[i]));
      // Escapes often come in pairs (CRLF): the next byte is checked here, not by a new scan.
      while (++i < size && must_escape(static_cast<unsigned char>(data[i]))) {
        reserve(size - i + 6);
        pos += write_escape(dst + pos, static_cast<unsigned char>(data[i]));
      }
      run_start = i;
    }
    std::memcpy(dst + pos, data + run_start, size - run_start);
    pos += size - run_start;
    dst[pos++] = '"';
    out_.resize(pos);
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
  // Bytes that need escaping in a JSON string (the input being valid UTF-8).
  static constexpr bool must_escape(unsigned char c) noexcept {
    return c < 0x20 || c == '"' || c == '\\';
  }

  // The high bit of each byte of `word` that is below 0x20, '"' or '\\' is set. Bytes above
  // a flagged one may be flagged falsely (a borrow), but never below it: the lowest flagged
  // byte is exact, and an all-zero mask means no byte needs escaping.
  static constexpr std::uint64_t escape_mask(std::uint64_t word) noexcept {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
    const std::uint64_t q = word ^ (kOnes * '"');
    const std::uint64_t quote = (q - kOnes) & ~q & kHigh;
    const std::uint64_t b = word ^ (kOnes * '\\');
    const std::uint64_t backslash = (b - kOnes) & ~b & kHigh;
    return below_space | quote | backslash;
  }

  // The position of the first byte at or after `i` that needs escaping, or `size`.
  static std::size_t next_escape(const char* data, std::size_t i, std::size_t size) noexcept {
#if defined(__SSE2__)
    // Sixteen bytes at a time: a byte needs escaping if it equals '"' or '\\', or if it is at
    // most 0x1f (unsigned), i.e. max(byte, 0x1f) == 0x1f.
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i last_control = _mm_set1_epi8(0x1f);
    for (; size - i >= 16; i += 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
      const __m128i hits = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
          _mm_cmpeq_epi8(_mm_max_epu8(bytes, last_control), last_control));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
      if (mask != 0) {
        return i + static_cast<std::size_t>(std::countr_zero(mask));
      }
    }
#endif
    for (; size - i >= 8; i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, data + i, 8);
      const std::uint64_t mask = escape_mask(word);
      if (mask == 0) {
        continue;
      }
      if constexpr (std::endian::native == std::endian::little) {
        // The first byte in memory is the lowest in the word.
        return i + static_cast<std::size_t>(std::countr_zero(mask)) / 8;
      }
      break;  // elsewhere the lowest byte is the last one: walk from this word on
    }
    for (; i < size; ++i) {
      if (must_escape(static_cast<unsigned char>(data[i]))) {
        return i;
      }
    }
    return size;
  }

  // Writes the escape of `c` (one that must_escape) at `dst`; returns its length, 2 or 6.
  static std::size_t write_escape(char* dst, unsigned char c) noexcept {
    // The two-character forms of the C0 controls that have one; 0: written as \u00XX.
    static constexpr std::array<char, 0x20> kShortForm = {
        0, 0, 0, 0, 0, 0, 0, 0, 'b', 't', 'n', 0, 'f', 'r', 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0,   0,   0,   0, 0,   0,   0, 0};
    const char short_form = c < 0x20 ? kShortForm[c] : static_cast<char>(c);  // '"' or '\\'
    dst[0] = '\\';
    if (short_form != 0) {
      dst[1] = short_form;
      return 2;
    }
    constexpr std::string_view kHex = "0123456789abcdef";
    dst[1] = 'u';
    dst[2] = '0';
    dst[3] = '0';
    dst[4] = kHex[c >> 4];
    dst[5] = kHex[c & 0xF];
    return 6;
  }

  std::string out_;
};

}  // namespace tandem::protocol
