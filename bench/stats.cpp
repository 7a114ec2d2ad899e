#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bench {

std::uint64_t nearest_rank(const std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // rank = ceil(p/100 * n), 1-based; p = 0 means the smallest sample.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Percentiles summarize(std::vector<std::uint64_t> samples) {
  Percentiles out;
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  out.count = samples.size();
  out.p50 = nearest_rank(samples, 50);
  out.p99 = nearest_rank(samples, 99);
  out.p999 = nearest_rank(samples, 99.9);
  out.max = samples.back();
  long double sum = std::accumulate(samples.begin(), samples.end(), 0.0L);
  out.mean = static_cast<double>(sum / static_cast<long double>(samples.size()));
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

}  // namespace bench
