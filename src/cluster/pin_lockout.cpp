#include "cluster/pin_lockout.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>

namespace tandem::cluster {

using protocol::Millis;

std::string_view to_string(PinScope scope) noexcept {
  switch (scope) {
    case PinScope::address_room:
      return "address_room";
    case PinScope::address:
      return "address";
    case PinScope::room:
      return "room";
    case PinScope::member_claim:
      return "member_claim";
  }
  return "address_room";
}

PinStanding PinLockout::standing(const room::RoomState& state, std::string_view user_id,
                                 std::string_view peer_id, std::string_view address) {
  const room::Member* member = state.find_member(user_id);
  if (member == nullptr) return PinStanding::stranger;
  if (member->connected && member->peer_id == peer_id) return PinStanding::live_member;
  if (!member->address.empty() && pin_address_key(member->address) == pin_address_key(address)) {
    return PinStanding::returning_member;
  }
  return PinStanding::stranger;
}

std::optional<PinAttempt> PinLockout::attempt(const room::RoomState& state,
                                              const protocol::Join& join,
                                              std::string_view peer_id, std::string_view address,
                                              bool delay_served, bool delay_in_flight) {
  if (state.members.empty() || state.pin_hash.empty()) return std::nullopt;
  return PinAttempt{standing(state, join.user_id, peer_id, address), join.pin.has_value(),
                    delay_served, delay_in_flight};
}

// A claim whose budget is spent is a stranger's: a guesser behind the member's address
// gets max_failures_per_member_claim extra guesses per lockout, not unlimited ones.
PinStanding PinLockout::effective(const PinAttempt& attempt,
                                  const PinCounters& counters) const noexcept {
  if (attempt.standing == PinStanding::returning_member && counters.member_claim_locked_for > 0) {
    return PinStanding::stranger;
  }
  return attempt.standing;
}

bool PinLockout::under_attack(const PinCounters& counters) const noexcept {
  return counters.room_failures >= options_.max_failures_per_room;
}

PinVerdict PinLockout::decide(const PinAttempt& attempt, const PinCounters& counters) const {
  using Action = PinVerdict::Action;
  // Without a PIN there is nothing to check, guess or delay: PIN_REQUIRED at once.
  if (!attempt.pin_provided || effective(attempt, counters) != PinStanding::stranger) {
    return {Action::check, 0};
  }
  const Millis locked = std::max(counters.address_room_locked_for, counters.address_locked_for);
  if (locked > 0) return {Action::refuse, locked};
  if (under_attack(counters) && !attempt.delay_served && options_.room_delay > 0) {
    // One waiting check per address: a guesser's parallel connections do not wait in
    // parallel; the second is told to come back after the delay.
    if (attempt.delay_in_flight) return {Action::refuse, options_.room_delay};
    return {Action::delay, options_.room_delay};
  }
  return {Action::check, 0};
}

std::vector<PinCount> PinLockout::on_failure(const PinAttempt& attempt,
                                             const PinCounters& counters) const {
  const PinStanding standing = effective(attempt, counters);
  if (!attempt.pin_provided || standing == PinStanding::live_member) return {};
  // Under attack every address gets one wrong PIN per lockout for this room.
  const std::size_t per_address_room =
      under_attack(counters) ? 1 : options_.max_failures_per_address_room;
  std::vector<PinCount> counts;
  if (standing == PinStanding::returning_member) {
    counts.push_back({PinScope::member_claim, options_.max_failures_per_member_claim, false});
  }
  counts.push_back({PinScope::address_room, per_address_room, false});
  counts.push_back({PinScope::address, options_.max_failures_per_address, false});
  // The room's count never locks; it stays up while wrong PINs keep coming (sliding), so
  // the room stays under attack until one window passes without any.
  counts.push_back({PinScope::room, 0, true});
  return counts;
}

std::string pin_address_key(std::string_view address) {
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (parsed.is_v4()) return parsed.to_string();
  const boost::asio::ip::address_v6 v6 = parsed.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

protocol::ErrorEvent pin_locked_error(Millis wait) {
  return protocol::ErrorEvent{protocol::ErrorCode::pin_locked,
                              "Too many wrong PINs: try again in " +
                                  std::to_string((wait + 999) / 1000) + " s"};
}

}  // namespace tandem::cluster
