#include "cluster/local_rooms.hpp"

#include "cluster/room_status.hpp"
#include "cluster/room_steps.hpp"
#include "protocol/frame_variants.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <iterator>

namespace tandem::cluster {

using protocol::Millis;

LocalRooms::LocalRooms(boost::asio::any_io_executor executor, Outbox& outbox,
                       const room::RoomMachine& machine, obs::Registry& registry,
                       obs::Logger& logger, LocalRoomsOptions options, Clock clock)
    : executor_(std::move(executor)),
      outbox_(outbox),
      machine_(machine),
      logger_(logger),
      metrics_(registry),
      options_(std::move(options)),
      clock_(std::move(clock)),
      short_ids_(options_.short_ids),
      short_id_rate_(options_.short_id_max_new_per_address, options_.short_id_rate_window,
                     options_.short_id_max_addresses),
      short_id_metrics_(registry, logger),
      pin_lockout_(options_.pin_lockout),
      pin_failures_(options_.pin_lockout.window, options_.pin_lockout.lockout,
                    options_.pin_lockout.max_entries),
      pin_delays_(executor_),
      journal_(options_.journal, TransitionJournal::Keep::reference),
      snapshot_timer_(executor_),
      alive_(std::make_shared<LocalRooms*>(this)) {
  register_room_gauges(
      registry, [this] { return rooms_.size(); }, [this] { return bindings_.size(); },
      [this] { return journal_.unsaved(); });
  if (options_.journal != nullptr) arm_snapshot_timer();
}

LocalRooms::~LocalRooms() = default;

void LocalRooms::arm_snapshot_timer() {
  snapshot_timer_.expires_after(std::chrono::milliseconds(options_.snapshot_interval));
  std::weak_ptr<LocalRooms*> alive = alive_;
  snapshot_timer_.async_wait([alive](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self) return;
    (**self).flush_snapshots();
    (**self).arm_snapshot_timer();
  });
}

void LocalRooms::flush_snapshots() {
  journal_.flush(clock_(), [this](const std::string& room_id) { return find(room_id); });
}

void LocalRooms::restore(std::vector<store::RoomSnapshot> rooms,
                         const std::vector<store::ShortIdRecord>& short_ids) {
  const Millis now = clock_();
  for (auto& snapshot : rooms) {
    const std::string room_id = snapshot.state.id;
    if (room_id.empty() || snapshot.state.members.empty()) continue;
    auto it = rooms_.insert_or_assign(room_id, std::move(snapshot.state)).first;
    room_index_.insert(room_id);
    room::RoomState& state = it->second;
    if (state.gate) {
      arm(room_id, room::TimerRequest{room::TimerKind::gate, state.gate->id, {}, state.gate->deadline},
          now);
    }
    // Every member gets a fresh grace window from now, whatever it had at shutdown.
    execute(room_id,
            restore_members_step(machine_, state, [](std::string_view) { return false; }, now),
            nullptr, now);
  }
  // After the rooms: an id whose room came back is not evictable.
  for (const auto& record : short_ids) {
    short_ids_.restore(ShortIdLease{record.short_id, record.room_id, record.expires_at},
                       rooms_.contains(record.room_id), now);
  }
  logger_.info("restored", {{"rooms", rooms_.size()}, {"shortIds", short_ids_.size()}});
}

void LocalRooms::forget_archived(const std::vector<std::string>& room_ids) {
  // The store archived these as idle; a room that has members here is not idle (its next
  // snapshot un-archives it), so only empty leftovers would be dropped.
  for (const auto& id : room_ids) {
    auto it = rooms_.find(id);
    if (it != rooms_.end() && it->second.members.empty()) erase_room(it, clock_());
  }
}

void LocalRooms::erase_room(std::unordered_map<std::string, room::RoomState>::iterator room,
                            Millis now) {
  const std::string room_id = room->first;
  rooms_.erase(room);
  room_index_.erase(room_id);
  const auto evicted = short_ids_.room_ended(room_id, now);
  short_id_metrics_.evicted(evicted.size());
  journal_short_ids(evicted);
}

