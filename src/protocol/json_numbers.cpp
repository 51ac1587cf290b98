#include "protocol/json_numbers.hpp"

#include <cmath>

namespace tandem::protocol {

bool numbers_are_finite(const boost::json::value& value) noexcept {
  switch (value.kind()) {
    case boost::json::kind::double_:
      return std::isfinite(value.get_double());
    case boost::json::kind::array:
      for (const boost::json::value& item : value.get_array()) {
        if (!numbers_are_finite(item)) return false;
      }
      return true;
    case boost::json::kind::object:
      return numbers_are_finite(value.get_object());
    default:
      return true;
  }
}

bool numbers_are_finite(const boost::json::object& object) noexcept {
  for (const auto& member : object) {
    if (!numbers_are_finite(member.value())) return false;
  }
  return true;
}

}  // namespace tandem::protocol
