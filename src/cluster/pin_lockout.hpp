#pragma once
// The PIN guessing rules (docs/SECURITY.md, "PIN guessing"): a wrong PIN punishes the
// address that sent it, never the room's members or a right PIN from elsewhere.
//
// - address+room: too many wrong PINs from one address for one room lock that address out
//   of that room (a guesser);
// - address: more, across rooms, lock it out of every PIN room (a sprayer);
// - room: past a threshold of recent wrong PINs from anywhere the room is under attack:
//   every PIN check into it from a non-member waits a short delay first (one waiting check
//   per address and node), and a single wrong PIN locks the address out of the room. A
//   right PIN still gets in, after the delay;
// - members are never locked out: a member's own connection re-joining, and a JOIN under a
//   member's userId from the address that member last joined from (a resume), skip every
//   lock and delay. The second could be a guesser who shares the member's address and
//   claims its userId, so each claim has its own small budget of wrong PINs, after which
//   it counts as a stranger's.
// Sans-IO: the runtimes (LocalRooms, RedisRooms) fetch the counters, ask decide(), carry
// out the verdict, and after a wrong PIN count what on_failure() lists.
#include "protocol/event.hpp"
#include "room/room_state.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::cluster {

struct PinLockoutOptions {
  std::size_t max_failures_per_address_room = 5;
  std::size_t max_failures_per_address = 20;
  std::size_t max_failures_per_room = 20;        // then the room is under attack
  std::size_t max_failures_per_member_claim = 3;
  protocol::Millis window = 5 * 60 * 1000;   // failures counted over this period
  protocol::Millis lockout = 5 * 60 * 1000;  // how long a lock lasts
  protocol::Millis room_delay = 1000;        // wait of a check into a room under attack
  std::size_t max_entries = 100'000;         // standalone table of counters (PinFailureTable)
};

// What a wrong PIN is counted against.
enum class PinScope { address_room, address, room, member_claim };
std::string_view to_string(PinScope scope) noexcept;

// Who is asking, as far as the room can tell.
enum class PinStanding {
  stranger,
  // A member's userId from the address that member last joined from. (Issue 17's resume
  // tokens will let their holder in here, whatever its address.)
  returning_member,
  live_member,  // the member's own open connection, re-joining
};

// The counters of one JOIN's (address, room, userId), as stored (in memory or Redis).
struct PinCounters {
  protocol::Millis address_room_locked_for = 0;
  protocol::Millis address_locked_for = 0;
  protocol::Millis member_claim_locked_for = 0;
  std::size_t room_failures = 0;  // recent wrong PINs into the room, from anywhere
};

struct PinAttempt {
  PinStanding standing = PinStanding::stranger;
  bool pin_provided = false;
  bool delay_served = false;     // this check already waited the room's delay
  bool delay_in_flight = false;  // another check from this address waits on this node
};

struct PinVerdict {
  enum class Action {
    check,   // check the PIN now
    delay,   // check it after `wait` (a node-local timer), with delay_served
    refuse,  // ERROR PIN_LOCKED: try again in `wait`
  };
  Action action = Action::check;
  protocol::Millis wait = 0;
};

// One counter to bump after a wrong PIN: reaching `limit` locks the scope for the lockout
// (0: counted, never locks). A sliding counter's window restarts with every failure.
struct PinCount {
  PinScope scope = PinScope::address_room;
  std::size_t limit = 0;
  bool sliding = false;
};

class PinLockout {
 public:
  explicit PinLockout(PinLockoutOptions options) : options_(options) {}

  // The standing of a JOIN of `user_id` on connection `peer_id` from `address` into `state`.
  static PinStanding standing(const room::RoomState& state, std::string_view user_id,
                              std::string_view peer_id, std::string_view address);
  // The attempt `join` (on connection `peer_id`, from `address`) makes on `state`'s PIN;
  // nullopt when no PIN is checked (the room is being created, or has no PIN).
  static std::optional<PinAttempt> attempt(const room::RoomState& state,
                                           const protocol::Join& join, std::string_view peer_id,
                                           std::string_view address, bool delay_served,
                                           bool delay_in_flight);

  PinVerdict decide(const PinAttempt& attempt, const PinCounters& counters) const;
  // What a wrong PIN of this attempt counts against (nothing for a missing PIN: it guesses
  // nothing, and one click on a link without the PIN must not cost a lockout).
  std::vector<PinCount> on_failure(const PinAttempt& attempt, const PinCounters& counters) const;
  bool under_attack(const PinCounters& counters) const noexcept;

  const PinLockoutOptions& options() const noexcept { return options_; }

 private:
  PinStanding effective(const PinAttempt& attempt, const PinCounters& counters) const noexcept;

  PinLockoutOptions options_;
};

// The key an address is counted under: an IPv6 address by its /64 (what one subscriber is
// usually given, so its 2^64 addresses count as one), an IPv4-mapped IPv6 address as its
// IPv4 address, anything else as it is.
std::string pin_address_key(std::string_view address);

// ERROR PIN_LOCKED, saying when to try again.
protocol::ErrorEvent pin_locked_error(protocol::Millis wait);

}  // namespace tandem::cluster