void LocalRooms::journal_short_ids(const std::vector<ShortIdLease>& leases) {
  if (options_.journal == nullptr) return;
  for (const auto& lease : leases) {
    options_.journal->append(store::ShortIdRecord{lease.short_id, lease.room_id, lease.expires_at});
  }
}

namespace {

// The counters' keys in the standalone table (cluster mode: redis_keys.hpp).
std::string pin_key(PinScope scope, const std::string& room_id, const std::string& address_key,
                    const std::string& user_id) {
  switch (scope) {
    case PinScope::address_room:
      return "ar " + room_id + " " + address_key;
    case PinScope::address:
      return "a " + address_key;
    case PinScope::room:
      return "r " + room_id;
    case PinScope::member_claim:
      return "c " + room_id + " " + user_id;
  }
  return {};
}

}  // namespace

PinCounters LocalRooms::pin_counters(const std::string& address_key, const std::string& room_id,
                                     const std::string& user_id, Millis now) const {
  const auto key = [&](PinScope scope) { return pin_key(scope, room_id, address_key, user_id); };
  PinCounters counters;
  counters.address_room_locked_for = pin_failures_.locked_for(key(PinScope::address_room), now);
  counters.address_locked_for = pin_failures_.locked_for(key(PinScope::address), now);
  counters.member_claim_locked_for = pin_failures_.locked_for(key(PinScope::member_claim), now);
  counters.room_failures = pin_failures_.failures(key(PinScope::room), now);
  return counters;
}

std::optional<PinVerdict> LocalRooms::admit_pin_check(const ConnectionInfo& conn,
                                                      protocol::Command& command,
                                                      const PinAttempt& attempt,
                                                      const PinCounters& counters) {
  const PinVerdict verdict = pin_lockout_.decide(attempt, counters);
  if (verdict.action == PinVerdict::Action::delay) {
    // Armed only when no other check of this address waits (decide() saw none).
    pin_delays_.start(conn.id, pin_address_key(conn.remote_address), verdict.wait,
                      [this, conn, delayed = std::move(command)]() mutable {
                        join(conn, std::move(delayed), true);
                      });
    metrics_.pin_delayed_checks.inc();
    return std::nullopt;
  }
  if (verdict.action == PinVerdict::Action::refuse) metrics_.pin_locked_joins.inc();
  return verdict;
}

void LocalRooms::count_pin_failure(const ConnectionInfo& conn, const std::string& room_id,
                                   const std::string& user_id, const PinAttempt& attempt,
                                   const PinCounters& counters, room::Effects& effects,
                                   Millis now) {
  const std::string address_key = pin_address_key(conn.remote_address);
  for (const PinCount& count : pin_lockout_.on_failure(attempt, counters)) {
    if (!pin_failures_.fail(pin_key(count.scope, room_id, address_key, user_id), count.limit,
                            count.sliding, now)) {
      continue;
    }
    metrics_.pin_lockouts.inc();
    logger_.warn("pin_lockout", {{"room", room_id},
                                 {"remote", conn.remote_address},
                                 {"scope", to_string(count.scope)}});
    effects.records.push_back(pin_lockout_record(user_id, conn.remote_address, count.scope));
  }
}

const room::RoomState* LocalRooms::find(const std::string& room_id) const {
  auto it = rooms_.find(room_id);
  return it == rooms_.end() ? nullptr : &it->second;
}

