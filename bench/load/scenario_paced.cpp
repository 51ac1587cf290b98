// fanout, relay and ping: open-loop load at a target rate. A pacer per worker sends what is
// due every tick (it never waits for answers), each message carries its send time, and each
// receiver records now - send time for messages sent inside the measured window. Messages
// sent during the warm-up, or after the window, are not counted.
#include "fleet.hpp"
#include "http_probe.hpp"
#include "messages.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <numeric>

namespace tandem::bench {
namespace {

namespace json = boost::json;

struct Metrics {
  Histogram latency;   // send -> receive of in-window messages
  Histogram send_lag;  // actual send time - scheduled send time (the generator keeping up)
  std::uint64_t sent_total = 0;
  std::uint64_t sent_window = 0;
  std::uint64_t expected_window = 0;  // deliveries the in-window sends should produce
  std::uint64_t received_total = 0;
  std::uint64_t received_window = 0;
  std::uint64_t skipped = 0;      // sends dropped because the pacer fell > 50 ms behind
  std::uint64_t send_failed = 0;  // the sender's connection was closed
  std::uint64_t error_frames = 0;
  // --poll: requests started inside the window.
  Histogram poll_latency;
  std::uint64_t poll_ok = 0;
  std::uint64_t poll_failed = 0;
  std::uint64_t poll_bytes = 0;

  void merge(const Metrics& o) {
    poll_latency.merge(o.poll_latency);
    poll_ok += o.poll_ok;
    poll_failed += o.poll_failed;
    poll_bytes += o.poll_bytes;
    latency.merge(o.latency);
    send_lag.merge(o.send_lag);
    sent_total += o.sent_total;
    sent_window += o.sent_window;
    expected_window += o.expected_window;
    received_total += o.received_total;
    received_window += o.received_window;
    skipped += o.skipped;
    send_failed += o.send_failed;
    error_frames += o.error_frames;
  }
};

struct StepResult {
  json::object json;
  bool passed = false;
  std::string failure;  // why it did not pass
  double delivered_per_s = 0;
};

class PacedScenario : public PeerListener {
 public:
  PacedScenario(const Options& options, std::size_t capacity)
      : options_(options), workers_(options.threads), fleet_(workers_, options, capacity) {
    fleet_.set_listener(this);
    per_worker_.resize(workers_.size());
  }
  ~PacedScenario() override = default;
  PacedScenario(const PacedScenario&) = delete;
  PacedScenario& operator=(const PacedScenario&) = delete;

  json::object run(std::string_view rate_unit) {
    json::object out;
    out["scenario"] = options_.scenario;
    out["environment"] = environment_json(options_);
    out["config"] = config_json();
    const JoinStats setup = set_up();
    out["setup"] = setup_json(setup);
    std::fprintf(stderr, "%s: %llu/%llu connections joined (join p99 %s)\n",
                 options_.scenario.c_str(), static_cast<unsigned long long>(setup.joined),
                 static_cast<unsigned long long>(setup.attempted),
                 ms(setup.join_ns.percentile(0.99)).c_str());
    if (setup.joined == 0) {
      out["error"] = "no connection joined";
      finish();
      return out;
    }
    if (!options_.max) {
      StepResult step = run_step(options_.rate, options_.duration);
      print_step(step, rate_unit);
      out["result"] = std::move(step.json);
    } else {
      json::array steps;
      double rate = options_.rate;
      double best = 0;
      double best_offered = 0;
      std::string stopped = "max-steps reached";
      for (std::size_t i = 0; i < options_.max_steps; ++i) {
        if (rate > options_.max_rate) {
          stopped = "max-rate reached";
          break;
        }
        StepResult step = run_step(rate, options_.step_duration);
        print_step(step, rate_unit);
        steps.push_back(step.json);
        if (!step.passed) {
          stopped = step.failure;
          break;
        }
        if (step.delivered_per_s > best) {
          best = step.delivered_per_s;
          best_offered = rate;
        }
        rate *= options_.step_factor;
      }
      out["result"] = json::object{{"max_sustained_per_s", std::round(best)},
                                   {"max_sustained_offered_rate", std::round(best_offered)},
                                   {"p99_limit_ms", options_.p99_limit_ms},
                                   {"stopped_because", stopped},
                                   {"steps", std::move(steps)}};
      std::fprintf(stderr, "%s --max: highest sustained %.0f %s (p99 <= %.1f ms, no loss); stopped: %s\n",
                   options_.scenario.c_str(), best, std::string(rate_unit).c_str(),
                   options_.p99_limit_ms, stopped.c_str());
    }
    finish();
    return out;
  }

