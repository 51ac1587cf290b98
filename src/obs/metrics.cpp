#include "obs/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tandem::obs {

namespace {

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    append_escaped_label_value(out, value);
    out += '"';
  }
  out += '}';
  return out;
}

void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    out += buf;
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    out += buf;
  }
}

// name_bucket{le="..."} (cumulative, +Inf last), name_sum, name_count. A bucket read while
// an observation lands may be one behind the count: a scrape is a snapshot, not a
// transaction, as in every Prometheus client.
void render_histogram(std::string& out, const std::string& name, const Histogram& h) {
  for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
    out += name + "_bucket{le=\"";
    if (i == h.bounds().size()) {
      out += "+Inf";
    } else {
      append_number(out, h.bounds()[i]);
    }
    out += "\"} ";
    append_number(out, static_cast<double>(h.cumulative(i)));
    out += '\n';
  }
  out += name + "_sum ";
  append_number(out, h.sum());
  out += '\n';
  out += name + "_count ";
  append_number(out, static_cast<double>(h.count()));
  out += '\n';
}

}  // namespace

Registry::Family& Registry::family(std::string_view name, std::string_view help,
                                   std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, "counter");
  const std::string key = render_labels(labels);
  auto it = f.counters.find(key);
  if (it != f.counters.end()) return *it->second;
  Counter& c = counter_storage_.emplace_back();
  f.counters.emplace(key, &c);
  return c;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, "gauge");
  const std::string key = render_labels(labels);
  auto it = f.gauges.find(key);
  if (it != f.gauges.end()) return *it->second;
  Gauge& g = gauge_storage_.emplace_back();
  f.gauges.emplace(key, &g);
  return g;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_.resize(bounds_.size() + 1);
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  const auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[static_cast<std::size_t>(bucket)].inc();
  sum_.add(value);
}

std::uint64_t Histogram::cumulative(std::size_t i) const noexcept {
  std::uint64_t total = 0;
  for (std::size_t b = 0; b <= i && b < buckets_.size(); ++b) total += buckets_[b].value();
  return total;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds) {
  const std::lock_guard lock(mutex_);
  Family& f = family(name, help, "histogram");
  if (f.histogram == nullptr) f.histogram = &histogram_storage_.emplace_back(std::move(bounds));
  return *f.histogram;
}

void Registry::gauge_callback(std::string_view name, std::string_view help,
                              std::function<double()> read) {
  const std::lock_guard lock(mutex_);
  family(name, help, "gauge").callback = std::move(read);
}

std::string Registry::render() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + ' ' + f.help + '\n';
    out += "# TYPE " + name + ' ' + f.type + '\n';
    for (const auto& [labels, c] : f.counters) {
      out += name + labels + ' ';
      append_number(out, static_cast<double>(c->value()));
      out += '\n';
    }
    for (const auto& [labels, g] : f.gauges) {
      out += name + labels + ' ';
      append_number(out, g->value());
      out += '\n';
    }
    if (f.callback) {
      out += name + ' ';
      append_number(out, f.callback());
      out += '\n';
    }
    if (f.histogram != nullptr) render_histogram(out, name, *f.histogram);
  }
  return out;
}

double Registry::sample(std::string_view name, const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  const std::string key = render_labels(labels);
  if (auto c = it->second.counters.find(key); c != it->second.counters.end()) {
    return static_cast<double>(c->second->value());
  }
  if (auto g = it->second.gauges.find(key); g != it->second.gauges.end()) return g->second->value();
  if (labels.empty() && it->second.callback) return it->second.callback();
  return 0;
}

CounterSet::CounterSet(Registry& registry, std::string_view name, std::string_view help,
                       std::string_view label, const std::vector<std::string>& values,
                       std::string_view other_value) {
  counters_.reserve(values.size());
  for (const auto& v : values) {
    counters_.emplace_back(v, &registry.counter(name, help, {{std::string(label), v}}));
  }
  other_ = &registry.counter(name, help, {{std::string(label), std::string(other_value)}});
}

Counter& CounterSet::operator[](std::string_view value) noexcept {
  for (auto& [name, counter] : counters_) {
    if (name == value) return *counter;
  }
  return *other_;
}

}  // namespace tandem::obs