void LocalRooms::on_command(const ConnectionInfo& conn, protocol::Command&& command) {
  if (std::holds_alternative<protocol::Join>(command)) {
    join(conn, std::move(command));
    return;
  }
  const Millis now = clock_();
  if (auto answer = node_answer(command)) {
    send_to_sender(conn, *answer, now);
    return;
  }
  auto bound = bindings_.find(conn.id);
  if (bound == bindings_.end()) {
    send_to_sender(conn, not_joined_error(), now);
    return;
  }
  const std::string room_id = bound->second.room_id;  // copies: execute() may unbind
  const std::string user_id = bound->second.user_id;
  auto room = rooms_.find(room_id);
  if (room == rooms_.end()) {
    // Cannot happen while bindings and rooms are kept together; recover by unbinding.
    logger_.error("binding_without_room", {{"room", room_id}, {"user", user_id}});
    unbind(conn.id, conn.peer_id);
    send_to_sender(conn, not_joined_error(), now);
    return;
  }
  const bool leaving = std::holds_alternative<protocol::Leave>(command);
  room::Effects effects = machine_.apply(room->second, room::Actor{user_id, conn.peer_id,
                                                                 options_.node_id},
                                         command, now);
  execute(room_id, std::move(effects), &conn, now);
  if (leaving) {
    unbind(conn.id, conn.peer_id);
    outbox_.close(conn.id, 1000, "left the room");
  }
}

void LocalRooms::join(const ConnectionInfo& conn, protocol::Command&& command, bool delay_served) {
  const Millis now = clock_();
  if (!delay_served) pin_delays_.cancel(conn.id);  // a newer JOIN replaces one still waiting
  const auto& request = std::get<protocol::Join>(command);
  const std::string room_id = request.room_id;
  const std::string user_id = request.user_id;

  std::optional<Binding> previous;
  if (auto bound = bindings_.find(conn.id); bound != bindings_.end()) {
    if (bound->second.room_id != room_id || bound->second.user_id != user_id) {
      previous = bound->second;
    }
  }

  // A JOIN into an existing PIN room passes the lockout first (a new room has no PIN yet).
  std::optional<PinAttempt> attempt;
  PinCounters counters;
  const std::string address_key = pin_address_key(conn.remote_address);
  if (auto existing = rooms_.find(room_id); existing != rooms_.end()) {
    attempt = PinLockout::attempt(existing->second, request, conn.peer_id, conn.remote_address,
                                  delay_served, pin_delays_.in_flight(address_key));
  } else if (auto wait = refuse_new_room(conn.remote_address, room_id)) {
    send_to_sender(conn, new_room_refused_error(*wait), now);
    return;
  }
  PinVerdict verdict;
  if (attempt) {
    counters = pin_counters(address_key, room_id, user_id, now);
    auto admitted = admit_pin_check(conn, command, *attempt, counters);
    if (!admitted) return;  // checked after its delay
    verdict = *admitted;
  }
  auto [room, created] = rooms_.try_emplace(room_id);
  if (created) {
    room->second.id = room_id;
    room->second.created_at = now;
  }
  room::Effects effects = join_step(
      machine_, room->second,
      room::Actor{user_id, conn.peer_id, options_.node_id, conn.remote_address}, command, verdict,
      now);
  if (!effects.joined) {
    if (room::has_record(effects, "PIN_FAILED")) {
      metrics_.pin_failures.inc();
      if (attempt) count_pin_failure(conn, room_id, user_id, *attempt, counters, effects, now);
    }
    execute(room_id, std::move(effects), &conn, now);
    if (auto it = rooms_.find(room_id); it != rooms_.end() && it->second.members.empty()) {
      erase_room(it, now);
    }
    return;
  }
  if (created) {
    metrics_.rooms_created.inc();
    room_index_.insert(room_id);
    // A share link asked for before the room existed now lives as long as any other.
    if (auto lease = short_ids_.room_created(room_id, now)) journal_short_ids({*lease});
  }
  bindings_[conn.id] = Binding{room_id, user_id};
  peers_[conn.peer_id] = conn.id;
  logger_.debug("joined", {{"room", room_id}, {"user", user_id}, {"peer", conn.peer_id}});
  execute(room_id, std::move(effects), &conn, now);

  // A connection that moves to another room (or identity) leaves the old one after it
  // joined the new one, so a refused JOIN (wrong PIN) leaves it where it was.
  if (previous) {
    auto old_room = rooms_.find(previous->room_id);
    if (old_room != rooms_.end()) {
      execute(previous->room_id,
              leave_previous_step(machine_, old_room->second, previous->user_id, conn.peer_id,
                                  now),
              nullptr, now);
    }
  }
}