 protected:
  // Builds the fleet, joins it; returns the join statistics of all waves.
  virtual JoinStats set_up() = 0;
  // Sends one message for `item`, stamped `send_ns`; returns the deliveries it should make
  // (0: could not send). Runs on `worker`'s thread.
  virtual std::uint32_t send_item(unsigned worker, std::uint32_t item, std::int64_t send_ns) = 0;
  // Deliveries per send, to turn a rate of deliveries into sends per second.
  virtual double deliveries_per_send() const = 0;
  virtual json::object config_json() const = 0;
  // The measured window is over (before the drain).
  virtual void on_window_end() {}

  void set_items(unsigned worker, std::vector<std::uint32_t> items) {
    per_worker_[worker].items = std::move(items);
  }

  // A stamped message arrived on `worker` (its thread).
  void delivered(unsigned worker, std::int64_t send_ns) {
    const std::int64_t now = now_ns();
    PerWorker& w = per_worker_[worker];
    w.metrics.received_total++;
    if (send_ns >= w.warm_end && send_ns < w.meas_end) {
      w.metrics.received_window++;
      w.metrics.latency.record(now - send_ns);
    }
  }
  void error_frame(unsigned worker) { per_worker_[worker].metrics.error_frames++; }
  void send_failed(unsigned worker) { per_worker_[worker].metrics.send_failed++; }

  JoinStats join_waves(const std::vector<std::vector<std::uint32_t>>& waves) {
    JoinStats total;
    const std::int64_t deadline = now_ns() + seconds_to_ns(std::max(30.0, options_.duration));
    for (const auto& wave : waves) {
      const double left = static_cast<double>(deadline - now_ns()) / 1e9;
      total.merge(fleet_.join(wave, std::max(1.0, left)));
    }
    return total;
  }

  const Options& options_;
  Workers workers_;
  Fleet fleet_;

 private:
  struct PerWorker {
    std::unique_ptr<asio::steady_timer> timer;
    std::vector<std::uint32_t> items;
    std::size_t cursor = 0;
    double rate = 0;  // sends per second on this worker
    std::uint64_t sent = 0;
    bool running = false;
    std::int64_t start = 0;
    std::int64_t warm_end = 0;
    std::int64_t meas_end = 0;
    Metrics metrics;
  };

  json::object setup_json(const JoinStats& s) const {
    json::object errors;
    for (const auto& [error, n] : s.errors) errors[error] = n;
    return {{"connections", fleet_.size()},
            {"joined", s.joined},
            {"connect_failed", s.connect_failed},
            {"join_failed", s.join_failed},
            {"timed_out", s.timed_out},
            {"join_latency", latency_json(s.join_ns)},
            {"errors", std::move(errors)}};
  }

