#include "cluster/redis_room_queue.hpp"

#include "cluster/redis_keys.hpp"
#include "cluster/room_queue_rules.hpp"
#include "cluster/room_steps.hpp"
#include "cluster/transition_message.hpp"
#include "redis/redis_connection.hpp"
#include "room/room_codec.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>

namespace tandem::cluster {

using protocol::Millis;

namespace {

// Checks the version, writes the snapshot and publishes the transition, atomically.
// KEYS[1] state hash. ARGV: expected version (0 = no key), new version, snapshot JSON,
// channel, message, tombstone TTL (ms; used when the snapshot has no members, ARGV[7]=1).
// Returns {1, version} or, on a version mismatch, {0, current version, current snapshot}.
constexpr const char* kCasScript = R"lua(
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then
  return {0, cur, redis.call('HGET', KEYS[1], 's') or ''}
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
if ARGV[7] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
else
  redis.call('PERSIST', KEYS[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, tonumber(ARGV[2])}
)lua";

const std::string& peer_of(const RoomOp& op) {
  static const std::string none;
  return op.sender ? op.sender->peer_id : none;
}

}  // namespace

// A transition on its way to Redis, kept for the script's reply.
struct RedisRoomQueue::PendingCommit {
  room::RoomState next;
  room::Effects effects;  // every operation's, merged (re-creation first)
  Millis now = 0;
};

RedisRoomQueue::RedisRoomQueue(boost::asio::any_io_executor executor, redis::RedisConnection& redis,
                               RedisRoomTable& rooms, const room::RoomMachine& machine,
                               ClusterMetrics& metrics, const RedisWriteCheck& writes,
                               obs::Logger& logger, Options options, Hooks hooks,
                               std::function<Millis()> clock)
    : executor_(std::move(executor)),
      redis_(redis),
      rooms_(rooms),
      machine_(machine),
      metrics_(metrics),
      writes_(writes),
      logger_(logger),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      clock_(std::move(clock)),
      cas_script_(kCasScript),
      alive_(std::make_shared<RedisRoomQueue*>(this)) {}

RedisRoomQueue::~RedisRoomQueue() = default;

bool RedisRoomQueue::idle() const {
  return std::all_of(rooms_.begin(), rooms_.end(), [](const auto& item) {
    return !item.second.busy && item.second.queue.empty();
  });
}

void RedisRoomQueue::enqueue(const std::string& room_id, RoomOpPtr op) {
  RedisRoomEntry& entry = rooms_[room_id];
  if (!queue_admits(*op, entry.queue.size(), options_.max_queued_per_room)) {
    metrics_.failed.inc();
    logger_.warn("room_queue_full", {{"room", room_id}});
    if (op->sender)
      hooks_.send_error(*op->sender, protocol::ErrorCode::internal, "Room busy: try again");
    if (op->failed) op->failed();
    hooks_.release(room_id);
    return;
  }
  entry.queue.push_back(std::move(op));
  pump(room_id);
}

void RedisRoomQueue::pump(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  RedisRoomEntry& entry = it->second;
  if (entry.busy) return;
  if (entry.queue.empty()) {
    hooks_.release(room_id);
    return;
  }
  RoomOpPtr op = entry.queue.front();
  switch (front_action(*op, entry.subscribed, hooks_.channel_up())) {
    case FrontAction::subscribe:
      hooks_.subscribe(room_id);
      return;  // the subscription pumps again
    case FrontAction::fail:
      entry.queue.pop_front();
      entry.busy = true;
      finish(room_id, op, false);
      return;
    case FrontAction::run:
      break;
  }
  entry.queue.pop_front();
  entry.busy = true;
  op->batch = take_followers(*op, entry.queue, entry.subscribed);
  run(room_id, op);
}

void RedisRoomQueue::run(const std::string& room_id, const RoomOpPtr& op) {
  if (op->prepare) {
    auto prepare = std::move(op->prepare);
    op->prepare = nullptr;
    std::weak_ptr<RedisRoomQueue*> alive = alive_;
    prepare([alive, room_id, op](bool ok) {
      auto self = alive.lock();
      if (!self) return;
      if (ok) {
        (**self).run(room_id, op);
      } else {
        (**self).finish(room_id, op, false);
      }
    });
    return;
  }
  RedisRoomEntry& entry = rooms_.at(room_id);
  if (entry.fresh && entry.cache) {
    attempt(room_id, op, entry.cache, false);
    return;
  }
  std::weak_ptr<RedisRoomQueue*> alive = alive_;
  redis_.command({"HMGET", keys::room_state(room_id), "v", "s"},
                 [alive, room_id, op](redis::Reply reply) {
                   auto self = alive.lock();
                   if (!self) return;
                   RedisRoomQueue& queue = **self;
                   SnapshotRead read = read_snapshot_reply(reply);
                   switch (read.kind) {
                     case SnapshotRead::Kind::failed:
                       queue.finish(room_id, op, false);
                       return;
                     case SnapshotRead::Kind::corrupt:
                       queue.logger_.error("bad_room_snapshot", {{"room", room_id}});
                       queue.finish(room_id, op, false);
                       return;
                     case SnapshotRead::Kind::absent:
                       queue.attempt(room_id, op, std::nullopt, true);
                       return;
                     case SnapshotRead::Kind::found: {
                       RedisRoomEntry& entry = queue.rooms_.at(room_id);
                       entry.cache = *read.state;
                       entry.fresh = entry.subscribed;
                       entry.latest_version = std::max(entry.latest_version, read.state->version);
                       queue.attempt(room_id, op, std::move(read.state), false);
                       return;
                     }
                   }
                 });
}

void RedisRoomQueue::attempt(const std::string& room_id, const RoomOpPtr& op,
                             std::optional<room::RoomState> base, bool absent) {
  RedisRoomEntry& entry = rooms_.at(room_id);
  const Millis now = clock_();
  room::RoomState state;
  room::Effects effects;  // what re-creating the room did (no sender)
  if (base) {
    state = std::move(*base);
  } else if (!base_for_absent(room_id, op, now, state, effects)) {
    return;
  }
  const std::uint64_t expected = absent ? 0 : state.version;
  if (absent) {
    // Versions only grow, even across a lost key (caches elsewhere compare them).
    if (entry.cache) state.version = std::max(state.version, entry.cache->version);
  }
  const std::uint64_t floor = std::max(expected, state.version);
  op->recreated = absent && !state.members.empty();
  // Each operation keeps its own effects.
  bool changed = effects.changed;
  op->effects = op->apply(state, now);
  changed = changed || op->effects.changed;
  for (const auto& follower : op->batch) {
    follower->effects = follower->apply(state, now);
    changed = changed || follower->effects.changed;
  }
  if (op->recreated && !state.members.empty()) changed = true;
  if (!changed) {
    publish_unchanged(room_id, op, now);
    return;
  }
  if (state.version <= floor) state.version = floor + 1;
  commit(room_id, op, std::move(state), std::move(effects), expected, now);
}

bool RedisRoomQueue::base_for_absent(const std::string& room_id, const RoomOpPtr& op, Millis now,
                                     room::RoomState& state, room::Effects& effects) {
  RedisRoomEntry& entry = rooms_.at(room_id);
  if (!op->may_recreate) {
    finish(room_id, op, true);  // nothing to check in a room that is not there
    return false;
  }
  if (entry.cache && !entry.cache->members.empty() &&
      entry.cache->version >= entry.latest_version) {
    // Redis lost the room (restarted empty, or failed over without it): this node's
    // copy is the newest there is; re-create it from that.
    state = *entry.cache;
    metrics_.restored.inc();
    logger_.warn("room_recreated",
                 {{"room", room_id}, {"from", "node"}, {"version", state.version}});
    return true;
  }
  if (op->from_record) {
    // From the durable record: like a restart, every member is back inside a fresh grace
    // window (connections still here keep theirs: their next message shows them alive).
    state = *op->from_record;
    effects = restore_members_step(
        machine_, state,
        [&entry](std::string_view peer) { return entry.bound_here(peer); },
        now);
    effects.changed = true;
    return true;
  }
  if (options_.load_from_record && !op->record_checked) {
    op->record_checked = true;
    std::weak_ptr<RedisRoomQueue*> alive = alive_;
    options_.load_from_record(room_id, [alive, room_id, op](std::optional<room::RoomState> found) {
      auto self = alive.lock();
      if (!self) return;
      RedisRoomQueue& queue = **self;
      if (found && !found->members.empty()) {
        queue.metrics_.restored.inc();
        queue.logger_.warn("room_recreated",
                           {{"room", room_id}, {"from", "record"}, {"version", found->version}});
        op->from_record = std::move(found);
      }
      queue.attempt(room_id, op, std::nullopt, true);
    });
    return false;
  }
  state.id = room_id;
  return true;
}

void RedisRoomQueue::publish_unchanged(const std::string& room_id, const RoomOpPtr& op,
                                       Millis now) {
  RedisRoomEntry& entry = rooms_.at(room_id);
  const room::RoomState unchanged = entry.cache ? *entry.cache : room::RoomState{};
  // What goes to a sender goes straight to it (the hook); the rest through the channel
  // (relays and fallback broadcasts need no state change, so no version and no CAS), one
  // message for the whole batch.
  ClusterMessage message;
  message.sender = peer_of(*op);
  const std::vector<RoomOpPtr> ops = with_batch(op);
  for (const auto& one : ops) {
    hooks_.unchanged(room_id, *one, unchanged, now);
    ClusterMessage part =
        transition_message(unchanged, one->effects, peer_of(*one), now, options_.node_id);
    for (auto& d : part.deliveries) message.deliveries.push_back(std::move(d));
  }
  if (!message.deliveries.empty()) {
    redis_.command({"PUBLISH", keys::room_channel(room_id), encode_message(message)},
                   writes_.expect("room_publish", room_id));
  }
  for (const auto& one : ops) {
    if (one->done) one->done(unchanged, one->effects);
  }
  finish(room_id, op, true);
}

std::vector<RoomOpPtr> RedisRoomQueue::with_batch(const RoomOpPtr& op) {
  std::vector<RoomOpPtr> all;
  all.reserve(1 + op->batch.size());
  all.push_back(op);
  all.insert(all.end(), op->batch.begin(), op->batch.end());
  return all;
}

void RedisRoomQueue::commit(const std::string& room_id, const RoomOpPtr& op, room::RoomState next,
                            room::Effects effects, std::uint64_t expected, Millis now) {
  // `effects` (re-creation) first, then each operation's, in the order applied.
  ClusterMessage message = transition_message(next, effects, "", now, options_.node_id);
  message.sender = peer_of(*op);
  for (const auto& one : with_batch(op)) {
    ClusterMessage part =
        transition_message(next, one->effects, peer_of(*one), now, options_.node_id);
    for (auto& d : part.deliveries) message.deliveries.push_back(std::move(d));
    for (auto& c : part.closes) message.closes.push_back(std::move(c));
    merge(effects, room::Effects(one->effects));
  }
  message.version = next.version;
  const std::string snapshot = room::to_json_string(next);
  // Other nodes get the snapshot itself only when they need it at once: a join (its node
  // makes the joiner a local member from it), a timer armed (their sweeps must know the
  // deadline), connections closed, the room emptied. For the rest (playback changes, the
  // bulk of the traffic) the version alone tells them their copy is stale.
  const bool with_state =
      effects.joined || !effects.timers.empty() || !effects.closes.empty() || next.members.empty();
  const bool tombstone = next.members.empty();
  auto pending =
      std::make_shared<PendingCommit>(PendingCommit{std::move(next), std::move(effects), now});
  std::weak_ptr<RedisRoomQueue*> alive = alive_;
  redis_.eval_sha(
      cas_script_, {keys::room_state(room_id)},
      {std::to_string(expected), std::to_string(pending->next.version), snapshot,
       keys::room_channel(room_id), encode_message(message, with_state ? snapshot : std::string()),
       std::to_string(options_.tombstone_ttl), tombstone ? "1" : "0"},
      [alive, room_id, op, pending](redis::Reply reply) {
        if (auto self = alive.lock()) (**self).on_commit_reply(room_id, op, *pending, reply);
      });
}

void RedisRoomQueue::on_commit_reply(const std::string& room_id, const RoomOpPtr& op,
                                     const PendingCommit& pending, const redis::Reply& reply) {
  CommitOutcome outcome = read_commit_reply(reply, *op, options_.max_attempts);
  RedisRoomEntry& entry = rooms_.at(room_id);
  const room::RoomState& next = pending.next;
  switch (outcome.kind) {
    case CommitOutcome::Kind::failed:
      logger_.warn("room_commit_failed",
                   {{"room", room_id}, {"reply", redis::to_debug_string(reply)}});
      finish(room_id, op, false);
      return;
    case CommitOutcome::Kind::committed:
      if (!entry.cache || entry.cache->version < next.version) entry.cache = next;
      entry.latest_version = std::max(entry.latest_version, next.version);
      // The reply and the message come on different connections, in either order.
      if (entry.subscribed && entry.heard_version < next.version) {
        entry.awaiting_version = std::max(entry.awaiting_version, next.version);
      }
      {
        const std::vector<RoomOpPtr> ops = with_batch(op);
        hooks_.committed(room_id, ops, next, pending.effects, pending.now);
        for (const auto& one : ops) {
          if (one->done) one->done(next, one->effects);
        }
      }
      finish(room_id, op, true);
      return;
    case CommitOutcome::Kind::exhausted:  // someone else changed the room first, again
      metrics_.conflicts.inc();
      logger_.warn("room_conflicts_exhausted", {{"room", room_id}});
      finish(room_id, op, false);
      return;
    case CommitOutcome::Kind::corrupt:
      metrics_.conflicts.inc();
      logger_.error("bad_room_snapshot", {{"room", room_id}});
      finish(room_id, op, false);
      return;
    case CommitOutcome::Kind::conflict:  // someone else changed the room first: re-apply
      metrics_.conflicts.inc();
      if (outcome.current) {
        entry.cache = *outcome.current;  // authoritative, even if older than what we had
        entry.latest_version = std::max(entry.latest_version, outcome.current->version);
      }
      retry_after_conflict(room_id, op, std::move(outcome.current));
      return;
  }
}

void RedisRoomQueue::retry_after_conflict(const std::string& room_id, const RoomOpPtr& op,
                                          std::optional<room::RoomState> current) {
  const bool absent = !current.has_value();
  const auto wait = conflict_backoff(op->attempts, jitter_(rng_));
  if (!wait) {
    attempt(room_id, op, std::move(current), absent);
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, *wait);
  std::weak_ptr<RedisRoomQueue*> alive = alive_;
  timer->async_wait([alive, timer, room_id, op](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self) return;
    // What was read may be stale by now: read again.
    (**self).rooms_.at(room_id).fresh = false;
    (**self).run(room_id, op);
  });
}

