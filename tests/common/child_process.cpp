#include "common/child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace tandem::test {

pid_t spawn_child(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd =
      ::open(options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    const int error = errno;
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::system_error(error, std::generic_category(), "open " + options.log.string());
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only, then exec.
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (options.run_as && (::setgroups(0, nullptr) != 0 || ::setgid(options.run_as->second) != 0 ||
                           ::setuid(options.run_as->first) != 0)) {
      ::_exit(126);
    }
    // After the uid change (which clears it): die with the test process.
    ::prctl(PR_SET_PDEATHSIG, options.death_signal);
    if (::getppid() != parent) ::_exit(125);  // the parent died before prctl
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) throw std::system_error(fork_error, std::generic_category(), "fork");
  return pid;
}

bool wait_child(pid_t& pid, std::chrono::milliseconds timeout, int* status) {
  if (pid <= 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wait_status = 0;
    const pid_t r = ::waitpid(pid, &wait_status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      if (r == pid && status != nullptr) *status = wait_status;
      pid = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // bounded by the deadline
  }
}

void stop_child(pid_t& pid, const std::vector<std::pair<int, std::chrono::milliseconds>>& steps) {
  if (pid <= 0) return;
  for (const auto& [signal, wait] : steps) {
    ::kill(pid, signal);
    if (wait_child(pid, wait)) return;
  }
  ::kill(pid, SIGKILL);
  wait_child(pid, std::chrono::seconds(5));
}

}  // namespace tandem::test
