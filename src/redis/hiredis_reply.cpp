#include "redis/hiredis_reply.hpp"

#include <hiredis/hiredis.h>

#include <utility>

namespace tandem::redis::detail {

Reply copy_reply(const redisReply& r) {
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      return Reply::from_integer(r.integer);
    case REDIS_REPLY_STRING:
      return Reply::from_string(std::string(r.str, r.len));
    case REDIS_REPLY_STATUS:
      return Reply::from_status(std::string(r.str, r.len));
    case REDIS_REPLY_ERROR:
      return Reply::from_error(std::string(r.str, r.len));
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) elements.push_back(copy_reply(*r.element[i]));
      return Reply::from_array(std::move(elements));
    }
    default:
      return Reply::nil();
  }
}

}  // namespace tandem::redis::detail
