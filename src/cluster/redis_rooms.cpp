#include "cluster/redis_rooms.hpp"

#include "cluster/node_liveness.hpp"
#include "cluster/redis_directory.hpp"
#include "cluster/redis_keys.hpp"
#include "cluster/room_status.hpp"
#include "cluster/room_steps.hpp"
#include "cluster/short_ids.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_subscriber.hpp"
#include "room/room_codec.hpp"

#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>

namespace tandem::cluster {

using protocol::Millis;
namespace json = boost::json;

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

constexpr int kInternalRetries = 120;  // internal operations: retried this often, 1 s apart
constexpr std::size_t kMaxBatch = 64;   // operations committed together at most
constexpr std::string_view kChannelPrefix = "tandem:{room:";
constexpr std::string_view kChannelSuffix = "}:events";

std::optional<std::string> room_of_channel(std::string_view channel) {
  if (channel.size() <= kChannelPrefix.size() + kChannelSuffix.size() ||
      channel.substr(0, kChannelPrefix.size()) != kChannelPrefix ||
      channel.substr(channel.size() - kChannelSuffix.size()) != kChannelSuffix) {
    return std::nullopt;
  }
  return std::string(channel.substr(
      kChannelPrefix.size(), channel.size() - kChannelPrefix.size() - kChannelSuffix.size()));
}

std::string_view error_code_of(const protocol::Event& event) {
  if (const auto* error = std::get_if<protocol::ErrorEvent>(&event)) return protocol::to_string(error->code);
  return {};
}

}  // namespace

struct RedisRooms::Op {
  // The transition, computed on a copy of the current snapshot (a state without members
  // is a room that does not exist yet).
  std::function<room::Effects(room::RoomState& state, Millis now)> apply;
  std::optional<ConnectionInfo> sender;  // commands: who asked (its errors, its deliveries)
  // After the transition is in Redis (or needed no change): local bookkeeping.
  std::function<void(const room::RoomState& next, const room::Effects& effects)> done;
  // Given up (after the error to the sender, or after the last retry).
  std::function<void()> failed;
  // Runs once before the first attempt (e.g. a JOIN's lockout check); false fails the op.
  std::function<void(std::function<void(bool ok)>)> prepare;
  bool internal = false;
  bool recreated = false;  // this transition re-creates a room Redis had lost
  bool may_recreate = true;  // false: a check that must not bring a lost room back
  bool batchable = true;     // may share one commit with the operations queued with it
  // A leader's followers: applied after it, in queue order, committed together with it.
  std::vector<std::shared_ptr<Op>> batch;
  room::Effects effects;     // this operation's own effects in the current attempt  // no client waits: retried while Redis is unreachable
  int attempts = 0;
  int retries_left = kInternalRetries;
  // Redis lost the room and the durable record had it: the base to re-create it from.
  std::optional<room::RoomState> from_record;
  bool record_checked = false;
};

struct RedisRooms::RoomEntry {
  struct LocalMember {
    std::string user_id;
    std::string peer_id;
    protocol::Capabilities capabilities = 0;  // picks its frame of a broadcast (docs/SYNC.md)
  };
  std::optional<room::RoomState> cache;  // the newest snapshot this node knows
  std::uint64_t latest_version = 0;      // the highest version seen (messages, reads)
  std::uint64_t heard_version = 0;       // the highest version received on the channel
  // A commit of ours whose message has not come back on the channel yet (0: none). Its
  // deliveries may be for a connection that is no member here (a refused JOIN's ERROR),
  // so the entry, and its subscription, stay until it does (or the subscriber drops).
  std::uint64_t awaiting_version = 0;
  bool fresh = false;        // cache is current: read after subscribing, messages applied since
  bool want_subscription = false;
  bool subscribed = false;   // Redis confirmed the subscription (since the last reconnect)
  std::unordered_map<ConnId, LocalMember> local;  // joined connections on this node
  std::size_t joining = 0;   // JOINs of this node waiting to commit
  std::deque<std::shared_ptr<Op>> queue;
  bool busy = false;
  bool sweep_queued = false;
};

struct RedisRooms::ClusterMetrics {
  explicit ClusterMetrics(obs::Registry& registry)
      : conflicts(registry.counter("tandem_cluster_cas_conflicts_total",
                                   "Room mutations that met a newer version and were re-applied")),
        failed(registry.counter("tandem_cluster_ops_failed_total",
                                "Room operations given up (Redis unreachable, conflicts exhausted, "
                                "queue full)")),
        messages_in(registry.counter("tandem_cluster_messages_in_total",
                                     "Room channel messages received")),
        bad_messages(registry.counter("tandem_cluster_bad_messages_total",
                                      "Room channel messages that could not be decoded")),
        dead_members(registry.counter("tandem_cluster_dead_node_members_removed_total",
                                      "Members removed because their node died")),
        restored(registry.counter("tandem_cluster_rooms_restored_total",
                                  "Rooms Redis had lost, re-created from a node's copy or the record")),
        lost_registration(registry.counter(
            "tandem_cluster_registration_lost_total",
            "Times this node found its liveness key gone (declared dead, or Redis emptied)")) {}
  obs::Counter& conflicts;
  obs::Counter& failed;
  obs::Counter& messages_in;
  obs::Counter& bad_messages;
  obs::Counter& dead_members;
  obs::Counter& restored;
  obs::Counter& lost_registration;
};

RedisRooms::RedisRooms(boost::asio::any_io_executor executor, Outbox& outbox,
                       const room::RoomMachine& machine, obs::Registry& registry,
                       obs::Logger& logger, RedisRoomsOptions options,
                       std::function<Millis()> clock)
    : executor_(std::move(executor)),
      outbox_(outbox),
      machine_(machine),
      logger_(logger),
      metrics_(registry),
      options_(std::move(options)),
      clock_(std::move(clock)),
      cas_script_(kCasScript),
      pin_fail_script_(kPinFailScript),
      pin_lockout_(options_.pin_lockout),
      pin_delays_(executor_),
      cluster_metrics_(std::make_unique<ClusterMetrics>(registry)),
      short_id_metrics_(registry, logger),
      writes_(registry, logger),
      journal_(options_.journal, TransitionJournal::Keep::copy),
      liveness_timer_(executor_),
      sweep_timer_(executor_),
      snapshot_timer_(executor_),
      alive_(std::make_shared<RedisRooms*>(this)) {
  redis::RedisConfig command_config = options_.redis;
  command_config.name = "command";
  redis::RedisConfig subscriber_config = options_.subscriber_redis.value_or(options_.redis);
  subscriber_config.name = "subscriber";
  redis_ = std::make_unique<redis::RedisConnection>(executor_, command_config, logger, registry);
  subscriber_ =
      std::make_unique<redis::RedisSubscriber>(executor_, subscriber_config, logger, registry);
  short_ids_ = std::make_unique<RedisShortIds>(*redis_, options_.short_ids, short_id_metrics_,
                                               options_.journal, clock_);
  directory_ = std::make_unique<RedisDirectory>(*redis_, clock_);
  NodeLiveness::Hooks hooks;
  hooks.describe = [this] {
    return json::object{{"nodeId", options_.node_id},
                        {"connections", bindings_.size()},
                        {"rooms", room_count()},
                        {"updatedAt", clock_()}};
  };
  hooks.registration_lost = [this] { heal_after_lost_registration(); };
  hooks.reap_room = [this](const std::string& node_id, const std::string& room_id,
                           bool own_leftovers, std::function<void(bool)> done) {
    reap_room(node_id, room_id, own_leftovers, std::move(done));
  };
  liveness_ = std::make_unique<NodeLiveness>(*redis_, options_.node_id, options_.node_dead_after,
                                             std::move(hooks), writes_, logger_);
  register_room_gauges(
      registry, [this] { return room_count(); }, [this] { return bindings_.size(); },
      [this] { return journal_.unsaved(); });
  registry.gauge_callback("tandem_cluster_subscribed_rooms",
                          "Room channels this node is subscribed to",
                          [this] { return static_cast<double>(subscriber_->channels().size()); });
}

