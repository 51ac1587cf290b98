#include "support/server_process.hpp"

#include <algorithm>

#include "common/test_os.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#ifndef TANDEM_SERVER_BINARY
#error "TANDEM_SERVER_BINARY must name the server executable"
#endif

namespace tandem::test {

namespace {

std::atomic<int> next_node{1};

std::optional<boost::json::object> parse_json_line(const std::string& text) {
  if (text.empty() || text.front() != '{') return std::nullopt;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exited with status " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ServerProcess::ServerProcess(const Env& overrides, std::vector<std::string> args,
                             ProcessOptions options) {
  node_id_ = "test-" + std::to_string(next_node.fetch_add(1));
  data_dir_ = make_temp_dir("tandem-it").string();

  Env env;
  for (const char* name : {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                           "ASAN_SYMBOLIZER_PATH", "LLVM_SYMBOLIZER_PATH"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  env["PORT"] = "0";
  env["HOST"] = "127.0.0.1";
  env["LOG_LEVEL"] = "info";
  env["NODE_ID"] = node_id_;
  env["DATA_DIR"] = data_dir_;
  env["STATUS_CACHE_MS"] = "0";  // tests read /status right after a change (one test sets it)
  for (const auto& [name, value] : overrides) {
    if (value == kUnset) {
      env.erase(name);
    } else {
      env[name] = value;
    }
  }
  if (auto it = env.find("NODE_ID"); it != env.end()) node_id_ = it->second;

  // Everything the child needs is built before fork(): after it, only async-signal-safe
  // calls are allowed (the test process has threads).
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string binary = TANDEM_SERVER_BINARY;
  std::vector<char*> argv{binary.data()};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    // Child. Die with the test process, whatever happens to it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    // No descriptor of the test process (client sockets above all: a socket inherited by
    // the server would keep a "closed" connection open) may leak into the server.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    }
    if (options.open_files_soft != 0) {
      const rlimit limit{static_cast<rlim_t>(options.open_files_soft),
                         static_cast<rlim_t>(options.open_files_hard != 0
                                                 ? options.open_files_hard
                                                 : options.open_files_soft)};
      if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    const char message[] = "tandem test harness: execve of the server failed\n";
    [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  pid_ = pid;
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { read_output(out, err); });
  waiter_ = std::thread([this] { wait_child(); });
}

ServerProcess::~ServerProcess() {
  {
    const std::lock_guard lock(mutex_);
    if (!exit_) ::kill(pid_, SIGKILL);
  }
  if (waiter_.joinable()) waiter_.join();
  if (reader_.joinable()) reader_.join();
  std::error_code ignored;
  std::filesystem::remove_all(data_dir_, ignored);
}

void ServerProcess::read_output(int out_fd, int err_fd) {
  std::string pending[2];
  int fds[2] = {out_fd, err_fd};
  bool open[2] = {true, true};
  char buffer[16384];
  const auto flush_lines = [&](int which, bool all) {
    std::string& text = pending[which];
    std::size_t start = 0;
    std::vector<LogLine> fresh;
    for (;;) {
      const std::size_t nl = text.find('\n', start);
      if (nl == std::string::npos) break;
      LogLine line;
      line.from_stderr = which == 1;
      line.text = text.substr(start, nl - start);
      line.json = parse_json_line(line.text);
      fresh.push_back(std::move(line));
      start = nl + 1;
    }
    text.erase(0, start);
    if (all && !text.empty()) {
      LogLine line;
      line.from_stderr = which == 1;
      line.text = std::move(text);
      line.json = parse_json_line(line.text);
      fresh.push_back(std::move(line));
      text.clear();
    }
    if (fresh.empty()) return;
    const std::lock_guard lock(mutex_);
    for (auto& line : fresh) lines_.push_back(std::move(line));
    changed_.notify_all();
  };
  while (open[0] || open[1]) {
    pollfd pfds[2];
    nfds_t n = 0;
    int which_of[2];
    for (int i = 0; i < 2; ++i) {
      if (!open[i]) continue;
      pfds[n] = pollfd{fds[i], POLLIN, 0};
      which_of[n] = i;
      ++n;
    }
    const int ready = ::poll(pfds, n, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (nfds_t k = 0; k < n; ++k) {
      if (pfds[k].revents == 0) continue;
      const int i = which_of[k];
      const ssize_t got = ::read(fds[i], buffer, sizeof buffer);
      if (got > 0) {
        pending[i].append(buffer, static_cast<std::size_t>(got));
        flush_lines(i, false);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        open[i] = false;
        flush_lines(i, true);
      }
    }
  }
  ::close(out_fd);
  ::close(err_fd);
  const std::lock_guard lock(mutex_);
  output_closed_ = true;
  changed_.notify_all();
}

void ServerProcess::wait_child() {
  // Wait without reaping first: until the status is stored, kill() may still target the
  // pid safely (a zombie's pid cannot be reused).
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 &&
         errno == EINTR) {
  }
  const std::lock_guard lock(mutex_);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  ExitStatus result;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  exit_ = result;
  changed_.notify_all();
}

bool ServerProcess::wait_listening(Millis timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    for (; seen < lines_.size(); ++seen) {
      const auto& json = lines_[seen].json;
      if (!json) continue;
      const auto* msg = json->if_contains("msg");
      const auto* port = json->if_contains("port");
      if (msg != nullptr && msg->is_string() && msg->get_string() == "listening" &&
          port != nullptr && port->is_int64()) {
        port_ = static_cast<std::uint16_t>(port->get_int64());
        return port_ != 0;
      }
    }
    if (exit_ || output_closed_) return false;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && seen == lines_.size()) {
      return false;
    }
  }
}

void ServerProcess::signal(int sig) {
  const std::lock_guard lock(mutex_);
  if (!exit_) ::kill(pid_, sig);
  signals_sent_.push_back(sig);
}

bool ServerProcess::was_signalled(int sig) const {
  const std::lock_guard lock(mutex_);
  return std::find(signals_sent_.begin(), signals_sent_.end(), sig) != signals_sent_.end();
}

std::optional<ExitStatus> ServerProcess::wait_exit(Millis timeout) {
  std::unique_lock lock(mutex_);
  // The output is complete too once the status is known (the pipes close at the exit).
  changed_.wait_for(lock, timeout, [this] { return exit_.has_value() && output_closed_; });
  return exit_;
}

bool ServerProcess::running() const {
  const std::lock_guard lock(mutex_);
  return !exit_.has_value();
}

std::optional<std::uint64_t> ServerProcess::rss_bytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "... kB"
  }
  return std::nullopt;
}

std::optional<double> ServerProcess::cpu_seconds() const {
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; fields after its ')' are plain: utime and
  // stime are fields 14 and 15, the 12th and 13th after field 2.
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 1));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<boost::json::object> ServerProcess::wait_for_log(
    const std::function<bool(const boost::json::object&)>& match, Millis timeout) {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  std::size_t seen = 0;
  for (;;) {
    for (; seen < lines_.size(); ++seen) {
      if (lines_[seen].json && match(*lines_[seen].json)) return lines_[seen].json;
    }
    if (output_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && seen == lines_.size()) {
      return std::nullopt;
    }
  }
}

