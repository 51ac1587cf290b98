// churn: --workers clients loop connect -> JOIN -> (dwell) -> leave, the leave being either a
// LEAVE (the server closes with 1000) or, with probability --abrupt, a socket closed without
// a word (the server keeps the member for the reconnect grace period, and the next JOIN of
// the same userId resumes it). Meanwhile worker 0 polls GET /health on fresh connections.
// Counted inside the measured window: joins/s, join latency, /health latency and failures.
#include "http_probe.hpp"
#include "messages.hpp"
#include "report.hpp"
#include "scenarios.hpp"
#include "workers.hpp"
#include "ws_client.hpp"

#include <boost/asio/steady_timer.hpp>

#include <cmath>
#include <cstdio>
#include <map>

namespace tandem::bench {
namespace {

namespace json = boost::json;

struct ChurnMetrics {
  Histogram join_ns;
  Histogram health_ns;
  std::uint64_t joins = 0;  // ROOM_STATE received inside the window
  std::uint64_t joins_total = 0;
  std::uint64_t connect_failed = 0;
  std::uint64_t join_failed = 0;
  std::uint64_t leaves = 0;
  std::uint64_t abrupt_closes = 0;
  std::uint64_t leave_timeouts = 0;
  std::uint64_t unexpected_closes = 0;
  std::uint64_t health_ok = 0;
  std::uint64_t health_failed = 0;
  std::map<std::string, std::uint64_t> errors;

  void merge(const ChurnMetrics& o) {
    join_ns.merge(o.join_ns);
    health_ns.merge(o.health_ns);
    joins += o.joins;
    joins_total += o.joins_total;
    connect_failed += o.connect_failed;
    join_failed += o.join_failed;
    leaves += o.leaves;
    abrupt_closes += o.abrupt_closes;
    leave_timeouts += o.leave_timeouts;
    unexpected_closes += o.unexpected_closes;
    health_ok += o.health_ok;
    health_failed += o.health_failed;
    for (const auto& [error, n] : o.errors) errors[error] += n;
  }
};

class Churn {
 public:
  explicit Churn(const Options& o)
      : o_(o),
        workers_(o.threads),
        server_(asio::ip::make_address_v4(o.host), o.port),
        run_(run_token()),
        per_worker_(workers_.size()),
        slots_(o.workers) {}

  json::object run() {
    json::object out;
    out["scenario"] = "churn";
    out["environment"] = environment_json(o_);
    out["config"] = json::object{{"workers", o_.workers},
                                 {"rooms", o_.rooms},
                                 {"abrupt", o_.abrupt},
                                 {"dwell_ms", o_.dwell_ms},
                                 {"health_interval_ms", o_.health_interval_ms},
                                 {"warmup_s", o_.warmup},
                                 {"duration_s", o_.duration}};
    start_ = now_ns();
    warm_end_ = start_ + seconds_to_ns(o_.warmup);
    meas_end_ = warm_end_ + seconds_to_ns(o_.duration);
    workers_.run_on_all([&](unsigned w) {
      per_worker_[w].rng.seed(1234 + w);
      for (std::size_t c = w; c < slots_.size(); c += workers_.size()) {
        Slot& slot = slots_[c];
        slot.worker = w;
        slot.index = static_cast<std::uint32_t>(c);
        slot.room = cat("h", run_, "-", c % o_.rooms);
        slot.user = cat("h", c);
        slot.timer = std::make_unique<asio::steady_timer>(workers_.io(w));
        connect(slot);
      }
      if (w == 0) {
        health_timer_ = std::make_unique<asio::steady_timer>(workers_.io(0));
        probe();
      }
    });
    sleep_until_ns(warm_end_);
    const Snapshot before = snapshot(o_.server_pids);
    sleep_until_ns(meas_end_);
    const Snapshot after = snapshot(o_.server_pids);
    std::vector<ChurnMetrics> copies(workers_.size());
    workers_.run_on_all([&](unsigned w) {
      stopping_[w] = true;
      copies[w] = per_worker_[w].metrics;
      for (std::size_t c = w; c < slots_.size(); c += workers_.size()) {
        Slot& slot = slots_[c];
        slot.timer->cancel();
        if (slot.ws) slot.ws->close_abrupt();
      }
      if (w == 0 && health_timer_) health_timer_->cancel();
    });
    // Let in-flight probes and connects fail or finish before the loops stop.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    workers_.run_on_all([&](unsigned w) {
      for (std::size_t c = w; c < slots_.size(); c += workers_.size()) {
        if (slots_[c].ws) slots_[c].ws->close_abrupt();
      }
    });
    workers_.stop();

