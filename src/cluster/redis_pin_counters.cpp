#include "cluster/redis_pin_counters.hpp"

#include "cluster/redis_keys.hpp"
#include "cluster/room_steps.hpp"
#include "redis/redis_connection.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace tandem::cluster {

using protocol::Millis;

namespace {

// Counts a wrong PIN in each scope given as a (counter, lock) key pair, as PinFailureTable
// does in standalone mode. ARGV[1] window ms, ARGV[2] lockout ms, then per pair: the limit
// (0: never locks) and '1' when the window restarts with every failure. Returns one 0/1
// per pair: 1 when this failure locked that scope. (One call per hash slot.)
constexpr const char* kPinFailScript = R"lua(
local out = {}
for i = 1, #KEYS / 2 do
  local counter, lock = KEYS[2 * i - 1], KEYS[2 * i]
  local limit = tonumber(ARGV[2 * i + 1])
  local n = redis.call('INCR', counter)
  if n == 1 or ARGV[2 * i + 2] == '1' then redis.call('PEXPIRE', counter, ARGV[1]) end
  out[i] = 0
  if limit > 0 and n >= limit then
    redis.call('SET', lock, '1', 'PX', ARGV[2])
    redis.call('DEL', counter)
    out[i] = 1
  end
end
return out
)lua";

}  // namespace

RedisPinCounters::RedisPinCounters(redis::RedisConnection& redis, const PinLockout& lockout,
                                   RoomMetrics& metrics, TransitionJournal& journal,
                                   const RedisWriteCheck& writes, obs::Logger& logger,
                                   std::function<Millis()> clock)
    : redis_(redis),
      lockout_(lockout),
      metrics_(metrics),
      journal_(journal),
      writes_(writes),
      logger_(logger),
      clock_(std::move(clock)),
      fail_script_(kPinFailScript),
      alive_(std::make_shared<RedisPinCounters*>(this)) {}

RedisPinCounters::~RedisPinCounters() = default;

void RedisPinCounters::fetch(const std::string& room_id, const std::string& user_id,
                             const std::string& address,
                             std::function<void(std::optional<PinCounters>)> done) {
  // Four reads, answered in any order; the last one answers `done`.
  struct Pending {
    PinCounters counters;
    int replies = 0;
    bool ok = true;
    std::function<void(std::optional<PinCounters>)> done;
    void settle() {
      if (++replies == 4) done(ok ? std::optional<PinCounters>(counters) : std::nullopt);
    }
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  // PTTL: milliseconds left, or -2 (no lock).
  const auto lock_into = [pending](Millis PinCounters::*field) {
    return [pending, field](redis::Reply reply) {
      if (reply.is_integer()) {
        pending->counters.*field = std::max<Millis>(0, reply.integer);
      } else {
        pending->ok = false;
      }
      pending->settle();
    };
  };
  const std::string key = pin_address_key(address);
  redis_.command({"PTTL", keys::pin_addr_room_lock(room_id, key)},
                 lock_into(&PinCounters::address_room_locked_for));
  redis_.command({"PTTL", keys::pin_addr_lock(key)}, lock_into(&PinCounters::address_locked_for));
  redis_.command({"PTTL", keys::pin_claim_lock(room_id, user_id)},
                 lock_into(&PinCounters::member_claim_locked_for));
  redis_.command({"GET", keys::pin_room_fails(room_id)}, [pending](redis::Reply reply) {
    if (reply.is_string()) {
      pending->counters.room_failures =
          static_cast<std::size_t>(std::strtoull(reply.str.c_str(), nullptr, 10));
    } else if (!reply.is_nil()) {
      pending->ok = false;
    }
    pending->settle();
  });
}

void RedisPinCounters::count_failure(const std::string& room_id, const std::string& user_id,
                                     const std::string& address, const PinAttempt& attempt,
                                     const PinCounters& counters) {
  const auto& options = lockout_.options();
  const std::string key = pin_address_key(address);
  // One script call per hash slot: the room's keys, then the address's.
  struct Call {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<PinScope> scopes;
  };
  Call in_room{{}, {std::to_string(options.window), std::to_string(options.lockout)}, {}};
  Call in_address = in_room;
  for (const PinCount& count : lockout_.on_failure(attempt, counters)) {
    Call& call = count.scope == PinScope::address ? in_address : in_room;
    switch (count.scope) {
      case PinScope::address_room:
        call.keys.insert(call.keys.end(), {keys::pin_addr_room_fails(room_id, key),
                                           keys::pin_addr_room_lock(room_id, key)});
        break;
      case PinScope::address:
        call.keys.insert(call.keys.end(), {keys::pin_addr_fails(key), keys::pin_addr_lock(key)});
        break;
      case PinScope::room:
        call.keys.insert(call.keys.end(),
                         {keys::pin_room_fails(room_id), keys::pin_room_lock(room_id)});
        break;
      case PinScope::member_claim:
        call.keys.insert(call.keys.end(), {keys::pin_claim_fails(room_id, user_id),
                                           keys::pin_claim_lock(room_id, user_id)});
        break;
    }
    call.args.insert(call.args.end(), {std::to_string(count.limit), count.sliding ? "1" : "0"});
    call.scopes.push_back(count.scope);
  }
  std::weak_ptr<RedisPinCounters*> alive = alive_;
  for (Call* call : {&in_room, &in_address}) {
    if (call->scopes.empty()) continue;
    auto on_reply = [alive, room_id, user_id, address, scopes = call->scopes](redis::Reply reply) {
      auto self = alive.lock();
      if (!self) return;
      RedisPinCounters& pins = **self;
      if (!reply.is_array()) {  // the failure is not counted: the lock it may set is missed
        pins.writes_.expect("pin_failure_count", room_id)(std::move(reply));
        return;
      }
      for (std::size_t i = 0; i < reply.elements.size() && i < scopes.size(); ++i) {
        if (!reply.elements[i].is_integer() || reply.elements[i].integer != 1) continue;
        pins.metrics_.pin_lockouts.inc();
        pins.logger_.warn(
            "pin_lockout",
            {{"room", room_id}, {"remote", address}, {"scope", to_string(scopes[i])}});
        pins.journal_.audit(room_id, pin_lockout_record(user_id, address, scopes[i]),
                            pins.clock_());
      }
    };
    redis_.eval_sha(fail_script_, call->keys, call->args, on_reply);
  }
}

}  // namespace tandem::cluster