RedisRooms::~RedisRooms() = default;

void RedisRooms::start() {
  std::weak_ptr<RedisRooms*> alive = alive_;
  subscriber_->on_message([alive](const std::string& channel, const std::string& text) {
    if (auto self = alive.lock()) (**self).on_message(channel, text);
  });
  subscriber_->on_subscribed([alive](const std::string& channel) {
    if (auto self = alive.lock()) (**self).on_subscribed(channel);
  });
  subscriber_->on_state_change([alive](bool connected) {
    auto self = alive.lock();
    if (!self || connected) return;
    // Messages may be missed from now on: no cache stays trusted, and operations that
    // wait for a subscription fail instead of waiting.
    RedisRooms& rooms = **self;
    std::vector<std::string> ids;
    for (auto& [id, entry] : rooms.rooms_) {
      entry.subscribed = false;
      entry.fresh = false;
      entry.awaiting_version = 0;  // lost with the connection
      ids.push_back(id);
    }
    for (const auto& id : ids) rooms.pump(id);
  });
  redis_->on_state_change([alive](bool connected) {
    auto self = alive.lock();
    if (self && connected) (**self).refresh_liveness();
  });
  redis_->start();
  subscriber_->start();
  arm_periodic(liveness_timer_, liveness_->refresh_interval(), &RedisRooms::refresh_liveness);
  arm_periodic(sweep_timer_, options_.sweep_interval, &RedisRooms::sweep);
  if (options_.journal != nullptr) {
    arm_periodic(snapshot_timer_, options_.snapshot_interval, &RedisRooms::flush_snapshots);
  }
}

void RedisRooms::stop() {
  stopped_ = true;
  liveness_timer_.cancel();
  sweep_timer_.cancel();
  snapshot_timer_.cancel();
  flush_snapshots();
}

void RedisRooms::arm_periodic(boost::asio::steady_timer& timer, Millis every,
                              void (RedisRooms::*what)()) {
  timer.expires_after(std::chrono::milliseconds(every));
  std::weak_ptr<RedisRooms*> alive = alive_;
  timer.async_wait([alive, &timer, every, what](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self || (**self).stopped_) return;
    ((**self).*what)();
    (**self).arm_periodic(timer, every, what);
  });
}

std::size_t RedisRooms::room_count() const {
  std::size_t n = 0;
  for (const auto& [id, entry] : rooms_) n += entry.local.empty() ? 0 : 1;
  return n;
}

bool RedisRooms::idle() const {
  return std::all_of(rooms_.begin(), rooms_.end(),
                     [](const auto& item) { return !item.second.busy && item.second.queue.empty(); });
}

bool RedisRooms::backends_ready() const {
  return redis_->connected() && subscriber_->connected();
}

// ---- operations ------------------------------------------------------------------

void RedisRooms::enqueue(const std::string& room_id, std::shared_ptr<Op> op) {
  RoomEntry& entry = rooms_[room_id];
  // The bound is on clients' commands; internal operations (disconnects, timers, sweeps,
  // reaping) are bounded by the connections and timers that make them, and must not be
  // lost (a dropped disconnect would leave a member "connected" for good).
  if (!op->internal && entry.queue.size() >= options_.max_queued_per_room) {
    cluster_metrics_->failed.inc();
    logger_.warn("room_queue_full", {{"room", room_id}});
    if (op->sender) {
      send_error(*op->sender, protocol::ErrorCode::internal, "Room busy: try again");
    }
    if (op->failed) op->failed();
    maybe_release(room_id);
    return;
  }
  entry.queue.push_back(std::move(op));
  pump(room_id);
}

void RedisRooms::pump(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  RoomEntry& entry = it->second;
  if (entry.busy) return;
  if (entry.queue.empty()) {
    maybe_release(room_id);
    return;
  }
  std::shared_ptr<Op> op = entry.queue.front();
  if (!op->internal && !entry.subscribed) {
    // A client's command needs the room's channel: its own deliveries come through it.
    if (!subscriber_->connected()) {
      entry.queue.pop_front();
      entry.busy = true;
      finish_op(room_id, op, false);
      return;
    }
    ensure_subscribed(room_id);
    return;  // on_subscribed pumps again
  }
  entry.queue.pop_front();
  entry.busy = true;
  // Group commit: the commands queued behind this one (a burst, or several members at
  // once) are applied in order to the same snapshot and committed with one CAS and one
  // message, instead of one round trip each.
  op->batch.clear();
  if (op->batchable && !op->prepare) {
    while (!entry.queue.empty() && op->batch.size() < kMaxBatch) {
      const std::shared_ptr<Op>& next = entry.queue.front();
      if (!next->batchable || next->prepare || (!next->internal && !entry.subscribed)) break;
      op->batch.push_back(next);
      entry.queue.pop_front();
    }
  }
  run_op(room_id, op);
}

