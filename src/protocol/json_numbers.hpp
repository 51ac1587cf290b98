#pragma once
// Boost.JSON reads a number too large for a double (1e400) as infinity instead of failing,
// and writes infinity back as `Infinity`, which is not JSON. Whatever the server forwards or
// stores as received (relays, unknown types, audit data) is checked with this first.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace tandem::protocol {

// True when every number in `value` is finite. Recursion is bounded by the parser's depth
// limit (kMaxJsonDepth for client frames, Boost.JSON's default of 32 elsewhere).
bool numbers_are_finite(const boost::json::value& value) noexcept;
bool numbers_are_finite(const boost::json::object& object) noexcept;

}  // namespace tandem::protocol
