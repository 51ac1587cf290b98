#include "cluster/redis_short_ids.hpp"

#include "cluster/redis_keys.hpp"
#include "redis/redis_connection.hpp"
#include "redis/reply.hpp"
#include "store/records.hpp"

#include <algorithm>

namespace tandem::cluster {

using protocol::Millis;

namespace {

// One new id for an absent room from an address (KEYS[1] its counter). ARGV: window ms.
// Returns {count in this window, ms left in it}.
constexpr const char* kRateScript = R"lua(
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
)lua";

// KEYS[1] the evictable set. ARGV: now, how many may remain, most to pop at once. Drops
// the expired members, then pops the soonest-expiring ones past the bound.
constexpr const char* kMakeRoomScript = R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if over <= 0 then return {} end
return redis.call('ZPOPMIN', KEYS[1], math.min(over, tonumber(ARGV[3])))
)lua";

// KEYS[1] a room's id key: deleted only if it still names ARGV[1].
constexpr const char* kUnbindScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

constexpr int kClaimTries = 8;          // 36^7 ids: a collision with a live one is rare
constexpr std::size_t kMaxPops = 64;    // evictions per request at most

}  // namespace

RedisShortIds::RedisShortIds(redis::RedisConnection& redis, RedisShortIdOptions options,
                             ShortIdMetrics& metrics, RoomJournal* journal,
                             std::function<Millis()> clock)
    : redis_(redis),
      options_(options),
      metrics_(metrics),
      journal_(journal),
      clock_(std::move(clock)),
      rate_script_(kRateScript),
      make_room_script_(kMakeRoomScript),
      unbind_script_(kUnbindScript),
      alive_(std::make_shared<RedisShortIds*>(this)) {
  options_.ids.max_evictable = std::max<std::size_t>(options_.ids.max_evictable, 1);
}

RedisShortIds::~RedisShortIds() = default;

void RedisShortIds::journal(const std::string& short_id, const std::string& room_id,
                            Millis expires_at) {
  if (journal_ != nullptr) journal_->append(store::ShortIdRecord{short_id, room_id, expires_at});
}

void RedisShortIds::issue(const std::string& room_id, const std::string& address,
                          std::function<void(ShortIdAnswer)> done) {
  // The two replies of one lookup: GET's is kept until PTTL's arrives.
  struct Lookup {
    redis::Reply current;  // the room's live id (GET), if any
    Done done;
  };
  auto lookup = std::make_shared<Lookup>(
      Lookup{{}, std::make_shared<std::function<void(ShortIdAnswer)>>(std::move(done))});
  std::weak_ptr<RedisShortIds*> alive = alive_;
  // Replies come in command order: the room's id first, then whether the room exists. A
  // room exists while its state has members: the CAS script persists that key then, and
  // gives it a TTL (a tombstone) when the last member leaves, in the same step.
  redis_.command({"GET", keys::room_short(room_id)},
                 [lookup](redis::Reply reply) { lookup->current = std::move(reply); });
  redis_.command({"PTTL", keys::room_state(room_id)},
                 [alive, room_id, address, lookup](redis::Reply ttl) {
                   auto self = alive.lock();
                   if (!self) return;
                   if (!ttl.is_integer() || lookup->current.is_error()) {
                     (*lookup->done)(
                         ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::unavailable, 0});
                     return;
                   }
                   (**self).serve(room_id, address, ttl.integer == -1, lookup->current,
                                  lookup->done);
                 });
}