void RedisRooms::run_op(const std::string& room_id, const std::shared_ptr<Op>& op) {
  if (op->prepare) {
    auto prepare = std::move(op->prepare);
    op->prepare = nullptr;
    std::weak_ptr<RedisRooms*> alive = alive_;
    prepare([alive, room_id, op](bool ok) {
      auto self = alive.lock();
      if (!self) return;
      if (ok) {
        (**self).run_op(room_id, op);
      } else {
        (**self).finish_op(room_id, op, false);
      }
    });
    return;
  }
  RoomEntry& entry = rooms_.at(room_id);
  if (entry.fresh && entry.cache) {
    attempt(room_id, op, entry.cache, false);
    return;
  }
  std::weak_ptr<RedisRooms*> alive = alive_;
  redis_->command(
      {"HMGET", keys::room_state(room_id), "v", "s"},
      [alive, room_id, op](redis::Reply reply) {
        auto self = alive.lock();
        if (!self) return;
        RedisRooms& rooms = **self;
        if (!reply.is_array() || reply.elements.size() != 2) {
          rooms.finish_op(room_id, op, false);
          return;
        }
        if (reply.elements[0].is_nil()) {
          rooms.attempt(room_id, op, std::nullopt, true);
          return;
        }
        auto state = room::room_state_from_json(reply.elements[1].str);
        if (!state) {
          rooms.logger_.error("bad_room_snapshot", {{"room", room_id}});
          rooms.finish_op(room_id, op, false);
          return;
        }
        RoomEntry& entry = rooms.rooms_.at(room_id);
        entry.cache = *state;
        entry.fresh = entry.subscribed;
        entry.latest_version = std::max(entry.latest_version, state->version);
        rooms.attempt(room_id, op, std::move(state), false);
      });
}

void RedisRooms::attempt(const std::string& room_id, const std::shared_ptr<Op>& op,
                         std::optional<room::RoomState> base, bool absent) {
  RoomEntry& entry = rooms_.at(room_id);
  const Millis now = clock_();
  room::RoomState state;
  room::Effects effects;
  if (base) {
    state = std::move(*base);
  } else if (absent && !op->may_recreate) {
    finish_op(room_id, op, true);  // nothing to check in a room that is not there
    return;
  } else if (absent && entry.cache && !entry.cache->members.empty() &&
             entry.cache->version >= entry.latest_version) {
    // Redis lost the room (restarted empty, or failed over without it): this node's
    // copy is the newest there is; re-create it from that.
    state = *entry.cache;
    cluster_metrics_->restored.inc();
    logger_.warn("room_recreated", {{"room", room_id}, {"from", "node"}, {"version", state.version}});
  } else if (absent && op->from_record) {
    // From the durable record: like a restart, every member is back inside a fresh grace
    // window (connections still here keep theirs: their next message shows them alive).
    state = *op->from_record;
    effects = restore_members_step(
        machine_, state,
        [&entry](std::string_view peer) {
          for (const auto& [conn, local] : entry.local) {
            if (local.peer_id == peer) return true;
          }
          return false;
        },
        now);
    effects.changed = true;
  } else if (absent && options_.load_from_record && !op->record_checked) {
    op->record_checked = true;
    std::weak_ptr<RedisRooms*> alive = alive_;
    options_.load_from_record(room_id, [alive, room_id, op](std::optional<room::RoomState> found) {
      auto self = alive.lock();
      if (!self) return;
      RedisRooms& rooms = **self;
      if (found && !found->members.empty()) {
        rooms.cluster_metrics_->restored.inc();
        rooms.logger_.warn("room_recreated",
                           {{"room", room_id}, {"from", "record"}, {"version", found->version}});
        op->from_record = std::move(found);
      }
      rooms.attempt(room_id, op, std::nullopt, true);
    });
    return;
  } else {
    state.id = room_id;
  }
  const std::uint64_t expected = absent ? 0 : state.version;
  if (absent) {
    // Versions only grow, even across a lost key (caches elsewhere compare them).
    if (entry.cache) state.version = std::max(state.version, entry.cache->version);
  }
  const std::uint64_t floor = std::max(expected, state.version);
  op->recreated = absent && !state.members.empty();
  // `effects` keeps what re-creating the room did (no sender); each operation keeps its own.
  bool changed = effects.changed;
  op->effects = op->apply(state, now);
  changed = changed || op->effects.changed;
  for (const auto& follower : op->batch) {
    follower->effects = follower->apply(state, now);
    changed = changed || follower->effects.changed;
  }
  if (op->recreated && !state.members.empty()) changed = true;
  if (!changed) {
    publish_stateless(room_id, op, now);
    return;
  }
  if (state.version <= floor) state.version = floor + 1;
  commit(room_id, op, std::move(state), std::move(effects), expected, now);
}

ClusterMessage RedisRooms::build_message(const room::RoomState& state,
                                         const room::Effects& effects,
                                         const std::string& sender_peer, Millis now) const {
  ClusterMessage message;
  message.sender = sender_peer;
  for (const auto& delivery : effects.deliveries) {
    MessageDelivery out;
    switch (delivery.audience) {
      case room::Audience::sender:
        if (sender_peer.empty()) continue;
        out.target = Target::peer;
        out.peer = sender_peer;
        break;
      case room::Audience::all:
        out.target = Target::all;
        break;
      case room::Audience::all_except:
        out.target = Target::except;
        out.user = delivery.user_id;
        out.peer = sender_peer;  // its connection is excluded too (one message may carry
                                 // several senders' transitions)
        break;
      case room::Audience::user: {
        const room::Member* member = state.find_member(delivery.user_id);
        if (member == nullptr || !member->connected) continue;
        out.target = Target::user;
        out.user = delivery.user_id;
        out.peer = member->peer_id;
        break;
      }
    }
    out.type = std::string(protocol::event_type(delivery.event));
    out.error_code = std::string(error_code_of(delivery.event));
    if (out.target == Target::all || out.target == Target::except) {
      add_variants(out, delivery.event, state, now);
    } else {  // one recipient: a reply the room built for it, or a relay
      out.frame = protocol::encode(delivery.event, now, options_.node_id);
    }
    message.deliveries.push_back(std::move(out));
  }
  for (const auto& close : effects.closes) {
    message.closes.push_back(MessageClose{close.peer_id, close.code, close.reason});
  }
  return message;
}

// A broadcast's frame for members without capability-specific fields, and one variant per
// other recipient_key among the room's connected members (each node picks per member).
void RedisRooms::add_variants(MessageDelivery& out, const protocol::Event& event,
                              const room::RoomState& state, Millis now) const {
  out.frame = protocol::encode(event, now, options_.node_id, 0);
  for (const room::Member& member : state.members) {
    const protocol::Capabilities key = protocol::recipient_key(event, member.capabilities);
    if (!member.connected || key == 0 || out.variant_for(key) != 0) continue;
    out.variants.emplace_back(key, protocol::encode(event, now, options_.node_id, key));
  }
}

