#include "redis/reply.hpp"

#include <utility>

namespace tandem::redis {

Reply Reply::from_integer(std::int64_t v) {
  Reply r;
  r.type = Type::integer;
  r.integer = v;
  return r;
}

Reply Reply::from_string(std::string s) {
  Reply r;
  r.type = Type::string;
  r.str = std::move(s);
  return r;
}

Reply Reply::from_status(std::string s) {
  Reply r;
  r.type = Type::status;
  r.str = std::move(s);
  return r;
}

Reply Reply::from_error(std::string s) {
  Reply r;
  r.type = Type::error;
  r.str = std::move(s);
  return r;
}

Reply Reply::from_array(std::vector<Reply> elements) {
  Reply r;
  r.type = Type::array;
  r.elements = std::move(elements);
  return r;
}

std::string_view Reply::error_code() const noexcept {
  if (type != Type::error) return {};
  const std::string_view text(str);
  return text.substr(0, text.find(' '));
}

std::string to_debug_string(const Reply& reply) {
  switch (reply.type) {
    case Reply::Type::nil:
      return "nil";
    case Reply::Type::integer:
      return std::to_string(reply.integer);
    case Reply::Type::string:
      return "\"" + reply.str + "\"";
    case Reply::Type::status:
      return "+" + reply.str;
    case Reply::Type::error:
      return "-" + reply.str;
    case Reply::Type::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        if (i > 0) out += ", ";
        out += to_debug_string(reply.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

}  // namespace tandem::redis
