#include "workers.hpp"

#include <boost/asio/post.hpp>

#include <future>

namespace tandem::bench {

Workers::Workers(unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<Loop>());
    Loop& loop = *loops_.back();
    loop.thread = std::thread([&loop] { loop.io.run(); });
  }
}

Workers::~Workers() { stop(); }

void Workers::run_on_all(const std::function<void(unsigned)>& fn) {
  std::vector<std::future<void>> done;
  for (unsigned i = 0; i < size(); ++i) {
    auto task = std::make_shared<std::packaged_task<void()>>([&fn, i] { fn(i); });
    done.push_back(task->get_future());
    asio::post(loops_[i]->io, [task] { (*task)(); });
  }
  for (auto& f : done) f.get();
}

void Workers::post(unsigned worker, std::function<void()> fn) {
  asio::post(loops_[worker]->io, std::move(fn));
}

void Workers::stop() {
  for (auto& loop : loops_) {
    loop->guard.reset();
    loop->io.stop();
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
}

}  // namespace tandem::bench
