#pragma once
// A small Prometheus registry: counters, gauges and histograms with fixed label sets, rendered in the
// text exposition format (version 0.0.4). Components register what they own at
// construction and keep the returned references; updating one is a relaxed atomic add.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::obs {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
  }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with their sum: the
// Prometheus histogram. Observed on the event loop, rendered on the /metrics thread: the
// buckets are atomics, the sum a Gauge.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Observations <= bounds()[i] (cumulative, as rendered); i == bounds().size() is +Inf.
  std::uint64_t cumulative(std::size_t i) const noexcept;
  std::uint64_t count() const noexcept { return cumulative(bounds_.size()); }
  double sum() const noexcept { return sum_.value(); }

 private:
  std::vector<double> bounds_;
  std::deque<Counter> buckets_;  // per bucket, not cumulative; the last is +Inf
  Gauge sum_;
};

class Registry {
 public:
  // The same name and labels return the same instrument. Names follow Prometheus rules;
  // counters end in _total.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  // `bounds` are the bucket upper bounds; a second call with the same name returns the first.
  Histogram& histogram(std::string_view name, std::string_view help, std::vector<double> bounds);
  // A gauge read at scrape time (called on the thread that renders).
  void gauge_callback(std::string_view name, std::string_view help, std::function<double()> read);

  std::string render() const;

  // Current value of a counter/gauge sample (tests, dashboards); 0 when absent.
  double sample(std::string_view name, const Labels& labels = {}) const;

 private:
  struct Family {
    std::string help;
    std::string type;  // "counter" | "gauge" | "histogram"
    std::map<std::string, Counter*> counters;  // key: rendered label set
    std::map<std::string, Gauge*> gauges;
    Histogram* histogram = nullptr;
    std::function<double()> callback;
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  std::deque<Counter> counter_storage_;  // stable addresses
  std::deque<Gauge> gauge_storage_;
  std::deque<Histogram> histogram_storage_;
};

// Counters keyed by one label whose values are known up front (message types, close
// codes, error codes): resolved once, so counting is an index, not a map lookup.
class CounterSet {
 public:
  CounterSet(Registry& registry, std::string_view name, std::string_view help,
             std::string_view label, const std::vector<std::string>& values,
             std::string_view other_value = "other");
  // Unknown values count under `other_value`.
  Counter& operator[](std::string_view value) noexcept;

 private:
  std::vector<std::pair<std::string, Counter*>> counters_;
  Counter* other_ = nullptr;
};

}  // namespace tandem::obs
