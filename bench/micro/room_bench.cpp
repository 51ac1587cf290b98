// RoomMachine::apply on a room of 10: PLAY_PAUSE, a SEEK and the READYs that close its gate,
// a JOIN into the room, and a relay; plus the whole sans-IO path of one PLAY_PAUSE (parse,
// apply, encode once).
#include "examples.hpp"

#include "protocol/command_parser.hpp"
#include "room/room_machine.hpp"

#include <benchmark/benchmark.h>

#include <string>
#include <variant>
#include <vector>

namespace {

namespace pr = tandem::protocol;
namespace rm = tandem::room;
using tandem::microbench::example_message;

constexpr rm::Millis kT0 = 1'764'254'400'000;

class NoPinHasher final : public rm::PinHasher {
 public:
  std::string hash(std::string_view pin) const override { return std::string(pin); }
  bool verify(std::string_view pin, std::string_view encoded) const override {
    return pin == encoded;
  }
};

struct Room {
  NoPinHasher hasher;
  rm::RoomMachine machine{rm::RoomConfig{}, hasher};
  rm::RoomState state;
  std::vector<std::string> users;
  std::vector<std::string> peers;

  explicit Room(int members) {
    state.id = "movie-night-42";
    for (int i = 0; i < members; ++i) join("user_" + std::to_string(i));
  }

  rm::Effects join(const std::string& user) {
    users.push_back(user);
    peers.push_back("peer-" + user);
    return machine.apply(state, actor(users.size() - 1),
                         pr::Command{pr::Join{state.id, user, "Viewer", std::nullopt}}, kT0);
  }

  rm::Actor actor(std::size_t i) const { return rm::Actor{users[i], peers[i], "node-1"}; }
};

void BM_ApplyPlayPauseRoom10(benchmark::State& state) {
  Room room(10);
  const pr::Command play = pr::PlayPause{pr::Control::play, 734.217, 1764254420331.0};
  rm::Millis now = kT0;
  std::size_t deliveries = 0;
  for (auto _ : state) {
    auto effects = room.machine.apply(room.state, room.actor(0), play, ++now);
    deliveries += effects.deliveries.size();
    benchmark::DoNotOptimize(effects);
  }
  if (deliveries != static_cast<std::size_t>(state.iterations())) state.SkipWithError("PLAY_PAUSE did not deliver");
}
BENCHMARK(BM_ApplyPlayPauseRoom10);

void BM_ApplyHostHeartbeatRoom10(benchmark::State& state) {
  Room room(10);
  const pr::Command beat = pr::HostHeartbeat{1510.02, true, 1764254470000.0};
  rm::Millis now = kT0;
  for (auto _ : state) {
    auto effects = room.machine.apply(room.state, room.actor(0), beat, ++now);
    benchmark::DoNotOptimize(effects);
  }
}
BENCHMARK(BM_ApplyHostHeartbeatRoom10);

// One iteration: the host's SEEK opens the gate, then 6 of 10 members' READYs close it
// (quorum ceil(0.6 x 10)) and the room plays.
void BM_ApplySeekReadyGateRoom10(benchmark::State& state) {
  Room room(10);
  const pr::Command seek = pr::Seek{1502.5, true, 1764254460000.0};
  const pr::Command ready = pr::Ready{1502.5};
  rm::Millis now = kT0;
  std::size_t closed = 0;
  for (auto _ : state) {
    auto opened = room.machine.apply(room.state, room.actor(0), seek, ++now);
    benchmark::DoNotOptimize(opened);
    for (std::size_t i = 1; i <= 6; ++i) {
      auto effects = room.machine.apply(room.state, room.actor(i), ready, now);
      if (effects.gate_outcome) ++closed;
      benchmark::DoNotOptimize(effects);
    }
  }
  if (closed != static_cast<std::size_t>(state.iterations())) state.SkipWithError("the gate did not close on quorum");
}
BENCHMARK(BM_ApplySeekReadyGateRoom10);

// Copying a room of 10: the baseline of the JOIN benchmark below.
void BM_CopyRoomState10(benchmark::State& state) {
  const Room room(10);
  for (auto _ : state) {
    rm::RoomState copy = room.state;
    benchmark::DoNotOptimize(copy);
  }
}
BENCHMARK(BM_CopyRoomState10);

// An 11th member JOINs a room of 10 (ROOM_STATE to it, USER_JOINED to the 10). Each
// iteration works on a fresh copy of the room: subtract BM_CopyRoomState10.
void BM_ApplyJoinIntoRoom10(benchmark::State& state) {
  const Room room(10);
  const pr::Command join = pr::Join{room.state.id, "user_new", "Newcomer", std::nullopt};
  const rm::Actor actor{"user_new", "peer-user_new", "node-1"};
  for (auto _ : state) {
    rm::RoomState copy = room.state;
    auto effects = room.machine.apply(copy, actor, join, kT0 + 1);
    benchmark::DoNotOptimize(effects);
  }
}
BENCHMARK(BM_ApplyJoinIntoRoom10);

void BM_ApplyRelayOffer(benchmark::State& state) {
  const auto text = example_message("OFFER");
  if (!text) {
    state.SkipWithError("no OFFER in the examples file");
    return;
  }
  Room room(2);
  auto parsed = pr::parse_command(*text);
  auto* command = std::get_if<pr::Command>(&parsed);
  auto* relay = command ? std::get_if<pr::Relay>(command) : nullptr;
  if (relay == nullptr) {
    state.SkipWithError("OFFER does not parse as a relay");
    return;
  }
  relay->to = room.users[1];
  for (auto _ : state) {
    auto effects = room.machine.apply(room.state, room.actor(0), *command, kT0);
    benchmark::DoNotOptimize(effects);
  }
}
BENCHMARK(BM_ApplyRelayOffer);

// The sans-IO path of one PLAY_PAUSE to a room of 10: parse, apply, encode once (the
// server then queues the same frame for 10 connections).
void BM_PipelinePlayPauseRoom10(benchmark::State& state) {
  Room room(10);
  const std::string text =
      R"({"type":"PLAY_PAUSE","control":"play","currentTime":734.217,"eventTimestamp":1764254420331})";
  rm::Millis now = kT0;
  for (auto _ : state) {
    auto parsed = pr::parse_command(text);
    auto effects =
        room.machine.apply(room.state, room.actor(0), std::get<pr::Command>(parsed), ++now);
    for (const auto& delivery : effects.deliveries) {
      auto frame = pr::encode_frame(delivery.event, now, "node-1");
      benchmark::DoNotOptimize(frame);
    }
  }
  state.counters["deliveries_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 10, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PipelinePlayPauseRoom10);

}  // namespace
