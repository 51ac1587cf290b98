#include "protocol/text.hpp"

#include "parse_helpers.hpp"
#include "protocol/limits.hpp"
#include "protocol/unicode_tables.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tandem::protocol {
namespace {

using test::code_points;
using test::is_utf8;

using namespace std::string_literals;
using namespace std::string_view_literals;

TEST(Identifier, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(is_valid_identifier("abcXYZ019_-", 100));
  EXPECT_TRUE(is_valid_identifier("a", 1));
  EXPECT_TRUE(is_valid_identifier("-", 5));
  EXPECT_TRUE(is_valid_identifier("_", 5));
}

TEST(Identifier, RejectsEmptyTooLongAndOtherCharacters) {
  EXPECT_FALSE(is_valid_identifier("", 10));
  EXPECT_FALSE(is_valid_identifier("ab", 1));
  for (const std::string_view bad : {"a b"sv, "a.b"sv, "a/b"sv, "a:b"sv, R"(a"b)"sv, "a\0b"sv,
                                     "\xc3\xa4"sv, "a\nb"sv, "a+b"sv, "a%20"sv, "a~b"sv}) {
    EXPECT_FALSE(is_valid_identifier(bad, 10)) << bad;
  }
}

TEST(Identifier, RoomIdLengthLimitIs50) {
  EXPECT_TRUE(is_valid_room_id(std::string(50, 'r')));
  EXPECT_FALSE(is_valid_room_id(std::string(51, 'r')));
  EXPECT_TRUE(is_valid_room_id("movie-night-42"));
  EXPECT_FALSE(is_valid_room_id(""));
}

TEST(Identifier, UserIdLengthLimitIs100) {
  EXPECT_TRUE(is_valid_user_id(std::string(100, 'u')));
  EXPECT_FALSE(is_valid_user_id(std::string(101, 'u')));
  EXPECT_TRUE(is_valid_user_id("user_k2x9f0q1v7"));
  EXPECT_FALSE(is_valid_user_id(""));
}

TEST(Pin, FourToTwelveDigits) {
  EXPECT_TRUE(is_valid_pin("0000"));
  EXPECT_TRUE(is_valid_pin("4821"));
  EXPECT_TRUE(is_valid_pin("123456789012"));
  EXPECT_FALSE(is_valid_pin("123"));
  EXPECT_FALSE(is_valid_pin("1234567890123"));
  EXPECT_FALSE(is_valid_pin(""));
  EXPECT_FALSE(is_valid_pin("12a4"));
  EXPECT_FALSE(is_valid_pin(" 1234"));
  EXPECT_FALSE(is_valid_pin("-1234"));
  EXPECT_FALSE(is_valid_pin("12.34"));
  // Fullwidth digits are digits to Unicode, not to us.
  EXPECT_FALSE(is_valid_pin("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94"));
}

TEST(Url, AcceptsHttpAndHttpsInAnyCase) {
  EXPECT_TRUE(is_valid_url("https://www.netflix.com/watch/80192098"));
  EXPECT_TRUE(is_valid_url("http://example.com"));
  EXPECT_TRUE(is_valid_url("HTTPS://EXAMPLE.COM/"));
  EXPECT_TRUE(is_valid_url("HtTp://x"));
  EXPECT_TRUE(is_valid_url("https://example.com/?q=a%20b&x=1#frag"));
  EXPECT_TRUE(is_valid_url("https://example.com/\xc3\xa4"));  // non-ASCII is allowed
}

TEST(Url, RejectsOtherSchemesAndMalformedText) {
  for (const std::string_view bad :
       {""sv, "http://"sv, "https://"sv, "ftp://example.com"sv, "javascript:alert(1)"sv,
        "data:text/html,x"sv, "//example.com"sv, "example.com"sv, "http:/example.com"sv,
        " https://example.com"sv, "https://exa mple.com"sv, "https://example.com\n"sv,
        "https://example.com\t/"sv, "https://example.com/\x7f"sv, "https://a\0b"sv,
        "httpx://example.com"sv, "file:///etc/passwd"sv}) {
    EXPECT_FALSE(is_valid_url(bad)) << bad;
  }
}

TEST(Url, LengthLimitIs2048Bytes) {
  const std::string prefix = "https://example.com/";
  EXPECT_TRUE(is_valid_url(prefix + std::string(kMaxUrlLength - prefix.size(), 'a')));
  EXPECT_FALSE(is_valid_url(prefix + std::string(kMaxUrlLength - prefix.size() + 1, 'a')));
}