    ChurnMetrics total;
    for (const auto& m : copies) total.merge(m);
    const double window_s = static_cast<double>(meas_end_ - warm_end_) / 1e9;
    const double joins_per_s = static_cast<double>(total.joins) / window_s;
    json::object errors;
    for (const auto& [error, n] : total.errors) errors[error] = n;
    out["result"] = json::object{
        {"duration_s", window_s},
        {"joins", total.joins},
        {"joins_per_s", std::round(joins_per_s)},
        {"join_latency", latency_json(total.join_ns)},
        {"connect_failed", total.connect_failed},
        {"join_failed", total.join_failed},
        {"leaves_sent", total.leaves},
        {"abrupt_closes", total.abrupt_closes},
        {"leave_close_timeouts", total.leave_timeouts},
        {"unexpected_server_closes", total.unexpected_closes},
        {"health_ok", total.health_ok},
        {"health_failed", total.health_failed},
        {"health_latency", latency_json(total.health_ns)},
        {"errors", std::move(errors)},
        {"window", window_json(before, after, static_cast<double>(total.joins), "join")}};
    std::fprintf(stderr,
                 "churn: %.0f joins/s (join p50 %s p99 %s); /health %llu ok %llu failed, p50 %s "
                 "p99 %s max %s; load %s\n",
                 joins_per_s, ms(total.join_ns.percentile(0.5)).c_str(),
                 ms(total.join_ns.percentile(0.99)).c_str(),
                 static_cast<unsigned long long>(total.health_ok),
                 static_cast<unsigned long long>(total.health_failed),
                 ms(total.health_ns.percentile(0.5)).c_str(),
                 ms(total.health_ns.percentile(0.99)).c_str(), ms(total.health_ns.max()).c_str(),
                 after.loadavg.c_str());
    for (const auto& [error, n] : total.errors) {
      std::fprintf(stderr, "  %llu x %s\n", static_cast<unsigned long long>(n), error.c_str());
    }
    return out;
  }

 private:
  enum class State { connecting, joining, joined, leaving, idle };

  struct Slot {
    std::shared_ptr<WsClient> ws;
    std::unique_ptr<asio::steady_timer> timer;
    std::string room;
    std::string user;
    unsigned worker = 0;
    std::uint32_t index = 0;
    std::uint64_t generation = 0;  // bumped per connection; stale callbacks are ignored
    State state = State::idle;
    std::int64_t join_sent = 0;
    std::uint32_t source = 0;
  };

  struct PerWorker {
    ChurnMetrics metrics;
    std::mt19937 rng;
  };

  bool in_window(std::int64_t t) const { return t >= warm_end_ && t < meas_end_; }

  void error(Slot& slot, const std::string& what) {
    per_worker_[slot.worker].metrics.errors[what.substr(0, 60)]++;
  }

  void connect(Slot& slot) {
    if (stopping_[slot.worker]) return;
    const std::uint64_t generation = ++slot.generation;
    Slot* s = &slot;
    slot.state = State::connecting;
    slot.ws = WsClient::make(workers_.io(slot.worker),
                             {[this, s, generation](std::string_view text) {
                                if (s->generation == generation) on_message(*s, text);
                              },
                              [this, s, generation](int code) {
                                if (s->generation == generation) on_close(*s, code);
                              }});
    // Spread over the source addresses: each new connection takes the next one.
    const auto base = asio::ip::make_address_v4("127.0.0.1").to_uint();
    const asio::ip::address_v4 source(base + (slot.index + slot.source++) % o_.source_ips);
    slot.ws->connect(server_, source, [this, s, generation](bool ok, std::string_view why) {
      if (s->generation != generation) return;
      if (!ok) {
        per_worker_[s->worker].metrics.connect_failed++;
        error(*s, std::string(why));
        retry_later(*s);
        return;
      }
      s->state = State::joining;
      s->join_sent = now_ns();
      s->ws->send(std::make_shared<const std::string>(join_message(s->room, s->user, "churn")));
    });
  }