void RedisShortIds::serve(const std::string& room_id, const std::string& address, bool exists,
                          const redis::Reply& current, const Done& done) {
  const Millis now = clock_();
  if (current.is_string()) {
    // The room's live id. An existing room's lives the full TTL again (and is never
    // evicted); an absent room's at least pending_ttl more (GT: never shortened).
    const std::string& id = current.str;
    const auto noop = [](redis::Reply) {};
    if (exists) {
      const std::string ttl = std::to_string(options_.ids.ttl);
      redis_.command({"PEXPIRE", keys::short_id(id), ttl}, noop);
      redis_.command({"PEXPIRE", keys::room_short(room_id), ttl}, noop);
      redis_.command({"ZREM", std::string(keys::kShortEvictable), id}, noop);
      journal(id, room_id, now + options_.ids.ttl);
    } else {
      const std::string ttl = std::to_string(options_.ids.pending_ttl);
      redis_.command({"PEXPIRE", keys::short_id(id), ttl, "GT"}, noop);
      redis_.command({"PEXPIRE", keys::room_short(room_id), ttl, "GT"}, noop);
      redis_.command({"ZADD", std::string(keys::kShortEvictable), "GT",
                      std::to_string(now + options_.ids.pending_ttl), id},
                     noop);
    }
    (*done)(ShortIdAnswer{id, ShortIdAnswer::Refusal::none, 0});
    return;
  }
  if (exists) {
    create(room_id, true, done);
    return;
  }
  // A new id for a room that does not exist: counted against the address first.
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.eval_sha(
      rate_script_, {keys::short_rate(address)}, {std::to_string(options_.rate_window)},
      [alive, room_id, address, done](redis::Reply reply) {
        auto self = alive.lock();
        if (!self) return;
        RedisShortIds& ids = **self;
        if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_integer()) {
          (*done)(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::unavailable, 0});
          return;
        }
        const auto count = static_cast<std::size_t>(std::max<std::int64_t>(0, reply.elements[0].integer));
        if (count > ids.options_.max_new_per_address) {
          const Millis retry = std::max<std::int64_t>(0, reply.elements[1].integer);
          ids.metrics_.refused(ShortIdAnswer::Refusal::rate_limited, room_id, address, ids.clock_());
          (*done)(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::rate_limited, retry});
          return;
        }
        ids.make_room(ids.options_.ids.max_evictable - 1, [alive, room_id, done] {
          if (auto self = alive.lock()) (**self).create(room_id, false, done);
        });
      });
}

void RedisShortIds::make_room(std::size_t keep, std::function<void()> then) {
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.eval_sha(make_room_script_, {std::string(keys::kShortEvictable)},
                  {std::to_string(clock_()), std::to_string(keep), std::to_string(kMaxPops)},
                  [alive, then = std::move(then)](redis::Reply popped) {
                    auto self = alive.lock();
                    if (!self) return;
                    // [id, score, id, score, ...]
                    if (popped.is_array()) {
                      for (std::size_t i = 0; i < popped.elements.size(); i += 2) {
                        (**self).evict(popped.elements[i].str);
                      }
                      (**self).metrics_.evicted(popped.elements.size() / 2);
                    }
                    then();
                  });
}

void RedisShortIds::evict(const std::string& short_id) {
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.command({"GETDEL", keys::short_id(short_id)}, [alive, short_id](redis::Reply room) {
    auto self = alive.lock();
    if (!self || !room.is_string()) return;
    RedisShortIds& ids = **self;
    ids.redis_.eval_sha(ids.unbind_script_, {keys::room_short(room.str)}, {short_id},
                        [](redis::Reply) {});
    ids.journal(short_id, room.str, ids.clock_());  // expired in the record too
  });
}

void RedisShortIds::create(const std::string& room_id, bool exists, const Done& done) {
  claim(room_id, exists, kClaimTries, done);
}

