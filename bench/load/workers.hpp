#pragma once
// One io_context per thread. The main thread orchestrates (timing, /proc sampling) and
// talks to the workers only by posting functions to their loops.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace tandem::bench {

namespace asio = boost::asio;

class Workers {
 public:
  explicit Workers(unsigned count);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;

  unsigned size() const noexcept { return static_cast<unsigned>(loops_.size()); }
  asio::io_context& io(unsigned worker) { return loops_[worker]->io; }

  // Runs fn(worker) on every worker's thread, waits until all have returned.
  void run_on_all(const std::function<void(unsigned)>& fn);
  // Runs fn on one worker's thread, without waiting.
  void post(unsigned worker, std::function<void()> fn);
  // Stops the loops (pending handlers are dropped) and joins the threads.
  void stop();

 private:
  struct Loop {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace tandem::bench