  void retry_later(Slot& slot) {
    slot.state = State::idle;
    if (slot.ws) slot.ws->close_abrupt();
    slot.timer->expires_after(std::chrono::milliseconds(20));
    Slot* s = &slot;
    slot.timer->async_wait([this, s](const boost::system::error_code& ec) {
      if (!ec) connect(*s);
    });
  }

  void on_message(Slot& slot, std::string_view text) {
    if (slot.state != State::joining) return;  // USER_JOINED etc. of others: ignored
    const std::string_view type = message_type(text);
    ChurnMetrics& m = per_worker_[slot.worker].metrics;
    if (type == "ROOM_STATE") {
      const std::int64_t now = now_ns();
      m.joins_total++;
      if (in_window(now)) {
        m.joins++;
        m.join_ns.record(now - slot.join_sent);
      }
      slot.state = State::joined;
      if (o_.dwell_ms > 0) {
        Slot* s = &slot;
        slot.timer->expires_after(std::chrono::microseconds(static_cast<std::int64_t>(o_.dwell_ms * 1e3)));
        slot.timer->async_wait([this, s](const boost::system::error_code& ec) {
          if (!ec) leave(*s);
        });
      } else {
        leave(slot);
      }
    } else if (type == "ERROR") {
      m.join_failed++;
      error(slot, "join: " + std::string(text.substr(0, 80)));
      retry_later(slot);
    }
  }

  void leave(Slot& slot) {
    PerWorker& w = per_worker_[slot.worker];
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    if (coin(w.rng) < o_.abrupt) {
      w.metrics.abrupt_closes++;
      slot.ws->close_abrupt();
      connect(slot);
      return;
    }
    w.metrics.leaves++;
    slot.state = State::leaving;
    slot.ws->send(std::make_shared<const std::string>(leave_message()));
    // The server closes with 1000 after a LEAVE; do not wait for ever.
    Slot* s = &slot;
    const std::uint64_t generation = slot.generation;
    slot.timer->expires_after(std::chrono::seconds(2));
    slot.timer->async_wait([this, s, generation](const boost::system::error_code& ec) {
      if (ec || s->generation != generation || s->state != State::leaving) return;
      per_worker_[s->worker].metrics.leave_timeouts++;
      s->ws->close_abrupt();
      connect(*s);
    });
  }

  void on_close(Slot& slot, int code) {
    if (slot.state == State::leaving) {
      slot.timer->cancel();
      connect(slot);
      return;
    }
    ChurnMetrics& m = per_worker_[slot.worker].metrics;
    m.unexpected_closes++;
    error(slot, cat("closed by server: ", static_cast<std::size_t>(code)));
    retry_later(slot);
  }

  void probe() {
    if (stopping_[0]) return;
    const std::int64_t started = now_ns();
    http_get(workers_.io(0), server_, "/health", std::chrono::milliseconds(1000),
             [this, started](int status, std::string_view why, std::size_t) {
               const std::int64_t now = now_ns();
               ChurnMetrics& m = per_worker_[0].metrics;
               if (in_window(started)) {
                 if (status == 200) {
                   m.health_ok++;
                   m.health_ns.record(now - started);
                 } else {
                   m.health_failed++;
                   m.errors["health: " + (status ? std::to_string(status) : std::string(why))]++;
                 }
               }
               if (stopping_[0]) return;
               const auto interval = seconds_to_ns(o_.health_interval_ms / 1e3);
               const std::int64_t wait = std::max<std::int64_t>(0, started + interval - now);
               health_timer_->expires_after(std::chrono::nanoseconds(wait));
               health_timer_->async_wait([this](const boost::system::error_code& ec) {
                 if (!ec) probe();
               });
             });
  }

  const Options& o_;
  Workers workers_;
  tcp::endpoint server_;
  std::string run_;
  std::vector<PerWorker> per_worker_;
  std::vector<Slot> slots_;
  std::unique_ptr<asio::steady_timer> health_timer_;
  bool stopping_[64] = {};
  std::int64_t start_ = 0;
  std::int64_t warm_end_ = 0;
  std::int64_t meas_end_ = 0;
};

}  // namespace

json::object run_churn(const Options& options) {
  Churn churn(options);
  return churn.run();
}

}  // namespace tandem::bench
