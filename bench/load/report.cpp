#include "report.hpp"

#include "clock.hpp"

#include <boost/json/array.hpp>

#include <cmath>
#include <cstdio>

namespace tandem::bench {
namespace {

namespace json = boost::json;

double round3(double value) { return std::round(value * 1000.0) / 1000.0; }
double to_ms(std::int64_t ns) { return round3(static_cast<double>(ns) / 1e6); }

std::string ports_text(const std::vector<std::uint16_t>& ports) {
  std::string out;
  for (const auto port : ports) {
    if (!out.empty()) out.push_back(',');
    out += std::to_string(port);
  }
  return out;
}

json::array pids_json(const std::vector<std::int64_t>& pids) {
  json::array out;
  for (const auto pid : pids) out.push_back(pid);
  return out;
}

}  // namespace

json::object latency_json(const Histogram& h) {
  return {{"count", h.count()},
          {"mean_ms", round3(h.mean() / 1e6)},
          {"p50_ms", to_ms(h.percentile(0.50))},
          {"p90_ms", to_ms(h.percentile(0.90))},
          {"p99_ms", to_ms(h.percentile(0.99))},
          {"p999_ms", to_ms(h.percentile(0.999))},
          {"max_ms", to_ms(h.max())}};
}

Snapshot snapshot(const std::vector<std::int64_t>& server_pids) {
  Snapshot s;
  s.at_ns = now_ns();
  for (const auto pid : server_pids) {
    const auto one = sample_process(pid);
    if (!one) continue;
    if (!s.server) s.server = ProcessSample{};
    s.server->cpu_user_s += one->cpu_user_s;
    s.server->cpu_sys_s += one->cpu_sys_s;
    s.server->rss_kb += one->rss_kb;
    s.server->hwm_kb += one->hwm_kb;
    s.server->voluntary_switches += one->voluntary_switches;
    s.server->involuntary_switches += one->involuntary_switches;
    for (auto& [name, cpu_s] : sample_threads(pid)) {
      add_by_name(s.server_threads, std::move(name), cpu_s);
    }
  }
  s.self = sample_self();
  s.cores = sample_cores();
  s.loadavg = load_average();
  return s;
}

double cpu_us_per(const Snapshot& before, const Snapshot& after, double units) {
  if (!before.server || !after.server || units <= 0) return -1;
  return round3((after.server->cpu_s() - before.server->cpu_s()) * 1e6 / units);
}

json::object window_json(const Snapshot& before, const Snapshot& after, double units,
                         std::string_view unit) {
  const double seconds = static_cast<double>(after.at_ns - before.at_ns) / 1e9;
  json::object out;
  out["window_s"] = round3(seconds);
  if (before.server && after.server) {
    const double cpu = after.server->cpu_s() - before.server->cpu_s();
    json::object server{
        {"cpu_s", round3(cpu)},
        {"cpu_user_s", round3(after.server->cpu_user_s - before.server->cpu_user_s)},
        {"cpu_sys_s", round3(after.server->cpu_sys_s - before.server->cpu_sys_s)},
        {"cpu_cores", round3(seconds > 0 ? cpu / seconds : 0)},
        {"rss_kb_before", before.server->rss_kb},
        {"rss_kb_after", after.server->rss_kb},
        {"rss_peak_kb", after.server->hwm_kb},
        {"voluntary_switches", after.server->voluntary_switches - before.server->voluntary_switches},
        {"involuntary_switches",
         after.server->involuntary_switches - before.server->involuntary_switches}};
    if (units > 0) server["cpu_us_per_" + std::string(unit)] = cpu_us_per(before, after, units);
    // CPU seconds in the window by thread name (threads that came or went count from 0).
    json::object threads;
    for (const auto& [name, cpu_s] : after.server_threads) {
      double start = 0;
      for (const auto& [before_name, before_s] : before.server_threads) {
        if (before_name == name) start = before_s;
      }
      threads[name] = round3(cpu_s - start);
    }
    server["threads_cpu_s"] = std::move(threads);
    out["server"] = std::move(server);
  }
  const double self_cpu = after.self.cpu_s() - before.self.cpu_s();
  out["generator"] = json::object{{"cpu_s", round3(self_cpu)},
                                  {"cpu_cores", round3(seconds > 0 ? self_cpu / seconds : 0)}};
  json::array busy;
  for (const double b : core_busy(before.cores, after.cores)) busy.push_back(round3(b));
  out["cores_busy"] = std::move(busy);
  out["loadavg_before"] = before.loadavg;
  out["loadavg_after"] = after.loadavg;
  return out;
}

json::object environment_json(const Options& o) {
  return {{"nproc", cpu_count()},
          {"threads", o.threads},
          {"source_ips", o.source_ips},
          {"target", o.host + ":" + ports_text(o.ports)},
          {"server_pids", pids_json(o.server_pids)},
          {"label", o.label},
          {"loadavg", load_average()}};
}

std::string ms(std::int64_t ns) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f ms", static_cast<double>(ns) / 1e6);
  return buffer;
}

}  // namespace tandem::bench