TEST(Username, PlainNamesAreKept) {
  EXPECT_EQ(sanitize_username("Alice"), "Alice");
  EXPECT_EQ(sanitize_username("Alice Smith"), "Alice Smith");
  EXPECT_EQ(sanitize_username("a  b"), "a  b");  // inner white space is not collapsed
}

TEST(Username, EmptyAndBlankBecomeNullopt) {
  EXPECT_EQ(sanitize_username(""), std::nullopt);
  EXPECT_EQ(sanitize_username("    "), std::nullopt);
  EXPECT_EQ(sanitize_username("\t\n\r"), std::nullopt);
  EXPECT_EQ(sanitize_username("\x01\x02\x7f"), std::nullopt);
  EXPECT_EQ(sanitize_username("\u00a0\u3000\ufeff"), std::nullopt);
  EXPECT_EQ(sanitize_username(" \x01 \u0085 "), std::nullopt);
}

TEST(Username, TrimsAsciiAndUnicodeWhiteSpace) {
  EXPECT_EQ(sanitize_username("  Bob  "), "Bob");
  EXPECT_EQ(sanitize_username("\u00a0Bob\u00a0"), "Bob");
  EXPECT_EQ(sanitize_username("\u1680Bob"), "Bob");
  EXPECT_EQ(sanitize_username("\u2000Bob\u200a"), "Bob");
  EXPECT_EQ(sanitize_username("\u2028Bob\u2029"), "Bob");
  EXPECT_EQ(sanitize_username("\u202fBob\u205f"), "Bob");
  EXPECT_EQ(sanitize_username("\u3000Bob\ufeff"), "Bob");
  EXPECT_EQ(sanitize_username(" \u2005 \u2009Bob\u00a0 \u3000"), "Bob");
  // Inner Unicode white space stays.
  EXPECT_EQ(sanitize_username("Bob\u00a0Jr"), "Bob\u00a0Jr");
  // U+200B (zero width space) is not white space but a format character: removed.
  EXPECT_EQ(sanitize_username("\u200bBob"), "Bob");
}

TEST(Username, RemovesControlCharactersEverywhere) {
  EXPECT_EQ(sanitize_username("Al\x00ice"s), "Alice");
  EXPECT_EQ(sanitize_username("Al\nice"), "Alice");
  EXPECT_EQ(sanitize_username("Al\tice"), "Alice");
  EXPECT_EQ(sanitize_username("Al\x1bice\x7f"), "Alice");
  EXPECT_EQ(sanitize_username("Al\u0080ic\u0085e\u009f"), "Alice");  // C1: U+0080..U+009F
  // U+00A0 is the first code point after C1 and is white space, not a control.
  EXPECT_EQ(sanitize_username("a\u00a0b"), "a\u00a0b");
  // Control characters between leading blanks do not stop the trimming.
  EXPECT_EQ(sanitize_username(" \x01 \n Alice \x02 "), "Alice");
}

TEST(Username, UnicodeNamesSurviveIntact) {
  const std::string emoji = "\xf0\x9f\x8e\xac Movie Fan \xf0\x9f\x8d\xbf";  // 🎬 ... 🍿
  EXPECT_EQ(sanitize_username(emoji), emoji);
  const std::string combining = "Jose\xcc\x81";  // e + U+0301 COMBINING ACUTE ACCENT
  EXPECT_EQ(sanitize_username(combining), combining);
  const std::string arabic = "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7";  // مرحبا (RTL)
  EXPECT_EQ(sanitize_username(arabic), arabic);
  const std::string hebrew_mixed = "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d Bob";  // שלום Bob
  EXPECT_EQ(sanitize_username(hebrew_mixed), hebrew_mixed);
  const std::string cjk = "\xe7\x94\xb0\xe4\xb8\xad";  // 田中
  EXPECT_EQ(sanitize_username(cjk), cjk);
  // A ZWJ family emoji loses its joiners (U+200D is a format character): its three people
  // show side by side.
  const std::string family =
      "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7";
  EXPECT_EQ(sanitize_username(family), "\xf0\x9f\x91\xa8\xf0\x9f\x91\xa9\xf0\x9f\x91\xa7");
  // Emoji presentation (U+FE0F, a mark) and keycaps (U+20E3, an enclosing mark) stay.
  EXPECT_EQ(sanitize_username("\u2764\ufe0f 1\ufe0f\u20e3"), "\u2764\ufe0f 1\ufe0f\u20e3");
  // Marks that legitimately combine: Vietnamese (decomposed), pointed Hebrew (3 marks).
  EXPECT_EQ(sanitize_username("Vie\u0323\u0302t"), "Vie\u0323\u0302t");
  EXPECT_EQ(sanitize_username("\u05e9\u05c1\u05bc\u05b8"), "\u05e9\u05c1\u05bc\u05b8");
}