  void tick(unsigned worker) {
    PerWorker& w = per_worker_[worker];
    if (!w.running) return;
    const std::int64_t now = now_ns();
    if (now >= w.meas_end) {
      w.running = false;
      return;
    }
    if (now >= w.start && !w.items.empty() && w.rate > 0) {
      const double per_send_ns = 1e9 / w.rate;
      // Send k is due at start + k * per_send_ns: k = 0 at once.
      auto due = static_cast<std::uint64_t>(static_cast<double>(now - w.start) / per_send_ns) + 1;
      // Never burst more than 50 ms worth: past that the generator is not keeping up, and
      // the shortfall is reported (skipped) instead of hidden in a catch-up burst.
      const auto max_burst = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(w.rate * 0.05));
      if (due > w.sent + max_burst) {
        w.metrics.skipped += due - w.sent - max_burst;
        w.sent = due - max_burst;
      }
      while (w.sent < due) {
        const auto scheduled =
            w.start + static_cast<std::int64_t>(static_cast<double>(w.sent) * per_send_ns);
        const std::uint32_t item = w.items[w.cursor];
        w.cursor = (w.cursor + 1) % w.items.size();
        const std::int64_t t = now_ns();
        const std::uint32_t recipients = send_item(worker, item, t);
        ++w.sent;
        w.metrics.sent_total++;
        w.metrics.send_lag.record(t - scheduled);
        if (t >= w.warm_end && t < w.meas_end) {
          w.metrics.sent_window++;
          w.metrics.expected_window += recipients;
        }
      }
    }
    w.timer->expires_after(std::chrono::nanoseconds(seconds_to_ns(options_.tick_ms / 1e3)));
    w.timer->async_wait([this, worker](const boost::system::error_code& ec) {
      if (!ec) tick(worker);
    });
  }

