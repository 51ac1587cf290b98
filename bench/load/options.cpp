#include "options.hpp"

#include <boost/asio/ip/address_v4.hpp>

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>

namespace tandem::bench {
namespace {

double to_double(std::string_view name, std::string_view text) {
  double value = 0;
  const auto* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  if (result.ec != std::errc{} || result.ptr != end || !std::isfinite(value)) {
    throw std::invalid_argument("--" + std::string(name) + ": not a number: " + std::string(text));
  }
  return value;
}

double positive(std::string_view name, std::string_view text, double cap) {
  const double value = to_double(name, text);
  if (value <= 0 || value > cap) {
    throw std::invalid_argument("--" + std::string(name) + " must be in (0, " +
                                std::to_string(cap) + "]");
  }
  return value;
}

std::size_t count(std::string_view name, std::string_view text, std::size_t min,
                  std::size_t cap) {
  const double value = to_double(name, text);
  if (value < static_cast<double>(min) || value > static_cast<double>(cap) ||
      std::trunc(value) != value) {
    throw std::invalid_argument("--" + std::string(name) + " must be an integer in [" +
                                std::to_string(min) + ", " + std::to_string(cap) + "]");
  }
  return static_cast<std::size_t>(value);
}

}  // namespace

std::string usage() {
  return R"(usage: tandem-bench SCENARIO --port PORT [options]

Scenarios (JSON result on stdout, summary on stderr):
  connect  N connections join rooms of R; join latency, joins/s, server RSS per connection
  fanout   rooms of R, one sender per room (the host) at --rate deliveries/s
  relay    pairs exchanging OFFER/ANSWER/ICE_CANDIDATE (real SDP) at --rate messages/s
  ping     PING -> PONG round trip at a low --rate
  churn    --workers clients joining and leaving in a loop while GET /health is polled

Target: --host 127.0.0.1 (loopback only) --port PORT[,PORT...] (several: a cluster's nodes,
        connection i goes to port i mod N) --source-ips N (bind to 127.0.0.1..N)
        --threads N --server-pid PID[,PID...] (CPU and RSS from /proc, summed) --label TEXT
Time:   --duration S (10, max 120) --warmup S (2) --drain S (2) --hold S (1)
Shape:  --connections N (1000) --room-size R (10) --rooms N (10) --pairs N (100)
        --idle N (0) --concurrency N (256) --message PLAY_PAUSE|HOST_HEARTBEAT --slow N (0)
        --examples FILE (client-messages.json) --rate R (10000) --tick-ms MS (1)
Max:    --max --p99-limit-ms MS (10) --step-factor F (1.25) --step-duration S (3)
        --max-steps N (30) --max-rate R (5e6)
Churn:  --workers N (200) --abrupt FRACTION (0.5) --dwell-ms MS (0)
        --health-interval-ms MS (10)
Ping:   --poll PATH --pollers N (0): N clients GET PATH back to back meanwhile (one connection
        each request), reported under "poll" (latency, bytes, failures)
)";
}