// The attack strings of issue 24: a name must not reorder or hide the text around it.
TEST(Username, FormatCharactersAreRemovedEverywhere) {
  // U+202E RIGHT-TO-LEFT OVERRIDE: "Bob\u202Egnp.exe" shows as "Bobexe.png".
  EXPECT_EQ(sanitize_username("Bob\u202egnp.exe"), "Bobgnp.exe");
  // U+200B ZERO WIDTH SPACE: a look-alike of "Admin".
  EXPECT_EQ(sanitize_username("Ad\u200bmin"), "Admin");
  // U+2066 LEFT-TO-RIGHT ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE.
  EXPECT_EQ(sanitize_username("\u2066Bob\u2069"), "Bob");
  EXPECT_EQ(sanitize_username("A\u2067B\u2068C\u2069D"), "ABCD");
  // Every other bidi control, the other zero-width characters, the BOM, word joiner,
  // invisible operators, soft hyphen, Arabic letter mark, tags.
  for (const std::string_view invisible :
       {"\u200c"sv, "\u200d"sv, "\u200e"sv, "\u200f"sv, "\u202a"sv, "\u202b"sv, "\u202c"sv,
        "\u202d"sv, "\u2060"sv, "\u2061"sv, "\u2064"sv, "\u206f"sv, "\ufeff"sv, "\u00ad"sv,
        "\u061c"sv, "\U000e0001"sv, "\U000e0041"sv, "\U000e007f"sv, "\u2028"sv, "\u2029"sv}) {
    EXPECT_EQ(sanitize_username("Al" + std::string(invisible) + "ice"), "Alice")
        << code_points(invisible);
  }
  // Nothing but format characters: no name.
  EXPECT_EQ(sanitize_username("\u202e\u200b\u2066\u2069"), std::nullopt);
  // They do not use up the 50 code points.
  std::string padded;
  for (int i = 0; i < 60; ++i) padded += "a\u200b";
  EXPECT_EQ(sanitize_username(padded), std::string(50, 'a'));
}

TEST(Username, CombiningMarksStackAtMostThreeDeep) {
  const std::string acute = "\u0301";
  std::string zalgo = "Z";
  for (int i = 0; i < 100; ++i) zalgo += acute;
  EXPECT_EQ(sanitize_username(zalgo), "Z" + acute + acute + acute);
  // Each base character gets its own three.
  std::string two = "a";
  for (int i = 0; i < 5; ++i) two += acute;
  two += "b";
  for (int i = 0; i < 5; ++i) two += "\u20dd";  // U+20DD COMBINING ENCLOSING CIRCLE (Me)
  EXPECT_EQ(sanitize_username(two), "a" + acute + acute + acute + "b\u20dd\u20dd\u20dd");
  // A removed character between marks does not start a new run.
  std::string split = "a";
  for (int i = 0; i < 5; ++i) split += acute + "\u200b";
  EXPECT_EQ(sanitize_username(split), "a" + acute + acute + acute);
  // Marks with nothing to stand on are dropped (they would stack on the text before).
  EXPECT_EQ(sanitize_username(acute + acute + "a"), "a");
  EXPECT_EQ(sanitize_username("  " + acute + "a"), "a");
  EXPECT_EQ(sanitize_username(acute), std::nullopt);
  // Spacing marks (Mc) take room of their own: not capped.
  EXPECT_EQ(sanitize_username("\u0915\u093e\u093e\u093e\u093e"),
            "\u0915\u093e\u093e\u093e\u093e");
}