  // One poller: GET --poll on a fresh connection, again as soon as it is answered, until the
  // window ends (only requests started inside it are counted).
  void poll(unsigned worker) {
    const std::int64_t started = now_ns();
    if (started >= per_worker_[worker].meas_end) return;
    const asio::ip::tcp::endpoint server(asio::ip::make_address(options_.host), options_.port);
    http_get(workers_.io(worker), server, options_.poll_path, std::chrono::milliseconds(10'000),
             [this, worker, started](int status, std::string_view, std::size_t bytes) {
               PerWorker& w = per_worker_[worker];
               if (started >= w.warm_end && started < w.meas_end) {
                 if (status == 200) {
                   w.metrics.poll_ok++;
                   w.metrics.poll_bytes += bytes;
                   w.metrics.poll_latency.record(now_ns() - started);
                 } else {
                   w.metrics.poll_failed++;
                 }
               }
               poll(worker);
             });
  }

  std::vector<Metrics> collect() {
    std::vector<Metrics> copies(workers_.size());
    workers_.run_on_all([&](unsigned w) { copies[w] = per_worker_[w].metrics; });
    return copies;
  }

  StepResult run_step(double rate, double duration) {
    const double sends_per_s = rate / deliveries_per_send();
    std::size_t total_items = 0;
    for (const auto& w : per_worker_) total_items += w.items.size();
    const std::int64_t start = now_ns() + 20'000'000;  // every worker starts together
    const std::int64_t warm_end = start + seconds_to_ns(options_.warmup);
    const std::int64_t meas_end = warm_end + seconds_to_ns(duration);
    workers_.run_on_all([&](unsigned worker) {
      PerWorker& w = per_worker_[worker];
      if (!w.timer) w.timer = std::make_unique<asio::steady_timer>(workers_.io(worker));
      w.metrics = Metrics{};
      w.rate = total_items == 0 ? 0
                                : sends_per_s * static_cast<double>(w.items.size()) /
                                      static_cast<double>(total_items);
      w.sent = 0;
      w.start = start;
      w.warm_end = warm_end;
      w.meas_end = meas_end;
      w.running = true;
      tick(worker);
      for (std::size_t p = worker; p < options_.pollers; p += workers_.size()) poll(worker);
    });
    sleep_until_ns(warm_end);
    const Snapshot before = snapshot(options_.server_pids);
    sleep_until_ns(meas_end);
    const Snapshot after = snapshot(options_.server_pids);
    on_window_end();
    // Drain: wait for what was sent in the window, at most --drain seconds.
    const std::int64_t drain_end = now_ns() + seconds_to_ns(options_.drain);
    Metrics total;
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      total = Metrics{};
      for (const auto& m : collect()) total.merge(m);
      // With slow readers, the whole drain: they read their backlog, then the server's close.
      const bool all_in = total.received_window >= total.expected_window && options_.slow == 0;
      if (all_in || now_ns() >= drain_end) break;
    }
    const auto closes = fleet_.take_closes();

    const double window_s = static_cast<double>(meas_end - warm_end) / 1e9;
    const auto lost = total.expected_window > total.received_window
                          ? total.expected_window - total.received_window
                          : 0;
    StepResult step;
    step.delivered_per_s = static_cast<double>(total.received_window) / window_s;
    json::object closes_json;
    std::uint64_t closed = 0;
    for (const auto& [code, n] : closes) {
      closes_json[std::to_string(code)] = n;
      closed += n;
    }
    json::object j;
    j["offered_rate"] = std::round(rate);
    j["offered_sends_per_s"] = std::round(sends_per_s);
    j["duration_s"] = window_s;
    j["sent"] = total.sent_window;
    j["expected"] = total.expected_window;
    j["delivered"] = total.received_window;
    j["delivered_per_s"] = std::round(step.delivered_per_s);
    j["lost"] = lost;
    j["loss_ratio"] = total.expected_window == 0
                          ? 0.0
                          : static_cast<double>(lost) / static_cast<double>(total.expected_window);
    j["latency"] = latency_json(total.latency);
    j["send_lag"] = latency_json(total.send_lag);
    j["skipped_sends"] = total.skipped;
    j["send_failed"] = total.send_failed;
    j["error_frames"] = total.error_frames;
    j["server_closed_connections"] = std::move(closes_json);
    if (options_.slow > 0) {
      json::object slow_closes;
      for (const auto& [code, n] : fleet_.take_closes(true)) slow_closes[std::to_string(code)] = n;
      j["slow_readers"] = json::object{{"count", options_.slow},
                                       {"closed_by_server", std::move(slow_closes)}};
    }
    j["window"] = window_json(before, after, static_cast<double>(total.received_window), "delivery");
    if (options_.pollers > 0) {
      const std::uint64_t answered = total.poll_ok;
      j["poll"] = json::object{
          {"path", options_.poll_path},
          {"pollers", options_.pollers},
          {"ok", answered},
          {"failed", total.poll_failed},
          {"per_s", std::round(static_cast<double>(answered) / window_s)},
          {"bytes_per_response", answered == 0 ? 0.0 : std::round(static_cast<double>(total.poll_bytes) /
                                                                   static_cast<double>(answered))},
          {"latency", latency_json(total.poll_latency)}};
    }
    step.json = std::move(j);

    const double p99_ms = static_cast<double>(total.latency.percentile(0.99)) / 1e6;
    const double lag_p99_ms = static_cast<double>(total.send_lag.percentile(0.99)) / 1e6;
    step.passed = true;
    if (total.received_window == 0) {
      step.passed = false;
      step.failure = "nothing delivered";
    } else if (lost > 0) {
      step.passed = false;
      step.failure = "loss";
    } else if (closed > 0) {
      step.passed = false;
      step.failure = "server closed connections";
    } else if (p99_ms > options_.p99_limit_ms) {
      step.passed = false;
      step.failure = "p99 over limit";
    } else if (total.skipped > 0 || lag_p99_ms > options_.p99_limit_ms) {
      step.passed = false;
      step.failure = "generator behind schedule";
    }
    if (options_.max) {
      step.json["passed"] = step.passed;
      if (!step.passed) step.json["failure"] = step.failure;
    }
    return step;
  }

