#include "net/descriptor_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>

namespace tandem::net {

std::uint64_t descriptors_needed(std::uint64_t max_connections,
                                 std::uint64_t max_http_connections) noexcept {
  return max_connections + max_http_connections + kDescriptorReserve;
}

std::uint64_t plan_descriptor_limit(std::uint64_t soft, std::uint64_t hard,
                                    std::uint64_t needed) noexcept {
  if (soft >= needed) return soft;
  return std::max(soft, std::min(needed, hard));
}

DescriptorLimit raise_descriptor_limit(std::uint64_t needed) {
  DescriptorLimit out;
  out.needed = needed;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    out.error = errno;
    return out;
  }
  out.before = out.after = static_cast<std::uint64_t>(limit.rlim_cur);
  out.hard = static_cast<std::uint64_t>(limit.rlim_max);
  const std::uint64_t target = plan_descriptor_limit(out.before, out.hard, needed);
  if (target == out.before) return out;
  rlimit raised = limit;
  raised.rlim_cur = static_cast<rlim_t>(target);
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    out.error = errno;  // e.g. above fs.nr_open with an unlimited hard limit
    return out;
  }
  out.after = target;
  return out;
}

}  // namespace tandem::net
