#pragma once
// JSON pieces shared by the scenarios: latency summaries, /proc snapshots around a measured
// window, the run's environment.
#include "histogram.hpp"
#include "options.hpp"
#include "proc_stats.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::bench {

// count, mean/p50/p90/p99/p99.9/max in milliseconds
boost::json::object latency_json(const Histogram& histogram);

struct Snapshot {
  std::int64_t at_ns = 0;
  std::optional<ProcessSample> server;
  std::vector<std::pair<std::string, double>> server_threads;  // CPU s by thread name
  ProcessSample self;
  std::vector<CoreTimes> cores;
  std::string loadavg;
};

// The server figures are the sum over `server_pids` (a cluster: every node and Redis).
Snapshot snapshot(const std::vector<std::int64_t>& server_pids);

// Server CPU (seconds, share of one core, µs per `unit` when units > 0) and RSS, the
// generator's CPU, each core's busy share, the load average at both ends.
boost::json::object window_json(const Snapshot& before, const Snapshot& after, double units,
                                std::string_view unit);

boost::json::object environment_json(const Options& options);

// "1.234 ms"
std::string ms(std::int64_t ns);

// The server's CPU µs per unit over a window, or -1 without --server-pid.
double cpu_us_per(const Snapshot& before, const Snapshot& after, double units);

}  // namespace tandem::bench