  void print_step(const StepResult& step, std::string_view unit) const {
    const auto& j = step.json;
    const auto& lat = j.at("latency").as_object();
    const auto& win = j.at("window").as_object();
    std::string server = "server cpu n/a";
    if (const auto* s = win.if_contains("server")) {
      const auto* per = s->as_object().if_contains("cpu_us_per_delivery");
      char buffer[160];
      std::snprintf(buffer, sizeof buffer, "server %.2f cores, %.2f us/delivery",
                    s->as_object().at("cpu_cores").to_number<double>(),
                    per != nullptr ? per->to_number<double>() : -1.0);
      server = buffer;
    }
    std::fprintf(stderr,
                 "  offered %.0f %s: delivered %.0f/s, lost %llu, p50 %.3f ms, p99 %.3f ms, max "
                 "%.3f ms; %s; generator %.2f cores; load %s%s\n",
                 j.at("offered_rate").to_number<double>(), std::string(unit).c_str(),
                 j.at("delivered_per_s").to_number<double>(),
                 static_cast<unsigned long long>(j.at("lost").to_number<std::uint64_t>()),
                 lat.at("p50_ms").to_number<double>(), lat.at("p99_ms").to_number<double>(),
                 lat.at("max_ms").to_number<double>(), server.c_str(),
                 win.at("generator").as_object().at("cpu_cores").to_number<double>(),
                 win.at("loadavg_after").as_string().c_str(),
                 step.passed || !options_.max ? "" : ("  [" + step.failure + "]").c_str());
  }

  void finish() {
    workers_.run_on_all([&](unsigned worker) {
      PerWorker& w = per_worker_[worker];
      w.running = false;
      if (w.timer) w.timer->cancel();
    });
    fleet_.close_all();
    workers_.stop();
  }

  std::vector<PerWorker> per_worker_;
};

// --- fanout -----------------------------------------------------------------------------

class Fanout final : public PacedScenario {
 public:
  explicit Fanout(const Options& o)
      : PacedScenario(o, o.rooms * o.room_size),
        templates_{playback_template(o.message, true), playback_template(o.message, false)},
        type_(o.message),
        room_joined_(o.rooms, 0) {}

 private:
  JoinStats set_up() override {
    const std::string run = run_token();
    std::vector<std::uint32_t> hosts;
    std::vector<std::uint32_t> others;
    for (std::size_t r = 0; r < options_.rooms; ++r) {
      for (std::size_t s = 0; s < options_.room_size; ++s) {
        const auto index = fleet_.add(cat("f", run, "-", r),
                                      cat("u", r, "-", s));
        (s == 0 ? hosts : others).push_back(index);
        // --slow: the last member of each of the first N rooms stops reading once joined.
        if (r < options_.slow && s + 1 == options_.room_size) fleet_.peer(index).slow = true;
      }
    }
    // Hosts first: only the host may send PLAY_PAUSE while guest control is off.
    const JoinStats stats = join_waves({hosts, others});
    // Members per room that joined, counted on each peer's own worker thread.
    std::vector<std::vector<std::uint32_t>> counts(workers_.size());
    workers_.run_on_all([&](unsigned w) {
      counts[w].assign(options_.rooms, 0);
      for (const auto index : fleet_.of_worker(w)) {
        Peer& peer = fleet_.peer(index);
        if (peer.joined && peer.slow) peer.ws->set_reading(false);
        if (peer.joined && !peer.slow) counts[w][index / options_.room_size]++;
      }
    });
    for (const auto& per_worker : counts) {
      for (std::size_t r = 0; r < options_.rooms; ++r) room_joined_[r] += per_worker[r];
    }
    for (unsigned w = 0; w < workers_.size(); ++w) {
      std::vector<std::uint32_t> items;
      for (const auto index : hosts) {
        if (fleet_.peer(index).worker == w) items.push_back(index);
      }
      set_items(w, std::move(items));
    }
    return stats;
  }

  std::uint32_t send_item(unsigned worker, std::uint32_t item, std::int64_t send_ns) override {
    Peer& host = fleet_.peer(item);
    if (!host.joined || !host.ws || !host.ws->is_open()) {
      send_failed(worker);
      return 0;
    }
    host.ws->send(templates_[(toggle_[worker % 64]++) & 1].stamp(send_ns));
    return room_joined_[item / options_.room_size];
  }

