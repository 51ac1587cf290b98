// The Redis reply reader: arbitrary bytes from the Redis socket through hiredis's reader
// (as the connection feeds it) and copied into Reply values (redis/hiredis_reply.hpp),
// fed in two pieces split where the input says, as a socket may deliver them. Never
// crashes; every reply copies, prints and compares equal to its own copy; and the readers
// of what a sentinel or a cluster node answers (a master's address, a slot map, a redirect)
// take any reply and give either nothing or something within bounds.
#include "fuzz_check.hpp"
#include "redis/hiredis_reply.hpp"
#include "redis/sentinel_client.hpp"
#include "redis/slot_map.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <memory>

namespace {

void check(const tandem::redis::Reply& reply) {
  (void)tandem::redis::to_debug_string(reply);
  const std::string_view code = reply.error_code();
  FUZZ_CHECK(reply.is_error() || code.empty());
  const tandem::redis::Reply copy = reply;
  FUZZ_CHECK(copy == reply);
  if (const auto master = tandem::redis::master_from_reply(reply)) FUZZ_CHECK(master->port > 0);
  if (const auto redirect = tandem::redis::parse_redirect(reply)) {
    FUZZ_CHECK(redirect->slot < tandem::redis::kSlotCount && redirect->to.port > 0);
  }
  if (const auto map = tandem::redis::SlotMap::from_cluster_slots(reply, "seed")) {
    FUZZ_CHECK(!map->masters().empty());
    for (std::uint16_t slot : {0, 8191, 16383}) FUZZ_CHECK(map->master_of(slot).port > 0);
  }
}

// hiredis 0.14 (Debian 12) allocates an array's element pointers as soon as it reads
// "*<count>", with no limit (hiredis 1.0 added maxelements): "*1994949922" asks for 16 GB.
// Redis is a trusted peer (docs/TESTING.md), so inputs declaring more than 1M elements are
// skipped instead of reported as out-of-memory again and again.
bool declares_huge_aggregate(std::string_view bytes) {
  for (std::size_t i = bytes.find('*'); i != std::string_view::npos; i = bytes.find('*', i + 1)) {
    std::size_t digits = 0;
    while (i + 1 + digits < bytes.size() && bytes[i + 1 + digits] >= '0' && bytes[i + 1 + digits] <= '9') {
      ++digits;
    }
    if (digits > 6) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::unique_ptr<redisReader, decltype(&redisReaderFree)> reader(redisReaderCreate(),
                                                                        &redisReaderFree);
  FUZZ_CHECK(reader != nullptr);
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  const std::size_t length = size - 1;
  if (declares_huge_aggregate(std::string_view(bytes, length))) return 0;
  const std::size_t split = length == 0 ? 0 : data[0] % (length + 1);
  for (const auto& [from, n] : {std::pair{std::size_t{0}, split}, std::pair{split, length - split}}) {
    if (n > 0 && redisReaderFeed(reader.get(), bytes + from, n) != REDIS_OK) return 0;
    for (int i = 0; i < 1000; ++i) {  // bounded: at most ~size replies per feed anyway
      void* raw = nullptr;
      if (redisReaderGetReply(reader.get(), &raw) != REDIS_OK) return 0;  // protocol error
      if (raw == nullptr) break;  // needs more bytes
      const std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(
          static_cast<redisReply*>(raw), &freeReplyObject);
      check(tandem::redis::detail::copy_reply(*reply));
    }
  }
  return 0;
}
