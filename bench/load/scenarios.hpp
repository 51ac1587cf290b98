#pragma once
// The scenarios. Each builds its connections, runs bounded in time, closes everything it
// opened, and returns its JSON result (the caller prints it).
#include "clock.hpp"
#include "options.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>

namespace tandem::bench {

boost::json::object run_connect(const Options& options);
boost::json::object run_fanout(const Options& options);
boost::json::object run_relay(const Options& options);
boost::json::object run_ping(const Options& options);
boost::json::object run_churn(const Options& options);

// A short random tag that keeps room and user ids of this run apart from earlier runs
// against the same server (rooms of abruptly closed clients live on for the grace period).
inline std::string run_token() {
  std::random_device device;
  std::mt19937 rng(device());
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 6; ++i) out.push_back(kAlphabet[rng() % 36]);
  return out;
}

// Concatenates strings and counts into one id ("f", run, "-", 12). (Also sidesteps a GCC 12
// -Wrestrict false positive on chains of std::string operator+.)
inline void append_part(std::string& out, std::string_view part) { out.append(part); }
inline void append_part(std::string& out, std::size_t number) { out.append(std::to_string(number)); }
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (append_part(out, parts), ...);
  return out;
}

inline void sleep_until_ns(std::int64_t at_ns) {
  const std::int64_t wait = at_ns - now_ns();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

inline std::int64_t seconds_to_ns(double seconds) {
  return static_cast<std::int64_t>(seconds * 1e9);
}

}  // namespace tandem::bench