void RedisRooms::publish_stateless(const std::string& room_id, const std::shared_ptr<Op>& op,
                                   Millis now) {
  RoomEntry& entry = rooms_.at(room_id);
  const room::RoomState unchanged = entry.cache ? *entry.cache : room::RoomState{};
  // What goes to a sender goes straight to it; the rest through the channel (relays and
  // fallback broadcasts need no state change, so no version and no CAS), one message for
  // the whole batch.
  ClusterMessage message;
  message.sender = op->sender ? op->sender->peer_id : "";
  for (const auto& one : with_batch(op)) {
    room::Effects rest;
    for (auto& delivery : one->effects.deliveries) {
      if (delivery.audience == room::Audience::sender) {
        if (one->sender) {
          outbox_.send(one->sender->id, protocol::encode_frame(delivery.event, now, options_.node_id));
          metrics_.delivered(delivery.event, 1);
        }
      } else {
        rest.deliveries.push_back(std::move(delivery));
      }
    }
    if (one->effects.relay_dropped) metrics_.relays_dropped.inc();
    if (one->effects.gate_outcome) metrics_.gate(*one->effects.gate_outcome);
    ClusterMessage part = build_message(unchanged, rest, one->sender ? one->sender->peer_id : "", now);
    for (auto& d : part.deliveries) message.deliveries.push_back(std::move(d));
    journal_.record(room_id, one->effects, unchanged, now);
  }
  if (!message.deliveries.empty()) {
    redis_->command({"PUBLISH", keys::room_channel(room_id), encode_message(message)},
                    writes_.expect("room_publish", room_id));
  }
  for (const auto& one : with_batch(op)) {
    if (one->done) one->done(unchanged, one->effects);
  }
  finish_op(room_id, op, true);
}

std::vector<std::shared_ptr<RedisRooms::Op>> RedisRooms::with_batch(const std::shared_ptr<Op>& op) {
  std::vector<std::shared_ptr<Op>> all;
  all.reserve(1 + op->batch.size());
  all.push_back(op);
  all.insert(all.end(), op->batch.begin(), op->batch.end());
  return all;
}

void RedisRooms::commit(const std::string& room_id, const std::shared_ptr<Op>& op,
                        room::RoomState next, room::Effects effects, std::uint64_t expected,
                        Millis now) {
  // `effects` (re-creation) first, then each operation's, in the order applied.
  ClusterMessage message = build_message(next, effects, "", now);
  message.sender = op->sender ? op->sender->peer_id : "";
  for (const auto& one : with_batch(op)) {
    ClusterMessage part = build_message(next, one->effects, one->sender ? one->sender->peer_id : "", now);
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
  const bool with_state = effects.joined || !effects.timers.empty() || !effects.closes.empty() ||
                          next.members.empty();
  const bool tombstone = next.members.empty();
  std::weak_ptr<RedisRooms*> alive = alive_;
  auto shared_next = std::make_shared<room::RoomState>(std::move(next));
  auto shared_effects = std::make_shared<room::Effects>(std::move(effects));
  redis_->eval_sha(
      cas_script_, {keys::room_state(room_id)},
      {std::to_string(expected), std::to_string(shared_next->version), snapshot,
       keys::room_channel(room_id), encode_message(message, with_state ? snapshot : std::string()),
       std::to_string(options_.tombstone_ttl), tombstone ? "1" : "0"},
      [alive, room_id, op, shared_next, shared_effects, now](redis::Reply reply) {
        auto self = alive.lock();
        if (!self) return;
        RedisRooms& rooms = **self;
        if (!reply.is_array() || reply.elements.empty() || !reply.elements[0].is_integer()) {
          rooms.logger_.warn("room_commit_failed",
                             {{"room", room_id}, {"reply", redis::to_debug_string(reply)}});
          rooms.finish_op(room_id, op, false);
          return;
        }
        RoomEntry& entry = rooms.rooms_.at(room_id);
        if (reply.elements[0].integer == 1) {
          if (!entry.cache || entry.cache->version < shared_next->version) entry.cache = *shared_next;
          entry.latest_version = std::max(entry.latest_version, shared_next->version);
          // The reply and the message come on different connections, in either order.
          if (entry.subscribed && entry.heard_version < shared_next->version) {
            entry.awaiting_version = std::max(entry.awaiting_version, shared_next->version);
          }
          rooms.after_commit(room_id, op, *shared_next, *shared_effects, now);
          return;
        }
        // Someone else changed the room first: re-apply to what is there now.
        rooms.cluster_metrics_->conflicts.inc();
        if (++op->attempts >= rooms.options_.max_attempts || reply.elements.size() != 3) {
          rooms.logger_.warn("room_conflicts_exhausted", {{"room", room_id}});
          rooms.finish_op(room_id, op, false);
          return;
        }
        const std::string& text = reply.elements[2].str;
        std::optional<room::RoomState> current;
        if (!text.empty()) {
          current = room::room_state_from_json(text);
          if (!current) {
            rooms.logger_.error("bad_room_snapshot", {{"room", room_id}});
            rooms.finish_op(room_id, op, false);
            return;
          }
          entry.cache = *current;  // authoritative, even if older than what we had
          entry.latest_version = std::max(entry.latest_version, current->version);
        }
        rooms.retry_after_conflict(room_id, op, std::move(current));
      });
}

void RedisRooms::retry_after_conflict(const std::string& room_id, const std::shared_ptr<Op>& op,
                                      std::optional<room::RoomState> current) {
  const bool absent = !current.has_value();
  if (op->attempts < 2) {
    attempt(room_id, op, std::move(current), absent);
    return;
  }
  // Contended (several nodes changing one room at once): back off a little, randomly, so
  // that the nodes stop colliding in lock step; the wait grows with the attempts.
  const int ceiling_ms = std::min(1 << std::min(op->attempts, 5), 25);
  const auto wait = std::chrono::microseconds(jitter_(rng_) % (ceiling_ms * 1000));
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, wait);
  std::weak_ptr<RedisRooms*> alive = alive_;
  timer->async_wait([alive, timer, room_id, op](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self) return;
    // What was read may be stale by now: read again.
    (**self).rooms_.at(room_id).fresh = false;
    (**self).run_op(room_id, op);
  });
}

void RedisRooms::after_commit(const std::string& room_id, const std::shared_ptr<Op>& op,
                              const room::RoomState& next, room::Effects& effects, Millis now) {
  for (const auto& timer : effects.timers) arm(room_id, timer, now);
  for (const auto& one : with_batch(op)) {  // per operation: merging keeps only one outcome
    if (one->effects.gate_outcome) metrics_.gate(*one->effects.gate_outcome);
    if (one->effects.relay_dropped) metrics_.relays_dropped.inc();
    metrics_.observe(one->effects);
  }
  bool created = false;
  for (const auto& record : effects.records) {
    if (record.event_type == "ROOM_CREATED") created = true;
  }
  if (created) metrics_.rooms_created.inc();
  journal_.record(room_id, effects, next, now);
  if (next.members.empty()) {
    metrics_.rooms_archived.inc();
    redis_->command({"ZREM", std::string(keys::kRoomIndex), room_id},
                    writes_.expect("room_index_remove", room_id));
    short_ids_->room_ended(room_id);
  } else if (effects.joined || op->recreated) {
    redis_->command({"ZADD", std::string(keys::kRoomIndex), "0", room_id},
                    writes_.expect("room_index_add", room_id));
    // A share link asked for before the room existed now lives as long as any other.
    if (created) short_ids_->room_created(room_id);
  }
  for (const auto& one : with_batch(op)) {
    if (one->done) one->done(next, one->effects);
  }
  finish_op(room_id, op, true);
}

