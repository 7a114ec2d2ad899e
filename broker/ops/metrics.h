#pragma once
// MetricsRegistry: counters, gauges and fixed-bucket histograms, each a family of series told apart
// by labels, and render_prometheus(): the Prometheus text exposition format (version 0.0.4) of a
// snapshot. docs/operations.md lists every metric the broker keeps.
//
// Threading: every member function may be called from any thread (one mutex). The broker loop
// writes; the HTTP thread takes snapshots.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace broker::ops {

// Label name/value pairs in the order they are rendered. Names must match [a-zA-Z_][a-zA-Z0-9_]*;
// values are any UTF-8 text (escaped on rendering).
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : std::uint8_t { kCounter, kGauge, kHistogram };

struct Series {
  Labels labels;
  double value = 0;                    // counter or gauge
  std::vector<std::uint64_t> buckets;  // histogram: observations <= bounds[i] (not cumulative)
  double sum = 0;                      // histogram
  std::uint64_t count = 0;             // histogram
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<double> bounds;  // histogram upper bounds, ascending, without +Inf
  std::vector<Series> series;  // in label order
};

// Families in name order.
using MetricsSnapshot = std::vector<Family>;

class MetricsRegistry {
 public:
  // Declares a family. Declaring it again with the same type is a no-op; every update of an
  // undeclared name is ignored (so a typo shows as a missing metric, not a crash).
  void describe(const std::string& name, MetricType type, const std::string& help,
                std::vector<double> bounds = {});

  // Counter: adds `delta` (>= 0) to the series with these labels, creating it at 0.
  void add(std::string_view name, const Labels& labels, double delta = 1);
  // Gauge: sets the series.
  void set(std::string_view name, const Labels& labels, double value);
  // Histogram: counts `value` in the first bucket whose bound is >= value (+Inf otherwise).
  void observe(std::string_view name, const Labels& labels, double value);
  // Gauge: drops every series of the family (before setting a fresh set, e.g. per recipient).
  void clear(std::string_view name);

  // The value of a counter or gauge series; 0 when absent (tests, alert inputs).
  double value(std::string_view name, const Labels& labels) const;
  MetricsSnapshot snapshot() const;

 private:
  struct Entry {
    Family family;
    std::map<Labels, Series> series;
  };
  Series* find_series(std::string_view name, const Labels& labels, MetricType type);

  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> families_;
};

// The text exposition format: per family `# HELP`, `# TYPE`, then one line per series; histograms
// as cumulative `_bucket{le="..."}` lines ending with le="+Inf", then `_sum` and `_count`. Label
// values escape backslash, double quote and newline; HELP text escapes backslash and newline.
std::string render_prometheus(const MetricsSnapshot& snapshot);

// Prometheus' spelling of a sample value: integers without a fraction, "+Inf", "-Inf", "NaN".
std::string format_value(double value);

}  // namespace broker::ops