TEST(UnicodeTables, FormatCharactersAndStackingMarks) {
  for (const char32_t cp : {0x00AD, 0x0600, 0x200B, 0x200F, 0x202A, 0x202E, 0x2060, 0x2064, 0x2066,
                            0x2069, 0xFEFF, 0xFFF9, 0x1D173, 0xE0001, 0xE0020, 0xE007F}) {
    EXPECT_TRUE(is_format_character(cp)) << std::hex << static_cast<std::uint32_t>(cp);
  }
  for (const char32_t cp : {0x0041, 0x00A0, 0x0301, 0x2028, 0x2065, 0xFFFD, 0xE0080, 0x10FFFF}) {
    EXPECT_FALSE(is_format_character(cp)) << std::hex << static_cast<std::uint32_t>(cp);
  }
  for (const char32_t cp : {0x0300, 0x036F, 0x0489, 0x05BC, 0x20DD, 0xFE0F, 0x1D167, 0xE0100}) {
    EXPECT_TRUE(is_stacking_mark(cp)) << std::hex << static_cast<std::uint32_t>(cp);
  }
  for (const char32_t cp : {0x0041, 0x02FF, 0x0370, 0x0903, 0x200D, 0xE01F0}) {
    EXPECT_FALSE(is_stacking_mark(cp)) << std::hex << static_cast<std::uint32_t>(cp);
  }
  EXPECT_FALSE(unicode_tables_version().empty());
}

TEST(Identifier, TheServersOwnUserIdIsReserved) {
  EXPECT_TRUE(is_reserved_user_id("server"));
  for (const std::string_view other : {"Server"sv, "server1"sv, "the-server"sv, ""sv}) {
    EXPECT_FALSE(is_reserved_user_id(other)) << other;
  }
}

TEST(Username, KeepsAtMost50CodePoints) {
  EXPECT_EQ(sanitize_username(std::string(50, 'a')), std::string(50, 'a'));
  EXPECT_EQ(sanitize_username(std::string(51, 'a')), std::string(50, 'a'));
  EXPECT_EQ(sanitize_username(std::string(100000, 'a')), std::string(50, 'a'));
}

TEST(Username, CutNeverSplitsAMultiByteSequence) {
  const std::string rocket = "\xf0\x9f\x9a\x80";  // U+1F680, 4 bytes
  std::string many;
  for (int i = 0; i < 60; ++i) {
    many += rocket;
  }
  const auto cut = sanitize_username(many);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->size(), 50u * 4u);
  EXPECT_TRUE(is_utf8(*cut));
  EXPECT_EQ(code_points(*cut), 50u);

  // 49 ASCII letters, then multi-byte characters of every length: the 50th code point is
  // kept whole and the rest dropped.
  for (const std::string& wide : {"\xc3\xa9"s, "\xe2\x82\xac"s, rocket}) {
    std::string name(49, 'x');
    name.append(wide).append(wide).append("tail");
    const auto result = sanitize_username(name);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(*result, std::string(49, 'x') + wide);
    EXPECT_TRUE(is_utf8(*result));
  }
}

TEST(Username, LimitCountsAfterTrimmingAndControlRemoval) {
  // Leading blanks and controls do not use up the 50 code points.
  const std::string padded = std::string(20, ' ') + "\x01\x02" + std::string(50, 'b') + "c";
  EXPECT_EQ(sanitize_username(padded), std::string(50, 'b'));
  // Combining marks are code points of their own.
  std::string accents;
  for (int i = 0; i < 30; ++i) {
    accents += "e\xcc\x81";
  }
  const auto result = sanitize_username(accents);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(code_points(*result), 50u);
  EXPECT_TRUE(is_utf8(*result));
}

TEST(Username, WhiteSpaceExposedByTheCutIsTrimmed) {
  EXPECT_EQ(sanitize_username(std::string(49, 'a') + " b"), std::string(49, 'a'));
  EXPECT_EQ(sanitize_username(std::string(48, 'a') + "\u3000\u3000b"), std::string(48, 'a'));
}

TEST(Username, InvalidUtf8BytesAreDroppedNotPropagated) {
  // The parser never hands us these, but the function must stay safe and keep its output
  // valid UTF-8 whatever it gets.
  for (const std::string_view bad :
       {"A\xffZ"sv, "A\xc0\xafZ"sv, "A\xed\xa0\x80Z"sv, "A\xf4\x90\x80\x80Z"sv, "A\xe2\x82Z"sv,
        "A\x80Z"sv, "AZ\xf0\x9f\x9a"sv}) {
    const auto result = sanitize_username(bad);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(is_utf8(*result)) << bad;
    EXPECT_EQ(result->front(), 'A');
    EXPECT_EQ(result->find('\x80'), std::string::npos);
  }
  EXPECT_EQ(sanitize_username("\xff\xfe"), std::nullopt);
}

}  // namespace
}  // namespace tandem::protocol
