// RoomMachine driven by random sequences of inputs from several members (commands from
// their current or stale connections, disconnects, removals, the timers it asked for, stale
// timers, sweeps, the clock moving on), with the room's invariants checked after every
// step. An emptied room is dropped and the next JOIN starts a fresh one, as LocalRooms does.
#include "fuzz_check.hpp"
#include "room/room_machine.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace {

namespace pr = tandem::protocol;
using namespace tandem::room;

constexpr Millis kT0 = 1'700'000'000'000;
constexpr int kUsers = 4;

class FakePinHasher final : public PinHasher {
 public:
  std::string hash(std::string_view pin) const override { return "fake$" + std::string(pin); }
  bool verify(std::string_view pin, std::string_view encoded) const override {
    return encoded == "fake$" + std::string(pin);
  }
};

std::string user_name(int i) { return "u" + std::to_string(i); }
std::string peer_name(int user, int connection) {
  return "p" + std::to_string(user) + "-" + std::to_string(connection);
}

pr::Command random_command(FuzzedDataProvider& in, const std::string& room_id) {
  const std::string other = user_name(in.ConsumeIntegralInRange(0, kUsers));  // u4: nobody
  const double position = in.ConsumeIntegralInRange(0, 10'000) / 10.0;
  switch (in.ConsumeIntegralInRange(0, 14)) {
    case 0: {
      static const char* const pins[] = {"", "1234", "5678"};
      const char* pin = pins[in.ConsumeIntegralInRange(0, 2)];
      return pr::Join{room_id, other, in.ConsumeBool() ? std::optional<std::string>("name") : std::nullopt,
                      *pin ? std::optional<std::string>(pin) : std::nullopt};
    }
    case 1: return pr::Leave{};
    case 2: return pr::Ping{};
    case 3: return pr::UpdateUsername{std::optional<std::string>("n" + other)};
    case 4: return pr::ToggleGuestControl{in.ConsumeBool()};
    case 5: return pr::TransferHost{other};
    case 6:
      return pr::PlayPause{in.ConsumeBool() ? pr::Control::play : pr::Control::pause,
                           in.ConsumeBool() ? std::optional<double>(position) : std::nullopt,
                           std::nullopt};
    case 7: return pr::Seek{position, in.ConsumeBool(), std::nullopt};
    case 8: return pr::Ready{in.ConsumeBool() ? std::optional<double>(position) : std::nullopt};
    case 9: return pr::HostHeartbeat{position, in.ConsumeBool(), std::nullopt};
    case 10: return pr::PositionUpdate{position, in.ConsumeBool()};
    case 11: return pr::UrlChange{"https://example.com/v" + other, std::nullopt};
    case 12: return pr::RequestSync{in.ConsumeBool()};
    case 13: {
      boost::json::object message{{"type", "OFFER"}, {"to", other}, {"offer", "sdp"}};
      return pr::Relay{pr::RelayKind::offer, other, std::move(message)};
    }
    default: return pr::Fallback{"CUSTOM", boost::json::object{{"type", "CUSTOM"}}};
  }
}

class Run {
 public:
  explicit Run(RoomConfig config) : machine_(config, hasher_) { fresh_room(); }

  void step(FuzzedDataProvider& in) {
    now_ += in.ConsumeIntegralInRange<Millis>(0, 3'000);
    const RoomState before = state_;
    const int user = in.ConsumeIntegralInRange(0, kUsers - 1);
    const std::string user_id = user_name(user);
    const Member* member = state_.find_member(user_id);
    // The member's current connection mostly; sometimes another (stale or new) one.
    const std::string peer = member != nullptr && in.ConsumeProbability<float>() < 0.8F
                                 ? member->peer_id
                                 : peer_name(user, in.ConsumeIntegralInRange(0, 2));
    Effects fx;
    bool is_join = false;
    std::string actor_user = user_id;
    switch (in.ConsumeIntegralInRange(0, 9)) {
      case 0: case 1: case 2: case 3: case 4: {
        const pr::Command command = random_command(in, state_.id);
        // A JOIN is sent by its own userId.
        if (const auto* join = std::get_if<pr::Join>(&command)) actor_user = join->user_id;
        is_join = std::holds_alternative<pr::Join>(command);
        fx = machine_.apply(state_, Actor{actor_user, peer, "node-a", "127.0.0.1"}, command, now_);
        check_actor(fx, actor_user, peer, is_join);
        break;
      }
      case 5: fx = machine_.disconnect(state_, user_id, peer, now_); break;
      case 6:
        fx = machine_.remove_member(state_, user_id,
                                    static_cast<LeaveReason>(in.ConsumeIntegralInRange(0, 3)), now_);
        break;
      case 7: {  // a timer the machine asked for, once its time has come (or a stale one)
        if (timers_.empty()) return;
        const std::size_t i = in.ConsumeIntegralInRange<std::size_t>(0, timers_.size() - 1);
        const TimerRequest timer = timers_[i];
        timers_.erase(timers_.begin() + static_cast<std::ptrdiff_t>(i));
        now_ = std::max(now_, timer.at);
        fx = machine_.on_timer(state_, timer.kind, timer.token, timer.user_id, now_);
        break;
      }
      case 8:
        fx = machine_.on_timer(state_, in.ConsumeBool() ? TimerKind::gate : TimerKind::grace,
                               in.ConsumeIntegralInRange<std::uint64_t>(0, 64), user_id, now_);
        break;
      default: fx = machine_.sweep(state_, now_); break;
    }
    if (is_join && fx.joined) {
      // A connection that joined as another identity leaves its old one, as LocalRooms
      // does right after the JOIN (until then two members share the connection).
      const auto old = std::find_if(state_.members.begin(), state_.members.end(), [&](const Member& m) {
        return m.peer_id == peer && m.user_id != actor_user;
      });
      if (old != state_.members.end()) {
        check_transition(before, fx);
        remember(fx);
        const RoomState between = state_;
        fx = machine_.remove_member(state_, std::string(old->user_id), LeaveReason::left, now_);
        check_step(between, fx);
        remember(fx);
        return;
      }
    }
    check_step(before, fx);
    remember(fx);
  }

 private:
  void remember(const Effects& fx) {
    for (const TimerRequest& timer : fx.timers) timers_.push_back(timer);
    if (timers_.size() > 64) timers_.erase(timers_.begin());
    if (fx.archived) fresh_room();
  }

  void fresh_room() {
    state_ = RoomState{};
    state_.id = "room-1";
    last_version_ = 0;
    fired_gates_.clear();
    timers_.clear();
  }

  void check_actor(const Effects& fx, const std::string& user, const std::string& peer, bool join) {
    if (fx.joined) {
      FUZZ_CHECK(join);
      const Member* m = state_.find_member(user);
      FUZZ_CHECK(m != nullptr && m->peer_id == peer && m->connected);
    }
    if (fx.left && !fx.archived) FUZZ_CHECK(state_.find_member(user) == nullptr);
  }

  void check_step(const RoomState& before, const Effects& fx) {
    check_transition(before, fx);
    if (fx.archived) {
      FUZZ_CHECK(state_.members.empty() && !before.members.empty());
      return;
    }
    check_state();
  }

  // What holds of every single call into the machine.
  void check_transition(const RoomState& before, const Effects& fx) {
    if (fx.changed) {
      FUZZ_CHECK(state_.version == before.version + 1);  // one step, one version
      FUZZ_CHECK(state_.version > last_version_);
      last_version_ = state_.version;
    } else {
      FUZZ_CHECK(state_ == before);  // nothing changed: nothing to persist
      FUZZ_CHECK(!fx.gate_outcome && !fx.archived);
      // The one record of a step that changes nothing: a wrong PIN (audited, room unchanged).
      for (const Record& record : fx.records) FUZZ_CHECK(record.event_type == "PIN_FAILED");
    }
    // A gate fires at most once, and only the gate that was open.
    if (fx.gate_outcome) {
      FUZZ_CHECK(before.gate.has_value());
      FUZZ_CHECK(fired_gates_.insert(before.gate->id).second);
      FUZZ_CHECK(!state_.gate || state_.gate->id != before.gate->id);
    }
    if (before.gate && (!state_.gate || state_.gate->id != before.gate->id)) {
      FUZZ_CHECK(fx.gate_outcome.has_value());  // a gate never closes silently
    }
  }

  void check_state() const {
    const auto& members = state_.members;
    std::set<std::string> ids;
    std::set<std::string> peers;
    for (std::size_t i = 0; i < members.size(); ++i) {
      FUZZ_CHECK(ids.insert(members[i].user_id).second);  // every member listed once
      FUZZ_CHECK(peers.insert(members[i].peer_id).second);
      FUZZ_CHECK(members[i].join_seq < state_.next_seq);
      if (i > 0) FUZZ_CHECK(members[i - 1].join_seq < members[i].join_seq);
      if (!members[i].connected) FUZZ_CHECK(members[i].disconnected_at <= now_);
    }
    // One host while members exist, and it is one of them.
    if (!members.empty()) FUZZ_CHECK(ids.contains(state_.host_user_id));
    if (const auto& gate = state_.gate) {
      FUZZ_CHECK(!members.empty());
      FUZZ_CHECK(gate->id < state_.next_seq);
      FUZZ_CHECK(!fired_gates_.contains(gate->id));
      FUZZ_CHECK(gate->quorum >= 1 && gate->quorum <= std::max<std::size_t>(1, gate->expected));
      FUZZ_CHECK(gate->ready.size() < gate->quorum);  // a gate at quorum has fired
      std::set<std::string> ready(gate->ready.begin(), gate->ready.end());
      FUZZ_CHECK(ready.size() == gate->ready.size());  // distinct READYs
      FUZZ_CHECK(gate->deadline == gate->opened_at + machine_.config().gate_timeout);
    }
    FUZZ_CHECK(std::isfinite(state_.current_time) && state_.current_time >= 0);
  }

  FakePinHasher hasher_;
  RoomMachine machine_;
  RoomState state_;
  Millis now_ = kT0;
  std::uint64_t last_version_ = 0;
  std::set<std::uint64_t> fired_gates_;
  std::vector<TimerRequest> timers_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  RoomConfig config;
  // Grace on or off: without one a dropped connection leaves at once.
  if (in.ConsumeBool()) config.reconnect_grace = 0;
  Run run(config);
  for (int steps = 0; steps < 200 && in.remaining_bytes() > 0; ++steps) run.step(in);
  return 0;
}