  // Slow readers read again: what the server queued for them, then its close if it shed them.
  void on_window_end() override {
    if (options_.slow == 0) return;
    workers_.run_on_all([&](unsigned w) {
      for (const auto index : fleet_.of_worker(w)) {
        Peer& peer = fleet_.peer(index);
        if (peer.slow && peer.ws && peer.ws->is_open()) peer.ws->set_reading(true);
      }
    });
  }

  void on_message(Peer& peer, std::string_view text) override {
    if (peer.slow) return;  // not counted: expected deliveries exclude slow readers
    const std::string_view type = message_type(text);
    if (type == type_) {
      if (const auto stamp = find_stamp(text, "eventTimestamp")) delivered(peer.worker, *stamp);
    } else if (type == "ERROR") {
      error_frame(peer.worker);
    }
  }

  double deliveries_per_send() const override { return static_cast<double>(options_.room_size); }

  json::object config_json() const override {
    return {{"rooms", options_.rooms},
            {"room_size", options_.room_size},
            {"message", options_.message},
            {"slow_readers", options_.slow},
            {"rate_unit", "deliveries/s"},
            {"rate", options_.rate},
            {"max", options_.max},
            {"warmup_s", options_.warmup},
            {"duration_s", options_.max ? options_.step_duration : options_.duration}};
  }

  StampedTemplate templates_[2];
  std::string type_;
  std::vector<std::uint32_t> room_joined_;
  std::uint64_t toggle_[64] = {};
};

// --- relay ------------------------------------------------------------------------------

class Relay final : public PacedScenario {
 public:
  explicit Relay(const Options& o)
      : PacedScenario(o, 2 * o.pairs + o.idle), templates_(o.examples), step_(o.pairs, 0) {}

 private:
  JoinStats set_up() override {
    const std::string run = run_token();
    std::vector<std::uint32_t> first;
    std::vector<std::uint32_t> second;
    std::vector<std::uint32_t> idle;
    for (std::size_t p = 0; p < options_.pairs; ++p) {
      const int worker = static_cast<int>(p % workers_.size());
      const std::string room = cat("r", run, "-", p);
      a_.push_back(fleet_.add(room, cat("a", p), worker));
      b_.push_back(fleet_.add(room, cat("b", p), worker));
      first.push_back(a_.back());
      second.push_back(b_.back());
    }
    for (std::size_t i = 0; i < options_.idle; ++i) {
      idle.push_back(fleet_.add(cat("i", run, "-", i / 2), cat("i", i)));
    }
    const JoinStats stats = join_waves({first, second, idle});
    for (unsigned w = 0; w < workers_.size(); ++w) {
      std::vector<std::uint32_t> items;
      for (std::size_t p = w; p < options_.pairs; p += workers_.size()) {
        items.push_back(static_cast<std::uint32_t>(p));
      }
      set_items(w, std::move(items));
    }
    return stats;
  }

  // Per pair: OFFER a->b, ANSWER b->a, ICE_CANDIDATE a->b, ICE_CANDIDATE b->a, again.
  std::uint32_t send_item(unsigned worker, std::uint32_t pair, std::int64_t send_ns) override {
    const std::uint32_t k = step_[pair]++ % 4;
    const bool from_a = k == 0 || k == 2;
    Peer& from = fleet_.peer(from_a ? a_[pair] : b_[pair]);
    const Peer& to = fleet_.peer(from_a ? b_[pair] : a_[pair]);
    if (!from.joined || !to.joined || !from.ws || !from.ws->is_open()) {
      send_failed(worker);
      return 0;
    }
    const auto kind = k == 0 ? RelayTemplates::offer
                             : (k == 1 ? RelayTemplates::answer : RelayTemplates::ice);
    from.ws->send(templates_.make(kind, from.user_id, to.user_id, send_ns));
    return 1;
  }

