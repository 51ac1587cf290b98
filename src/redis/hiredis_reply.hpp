#pragma once
// hiredis's reply tree -> Reply (a deep copy; hiredis frees its tree after the callback).
// Its own file so that the reply reader can be fuzzed without a connection
// (tests/fuzz/redis_reply_fuzz.cpp).
#include "redis/reply.hpp"

struct redisReply;

namespace tandem::redis::detail {

Reply copy_reply(const redisReply& reply);

}  // namespace tandem::redis::detail
