#pragma once
// The two Unicode character properties the username rule needs, as tables generated from
// the Unicode Character Database (scripts/gen-unicode-tables.py; the version is in the
// generated unicode_tables.cpp). A table rather than ICU: two lookups do not justify a
// 30 MB runtime library in the image (docs/SECURITY.md, "Usernames").
#include <string_view>

namespace tandem::protocol {

// General category Cf (format characters: U+200B..U+200F, U+202A..U+202E, U+2066..U+2069,
// U+FEFF, tags, ...).
bool is_format_character(char32_t cp) noexcept;
// General category Mn or Me: combining marks that stack on the character before them.
bool is_stacking_mark(char32_t cp) noexcept;
// The Unicode version the tables were generated from ("14.0.0").
std::string_view unicode_tables_version() noexcept;

}  // namespace tandem::protocol