void RedisRooms::finish_op(const std::string& room_id, const std::shared_ptr<Op>& op, bool ok) {
  if (!ok) {
    for (const auto& one : with_batch(op)) give_up(room_id, one);
  }
  op->batch.clear();
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  it->second.busy = false;
  std::weak_ptr<RedisRooms*> alive = alive_;
  boost::asio::post(executor_, [alive, room_id] {
    if (auto self = alive.lock()) (**self).pump(room_id);
  });
}

void RedisRooms::give_up(const std::string& room_id, const std::shared_ptr<Op>& op) {
  cluster_metrics_->failed.inc();
  if (op->sender) {
    send_error(*op->sender, protocol::ErrorCode::internal,
               "Room service temporarily unavailable: try again");
  }
  if (op->internal && op->retries_left-- > 0 && !stopped_) {
    // A disconnect, timer or sweep must still happen once Redis is back.
    op->attempts = 0;
    op->batch.clear();
    auto timer = std::make_shared<boost::asio::steady_timer>(executor_, std::chrono::seconds(1));
    std::weak_ptr<RedisRooms*> alive = alive_;
    timer->async_wait([alive, timer, room_id, op](const boost::system::error_code& ec) {
      auto self = alive.lock();
      if (!ec && self) (**self).enqueue(room_id, op);
    });
  } else if (op->failed) {
    op->failed();
  }
}

// ---- commands ---------------------------------------------------------------------

void RedisRooms::send_error(const ConnectionInfo& conn, protocol::ErrorCode code,
                            std::string message) {
  const protocol::Event event = protocol::ErrorEvent{code, std::move(message)};
  outbox_.send(conn.id, protocol::encode_frame(event, clock_(), options_.node_id));
  metrics_.delivered(event, 1);
}

void RedisRooms::on_command(const ConnectionInfo& conn, protocol::Command&& command) {
  if (std::holds_alternative<protocol::Join>(command)) {
    join(conn, std::move(command));
    return;
  }
  if (auto answer = node_answer(command)) {
    // Costs Redis nothing, and keeps working while Redis is unreachable.
    outbox_.send(conn.id, protocol::encode_frame(*answer, clock_(), options_.node_id));
    metrics_.delivered(*answer, 1);
    return;
  }
  const Binding* found = nullptr;
  if (auto pending = pending_joins_.find(conn.id); pending != pending_joins_.end()) {
    found = &pending->second;  // queued behind its JOIN in the same room: applies after it
  } else if (auto bound = bindings_.find(conn.id); bound != bindings_.end()) {
    found = &bound->second;
  }
  if (found == nullptr) {
    const protocol::Event error = not_joined_error();
    outbox_.send(conn.id, protocol::encode_frame(error, clock_(), options_.node_id));
    metrics_.delivered(error, 1);
    return;
  }
  const Binding binding = *found;
  const bool leaving = std::holds_alternative<protocol::Leave>(command);
  auto op = std::make_shared<Op>();
  auto shared_command = std::make_shared<protocol::Command>(std::move(command));
  op->sender = conn;
  op->apply = [this, binding, peer = conn.peer_id, shared_command, leaving](
                  room::RoomState& state, Millis now) {
    room::Effects effects = machine_.apply(
        state, room::Actor{binding.user_id, peer, options_.node_id}, *shared_command, now);
    // The leaver's close travels in the transition's message, ahead of its deliveries:
    // its node unbinds it before delivering, whether the message or the script's reply
    // (op->done below) comes back first, so it gets nothing after its LEAVE.
    if (leaving && effects.left) {
      effects.closes.push_back(room::CloseRequest{peer, 1000, "left the room"});
    }
    return effects;
  };
  if (leaving) {
    op->done = [this, conn, binding](const room::RoomState&, const room::Effects&) {
      auto it = bindings_.find(conn.id);
      if (it == bindings_.end() || it->second.room_id != binding.room_id) return;
      unbind(conn.id, conn.peer_id);
      outbox_.close(conn.id, 1000, "left the room");
    };
  }
  enqueue(binding.room_id, std::move(op));
}

void RedisRooms::join(const ConnectionInfo& conn, protocol::Command&& command, bool delay_served) {
  if (!delay_served) pin_delays_.cancel(conn.id);  // a newer JOIN replaces one still waiting
  const auto& request = std::get<protocol::Join>(command);
  const std::string room_id = request.room_id;
  const std::string user_id = request.user_id;
  const protocol::Capabilities capabilities = request.capabilities & ~protocol::kAnnounced;
  peers_[conn.peer_id] = conn.id;
  pending_joins_[conn.id] = Binding{room_id, user_id};
  rooms_[room_id].joining++;

  auto op = std::make_shared<Op>();
  auto shared_command = std::make_shared<protocol::Command>(std::move(command));
  // The lockout's counters (read before the JOIN), what it made of the JOIN (in apply, with
  // the room's state) and its verdict, carried out in done.
  auto counters = std::make_shared<PinCounters>();
  auto attempt = std::make_shared<std::optional<PinAttempt>>();
  auto verdict = std::make_shared<PinVerdict>();
  op->sender = conn;
  op->batchable = false;  // its connection becomes a member through the channel (message.sender)
  op->prepare = [this, conn, room_id, user_id, counters](std::function<void(bool)> next) {
    fetch_pin_counters(conn, room_id, user_id, counters, std::move(next));
  };
  op->apply = [this, conn, user_id, delay_served, shared_command, counters, attempt, verdict](
                  room::RoomState& state, Millis now) {
    *attempt = PinLockout::attempt(state, std::get<protocol::Join>(*shared_command), conn.peer_id,
                                   conn.remote_address, delay_served,
                                   pin_delays_.in_flight(pin_address_key(conn.remote_address)));
    *verdict = *attempt ? pin_lockout_.decide(**attempt, *counters) : PinVerdict{};
    // A delayed check waits off the room's queue (done), then comes back as a new JOIN.
    return join_step(machine_, state,
                     room::Actor{user_id, conn.peer_id, options_.node_id, conn.remote_address},
                     *shared_command, *verdict, now);
  };
  // Whatever the outcome, the JOIN is no longer pending.
  auto settle = [this, conn, room_id, user_id]() -> bool {
    if (auto entry = rooms_.find(room_id); entry != rooms_.end() && entry->second.joining > 0) {
      entry->second.joining--;
    }
    auto pending = pending_joins_.find(conn.id);
    if (pending != pending_joins_.end() && pending->second.room_id == room_id &&
        pending->second.user_id == user_id) {
      pending_joins_.erase(pending);
    }
    return peers_.count(conn.peer_id) > 0;  // still open
  };
  // The connection stays in peers_ whatever happens (on_close removes it): a refusal that
  // changed the room (one Redis had lost) reaches it through the channel, perhaps after
  // the commit's own reply.
  op->failed = [settle] { settle(); };
  op->done = [this, conn, room_id, user_id, capabilities, shared_command, counters, attempt, verdict, settle](
                 const room::RoomState&, const room::Effects& effects) {
    const bool still_open = settle();
    if (verdict->action == PinVerdict::Action::refuse) {
      metrics_.pin_locked_joins.inc();
      return;
    }
    if (verdict->action == PinVerdict::Action::delay) {
      if (still_open) delay_join(conn, *shared_command, verdict->wait);
      return;
    }
    if (!effects.joined) {
      if (room::has_record(effects, "PIN_FAILED")) {
        metrics_.pin_failures.inc();
        if (*attempt) count_pin_failure(conn, room_id, user_id, **attempt, *counters);
      }
      return;  // refused: the connection stays where it was (bound elsewhere, or nowhere)
    }
    bind_joined(conn, room_id, user_id, capabilities, still_open);
  };
  enqueue(room_id, std::move(op));
}

