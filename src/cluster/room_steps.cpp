#include "cluster/room_steps.hpp"

#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace tandem::cluster {

using protocol::Millis;

std::optional<protocol::Event> node_answer(const protocol::Command& command) {
  if (std::holds_alternative<protocol::Ping>(command)) return protocol::PongEvent{};
  return std::nullopt;
}

protocol::ErrorEvent not_joined_error() {
  return protocol::ErrorEvent{protocol::ErrorCode::not_joined, "Join a room first (send JOIN)"};
}

protocol::ErrorEvent new_room_refused_error(Millis wait) {
  return protocol::ErrorEvent{protocol::ErrorCode::rate_limited,
                              "Too many new rooms from this address: try again in " +
                                  std::to_string((wait + 999) / 1000) +
                                  " s (nothing was changed)"};
}

room::Effects join_step(const room::RoomMachine& machine, room::RoomState& state,
                        const room::Actor& actor, const protocol::Command& join,
                        const PinVerdict& verdict, Millis now) {
  room::Effects effects;
  switch (verdict.action) {
    case PinVerdict::Action::refuse:
      effects.deliveries.push_back(
          room::Delivery{room::Audience::sender, {}, pin_locked_error(verdict.wait)});
      return effects;
    case PinVerdict::Action::delay:
      return effects;
    case PinVerdict::Action::check:
      break;
  }
  return machine.apply(state, actor, join, now);
}

room::Effects close_step(const room::RoomMachine& machine, room::RoomState& state,
                         std::string_view user_id, std::string_view peer_id, CloseKind kind,
                         Millis now) {
  if (kind != CloseKind::stale) return machine.disconnect(state, user_id, peer_id, now);
  const room::Member* member = state.find_member(user_id);
  if (member == nullptr || member->peer_id != peer_id) return {};
  return machine.remove_member(state, user_id, room::LeaveReason::stale, now);
}

room::Effects leave_previous_step(const room::RoomMachine& machine, room::RoomState& state,
                                  std::string_view user_id, std::string_view peer_id,
                                  Millis now) {
  const room::Member* member = state.find_member(user_id);
  if (member == nullptr || member->peer_id != peer_id) return {};
  return machine.remove_member(state, user_id, room::LeaveReason::left, now);
}

room::Effects restore_members_step(const room::RoomMachine& machine, room::RoomState& state,
                                   const std::function<bool(std::string_view)>& bound_here,
                                   Millis now) {
  // The machine's own disconnect path arms the grace timers (or, with no grace, removes
  // the members and archives an emptied room).
  std::vector<std::pair<std::string, std::string>> members;
  for (auto& member : state.members) {
    member.connected = true;
    members.emplace_back(member.user_id, member.peer_id);
  }
  room::Effects effects;
  for (const auto& [user_id, peer_id] : members) {
    if (!bound_here(peer_id)) merge(effects, machine.disconnect(state, user_id, peer_id, now));
  }
  return effects;
}

room::Record pin_lockout_record(std::string_view user_id, std::string_view address,
                                PinScope scope) {
  return room::Record{"PIN_LOCKOUT", std::string(user_id),
                      boost::json::object{{"address", address}, {"scope", to_string(scope)}}};
}

void merge(room::Effects& into, room::Effects&& from) {
  auto append = [](auto& a, auto& b) {
    a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  };
  append(into.deliveries, from.deliveries);
  append(into.timers, from.timers);
  append(into.closes, from.closes);
  append(into.records, from.records);
  if (from.gate_outcome) into.gate_outcome = from.gate_outcome;
  into.coalesce = into.changed ? (into.coalesce && (!from.changed || from.coalesce)) : from.coalesce;
  into.changed = into.changed || from.changed;
  into.relay_dropped = into.relay_dropped || from.relay_dropped;
  into.joined = into.joined || from.joined;
  into.left = into.left || from.left;
  into.archived = from.archived;
}

}  // namespace tandem::cluster
