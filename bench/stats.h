#pragma once
// Latency statistics for the benchmarks: percentiles by nearest rank over every sample (no
// histogram buckets, so p99.9 of 1M samples is exact), and the median of repeated rounds.
// Pure, no I/O.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

struct Percentiles {
  std::size_t count = 0;
  std::uint64_t p50 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t p999 = 0;
  std::uint64_t max = 0;
  double mean = 0;
};

// The nearest-rank percentile of `sorted` (ascending): the smallest sample such that at least
// p % of the samples are <= it. p in [0, 100]; 0 for an empty vector.
std::uint64_t nearest_rank(const std::vector<std::uint64_t>& sorted, double p);

// Sorts `samples` and summarizes them; all zero when empty.
Percentiles summarize(std::vector<std::uint64_t> samples);

// The median of `values` (mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace bench
