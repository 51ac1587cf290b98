#pragma once
// The process's open-file limit (RLIMIT_NOFILE) against what the configuration may use:
// one descriptor per WebSocket and plain HTTP connection plus a reserve for the listener,
// the store, Redis, the loop's own descriptors and logs. At start the soft limit is raised
// toward the hard limit when it is too low (never lowered); what is still missing is
// reported so that the operator reads it once at start instead of meeting EMFILE under load.
#include <cstdint>

namespace tandem::net {

// Descriptors kept free beyond one per connection.
inline constexpr std::uint64_t kDescriptorReserve = 128;

// Descriptors the connection caps may use.
std::uint64_t descriptors_needed(std::uint64_t max_connections,
                                 std::uint64_t max_http_connections) noexcept;

// Pure: the soft limit to ask for. Raises `soft` to `needed`, capped at `hard` (which may be
// "unlimited", i.e. the largest value); never lowers it.
std::uint64_t plan_descriptor_limit(std::uint64_t soft, std::uint64_t hard,
                                    std::uint64_t needed) noexcept;

struct DescriptorLimit {
  std::uint64_t before = 0;  // soft limit found
  std::uint64_t after = 0;   // soft limit now
  std::uint64_t hard = 0;
  std::uint64_t needed = 0;
  int error = 0;  // errno of a failed getrlimit/setrlimit (0 = none)
  bool enough() const noexcept { return after >= needed; }
  bool raised() const noexcept { return after > before; }
};

// Reads RLIMIT_NOFILE and raises the soft limit as planned (the one system call of this
// unit; the caller logs the outcome).
DescriptorLimit raise_descriptor_limit(std::uint64_t needed);

}  // namespace tandem::net