// A new id: claim it (NX: unique among live ids), then bind the room to it (NX: if another
// node bound the room meanwhile, theirs wins and ours is released).
void RedisShortIds::claim(const std::string& room_id, bool exists, int tries_left,
                          const Done& done) {
  const Millis lifetime = exists ? options_.ids.ttl : options_.ids.pending_ttl;
  const std::string ttl = std::to_string(lifetime);
  const std::string candidate = ShortIds::random_id();
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.command(
      {"SET", keys::short_id(candidate), room_id, "NX", "PX", ttl},
      [alive, room_id, exists, tries_left, done, candidate, ttl, lifetime](redis::Reply set) {
        auto self = alive.lock();
        if (!self) return;
        RedisShortIds& ids = **self;
        if (set.is_nil() && tries_left > 0) {
          ids.claim(room_id, exists, tries_left - 1, done);
          return;
        }
        if (!set.is_status()) {
          (*done)(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::unavailable, 0});
          return;
        }
        ids.redis_.command(
            {"SET", keys::room_short(room_id), candidate, "NX", "PX", ttl, "GET"},
            [alive, room_id, exists, done, candidate, lifetime](redis::Reply bound) {
              auto self = alive.lock();
              if (!self) return;
              RedisShortIds& ids = **self;
              if (bound.is_string()) {  // another node's id won
                ids.redis_.command({"DEL", keys::short_id(candidate)}, [](redis::Reply) {});
                (*done)(ShortIdAnswer{bound.str, ShortIdAnswer::Refusal::none, 0});
                return;
              }
              if (bound.is_error()) {
                (*done)(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::unavailable, 0});
                return;
              }
              const Millis expires_at = ids.clock_() + lifetime;
              if (!exists) {
                ids.redis_.command({"ZADD", std::string(keys::kShortEvictable),
                                    std::to_string(expires_at), candidate},
                                   [](redis::Reply) {});
              }
              ids.metrics_.created(exists);
              ids.journal(candidate, room_id, expires_at);
              (*done)(ShortIdAnswer{candidate, ShortIdAnswer::Refusal::none, 0});
            });
      });
}

void RedisShortIds::resolve(const std::string& short_id,
                            std::function<void(std::optional<std::string>)> done) {
  if (!ShortIds::is_well_formed(short_id)) {
    done(std::nullopt);
    return;
  }
  redis_.command({"GET", keys::short_id(short_id)}, [done = std::move(done)](redis::Reply reply) {
    done(reply.is_string() ? std::optional<std::string>(reply.str) : std::nullopt);
  });
}

void RedisShortIds::room_created(const std::string& room_id) {
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.command({"GET", keys::room_short(room_id)}, [alive, room_id](redis::Reply id) {
    auto self = alive.lock();
    if (!self || !id.is_string()) return;
    RedisShortIds& ids = **self;
    const std::string ttl = std::to_string(ids.options_.ids.ttl);
    const auto noop = [](redis::Reply) {};
    // GT: an id that already lives longer keeps its expiry.
    ids.redis_.command({"PEXPIRE", keys::short_id(id.str), ttl, "GT"}, noop);
    ids.redis_.command({"PEXPIRE", keys::room_short(room_id), ttl, "GT"}, noop);
    ids.redis_.command({"ZREM", std::string(keys::kShortEvictable), id.str}, noop);
    ids.journal(id.str, room_id, ids.clock_() + ids.options_.ids.ttl);
  });
}

void RedisShortIds::room_ended(const std::string& room_id) {
  std::weak_ptr<RedisShortIds*> alive = alive_;
  redis_.command({"GET", keys::room_short(room_id)}, [alive](redis::Reply id) {
    auto self = alive.lock();
    if (!self || !id.is_string()) return;
    (**self).redis_.command(
        {"PTTL", keys::short_id(id.str)}, [alive, short_id = id.str](redis::Reply ttl) {
          auto self = alive.lock();
          if (!self || !ttl.is_integer() || ttl.integer <= 0) return;
          RedisShortIds& ids = **self;
          ids.redis_.command({"ZADD", std::string(keys::kShortEvictable),
                              std::to_string(ids.clock_() + ttl.integer), short_id},
                             [](redis::Reply) {});
          ids.make_room(ids.options_.ids.max_evictable, [] {});
        });
  });
}

}  // namespace tandem::cluster
