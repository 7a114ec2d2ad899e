#include "broker/ops/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace broker::ops {
namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void escape_into(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// {a="x",b="y"} plus an optional extra label (le for buckets); "" when there are no labels.
std::string label_text(const Labels& labels, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  auto one = [&](std::string_view name, std::string_view value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    escape_into(out, value, true);
    out += '"';
  };
  for (const auto& [name, value] : labels) one(name, value);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out += '}';
  return out;
}

}  // namespace

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(value));
  return fmt::format("{}", value);
}

void MetricsRegistry::describe(const std::string& name, MetricType type, const std::string& help,
                               std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = families_.try_emplace(name);
  if (!inserted) return;
  std::sort(bounds.begin(), bounds.end());
  it->second.family = Family{name, help, type, std::move(bounds), {}};
}

Series* MetricsRegistry::find_series(std::string_view name, const Labels& labels, MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end() || it->second.family.type != type) return nullptr;
  auto [series, inserted] = it->second.series.try_emplace(labels);
  if (inserted) {
    series->second.labels = labels;
    if (type == MetricType::kHistogram) series->second.buckets.assign(it->second.family.bounds.size(), 0);
  }
  return &series->second;
}

void MetricsRegistry::add(std::string_view name, const Labels& labels, double delta) {
  if (!(delta >= 0)) return;  // a counter only goes up
  std::lock_guard lock(mutex_);
  if (Series* s = find_series(name, labels, MetricType::kCounter)) s->value += delta;
}

void MetricsRegistry::set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  if (Series* s = find_series(name, labels, MetricType::kGauge)) s->value = value;
}

void MetricsRegistry::observe(std::string_view name, const Labels& labels, double value) {
  std::lock_guard lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) return;
  Series* s = find_series(name, labels, MetricType::kHistogram);
  if (!s) return;
  const auto& bounds = family->second.family.bounds;
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value);
  if (bucket != bounds.end()) ++s->buckets[static_cast<std::size_t>(bucket - bounds.begin())];
  s->sum += value;
  ++s->count;
}

void MetricsRegistry::clear(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) it->second.series.clear();
}

double MetricsRegistry::value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(labels);
  return s == it->second.series.end() ? 0 : s->second.value;
}

MetricsSnapshot MetricsRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  MetricsSnapshot out;
  out.reserve(families_.size());
  for (const auto& [name, entry] : families_) {
    Family f = entry.family;
    for (const auto& [labels, series] : entry.series) f.series.push_back(series);
    out.push_back(std::move(f));
  }
  return out;
}

std::string render_prometheus(const MetricsSnapshot& snapshot) {
  std::string out;
  for (const auto& f : snapshot) {
    out += "# HELP " + f.name + ' ';
    escape_into(out, f.help, false);
    out += "\n# TYPE " + f.name + ' ';
    out += type_name(f.type);
    out += '\n';
    for (const auto& s : f.series) {
      if (f.type != MetricType::kHistogram) {
        out += f.name + label_text(s.labels) + ' ' + format_value(s.value) + '\n';
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += i < s.buckets.size() ? s.buckets[i] : 0;
        out += f.name + "_bucket" + label_text(s.labels, "le", format_value(f.bounds[i])) + ' ' +
               std::to_string(cumulative) + '\n';
      }
      out += f.name + "_bucket" + label_text(s.labels, "le", "+Inf") + ' ' + std::to_string(s.count) + '\n';
      out += f.name + "_sum" + label_text(s.labels) + ' ' + format_value(s.sum) + '\n';
      out += f.name + "_count" + label_text(s.labels) + ' ' + std::to_string(s.count) + '\n';
    }
  }
  return out;
}

}  // namespace broker::ops
