#pragma once
// Shared fixture for the room state machine tests: a deterministic PIN hasher, a room
// driven through RoomMachine with explicit times, and helpers to pick events out of
// Effects. No sockets, no clocks.
#include "room/room_machine.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace tandem::room::test {

namespace pr = protocol;

constexpr Millis kT0 = 1'700'000'000'000;  // an arbitrary wall-clock origin

// Reversible and predictable, so tests can assert the stored form.
class FakePinHasher final : public PinHasher {
 public:
  std::string hash(std::string_view pin) const override {
    ++hash_calls;
    return "fake$" + std::string(pin);
  }
  bool verify(std::string_view pin, std::string_view encoded) const override {
    ++verify_calls;
    return encoded == "fake$" + std::string(pin);
  }
  mutable int hash_calls = 0;
  mutable int verify_calls = 0;
};

inline std::string peer_of(std::string_view user_id) {
  return "peer-" + std::string(user_id);
}

// Every delivery whose event holds an E, in order.
template <class E>
std::vector<const Delivery*> deliveries_of(const Effects& fx) {
  std::vector<const Delivery*> out;
  for (const Delivery& d : fx.deliveries) {
    if (std::holds_alternative<E>(d.event)) out.push_back(&d);
  }
  return out;
}

template <class E>
std::size_t count_events(const Effects& fx) {
  return deliveries_of<E>(fx).size();
}

// The first E delivered, or nullptr.
template <class E>
const E* first_event(const Effects& fx) {
  for (const Delivery& d : fx.deliveries) {
    if (const auto* e = std::get_if<E>(&d.event)) return e;
  }
  return nullptr;
}

// The first E delivered; a missing one fails the test (gtest reports the exception).
template <class E>
const E& must_event(const Effects& fx) {
  const E* e = first_event<E>(fx);
  if (e == nullptr) throw std::runtime_error("expected event not delivered");
  return *e;
}

template <class E>
const E& event_at(const Effects& fx, std::size_t index) {
  return std::get<E>(fx.deliveries.at(index).event);
}

inline const Record* find_record(const Effects& fx, std::string_view type) {
  for (const Record& r : fx.records) {
    if (r.event_type == type) return &r;
  }
  return nullptr;
}

inline const Record& must_record(const Effects& fx, std::string_view type) {
  const Record* r = find_record(fx, type);
  if (r == nullptr) throw std::runtime_error("no record " + std::string(type));
  return *r;
}

inline bool is_empty(const Effects& fx) {
  return fx.deliveries.empty() && fx.timers.empty() && fx.closes.empty() && fx.records.empty() &&
         !fx.gate_outcome && !fx.changed && !fx.coalesce && !fx.relay_dropped && !fx.joined &&
         !fx.left && !fx.archived && !fx.sync_spread;
}

class RoomTest : public ::testing::Test {
 protected:
  RoomTest() { state_.id = "room-1"; }

  RoomMachine machine() const { return RoomMachine(config_, hasher_); }

  Effects join(const std::string& user, Millis now = kT0,
               std::optional<std::string> pin = std::nullopt,
               std::optional<std::string> username = std::nullopt, std::string peer = {},
               const std::string& node = "node-a") {
    if (peer.empty()) peer = peer_of(user);
    pr::Join cmd{state_.id, user, std::move(username), std::move(pin)};
    return machine().apply(state_, Actor{user, peer, node}, cmd, now);
  }

  // A command from the member's current connection.
  Effects send(const std::string& user, pr::Command cmd, Millis now = kT0) {
    const Member* m = state_.find_member(user);
    const std::string peer = m != nullptr ? m->peer_id : peer_of(user);
    return send_as(user, peer, std::move(cmd), now);
  }

  Effects send_as(const std::string& user, const std::string& peer, pr::Command cmd,
                  Millis now = kT0) {
    return machine().apply(state_, Actor{user, peer, "node-a"}, cmd, now);
  }

  // The member's current connection closed without LEAVE.
  Effects drop(const std::string& user, Millis now = kT0) {
    const std::string peer = member(user).peer_id;
    return machine().disconnect(state_, user, peer, now);
  }

  // Joins users in order at kT0, kT0+1, ...; the first is host.
  void join_all(const std::vector<std::string>& users) {
    Millis t = kT0;
    for (const std::string& u : users) {
      ASSERT_TRUE(join(u, t++).joined) << u;
    }
  }

  std::vector<std::string> member_ids() const {
    std::vector<std::string> ids;
    for (const Member& m : state_.members) ids.push_back(m.user_id);
    return ids;
  }

  const Member& member(std::string_view user) const {
    const Member* m = state_.find_member(user);
    // gtest reports an escaped exception as a failure of the test, not a crash.
    if (m == nullptr) throw std::runtime_error("no member " + std::string(user));
    return *m;
  }

  RoomConfig config_;
  FakePinHasher hasher_;
  RoomState state_;
};

}  // namespace tandem::room::test
