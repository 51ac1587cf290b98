// connect: N connections join rooms of R (at most --concurrency establishing at once).
// Join latency is JOIN sent -> ROOM_STATE received; joins/s is joined connections over the
// time from the first connect to the last ROOM_STATE; the server's RSS per connection is
// (VmRSS after all joined and --hold seconds - VmRSS before) / joined.
#include "fleet.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <cstdio>

namespace tandem::bench {

namespace json = boost::json;

json::object run_connect(const Options& o) {
  json::object out;
  out["scenario"] = "connect";
  out["environment"] = environment_json(o);
  out["config"] = json::object{{"connections", o.connections},
                               {"room_size", o.room_size},
                               {"concurrency", o.concurrency},
                               {"join_timeout_s", o.duration},
                               {"hold_s", o.hold}};
  Workers workers(o.threads);
  Fleet fleet(workers, o, o.connections);
  const std::string run = run_token();
  std::vector<std::uint32_t> all;
  all.reserve(o.connections);
  for (std::size_t i = 0; i < o.connections; ++i) {
    all.push_back(fleet.add(cat("c", run, "-", i / o.room_size),
                            cat("u", i)));
  }

  const Snapshot before = snapshot(o.server_pids);
  const JoinStats stats = fleet.join(all, o.duration);
  const Snapshot joined = snapshot(o.server_pids);
  sleep_until_ns(now_ns() + seconds_to_ns(o.hold));
  const Snapshot settled = snapshot(o.server_pids);
  const auto closes = fleet.take_closes();
  fleet.close_all();
  workers.stop();

  const double phase_s =
      stats.last_joined_ns > stats.first_start_ns
          ? static_cast<double>(stats.last_joined_ns - stats.first_start_ns) / 1e9
          : 0.0;
  const double joins_per_s = phase_s > 0 ? static_cast<double>(stats.joined) / phase_s : 0.0;
  json::object errors;
  for (const auto& [error, n] : stats.errors) errors[error] = n;
  json::object closes_json;
  for (const auto& [code, n] : closes) closes_json[std::to_string(code)] = n;

  json::object result{{"attempted", stats.attempted},
                      {"joined", stats.joined},
                      {"connect_failed", stats.connect_failed},
                      {"join_failed", stats.join_failed},
                      {"timed_out", stats.timed_out},
                      {"errors", std::move(errors)},
                      {"join_phase_s", phase_s},
                      {"joins_per_s", std::round(joins_per_s)},
                      {"join_latency", latency_json(stats.join_ns)},
                      {"connect_latency", latency_json(stats.connect_ns)},
                      {"server_closed_connections", std::move(closes_json)},
                      {"join_window", window_json(before, joined, static_cast<double>(stats.joined),
                                                  "join")}};
  double per_conn_bytes = -1;
  if (before.server && settled.server && stats.joined > 0) {
    per_conn_bytes = static_cast<double>(settled.server->rss_kb - before.server->rss_kb) * 1024.0 /
                     static_cast<double>(stats.joined);
    result["server_rss_kb_before"] = before.server->rss_kb;
    result["server_rss_kb_after"] = settled.server->rss_kb;
    result["server_rss_bytes_per_connection"] = std::round(per_conn_bytes);
  }
  out["result"] = std::move(result);

  std::fprintf(stderr,
               "connect: %llu/%llu joined in %.2f s (%.0f joins/s); join p50 %s p99 %s max %s; "
               "server RSS %s per connection; load %s\n",
               static_cast<unsigned long long>(stats.joined),
               static_cast<unsigned long long>(stats.attempted), phase_s, joins_per_s,
               ms(stats.join_ns.percentile(0.5)).c_str(), ms(stats.join_ns.percentile(0.99)).c_str(),
               ms(stats.join_ns.max()).c_str(),
               per_conn_bytes < 0 ? "n/a" : (std::to_string(static_cast<long long>(per_conn_bytes)) + " B").c_str(),
               settled.loadavg.c_str());
  for (const auto& [error, n] : stats.errors) {
    std::fprintf(stderr, "  %llu x %s\n", static_cast<unsigned long long>(n), error.c_str());
  }
  return out;
}

}  // namespace tandem::bench