void RedisRooms::delay_join(const ConnectionInfo& conn, const protocol::Command& command,
                            Millis wait) {
  const bool armed = pin_delays_.start(conn.id, pin_address_key(conn.remote_address), wait,
                                       [this, conn, delayed = command]() mutable {
                                         join(conn, std::move(delayed), true);
                                       });
  if (armed) {
    metrics_.pin_delayed_checks.inc();
    return;
  }
  // Another check from this address started waiting meanwhile: what decide() says then.
  metrics_.pin_locked_joins.inc();
  const protocol::Event locked = pin_locked_error(wait);
  outbox_.send(conn.id, protocol::encode_frame(locked, clock_(), options_.node_id));
  metrics_.delivered(locked, 1);
}

void RedisRooms::bind_joined(const ConnectionInfo& conn, const std::string& room_id,
                             const std::string& user_id, protocol::Capabilities capabilities,
                             bool still_open) {
  redis_->command({"SADD", keys::node_rooms(options_.node_id), room_id},
                  writes_.expect("node_rooms_add", room_id));
  if (!still_open) {
    // Closed while joining: now a member with no connection, like any drop.
    auto drop = std::make_shared<Op>();
    drop->internal = true;
    drop->apply = [this, user_id, peer = conn.peer_id](room::RoomState& state, Millis now) {
      return machine_.disconnect(state, user_id, peer, now);
    };
    enqueue(room_id, std::move(drop));
    return;
  }
  std::optional<Binding> previous;
  if (auto bound = bindings_.find(conn.id); bound != bindings_.end()) {
    if (bound->second.room_id != room_id || bound->second.user_id != user_id) {
      previous = bound->second;
    }
    if (auto old = rooms_.find(bound->second.room_id); old != rooms_.end()) {
      old->second.local.erase(conn.id);
    }
  }
  bindings_[conn.id] = Binding{room_id, user_id};
  peers_[conn.peer_id] = conn.id;
  rooms_[room_id].local[conn.id] = RoomEntry::LocalMember{user_id, conn.peer_id, capabilities};
  logger_.debug("joined", {{"room", room_id}, {"user", user_id}, {"peer", conn.peer_id}});
  if (previous) {
    // Moved to another room (or identity): the old membership ends now that the new
    // one exists, so a refused JOIN leaves it where it was.
    auto leave = std::make_shared<Op>();
    leave->internal = true;
    leave->apply = [this, previous, peer = conn.peer_id](room::RoomState& state, Millis now) {
      return leave_previous_step(machine_, state, previous->user_id, peer, now);
    };
    enqueue(previous->room_id, std::move(leave));
  }
}