void LocalRooms::on_close(const ConnectionInfo& conn, CloseKind kind) {
  pin_delays_.cancel(conn.id);
  auto bound = bindings_.find(conn.id);
  if (bound == bindings_.end()) return;
  const Binding binding = bound->second;
  unbind(conn.id, conn.peer_id);
  auto room = rooms_.find(binding.room_id);
  if (room == rooms_.end()) return;
  const Millis now = clock_();
  execute(binding.room_id,
          close_step(machine_, room->second, binding.user_id, conn.peer_id, kind, now), nullptr,
          now);
}

void LocalRooms::unbind(ConnId conn, const std::string& peer_id) {
  bindings_.erase(conn);
  if (auto it = peers_.find(peer_id); it != peers_.end() && it->second == conn) peers_.erase(it);
}

void LocalRooms::send_to_sender(const ConnectionInfo& conn, const protocol::Event& event,
                                Millis now) {
  outbox_.send(conn.id, protocol::encode_frame(event, now, options_.node_id));
  metrics_.delivered(event, 1);
}

void LocalRooms::execute(const std::string& room_id, room::Effects&& effects,
                         const ConnectionInfo* sender, Millis now) {
  auto room = rooms_.find(room_id);
  if (room == rooms_.end()) return;
  const room::RoomState& state = room->second;

  // Replaced connections first: they must not receive this transition's events.
  for (const auto& close : effects.closes) {
    auto peer = peers_.find(close.peer_id);
    if (peer == peers_.end()) continue;
    const ConnId conn = peer->second;
    bindings_.erase(conn);
    peers_.erase(peer);
    outbox_.close(conn, close.code, close.reason);
  }
  for (const auto& delivery : effects.deliveries) deliver(state, delivery, sender, now);
  for (const auto& timer : effects.timers) arm(room_id, timer, now);
  if (effects.gate_outcome) metrics_.gate(*effects.gate_outcome);
  if (effects.relay_dropped) metrics_.relays_dropped.inc();
  metrics_.observe(effects);
  journal_.record(room_id, effects, state, now);
  if (effects.archived) {
    metrics_.rooms_archived.inc();
    logger_.debug("room_archived", {{"room", room_id}});
    erase_room(room, now);
  }
}

void LocalRooms::deliver(const room::RoomState& state, const room::Delivery& delivery,
                         const ConnectionInfo* sender, Millis now) {
  if (delivery.audience == room::Audience::sender) {
    if (sender != nullptr) send_to_sender(*sender, delivery.event, now);
    return;
  }
  // Serialize once per capability variant; its recipients' queues share the same frame.
  protocol::FrameVariants frames(delivery.event, now, options_.node_id);
  std::size_t recipients = 0;
  const auto send_to = [&](const room::Member& member) {
    if (!member.connected) return;
    auto peer = peers_.find(member.peer_id);
    if (peer == peers_.end()) return;
    // "Everyone but the actor" excludes the actor's connection even while it still holds
    // its previous identity in this room (a JOIN under a new userId, before the old leaves).
    if (delivery.audience == room::Audience::all_except && sender != nullptr &&
        peer->second == sender->id) {
      return;
    }
    outbox_.send(peer->second, frames.for_recipient(member.capabilities));
    ++recipients;
  };
  switch (delivery.audience) {
    case room::Audience::all:
      for (const auto& member : state.members) send_to(member);
      break;
    case room::Audience::all_except:
      for (const auto& member : state.members) {
        if (member.user_id != delivery.user_id) send_to(member);
      }
      break;
    case room::Audience::user:
      if (const room::Member* member = state.find_member(delivery.user_id)) send_to(*member);
      break;
    case room::Audience::sender:
      break;
  }
  metrics_.delivered(delivery.event, recipients);
}

