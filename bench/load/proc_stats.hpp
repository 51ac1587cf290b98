#pragma once
// Readings from /proc: a process's CPU time and memory, per-core busy time, load average.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::bench {

struct ProcessSample {
  double cpu_user_s = 0;  // utime
  double cpu_sys_s = 0;   // stime
  std::int64_t rss_kb = 0;    // VmRSS
  std::int64_t hwm_kb = 0;    // VmHWM (peak RSS)
  std::int64_t voluntary_switches = 0;
  std::int64_t involuntary_switches = 0;
  double cpu_s() const noexcept { return cpu_user_s + cpu_sys_s; }
};

// nullopt when the process does not exist (or /proc is unreadable).
std::optional<ProcessSample> sample_process(std::int64_t pid);

// CPU seconds (utime + stime) of each of a process's threads, summed by thread name
// (/proc/PID/task/TID/comm: the server names its journal writer "tandem-journal"; the
// event loop runs on the main thread, named after the executable). Empty when the process
// does not exist.
std::vector<std::pair<std::string, double>> sample_threads(std::int64_t pid);

// Adds `cpu_s` to the entry named `name` in `by_name` (appended if there is none): threads
// of one name, in one process or across a cluster's processes, are summed.
void add_by_name(std::vector<std::pair<std::string, double>>& by_name, std::string name,
                 double cpu_s);

// This process, via getrusage (all threads).
ProcessSample sample_self();

struct CoreTimes {
  std::uint64_t busy = 0;   // jiffies not idle/iowait
  std::uint64_t total = 0;
};
std::vector<CoreTimes> sample_cores();  // one per cpuN line of /proc/stat

// busy fraction of each core between two samples
std::vector<double> core_busy(const std::vector<CoreTimes>& before,
                              const std::vector<CoreTimes>& after);

std::string load_average();  // first three fields of /proc/loadavg
unsigned cpu_count();

// Raises RLIMIT_NOFILE to at least `wanted` if possible; returns the soft limit now.
std::uint64_t raise_fd_limit(std::uint64_t wanted);

}  // namespace tandem::bench
