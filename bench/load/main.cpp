// tandem-bench: load generator for the tandem.watch signaling server. See usage() and
// docs/BENCHMARKS.md. Loopback targets only; every run ends by itself (its windows are
// capped and a watchdog ends the process after kHardWallClockSec whatever happens).
#include "clock.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "scenarios.hpp"

#include <boost/json/serialize.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

int main(int argc, char** argv) {
  using namespace tandem::bench;
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(usage().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  Options options;
  try {
    options = parse_options(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-bench: %s\n\n%s", e.what(), usage().c_str());
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  (void)now_ns();  // fixes the clock's origin

  std::thread([] {
    std::this_thread::sleep_for(std::chrono::duration<double>(kHardWallClockSec));
    std::fputs("tandem-bench: watchdog: run exceeded its hard time limit, exiting\n", stderr);
    std::_Exit(3);
  }).detach();

  std::size_t connections = options.connections;
  if (options.scenario == "fanout") connections = options.rooms * options.room_size;
  if (options.scenario == "relay") connections = 2 * options.pairs + options.idle;
  if (options.scenario == "churn") connections = 2 * options.workers;
  const std::uint64_t wanted = connections + 1024;
  const std::uint64_t limit = raise_fd_limit(wanted);
  if (limit < wanted) {
    std::fprintf(stderr, "tandem-bench: needs %llu file descriptors, RLIMIT_NOFILE is %llu (ulimit -n)\n",
                 static_cast<unsigned long long>(wanted), static_cast<unsigned long long>(limit));
    return 2;
  }

  try {
    boost::json::object result;
    if (options.scenario == "connect") result = run_connect(options);
    if (options.scenario == "fanout") result = run_fanout(options);
    if (options.scenario == "relay") result = run_relay(options);
    if (options.scenario == "ping") result = run_ping(options);
    if (options.scenario == "churn") result = run_churn(options);
    std::puts(boost::json::serialize(result).c_str());
    return result.contains("error") ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-bench: %s\n", e.what());
    return 1;
  }
}
