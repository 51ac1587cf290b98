// tandem-loopback-floor [connections] [sends] [bytes] [sender_cpu] [reader_cpu]
//
// Opens `connections` loopback TCP connections (TCP_NODELAY on the sending side, as the
// server sets it), sends `sends` messages of `bytes` round-robin over them from one thread
// pinned to `sender_cpu`, while a second thread pinned to `reader_cpu` drains them with
// non-blocking recv(). Prints one JSON line: the sending thread's CPU time per send() (user
// + system, from getrusage(RUSAGE_THREAD)) and the wall time per send. On loopback the
// sender's send() also runs the receiving side's TCP processing, so this is the kernel cost a
// server pays per delivered frame when it makes one syscall per delivery. Bounded: at most
// 10,000 connections and 10,000,000 sends.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

long argument(int argc, char** argv, int index, long fallback, long min, long max) {
  if (argc <= index) return fallback;
  const long value = std::strtol(argv[index], nullptr, 10);
  if (value < min || value > max) {
    throw std::invalid_argument("argument " + std::to_string(index) + " must be in [" +
                                std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  long connections = 0, sends = 0, bytes = 0, sender_cpu = 0, reader_cpu = 0;
  try {
    connections = argument(argc, argv, 1, 100, 1, 10'000);
    sends = argument(argc, argv, 2, 300'000, 1, 10'000'000);
    bytes = argument(argc, argv, 3, 150, 1, 65'536);
    sender_cpu = argument(argc, argv, 4, 0, 0, 1023);
    reader_cpu = argument(argc, argv, 5, 1, 0, 1023);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem-loopback-floor: %s\nusage: tandem-loopback-floor [connections] "
                         "[sends] [bytes] [sender_cpu] [reader_cpu]\n", e.what());
    return 2;
  }

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 4096) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("tandem-loopback-floor: listen");
    return 1;
  }
  std::vector<int> receivers;
  std::vector<int> senders;
  for (long i = 0; i < connections; ++i) {
    const int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      std::perror("tandem-loopback-floor: connect");
      return 1;
    }
    const int accepted = accept(listener, nullptr, nullptr);
    if (accepted < 0) {
      std::perror("tandem-loopback-floor: accept");
      return 1;
    }
    const int one = 1;
    setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    receivers.push_back(client);
    senders.push_back(accepted);
  }

  const long long expected = static_cast<long long>(sends) * bytes;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    pin_to(static_cast<int>(reader_cpu));
    std::vector<char> buffer(1 << 16);
    long long received = 0;
    while (received < expected && !stop.load(std::memory_order_relaxed)) {
      for (const int fd : receivers) {
        const ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n > 0) received += n;
      }
    }
  });

  pin_to(static_cast<int>(sender_cpu));
  const std::string message(static_cast<std::size_t>(bytes), 'x');
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_seconds();
  long failed = 0;
  for (long k = 0; k < sends; ++k) {
    const int fd = senders[static_cast<std::size_t>(k % connections)];
    if (send(fd, message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) ++failed;
  }
  const double cpu = thread_cpu_seconds() - cpu_start;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (failed > 0) stop = true;  // short sends: the reader cannot count on every byte
  reader.join();
  for (const int fd : receivers) close(fd);
  for (const int fd : senders) close(fd);
  close(listener);

  std::printf("{\"connections\":%ld,\"sends\":%ld,\"bytes\":%ld,\"failed_sends\":%ld,"
              "\"sender_cpu_us_per_send\":%.3f,\"wall_us_per_send\":%.3f}\n",
              connections, sends, bytes, failed, cpu * 1e6 / static_cast<double>(sends),
              wall * 1e6 / static_cast<double>(sends));
  return failed > 0 ? 1 : 0;
}