  void on_message(Peer& peer, std::string_view text) override {
    const std::string_view type = message_type(text);
    if (type == "OFFER" || type == "ANSWER" || type == "ICE_CANDIDATE") {
      if (const auto stamp = find_stamp(text, "benchTs")) delivered(peer.worker, *stamp);
    } else if (type == "ERROR") {
      error_frame(peer.worker);
    }
  }

  double deliveries_per_send() const override { return 1.0; }

  json::object config_json() const override {
    return {{"pairs", options_.pairs},
            {"idle", options_.idle},
            {"rate_unit", "messages/s"},
            {"rate", options_.rate},
            {"max", options_.max},
            {"cycle", "OFFER a->b, ANSWER b->a, ICE_CANDIDATE a->b, ICE_CANDIDATE b->a"},
            {"offer_bytes", templates_.size(RelayTemplates::offer)},
            {"offer_sdp_bytes", templates_.sdp_bytes(RelayTemplates::offer)},
            {"answer_bytes", templates_.size(RelayTemplates::answer)},
            {"ice_bytes", templates_.size(RelayTemplates::ice)},
            {"examples", options_.examples},
            {"warmup_s", options_.warmup},
            {"duration_s", options_.max ? options_.step_duration : options_.duration}};
  }

  RelayTemplates templates_;
  std::vector<std::uint32_t> a_;
  std::vector<std::uint32_t> b_;
  std::vector<std::uint32_t> step_;  // per pair; touched only by the pair's worker
};

// --- ping -------------------------------------------------------------------------------

class Ping final : public PacedScenario {
 public:
  explicit Ping(const Options& o)
      : PacedScenario(o, o.connections),
        frame_(std::make_shared<const std::string>(ping_message())),
        outstanding_(o.connections) {}

 private:
  JoinStats set_up() override {
    const std::string run = run_token();
    std::vector<std::uint32_t> all;
    for (std::size_t i = 0; i < options_.connections; ++i) {
      all.push_back(fleet_.add(cat("p", run, "-", i), cat("p", i)));
    }
    const JoinStats stats = join_waves({all});
    for (unsigned w = 0; w < workers_.size(); ++w) set_items(w, fleet_.of_worker(w));
    return stats;
  }

  // PONG carries the server's clock, not ours: PINGs and PONGs are matched in order per
  // connection (the server answers each connection's messages in order).
  std::uint32_t send_item(unsigned worker, std::uint32_t item, std::int64_t send_ns) override {
    Peer& peer = fleet_.peer(item);
    if (!peer.joined || !peer.ws || !peer.ws->is_open()) {
      send_failed(worker);
      return 0;
    }
    outstanding_[item].push_back(send_ns);
    peer.ws->send(frame_);
    return 1;
  }

  void on_message(Peer& peer, std::string_view text) override {
    const std::string_view type = message_type(text);
    if (type == "PONG") {
      auto& queue = outstanding_[peer.index];
      if (queue.empty()) return;
      const std::int64_t sent = queue.front();
      queue.pop_front();
      delivered(peer.worker, sent);
    } else if (type == "ERROR") {
      error_frame(peer.worker);
    }
  }

  double deliveries_per_send() const override { return 1.0; }

  json::object config_json() const override {
    return {{"connections", options_.connections},
            {"rate_unit", "pings/s"},
            {"rate", options_.rate},
            {"warmup_s", options_.warmup},
            {"duration_s", options_.duration}};
  }

  Frame frame_;
  std::vector<std::deque<std::int64_t>> outstanding_;  // per peer, its worker only
};

}  // namespace

json::object run_fanout(const Options& options) {
  Fanout scenario(options);
  return scenario.run("deliveries/s");
}

json::object run_relay(const Options& options) {
  Relay scenario(options);
  return scenario.run("messages/s");
}

json::object run_ping(const Options& options) {
  Ping scenario(options);
  return scenario.run("pings/s");
}

}  // namespace tandem::bench
