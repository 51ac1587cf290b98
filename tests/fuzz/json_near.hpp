#pragma once
// Two JSON values equal but for doubles, which may differ by a few ulps: Boost.JSON 1.74
// (Debian 12) parses doubles fast but not always correctly rounded ("6.0E025" and "6E25",
// the same number, parse one ulp apart), so a value read back from its own encoding can
// move by an ulp. Everything else must be identical.
#include <boost/json/value.hpp>

#include <cmath>

inline bool json_near(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-14 * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto& o = a.get_object();
    const auto& p = b.get_object();
    if (o.size() != p.size()) return false;
    for (const auto& [key, value] : o) {
      const auto* other = p.if_contains(key);
      if (other == nullptr || !json_near(value, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!json_near(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}
