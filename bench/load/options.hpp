#pragma once
// Command line of tandem-bench. Every run is bounded: durations and counts are capped here,
// and the target must be a loopback address.
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

inline constexpr double kMaxDurationSec = 120;        // one measured window
inline constexpr std::size_t kMaxConnections = 200'000;
inline constexpr double kHardWallClockSec = 900;      // watchdog: the process exits after this

struct Options {
  std::string scenario;  // connect | fanout | relay | ping | churn

  // Target and client side.
  std::string host = "127.0.0.1";  // must be in 127.0.0.0/8
  std::uint16_t port = 0;          // required: the first of `ports`
  std::vector<std::uint16_t> ports;  // --port A,B,C: connections spread round-robin (cluster)
  unsigned threads = 1;            // one io_context per thread
  unsigned source_ips = 4;         // client sockets bound to 127.0.0.1 .. 127.0.0.N
  std::vector<std::int64_t> server_pids;  // /proc sampling (summed: cluster nodes + Redis)
  std::string label;               // free text copied into the JSON result

  // Time.
  double duration = 10;  // measured window, seconds (connect: limit of the join phase)
  double warmup = 2;     // excluded from the figures
  double drain = 2;      // after the window: wait for in-flight messages
  double hold = 1;       // connect: settle time before sampling RSS

  // Shape.
  std::size_t connections = 1'000;  // connect, ping
  std::size_t room_size = 10;       // connect, fanout
  std::size_t rooms = 10;           // fanout, churn
  std::size_t pairs = 100;          // relay
  std::size_t idle = 0;             // relay: extra joined connections that send nothing
  std::size_t concurrency = 256;    // connections being established at once
  std::string message = "PLAY_PAUSE";  // fanout: PLAY_PAUSE | HOST_HEARTBEAT
  std::size_t slow = 0;             // fanout: members (one per room, never the host) that stop
                                    // reading after joining, to see the server shed them
  std::string examples = TANDEM_BENCH_EXAMPLES;  // relay: real OFFER/ANSWER/ICE_CANDIDATE

  // Offered load: fanout = deliveries/s (sends/s = rate / room size), relay = messages/s,
  // ping = pings/s.
  double rate = 10'000;
  double tick_ms = 1;  // pacer period

  // --max: step the rate up until p99 > limit or loss.
  bool max = false;
  double p99_limit_ms = 10;
  double step_factor = 1.25;
  double step_duration = 3;
  std::size_t max_steps = 30;
  double max_rate = 5'000'000;

  // churn
  std::size_t workers = 200;       // concurrent clients cycling connect/JOIN/leave
  double abrupt = 0.5;             // fraction of leaves that are an abrupt close (no LEAVE)
  double dwell_ms = 0;             // time joined before leaving
  double health_interval_ms = 10;  // GET /health period

  // ping: HTTP pollers during the step (e.g. /status while PING latency is measured), each
  // GETting `poll_path` on a fresh connection, back to back.
  std::string poll_path;
  std::size_t pollers = 0;
};

// Parses argv (after the program name). Throws std::invalid_argument with a message naming
// the option on any error, including a non-loopback target or a value over its cap.
Options parse_options(int argc, char** argv);

std::string usage();

}  // namespace tandem::bench
