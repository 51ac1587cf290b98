#include "cluster/redis_rooms.hpp"

#include "cluster/node_liveness.hpp"
#include "cluster/redis_directory.hpp"
#include "cluster/redis_keys.hpp"
#include "cluster/redis_pin_counters.hpp"
#include "cluster/redis_room_channel.hpp"
#include "cluster/room_steps.hpp"
#include "redis/redis_connection.hpp"
#include "redis/redis_subscriber.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>

namespace tandem::cluster {

using protocol::Millis;
namespace json = boost::json;

RedisRooms::RedisRooms(boost::asio::any_io_executor executor, Outbox& outbox,
                       const room::RoomMachine& machine, obs::Registry& registry,
                       obs::Logger& logger, RedisRoomsOptions options,
                       std::function<Millis()> clock)
    : executor_(std::move(executor)),
      outbox_(outbox),
      machine_(machine),
      logger_(logger),
      metrics_(registry),
      cluster_metrics_(registry),
      options_(std::move(options)),
      clock_(std::move(clock)),
      pin_lockout_(options_.pin_lockout),
      pin_delays_(executor_),
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
  pins_ = std::make_unique<RedisPinCounters>(*redis_, pin_lockout_, metrics_, journal_, writes_,
                                             logger_, clock_);
  RedisRoomQueue::Hooks queue_hooks;
  queue_hooks.channel_up = [this] { return channel_->connected(); };
  queue_hooks.subscribe = [this](const std::string& room_id) { channel_->subscribe(room_id); };
  queue_hooks.release = [this](const std::string& room_id) { maybe_release(room_id); };
  queue_hooks.send_error = [this](const ConnectionInfo& conn, protocol::ErrorCode code,
                                  std::string message) { send_error(conn, code, std::move(message)); };
  queue_hooks.committed = [this](const std::string& room_id, const std::vector<RoomOpPtr>& ops,
                                 const room::RoomState& next, const room::Effects& effects,
                                 Millis now) { after_commit(room_id, ops, next, effects, now); };
  queue_hooks.unchanged = [this](const std::string& room_id, RoomOp& op,
                                 const room::RoomState& state,
                                 Millis now) { after_unchanged(room_id, op, state, now); };
  queue_ = std::make_unique<RedisRoomQueue>(
      executor_, *redis_, rooms_, machine_, cluster_metrics_, writes_, logger_,
      RedisRoomQueue::Options{options_.node_id, options_.max_queued_per_room,
                              options_.max_attempts, options_.tombstone_ttl,
                              options_.load_from_record},
      std::move(queue_hooks), clock_);
  RedisRoomChannel::Hooks channel_hooks;
  channel_hooks.pump = [this](const std::string& room_id) { queue_->pump(room_id); };
  channel_hooks.unbind = [this](ConnId conn, const std::string& peer) { unbind(conn, peer); };
  channel_hooks.release = [this](const std::string& room_id) { maybe_release(room_id); };
  channel_hooks.joining = [this](ConnId conn,
                                 const std::string& room_id) -> std::optional<std::string> {
    auto pending = pending_joins_.find(conn);
    if (pending == pending_joins_.end() || pending->second.room_id != room_id) return std::nullopt;
    return pending->second.user_id;
  };
  channel_ = std::make_unique<RedisRoomChannel>(*subscriber_, rooms_, peers_, outbox_, metrics_,
                                                cluster_metrics_, logger_, options_.node_id,
                                                std::move(channel_hooks));
  register_room_gauges(
      registry, [this] { return room_count(); }, [this] { return bindings_.size(); },
      [this] { return journal_.unsaved(); });
  registry.gauge_callback("tandem_cluster_subscribed_rooms",
                          "Room channels this node is subscribed to",
                          [this] { return static_cast<double>(subscriber_->channels().size()); });
}

RedisRooms::~RedisRooms() = default;