void RedisRoomQueue::finish(const std::string& room_id, const RoomOpPtr& op, bool ok) {
  if (!ok) {
    for (const auto& one : with_batch(op)) give_up(room_id, one);
  }
  op->batch.clear();
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  it->second.busy = false;
  std::weak_ptr<RedisRoomQueue*> alive = alive_;
  boost::asio::post(executor_, [alive, room_id] {
    if (auto self = alive.lock()) (**self).pump(room_id);
  });
}

void RedisRoomQueue::give_up(const std::string& room_id, const RoomOpPtr& op) {
  metrics_.failed.inc();
  if (op->sender) {
    hooks_.send_error(*op->sender, protocol::ErrorCode::internal,
                      "Room service temporarily unavailable: try again");
  }
  if (retry_later(*op, stopped_)) {
    // A disconnect, timer or sweep must still happen once Redis is back.
    op->attempts = 0;
    op->batch.clear();
    auto timer = std::make_shared<boost::asio::steady_timer>(executor_, std::chrono::seconds(1));
    std::weak_ptr<RedisRoomQueue*> alive = alive_;
    timer->async_wait([alive, timer, room_id, op](const boost::system::error_code& ec) {
      auto self = alive.lock();
      if (!ec && self) (**self).enqueue(room_id, op);
    });
  } else if (op->failed) {
    op->failed();
  }
}

}  // namespace tandem::cluster