std::optional<boost::json::object> ServerProcess::wait_for_log_msg(std::string_view msg,
                                                                   Millis timeout) {
  return wait_for_log(
      [msg](const boost::json::object& line) {
        const auto* value = line.if_contains("msg");
        return value != nullptr && value->is_string() && value->get_string() == msg;
      },
      timeout);
}

std::size_t ServerProcess::count_log_msg(std::string_view msg) const {
  const std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& line : lines_) {
    if (!line.json) continue;
    const auto* value = line.json->if_contains("msg");
    if (value != nullptr && value->is_string() && value->get_string() == msg) ++n;
  }
  return n;
}

std::vector<LogLine> ServerProcess::lines() const {
  const std::lock_guard lock(mutex_);
  return lines_;
}

std::vector<std::string> ServerProcess::stderr_lines() const {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& line : lines_) {
    if (line.from_stderr) out.push_back(line.text);
  }
  return out;
}

std::string ServerProcess::output(std::size_t last_lines) const {
  const std::lock_guard lock(mutex_);
  std::string out;
  const std::size_t first = lines_.size() > last_lines ? lines_.size() - last_lines : 0;
  if (first > 0) out += "... (" + std::to_string(first) + " earlier lines)\n";
  for (std::size_t i = first; i < lines_.size(); ++i) {
    out += lines_[i].from_stderr ? "[stderr] " : "";
    out += lines_[i].text;
    out += '\n';
  }
  if (exit_) out += "[process " + exit_->describe() + "]\n";
  return out;
}

std::unique_ptr<ServerProcess> start_server(const Env& overrides, std::vector<std::string> args,
                                            ProcessOptions options, std::source_location where) {
  auto server = std::make_unique<ServerProcess>(overrides, std::move(args), options);
  if (!server->wait_listening()) {
    fail_at(where, "the server did not report \"listening\"; its output:\n" + server->output());
  }
  return server;
}

}  // namespace tandem::test