void RedisRooms::fetch_pin_counters(const ConnectionInfo& conn, const std::string& room_id,
                                    const std::string& user_id,
                                    std::shared_ptr<PinCounters> counters,
                                    std::function<void(bool ok)> done) {
  struct Pending {
    int replies = 0;
    bool ok = true;
    std::function<void(bool)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  constexpr int kReads = 4;
  // PTTL: milliseconds left, or -2 (no lock).
  const auto lock_into = [pending, counters](Millis PinCounters::*field) {
    return [pending, counters, field](redis::Reply reply) {
      if (reply.is_integer()) {
        (*counters).*field = std::max<Millis>(0, reply.integer);
      } else {
        pending->ok = false;
      }
      if (++pending->replies == kReads) pending->done(pending->ok);
    };
  };
  const std::string address = pin_address_key(conn.remote_address);
  redis_->command({"PTTL", keys::pin_addr_room_lock(room_id, address)},
                  lock_into(&PinCounters::address_room_locked_for));
  redis_->command({"PTTL", keys::pin_addr_lock(address)},
                  lock_into(&PinCounters::address_locked_for));
  redis_->command({"PTTL", keys::pin_claim_lock(room_id, user_id)},
                  lock_into(&PinCounters::member_claim_locked_for));
  redis_->command({"GET", keys::pin_room_fails(room_id)}, [pending, counters](redis::Reply reply) {
    if (reply.is_string()) {
      counters->room_failures = static_cast<std::size_t>(std::strtoull(reply.str.c_str(), nullptr, 10));
    } else if (!reply.is_nil()) {
      pending->ok = false;
    }
    if (++pending->replies == kReads) pending->done(pending->ok);
  });
}

void RedisRooms::count_pin_failure(const ConnectionInfo& conn, const std::string& room_id,
                                   const std::string& user_id, const PinAttempt& attempt,
                                   const PinCounters& counters) {
  const auto& options = pin_lockout_.options();
  const std::string address = pin_address_key(conn.remote_address);
  // One script call per hash slot: the room's keys, then the address's.
  struct Call {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<PinScope> scopes;
  };
  Call in_room{{}, {std::to_string(options.window), std::to_string(options.lockout)}, {}};
  Call in_address = in_room;
  for (const PinCount& count : pin_lockout_.on_failure(attempt, counters)) {
    Call& call = count.scope == PinScope::address ? in_address : in_room;
    switch (count.scope) {
      case PinScope::address_room:
        call.keys.insert(call.keys.end(), {keys::pin_addr_room_fails(room_id, address),
                                           keys::pin_addr_room_lock(room_id, address)});
        break;
      case PinScope::address:
        call.keys.insert(call.keys.end(), {keys::pin_addr_fails(address), keys::pin_addr_lock(address)});
        break;
      case PinScope::room:
        call.keys.insert(call.keys.end(), {keys::pin_room_fails(room_id), keys::pin_room_lock(room_id)});
        break;
      case PinScope::member_claim:
        call.keys.insert(call.keys.end(), {keys::pin_claim_fails(room_id, user_id),
                                           keys::pin_claim_lock(room_id, user_id)});
        break;
    }
    call.args.insert(call.args.end(), {std::to_string(count.limit), count.sliding ? "1" : "0"});
    call.scopes.push_back(count.scope);
  }
  std::weak_ptr<RedisRooms*> alive = alive_;
  for (Call* call : {&in_room, &in_address}) {
    if (call->scopes.empty()) continue;
    auto on_reply = [alive, room_id, user_id, address = conn.remote_address,
                     scopes = call->scopes](redis::Reply reply) {
      auto self = alive.lock();
      if (!self) return;
      RedisRooms& rooms = **self;
      if (!reply.is_array()) {  // the failure is not counted: the lock it may set is missed
        rooms.writes_.expect("pin_failure_count", room_id)(std::move(reply));
        return;
      }
      for (std::size_t i = 0; i < reply.elements.size() && i < scopes.size(); ++i) {
        if (!reply.elements[i].is_integer() || reply.elements[i].integer != 1) continue;
        rooms.metrics_.pin_lockouts.inc();
        rooms.logger_.warn("pin_lockout",
                           {{"room", room_id}, {"remote", address}, {"scope", to_string(scopes[i])}});
        // Counted after the JOIN committed: the row follows its PIN_FAILED, as standalone.
        rooms.journal_.audit(room_id, pin_lockout_record(user_id, address, scopes[i]),
                             rooms.clock_());
      }
    };
    redis_->eval_sha(pin_fail_script_, call->keys, call->args, on_reply);
  }
}

void RedisRooms::on_close(const ConnectionInfo& conn, CloseKind kind) {
  pin_delays_.cancel(conn.id);
  pending_joins_.erase(conn.id);  // its JOIN, if queued, sees the connection gone
  auto bound = bindings_.find(conn.id);
  if (bound == bindings_.end()) {
    if (auto peer = peers_.find(conn.peer_id); peer != peers_.end() && peer->second == conn.id) {
      peers_.erase(peer);
    }
    return;
  }
  const Binding binding = bound->second;
  unbind(conn.id, conn.peer_id);
  auto op = std::make_shared<Op>();
  op->internal = true;
  op->apply = [this, binding, peer = conn.peer_id, kind](room::RoomState& state, Millis now) {
    return close_step(machine_, state, binding.user_id, peer, kind, now);
  };
  enqueue(binding.room_id, std::move(op));
}

void RedisRooms::unbind(ConnId conn, const std::string& peer_id) {
  auto bound = bindings_.find(conn);
  if (bound != bindings_.end()) {
    if (auto entry = rooms_.find(bound->second.room_id); entry != rooms_.end()) {
      entry->second.local.erase(conn);
    }
    bindings_.erase(bound);
  }
  if (auto it = peers_.find(peer_id); it != peers_.end() && it->second == conn) peers_.erase(it);
}

// ---- the channel side ---------------------------------------------------------------

void RedisRooms::ensure_subscribed(const std::string& room_id) {
  RoomEntry& entry = rooms_[room_id];
  if (entry.want_subscription) return;
  entry.want_subscription = true;
  subscriber_->subscribe(keys::room_channel(room_id));
}

void RedisRooms::on_subscribed(const std::string& channel) {
  auto room_id = room_of_channel(channel);
  if (!room_id) return;
  auto it = rooms_.find(*room_id);
  if (it == rooms_.end()) return;
  it->second.subscribed = true;
  it->second.fresh = false;  // read the snapshot again: messages may have been missed
  pump(*room_id);
}

void RedisRooms::maybe_release(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  RoomEntry& entry = it->second;
  if (entry.busy || !entry.queue.empty() || !entry.local.empty() || entry.joining > 0 ||
      entry.awaiting_version != 0) {
    return;
  }
  if (entry.fresh && entry.cache) {
    const bool ours = std::any_of(entry.cache->members.begin(), entry.cache->members.end(),
                                  [&](const room::Member& m) { return m.node_id == options_.node_id; });
    // Keep the room in this node's index while it has members recorded here (in their
    // grace period), so survivors find them if this node dies.
    if (!ours) {
      redis_->command({"SREM", keys::node_rooms(options_.node_id), room_id},
                      writes_.expect("node_rooms_remove", room_id));
    }
  }
  if (entry.want_subscription) subscriber_->unsubscribe(keys::room_channel(room_id));
  rooms_.erase(it);
}

void RedisRooms::on_message(const std::string& channel, const std::string& text) {
  cluster_metrics_->messages_in.inc();
  auto room_id = room_of_channel(channel);
  auto it = room_id ? rooms_.find(*room_id) : rooms_.end();
  if (it == rooms_.end()) return;
  RoomEntry& entry = it->second;
  auto message = decode_message(text);
  if (!message) {
    cluster_metrics_->bad_messages.inc();
    logger_.error("bad_cluster_message", {{"room", *room_id}, {"bytes", text.size()}});
    entry.fresh = false;
    return;
  }
  entry.latest_version = std::max(entry.latest_version, message->version);
  entry.heard_version = std::max(entry.heard_version, message->version);
  if (message->version != 0 && (!entry.cache || entry.cache->version < message->version)) {
    if (message->state) {
      entry.cache = std::move(*message->state);  // the truth as of this version
      entry.fresh = entry.subscribed;
      message->state.reset();
    } else {
      entry.fresh = false;  // changed elsewhere: read again before the next change here
    }
  }
  // The JOIN that this transition committed may not have heard back yet: its connection
  // becomes a local member now, so it misses nothing published after its own ROOM_STATE.
  if (message->version != 0 && !message->sender.empty() && entry.joining > 0 && entry.cache) {
    if (auto peer = peers_.find(message->sender); peer != peers_.end()) {
      for (const auto& member : entry.cache->members) {
        if (member.peer_id == message->sender && member.node_id == options_.node_id &&
            entry.local.count(peer->second) == 0) {
          entry.local[peer->second] =
              RoomEntry::LocalMember{member.user_id, member.peer_id, member.capabilities};
        }
      }
    }
  }
  for (const auto& close : message->closes) {
    auto peer = peers_.find(close.peer);
    if (peer == peers_.end()) continue;
    const ConnId conn = peer->second;
    unbind(conn, close.peer);
    entry.local.erase(conn);
    outbox_.close(conn, close.code, close.reason);
  }
  for (auto& delivery : message->deliveries) {
    std::size_t recipients = 0;
    // Shared per variant: index 0 is delivery.frame, i + 1 delivery.variants[i].
    std::vector<protocol::Frame> frames(1 + delivery.variants.size());
    auto send = [&](ConnId conn, protocol::Capabilities capabilities) {
      const std::size_t i = delivery.variant_for(capabilities);
      if (!frames[i]) {
        frames[i] = std::make_shared<const std::string>(
            std::move(i == 0 ? delivery.frame : delivery.variants[i - 1].second));
      }
      outbox_.send(conn, frames[i]);
      ++recipients;
    };
    if (delivery.target == Target::peer) {
      if (auto peer = peers_.find(delivery.peer); peer != peers_.end()) send(peer->second, 0);
    } else {
      for (const auto& [conn, local] : entry.local) {
        switch (delivery.target) {
          case Target::all: send(conn, local.capabilities); break;
          case Target::except: {
            const std::string& sender = delivery.peer.empty() ? message->sender : delivery.peer;
            if (local.user_id != delivery.user && local.peer_id != sender) {
              send(conn, local.capabilities);
            }
            break;
          }
          case Target::user:
            if (local.user_id == delivery.user &&
                (delivery.peer.empty() || local.peer_id == delivery.peer)) {
              send(conn, local.capabilities);
            }
            break;
          case Target::peer: break;
        }
      }
    }
    metrics_.delivered(delivery.type, delivery.error_code, recipients);
  }
  if (entry.awaiting_version != 0 && entry.heard_version >= entry.awaiting_version) {
    entry.awaiting_version = 0;
    maybe_release(*room_id);  // last: it may erase `entry`
  }
}

// ---- timers, liveness, sweeping --------------------------------------------------------

void RedisRooms::arm(const std::string& room_id, const room::TimerRequest& request, Millis now) {
  auto timer = std::make_shared<boost::asio::steady_timer>(
      executor_, std::chrono::milliseconds(std::max<Millis>(0, request.at - now)));
  std::weak_ptr<RedisRooms*> alive = alive_;
  timer->async_wait([alive, timer, room_id, request](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self || (**self).stopped_) return;
    RedisRooms& rooms = **self;
    auto op = std::make_shared<Op>();
    op->internal = true;
    op->apply = [&rooms, request](room::RoomState& state, Millis now) {
      return rooms.machine_.on_timer(state, request.kind, request.token, request.user_id, now);
    };
    rooms.enqueue(room_id, std::move(op));
  });
}