void LocalRooms::arm(const std::string& room_id, const room::TimerRequest& request, Millis now) {
  auto timer = std::make_shared<boost::asio::steady_timer>(
      executor_, std::chrono::milliseconds(std::max<Millis>(0, request.at - now)));
  std::weak_ptr<LocalRooms*> alive = alive_;
  timer->async_wait([alive, timer, room_id, request](const boost::system::error_code& ec) {
    auto self = alive.lock();
    if (ec || !self) return;
    LocalRooms& rooms = **self;
    auto room = rooms.rooms_.find(room_id);
    if (room == rooms.rooms_.end()) return;
    const Millis fired = rooms.clock_();
    rooms.execute(room_id,
                  rooms.machine_.on_timer(room->second, request.kind, request.token,
                                          request.user_id, fired),
                  nullptr, fired);
  });
}

void LocalRooms::room_status(const std::string& room_id,
                             std::function<void(boost::json::array)> done) {
  boost::json::array out;
  if (const room::RoomState* state = find(room_id)) out.push_back(describe_room(*state, clock_()));
  done(std::move(out));
}

void LocalRooms::list_rooms(const std::string& after, std::size_t limit,
                            std::function<void(RoomPage)> done) {
  const Millis now = clock_();
  RoomPage page;
  page.total = rooms_.size();
  page.rooms.reserve(std::min(limit, rooms_.size()));
  auto it = after.empty() ? room_index_.begin() : room_index_.upper_bound(after);
  for (; it != room_index_.end() && page.rooms.size() < limit; ++it) {
    page.rooms.push_back(describe_room(rooms_.at(*it), now));
  }
  if (it != room_index_.end() && !page.rooms.empty()) page.next_cursor = *std::prev(it);
  done(std::move(page));
}

void LocalRooms::nodes(std::function<void(boost::json::array)> done) {
  done(boost::json::array{boost::json::object{{"nodeId", options_.node_id},
                                              {"connections", bindings_.size()},
                                              {"rooms", rooms_.size()},
                                              {"updatedAt", clock_()}}});
}

void LocalRooms::short_id_for(const std::string& room_id, const std::string& client_address,
                              std::function<void(ShortIdAnswer)> done) {
  const Millis now = clock_();
  const bool exists = rooms_.contains(room_id);
  // Only a new id for a room that does not exist counts against the address: the room's
  // live id, and any id of an existing room, are always served.
  if (!exists && !short_ids_.has_live(room_id, now)) {
    const auto decision = short_id_rate_.take(client_address, now);
    if (!decision.allowed) {
      short_id_metrics_.refused(ShortIdAnswer::Refusal::rate_limited, room_id, client_address, now);
      done(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::rate_limited, decision.retry_after});
      return;
    }
  }
  auto issued = short_ids_.issue(room_id, exists, now);
  short_id_metrics_.evicted(issued.evicted.size());
  journal_short_ids(issued.evicted);
  if (!issued.lease) {
    short_id_metrics_.refused(ShortIdAnswer::Refusal::unavailable, room_id, client_address, now);
    done(ShortIdAnswer{std::nullopt, ShortIdAnswer::Refusal::unavailable, 0});
    return;
  }
  if (issued.created) short_id_metrics_.created(exists);
  journal_short_ids({*issued.lease});
  done(ShortIdAnswer{issued.lease->short_id, ShortIdAnswer::Refusal::none, 0});
}

void LocalRooms::room_for_short_id(const std::string& short_id,
                                   std::function<void(std::optional<std::string>)> done) {
  done(short_ids_.resolve(short_id, clock_()));
}

}  // namespace tandem::cluster
