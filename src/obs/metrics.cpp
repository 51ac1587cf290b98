#include "obs/metrics.hpp"

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