void RedisRooms::start() {
  channel_->start();
  std::weak_ptr<RedisRooms*> alive = alive_;
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
  queue_->stop();
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

bool RedisRooms::idle() const { return queue_->idle(); }

bool RedisRooms::backends_ready() const {
  return redis_->connected() && channel_->connected();
}

// ---- what a transition means to this node ---------------------------------------------

void RedisRooms::after_commit(const std::string& room_id, const std::vector<RoomOpPtr>& ops,
                              const room::RoomState& next, const room::Effects& effects, Millis now) {
  for (const auto& timer : effects.timers) arm(room_id, timer, now);
  for (const auto& one : ops) {  // per operation: merging keeps only one outcome
    if (one->effects.gate_outcome) metrics_.gate(*one->effects.gate_outcome);
    if (one->effects.relay_dropped) metrics_.relays_dropped.inc();
    metrics_.observe(one->effects);
  }
  const bool created = room::has_record(effects, "ROOM_CREATED");
  if (created) metrics_.rooms_created.inc();
  journal_.record(room_id, effects, next, now);
  if (next.members.empty()) {
    metrics_.rooms_archived.inc();
    redis_->command({"ZREM", std::string(keys::kRoomIndex), room_id},
                    writes_.expect("room_index_remove", room_id));
    short_ids_->room_ended(room_id);
  } else if (effects.joined || ops.front()->recreated) {
    redis_->command({"ZADD", std::string(keys::kRoomIndex), "0", room_id},
                    writes_.expect("room_index_add", room_id));
    // A share link asked for before the room existed now lives as long as any other.
    if (created) short_ids_->room_created(room_id);
  }
}

void RedisRooms::after_unchanged(const std::string& room_id, RoomOp& op,
                                 const room::RoomState& state, Millis now) {
  // What goes to the sender goes straight to it; the rest stays for the channel.
  auto& deliveries = op.effects.deliveries;
  for (const auto& delivery : deliveries) {
    if (delivery.audience != room::Audience::sender || !op.sender) continue;
    outbox_.send(op.sender->id, protocol::encode_frame(delivery.event, now, options_.node_id));
    metrics_.delivered(delivery.event, 1);
  }
  deliveries.erase(std::remove_if(deliveries.begin(), deliveries.end(),
                                  [](const auto& d) { return d.audience == room::Audience::sender; }),
                   deliveries.end());
  if (op.effects.relay_dropped) metrics_.relays_dropped.inc();
  if (op.effects.gate_outcome) metrics_.gate(*op.effects.gate_outcome);
  journal_.record(room_id, op.effects, state, now);
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
  auto op = std::make_shared<RoomOp>();
  auto shared_command = std::make_shared<protocol::Command>(std::move(command));
  op->sender = conn;
  op->apply = [this, binding, peer = conn.peer_id, shared_command, leaving](
                  room::RoomState& state, Millis now) {
    // Queued behind a JOIN that was refused (or replaced since): not a member, as a
    // connection bound nowhere is answered standalone.
    const room::Member* member = state.find_member(binding.user_id);
    if (member == nullptr || member->peer_id != peer) {
      room::Effects refused;
      refused.deliveries.push_back(room::Delivery{room::Audience::sender, {}, not_joined_error()});
      return refused;
    }
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
  queue_->enqueue(binding.room_id, std::move(op));
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

  // The JOIN as the lockout sees it: its counters (read before the JOIN), what it made of
  // the JOIN (in apply, with the room's state) and its verdict, carried out in done.
  struct JoinCheck {
    protocol::Command command;
    PinCounters counters;
    std::optional<PinAttempt> attempt;
    PinVerdict verdict;
    // ROOM_MAX_NEW_PER_ADDRESS, asked once (a retry after a conflict must not count again).
    bool new_room_asked = false;
    std::optional<Millis> new_room_wait;
  };
  auto check =
      std::make_shared<JoinCheck>(JoinCheck{std::move(command), {}, {}, {}, false, std::nullopt});
  auto op = std::make_shared<RoomOp>();
  op->sender = conn;
  op->batchable = false;  // its connection becomes a member through the channel (message.sender)
  op->prepare = [this, room_id, user_id, address = conn.remote_address,
                 check](std::function<void(bool)> next) {
    pins_->fetch(room_id, user_id, address,
                 [check, next = std::move(next)](std::optional<PinCounters> counters) {
                   if (counters) check->counters = *counters;
                   next(counters.has_value());
                 });
  };
  op->apply = [this, conn, room_id, user_id, delay_served, check](room::RoomState& state,
                                                                  Millis now) {
    if (state.members.empty() && !check->new_room_asked) {  // this JOIN would create the room
      check->new_room_asked = true;
      check->new_room_wait = refuse_new_room(conn.remote_address, room_id);
    }
    if (state.members.empty() && check->new_room_wait) {
      check->attempt.reset();
      check->verdict = PinVerdict{};
      room::Effects refused;  // changes nothing: answered to the sender only
      refused.deliveries.push_back(room::Delivery{room::Audience::sender, {},
                                                  new_room_refused_error(*check->new_room_wait)});
      return refused;
    }
    check->attempt = PinLockout::attempt(state, std::get<protocol::Join>(check->command), conn.peer_id,
                                         conn.remote_address, delay_served,
                                         pin_delays_.in_flight(pin_address_key(conn.remote_address)));
    check->verdict = check->attempt ? pin_lockout_.decide(*check->attempt, check->counters) : PinVerdict{};
    // A delayed check waits off the room's queue (done), then comes back as a new JOIN.
    return join_step(machine_, state,
                     room::Actor{user_id, conn.peer_id, options_.node_id, conn.remote_address},
                     check->command, check->verdict, now);
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
  op->done = [this, conn, room_id, user_id, capabilities, check, settle](
                 const room::RoomState& next, const room::Effects& effects) {
    // Before settling: while the JOIN is pending, its message (if it came first) made the
    // connection a local member already.
    const bool adopted = [&] {
      auto entry = rooms_.find(room_id);
      if (entry == rooms_.end()) return false;
      auto local = entry->second.local.find(conn.id);
      return local != entry->second.local.end() && local->second.user_id == user_id;
    }();
    const bool still_open = settle();
    if (check->verdict.action == PinVerdict::Action::refuse) {
      metrics_.pin_locked_joins.inc();
      return;
    }
    if (check->verdict.action == PinVerdict::Action::delay) {
      if (still_open) delay_join(conn, check->command, check->verdict.wait);
      return;
    }
    if (!effects.joined) {
      if (room::has_record(effects, "PIN_FAILED")) {
        metrics_.pin_failures.inc();
        if (check->attempt) {
          pins_->count_failure(room_id, user_id, conn.remote_address, *check->attempt, check->counters);
        }
      }
      return;  // refused: the connection stays where it was (bound elsewhere, or nowhere)
    }
    bind_joined(conn, room_id, RedisRoomEntry::LocalMember{user_id, conn.peer_id, capabilities},
                next.version, still_open, adopted);
  };
  queue_->enqueue(room_id, std::move(op));
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
                             RedisRoomEntry::LocalMember member, std::uint64_t version,
                             bool still_open, bool adopted) {
  redis_->command({"SADD", keys::node_rooms(options_.node_id), room_id},
                  writes_.expect("node_rooms_add", room_id));
  const std::string user_id = member.user_id;
  if (!still_open) {
    // Closed while joining: now a member with no connection, like any drop.
    auto drop = std::make_shared<RoomOp>();
    drop->internal = true;
    drop->apply = [this, user_id, peer = conn.peer_id](room::RoomState& state, Millis now) {
      return machine_.disconnect(state, user_id, peer, now);
    };
    queue_->enqueue(room_id, std::move(drop));
    return;
  }
  std::optional<Binding> previous;
  if (auto bound = bindings_.find(conn.id); bound != bindings_.end()) {
    if (bound->second.room_id != room_id || bound->second.user_id != user_id) {
      previous = bound->second;
    }
    if (bound->second.room_id != room_id) forget_local(bound->second.room_id, conn.id);
  }
  bindings_[conn.id] = Binding{room_id, user_id};
  peers_[conn.peer_id] = conn.id;
  // Deliveries start at the JOIN's own message (RedisRoomChannel::adopt_joiner): if that
  // came first, the connection is a member here already; if the channel heard it, or can
  // no longer bring it, it becomes one now; else when the message comes.
  RedisRoomEntry& entry = rooms_[room_id];
  if (!adopted) {
    if (entry.heard_version >= version || !entry.subscribed) {
      entry.local[conn.id] = std::move(member);
    } else {
      entry.joined_early[conn.id] = RedisRoomEntry::Joined{std::move(member), version};
    }
  }
  logger_.debug("joined", {{"room", room_id}, {"user", user_id}, {"peer", conn.peer_id}});
  if (previous) {
    // Moved to another room (or identity): the old membership ends now that the new
    // one exists, so a refused JOIN leaves it where it was.
    auto leave = std::make_shared<RoomOp>();
    leave->internal = true;
    leave->apply = [this, previous, peer = conn.peer_id](room::RoomState& state, Millis now) {
      return leave_previous_step(machine_, state, previous->user_id, peer, now);
    };
    queue_->enqueue(previous->room_id, std::move(leave));
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
  auto op = std::make_shared<RoomOp>();
  op->internal = true;
  op->apply = [this, binding, peer = conn.peer_id, kind](room::RoomState& state, Millis now) {
    return close_step(machine_, state, binding.user_id, peer, kind, now);
  };
  queue_->enqueue(binding.room_id, std::move(op));
}

void RedisRooms::unbind(ConnId conn, const std::string& peer_id) {
  auto bound = bindings_.find(conn);
  if (bound != bindings_.end()) {
    forget_local(bound->second.room_id, conn);
    bindings_.erase(bound);
  }
  if (auto it = peers_.find(peer_id); it != peers_.end() && it->second == conn) peers_.erase(it);
}

void RedisRooms::forget_local(const std::string& room_id, ConnId conn) {
  auto entry = rooms_.find(room_id);
  if (entry == rooms_.end()) return;
  entry->second.local.erase(conn);
  entry->second.joined_early.erase(conn);
}

void RedisRooms::maybe_release(const std::string& room_id) {
  auto it = rooms_.find(room_id);
  if (it == rooms_.end()) return;
  RedisRoomEntry& entry = it->second;
  if (entry.busy || !entry.queue.empty() || !entry.local.empty() ||
      !entry.joined_early.empty() || entry.joining > 0 ||
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
  channel_->release(room_id, entry);
  rooms_.erase(it);
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
    auto op = std::make_shared<RoomOp>();
    op->internal = true;
    op->apply = [&rooms, request](room::RoomState& state, Millis now) {
      return rooms.machine_.on_timer(state, request.kind, request.token, request.user_id, now);
    };
    rooms.queue_->enqueue(room_id, std::move(op));
  });
}

void RedisRooms::refresh_liveness() {
  if (!stopped_) liveness_->refresh();
}

void RedisRooms::heal_after_lost_registration() {
  cluster_metrics_.lost_registration.inc();
  logger_.warn("registration_lost", {{"detail", "liveness key was gone; checking local members"}});
  for (auto& [room_id, entry] : rooms_) {
    if (entry.local.empty()) continue;
    redis_->command({"SADD", keys::node_rooms(options_.node_id), room_id},
                    writes_.expect("node_rooms_add", room_id));
    auto op = std::make_shared<RoomOp>();
    op->internal = true;
    op->may_recreate = false;  // a room Redis lost comes back with its next real change
    op->batchable = false;
    // Reads the room only: `done` gets the state it read (nothing changes, no version).
    op->apply = [](room::RoomState&, Millis) { return room::Effects{}; };
    op->done = [this, room_id = room_id](const room::RoomState& state, const room::Effects&) {
      close_lost_members(room_id, state);
    };
    queue_->enqueue(room_id, std::move(op));
  }
}

void RedisRooms::close_lost_members(const std::string& room_id, const room::RoomState& state) {
  auto entry = rooms_.find(room_id);
  if (entry == rooms_.end()) return;
  std::vector<std::pair<ConnId, std::string>> lost;  // closing unbinds: collect first
  for (const auto& [conn, local] : entry->second.local) {
    const room::Member* member = state.find_member(local.user_id);
    if (member == nullptr || member->peer_id != local.peer_id) {
      lost.emplace_back(conn, local.peer_id);
    }
  }
  // Removed by other nodes while this one looked dead: the client must join again.
  for (const auto& [conn, peer] : lost) {
    unbind(conn, peer);
    outbox_.close(conn, 1012, "node lost its cluster membership; reconnect");
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
    auto op = std::make_shared<RoomOp>();
    op->internal = true;
    op->apply = [this, room_id = room_id](room::RoomState& state, Millis at) {
      if (auto e = rooms_.find(room_id); e != rooms_.end()) e->second.sweep_queued = false;
      return machine_.sweep(state, at);
    };
    queue_->enqueue(room_id, std::move(op));
  }
  liveness_->find_dead_nodes();
}

void RedisRooms::reap_room(const std::string& node_id, const std::string& room_id,
                           bool own_leftovers, std::function<void(bool ok)> done) {
  auto op = std::make_shared<RoomOp>();
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
        const bool bound = entry != rooms_.end() && entry->second.bound_here(member.peer_id);
        if (bound || !member.connected) continue;
      }
      targets.emplace_back(member.user_id, member.peer_id);
    }
    for (const auto& [user, peer] : targets) {
      if (own_leftovers) {
        merge(effects, machine_.disconnect(state, user, peer, now));
      } else {
        merge(effects, machine_.remove_member(state, user, room::LeaveReason::node_dead, now));
        cluster_metrics_.dead_members.inc();
      }
    }
    return effects;
  };
  op->done = [done](const room::RoomState&, const room::Effects&) { done(true); };
  // Gave up (Redis unreachable): the node stays registered; a later sweep retries.
  op->failed = [done] { done(false); };
  queue_->enqueue(room_id, std::move(op));
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