namespace {

// "a,b,c" -> {"a", "b", "c"} (at least one item; empty items are refused by the caller).
std::vector<std::string_view> split_list(std::string_view text) {
  std::vector<std::string_view> items;
  while (true) {
    const auto comma = text.find(',');
    items.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  if (argc < 1) throw std::invalid_argument("missing SCENARIO");
  o.scenario = argv[0];
  if (o.scenario != "connect" && o.scenario != "fanout" && o.scenario != "relay" &&
      o.scenario != "ping" && o.scenario != "churn") {
    throw std::invalid_argument("unknown scenario: " + o.scenario);
  }
  using Setter = std::function<void(std::string_view)>;
  const std::map<std::string_view, Setter> setters{
      {"host", [&](std::string_view v) { o.host = std::string(v); }},
      {"port", [&](std::string_view v) {
         for (const auto item : split_list(v)) {
           o.ports.push_back(static_cast<std::uint16_t>(count("port", item, 1, 65535)));
         }
         o.port = o.ports.front();
       }},
      {"threads", [&](std::string_view v) { o.threads = static_cast<unsigned>(count("threads", v, 1, 64)); }},
      {"source-ips", [&](std::string_view v) { o.source_ips = static_cast<unsigned>(count("source-ips", v, 1, 254)); }},
      {"server-pid", [&](std::string_view v) {
         for (const auto item : split_list(v)) {
           o.server_pids.push_back(static_cast<std::int64_t>(count("server-pid", item, 1, 1u << 30)));
         }
       }},
      {"label", [&](std::string_view v) { o.label = std::string(v); }},
      {"duration", [&](std::string_view v) { o.duration = positive("duration", v, kMaxDurationSec); }},
      {"warmup", [&](std::string_view v) { o.warmup = v == "0" ? 0 : positive("warmup", v, 30); }},
      {"drain", [&](std::string_view v) { o.drain = positive("drain", v, 30); }},
      {"hold", [&](std::string_view v) { o.hold = positive("hold", v, 60); }},
      {"connections", [&](std::string_view v) { o.connections = count("connections", v, 1, kMaxConnections); }},
      {"room-size", [&](std::string_view v) { o.room_size = count("room-size", v, 1, 10'000); }},
      {"rooms", [&](std::string_view v) { o.rooms = count("rooms", v, 1, kMaxConnections); }},
      {"pairs", [&](std::string_view v) { o.pairs = count("pairs", v, 1, kMaxConnections / 2); }},
      {"idle", [&](std::string_view v) { o.idle = count("idle", v, 0, kMaxConnections); }},
      {"concurrency", [&](std::string_view v) { o.concurrency = count("concurrency", v, 1, 10'000); }},
      {"message", [&](std::string_view v) { o.message = std::string(v); }},
      {"slow", [&](std::string_view v) { o.slow = count("slow", v, 0, kMaxConnections); }},
      {"examples", [&](std::string_view v) { o.examples = std::string(v); }},
      {"rate", [&](std::string_view v) { o.rate = positive("rate", v, 1e8); }},
      {"tick-ms", [&](std::string_view v) { o.tick_ms = positive("tick-ms", v, 100); }},
      {"p99-limit-ms", [&](std::string_view v) { o.p99_limit_ms = positive("p99-limit-ms", v, 60'000); }},
      {"step-factor", [&](std::string_view v) { o.step_factor = positive("step-factor", v, 10); }},
      {"step-duration", [&](std::string_view v) { o.step_duration = positive("step-duration", v, kMaxDurationSec); }},
      {"max-steps", [&](std::string_view v) { o.max_steps = count("max-steps", v, 1, 100); }},
      {"max-rate", [&](std::string_view v) { o.max_rate = positive("max-rate", v, 1e8); }},
      {"workers", [&](std::string_view v) { o.workers = count("workers", v, 1, 50'000); }},
      {"abrupt", [&](std::string_view v) {
         o.abrupt = to_double("abrupt", v);
         if (o.abrupt < 0 || o.abrupt > 1) throw std::invalid_argument("--abrupt must be in [0, 1]");
       }},
      {"dwell-ms", [&](std::string_view v) { o.dwell_ms = v == "0" ? 0 : positive("dwell-ms", v, 60'000); }},
      {"health-interval-ms", [&](std::string_view v) { o.health_interval_ms = positive("health-interval-ms", v, 60'000); }},
      {"poll", [&](std::string_view v) {
         if (v.empty() || v.front() != '/') throw std::invalid_argument("--poll must be a path (/...)");
         o.poll_path = std::string(v);
       }},
      {"pollers", [&](std::string_view v) { o.pollers = count("pollers", v, 0, 64); }},
  };
  std::map<std::string, bool> seen;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") throw std::invalid_argument("unexpected argument: " + std::string(arg));
    arg.remove_prefix(2);
    if (arg == "max") {
      o.max = true;
      continue;
    }
    std::string_view value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw std::invalid_argument("--" + std::string(arg) + " needs a value");
      value = argv[++i];
    }
    const auto it = setters.find(arg);
    if (it == setters.end()) throw std::invalid_argument("unknown option --" + std::string(arg));
    it->second(value);
    seen[std::string(arg)] = true;
  }
  // ping is a latency probe: a few connections at a low rate unless told otherwise.
  if (o.scenario == "ping") {
    if (!seen["rate"]) o.rate = 200;
    if (!seen["connections"]) o.connections = 10;
  }

  if (o.port == 0) throw std::invalid_argument("--port is required");
  if (o.pollers > 0 && (o.scenario != "ping" || o.poll_path.empty())) {
    throw std::invalid_argument("--pollers needs the ping scenario and --poll PATH");
  }
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address_v4(o.host, ec);
  if (ec || (address.to_uint() >> 24) != 127) {
    throw std::invalid_argument("--host must be an IPv4 loopback address (127.0.0.0/8): " + o.host);
  }
  if (o.message != "PLAY_PAUSE" && o.message != "HOST_HEARTBEAT") {
    throw std::invalid_argument("--message must be PLAY_PAUSE or HOST_HEARTBEAT");
  }
  if (o.slow > 0 && (o.scenario != "fanout" || o.max || o.slow > o.rooms || o.room_size < 2)) {
    throw std::invalid_argument(
        "--slow: fanout without --max, at most one per room (--rooms), rooms of 2+");
  }
  if (o.max && o.scenario != "fanout" && o.scenario != "relay") {
    throw std::invalid_argument("--max applies to fanout and relay");
  }
  std::size_t total = 0;
  if (o.scenario == "connect" || o.scenario == "ping") total = o.connections;
  if (o.scenario == "fanout") total = o.rooms * o.room_size;
  if (o.scenario == "relay") total = 2 * o.pairs + o.idle;
  if (o.scenario == "churn") total = o.workers;
  if (total > kMaxConnections) {
    throw std::invalid_argument("too many connections: " + std::to_string(total) + " > " +
                                std::to_string(kMaxConnections));
  }
  if (o.max && o.max_steps * (o.step_duration + o.warmup + o.drain) > kHardWallClockSec - 120) {
    throw std::invalid_argument("--max: max-steps x (step-duration + warmup + drain) too long");
  }
  return o;
}

}  // namespace tandem::bench
