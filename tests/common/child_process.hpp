#pragma once
// A server binary as a direct child of the test process, for the fixtures that start one
// (PostgreSQL, Redis): stdin from /dev/null, stdout and stderr appended to a log file, an
// optional switch to another user (PostgreSQL refuses to run as root), and a parent-death
// signal so that it never outlives the test process, even when the test crashes.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::test {

struct SpawnOptions {
  std::filesystem::path log;       // stdout and stderr, appended
  int death_signal = 9;            // sent to the child when the test process dies (SIGKILL)
  std::optional<std::pair<uid_t, gid_t>> run_as;  // user and group to switch to first
};

// fork + exec of argv[0] (a path). Throws std::system_error when it cannot be started.
pid_t spawn_child(const std::vector<std::string>& argv, const SpawnOptions& options);

// Waits (polling waitpid) until the child has exited and was reaped, then sets pid to -1
// and, given `status`, stores its wait status there; false if it still runs at the timeout.
// A pid of -1 (already reaped) returns true and leaves `status` alone.
bool wait_child(pid_t& pid, std::chrono::milliseconds timeout, int* status = nullptr);

// Sends each signal in turn and waits its time for the exit; SIGKILL (with 5 s) if all
// of them were ignored. No-op for a pid of -1.
void stop_child(pid_t& pid, const std::vector<std::pair<int, std::chrono::milliseconds>>& steps);

}  // namespace tandem::test
