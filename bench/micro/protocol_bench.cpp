// parse_command (JSON text -> validated Command) and encode_frame (Event -> shared frame).
#include "examples.hpp"

#include "protocol/command_parser.hpp"
#include "protocol/event.hpp"

#include <benchmark/benchmark.h>

#include <variant>

namespace {

namespace pr = tandem::protocol;
using tandem::microbench::example_message;

constexpr pr::Millis kNow = 1'764'254'420'331;

void parse(benchmark::State& state, const std::string& text) {
  // Fail loudly (not silently fast) if the message does not parse.
  if (!std::holds_alternative<pr::Command>(pr::parse_command(text))) {
    state.SkipWithError("message does not parse");
    return;
  }
  for (auto _ : state) {
    auto result = pr::parse_command(text);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}

void BM_ParsePlayPause(benchmark::State& state) {
  parse(state, R"({"type":"PLAY_PAUSE","control":"play","currentTime":734.217,)"
               R"("eventTimestamp":1764254420331,"userId":"user_k2x9f0q1v7","roomId":"movie-night-42"})");
}
BENCHMARK(BM_ParsePlayPause);

void BM_ParseJoin(benchmark::State& state) {
  parse(state, R"({"type":"JOIN","userId":"user_k2x9f0q1v7","roomId":"movie-night-42",)"
               R"("username":"Alice","pin":"4821","timestamp":1764254400000})");
}
BENCHMARK(BM_ParseJoin);

void BM_ParseOffer(benchmark::State& state) {
  const auto offer = example_message("OFFER");
  if (!offer) {
    state.SkipWithError("no OFFER in the examples file");
    return;
  }
  parse(state, *offer);
}
BENCHMARK(BM_ParseOffer);

void BM_EncodePlayPause(benchmark::State& state) {
  const pr::Event event =
      pr::PlayPauseEvent{"user_k2x9f0q1v7", pr::Control::play, 734.217, 1764254420331.0};
  for (auto _ : state) {
    auto frame = pr::encode_frame(event, kNow, "node-1");
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_EncodePlayPause);

void BM_EncodeRoomState10(benchmark::State& state) {
  pr::RoomStateEvent room;
  room.room_id = "movie-night-42";
  room.url = "https://www.netflix.com/watch/80192098";
  room.current_time = 1502.5;
  room.is_playing = true;
  room.host_user_id = "user_0";
  for (int i = 0; i < 10; ++i) {
    room.users.push_back(pr::MemberView{"user_" + std::to_string(i), "Viewer " + std::to_string(i)});
  }
  const pr::Event event = room;
  for (auto _ : state) {
    auto frame = pr::encode_frame(event, kNow, "node-1");
    benchmark::DoNotOptimize(frame);
  }
}
BENCHMARK(BM_EncodeRoomState10);

// A relay as the room logic hands it over: the client's OFFER object (from/userId set).
void BM_EncodeRelayOffer(benchmark::State& state) {
  const auto offer = example_message("OFFER");
  if (!offer) {
    state.SkipWithError("no OFFER in the examples file");
    return;
  }
  auto parsed = pr::parse_command(*offer);
  auto* command = std::get_if<pr::Command>(&parsed);
  auto* relay = command ? std::get_if<pr::Relay>(command) : nullptr;
  if (relay == nullptr) {
    state.SkipWithError("OFFER does not parse as a relay");
    return;
  }
  relay->message["from"] = "user_k2x9f0q1v7";
  relay->message["userId"] = "user_k2x9f0q1v7";
  const pr::Event event = pr::PassThroughEvent{relay->message, false};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto frame = pr::encode_frame(event, kNow, "node-1");
    bytes += frame->size();
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_EncodeRelayOffer);

}  // namespace