void RedisRooms::refresh_liveness() {
  if (!stopped_) liveness_->refresh();
}

void RedisRooms::heal_after_lost_registration() {
  cluster_metrics_->lost_registration.inc();
  logger_.warn("registration_lost", {{"detail", "liveness key was gone; checking local members"}});
  for (auto& [room_id, entry] : rooms_) {
    if (entry.local.empty()) continue;
    redis_->command({"SADD", keys::node_rooms(options_.node_id), room_id},
                    writes_.expect("node_rooms_add", room_id));
    auto op = std::make_shared<Op>();
    op->internal = true;
    op->may_recreate = false;  // a room Redis lost comes back with its next real change
    op->batchable = false;
    auto missing = std::make_shared<std::vector<ConnId>>();
    op->apply = [this, room_id = room_id, missing](room::RoomState& state, Millis) {
      missing->clear();
      auto entry = rooms_.find(room_id);
      if (entry == rooms_.end()) return room::Effects{};
      for (const auto& [conn, local] : entry->second.local) {
        const room::Member* member = state.find_member(local.user_id);
        if (member == nullptr || member->peer_id != local.peer_id) missing->push_back(conn);
      }
      return room::Effects{};
    };
    op->done = [this, missing](const room::RoomState&, const room::Effects&) {
      // Removed by other nodes while this one looked dead: the client must join again.
      for (ConnId conn : *missing) {
        for (auto it = peers_.begin(); it != peers_.end(); ++it) {
          if (it->second != conn) continue;
          unbind(conn, it->first);
          break;
        }
        outbox_.close(conn, 1012, "node lost its cluster membership; reconnect");
      }
    };
    enqueue(room_id, std::move(op));
  }
}

void RedisRooms::sweep() {
  const Millis now = clock_();
  for (auto& [room_id, entry] : rooms_) {
    // A stale copy is a hint only: the queued sweep re-reads the room and changes nothing
    // if the copy was wrong.
    if (!entry.cache || entry.sweep_queued) continue;
    room::RoomState copy = *entry.cache;
    if (!machine_.sweep(copy, now).changed) continue;
    entry.sweep_queued = true;
    auto op = std::make_shared<Op>();
    op->internal = true;
    op->apply = [this, room_id = room_id](room::RoomState& state, Millis at) {
      if (auto e = rooms_.find(room_id); e != rooms_.end()) e->second.sweep_queued = false;
      return machine_.sweep(state, at);
    };
    enqueue(room_id, std::move(op));
  }
  liveness_->find_dead_nodes();
}

void RedisRooms::reap_room(const std::string& node_id, const std::string& room_id,
                           bool own_leftovers, std::function<void(bool ok)> done) {
  auto op = std::make_shared<Op>();
  op->internal = true;
  op->retries_left = 3;
  op->apply = [this, node_id, own_leftovers, room_id](room::RoomState& state, Millis now) {
    room::Effects effects;
    std::vector<std::pair<std::string, std::string>> targets;
    auto entry = rooms_.find(room_id);
    for (const auto& member : state.members) {
      if (member.node_id != node_id) continue;
      if (own_leftovers) {
        // This node's own earlier run: skip connections bound here now.
        bool bound = false;
        if (entry != rooms_.end()) {
          for (const auto& [conn, local] : entry->second.local) bound |= local.peer_id == member.peer_id;
        }
        if (bound || !member.connected) continue;
      }
      targets.emplace_back(member.user_id, member.peer_id);
    }
    for (const auto& [user, peer] : targets) {
      if (own_leftovers) {
        merge(effects, machine_.disconnect(state, user, peer, now));
      } else {
        merge(effects, machine_.remove_member(state, user, room::LeaveReason::node_dead, now));
        cluster_metrics_->dead_members.inc();
      }
    }
    return effects;
  };
  op->done = [done](const room::RoomState&, const room::Effects&) { done(true); };
  // Gave up (Redis unreachable): the node stays registered; a later sweep retries.
  op->failed = [done] { done(false); };
  enqueue(room_id, std::move(op));
}

// ---- journal ------------------------------------------------------------------------

void RedisRooms::flush_snapshots() { journal_.flush(clock_()); }

// ---- HTTP -----------------------------------------------------------------------------

void RedisRooms::room_status(const std::string& room_id, std::function<void(json::array)> done) {
  directory_->room_status(room_id, std::move(done));
}

void RedisRooms::list_rooms(const std::string& after, std::size_t limit,
                            std::function<void(RoomPage)> done) {
  directory_->list_rooms(after, limit, std::move(done));
}

void RedisRooms::nodes(std::function<void(json::array)> done) { directory_->nodes(std::move(done)); }

void RedisRooms::short_id_for(const std::string& room_id, const std::string& client_address,
                              std::function<void(ShortIdAnswer)> done) {
  short_ids_->issue(room_id, client_address, std::move(done));
}

void RedisRooms::room_for_short_id(const std::string& short_id,
                                   std::function<void(std::optional<std::string>)> done) {
  short_ids_->resolve(short_id, std::move(done));
}

}  // namespace tandem::cluster
