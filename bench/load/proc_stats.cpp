#include "proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace tandem::bench {
namespace {

double ticks_to_seconds(std::uint64_t ticks) {
  static const long hz = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
}

std::int64_t status_field_kb(const std::string& status, const std::string& key) {
  const auto at = status.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + key.size() + 2));
  std::int64_t value = 0;
  in >> value;
  return value;
}

// utime and stime of a /proc/.../stat file; false when it cannot be read.
bool read_cpu(const std::string& stat_path, double& user_s, double& sys_s) {
  std::ifstream stat_file(stat_path);
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const auto paren = stat.rfind(')');
  if (stat.empty() || paren == std::string::npos || paren + 2 > stat.size()) return false;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // Field 3 (state) is the first after ')'; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) user_s = ticks_to_seconds(std::stoull(field));
    if (index == 15) sys_s = ticks_to_seconds(std::stoull(field));
  }
  return true;
}

}  // namespace

std::optional<ProcessSample> sample_process(std::int64_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  ProcessSample sample;
  if (!read_cpu(dir + "/stat", sample.cpu_user_s, sample.cpu_sys_s)) return std::nullopt;
  std::ifstream status_file(dir + "/status");
  std::string status = "\n";
  status.append((std::istreambuf_iterator<char>(status_file)), std::istreambuf_iterator<char>());
  sample.rss_kb = status_field_kb(status, "VmRSS");
  sample.hwm_kb = status_field_kb(status, "VmHWM");
  sample.voluntary_switches = status_field_kb(status, "voluntary_ctxt_switches");
  sample.involuntary_switches = status_field_kb(status, "nonvoluntary_ctxt_switches");
  return sample;
}

std::vector<std::pair<std::string, double>> sample_threads(std::int64_t pid) {
  std::vector<std::pair<std::string, double>> out;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm_file(task.path() / "comm");
    std::string name;
    std::getline(comm_file, name);
    double user_s = 0;
    double sys_s = 0;
    if (name.empty() || !read_cpu(task.path() / "stat", user_s, sys_s)) continue;  // exited
    add_by_name(out, std::move(name), user_s + sys_s);
  }
  return out;
}

void add_by_name(std::vector<std::pair<std::string, double>>& by_name, std::string name,
                 double cpu_s) {
  const auto same = std::find_if(by_name.begin(), by_name.end(),
                                 [&](const auto& entry) { return entry.first == name; });
  if (same != by_name.end()) {
    same->second += cpu_s;
  } else {
    by_name.emplace_back(std::move(name), cpu_s);
  }
}

ProcessSample sample_self() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  ProcessSample sample;
  sample.cpu_user_s = static_cast<double>(usage.ru_utime.tv_sec) +
                      static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
  sample.cpu_sys_s = static_cast<double>(usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_stime.tv_usec) / 1e6;
  sample.rss_kb = usage.ru_maxrss;  // peak, kB
  sample.hwm_kb = usage.ru_maxrss;
  sample.voluntary_switches = usage.ru_nvcsw;
  sample.involuntary_switches = usage.ru_nivcsw;
  return sample;
}

std::vector<CoreTimes> sample_cores() {
  std::ifstream in("/proc/stat");
  std::vector<CoreTimes> cores;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] == ' ') continue;
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    std::uint64_t value = 0;
    CoreTimes core;
    // user nice system idle iowait irq softirq steal guest guest_nice
    for (int index = 0; index < 8 && fields >> value; ++index) {
      core.total += value;
      if (index != 3 && index != 4) core.busy += value;
    }
    cores.push_back(core);
  }
  return cores;
}

std::vector<double> core_busy(const std::vector<CoreTimes>& before,
                              const std::vector<CoreTimes>& after) {
  std::vector<double> out;
  for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
    const auto total = after[i].total - before[i].total;
    const auto busy = after[i].busy - before[i].busy;
    out.push_back(total == 0 ? 0.0 : static_cast<double>(busy) / static_cast<double>(total));
  }
  return out;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

unsigned cpu_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

std::uint64_t raise_fd_limit(std::uint64_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (raised.rlim_max < wanted) raised.rlim_max = wanted;  // needs CAP_SYS_RESOURCE
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      raised.rlim_cur = limit.rlim_max;
      raised.rlim_max = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &raised);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace tandem::bench
