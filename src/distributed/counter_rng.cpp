#include "distributed/counter_rng.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"

namespace jointflow {
namespace {

using Words = std::array<uint32_t, 4>;

constexpr uint32_t kMultiplier0 = 0xD2511F53u;
constexpr uint32_t kMultiplier1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
constexpr uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1
constexpr int64_t kIdLimit = int64_t{1} << 56;
constexpr int64_t kBlocksPerRowLimit = int64_t{1} << 31;
constexpr uint32_t kPermutationBlock = 0x80000000u;
constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr int64_t kElementsPerTask = 1 << 14;  // parallel grain, in output elements

// Ten Philox rounds: two 32x32->64 products, hi/lo words swapped and mixed with the key, which
// is bumped by the Weyl constants between rounds.
inline Words philox(uint32_t key0, uint32_t key1, Words c) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t product0 = uint64_t{kMultiplier0} * c[0];
    const uint64_t product1 = uint64_t{kMultiplier1} * c[2];
    c = {static_cast<uint32_t>(product1 >> 32) ^ c[1] ^ key0, static_cast<uint32_t>(product1),
         static_cast<uint32_t>(product0 >> 32) ^ c[3] ^ key1, static_cast<uint32_t>(product0)};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return c;
}

// The part of the key and counter that is fixed for one row (one global id at one step).
struct RowCounter {
  uint32_t key0, key1, step, id_low, id_high_stream;
  Words block(uint32_t index) const {
    return philox(key0, key1, {index, step, id_low, id_high_stream});
  }
};

RowCounter row_counter(const RandomKey& key, int64_t id, uint64_t step) {
  const auto stream = static_cast<uint32_t>(key.stream);
  const auto unsigned_id = static_cast<uint64_t>(id);
  return {static_cast<uint32_t>(key.seed), static_cast<uint32_t>(key.seed >> 32),
          static_cast<uint32_t>(step), static_cast<uint32_t>(unsigned_id),
          static_cast<uint32_t>(unsigned_id >> 32) | (stream << 24)};
}

void check_key_and_step(const char* function, const RandomKey& key, uint64_t step) {
  JF_CHECK(static_cast<uint32_t>(key.stream) < 256, function, ": random stream ",
           static_cast<uint32_t>(key.stream), " does not fit the counter's 8 stream bits");
  JF_CHECK(step <= UINT32_MAX, function, ": step ", step, " exceeds the counter's limit 2^32 - 1");
}

// 53 bits from two words: the 32 of `high` above the top 21 of `low`.
inline uint64_t bits53(uint32_t high, uint32_t low) { return (uint64_t{high} << 21) | (low >> 11); }

// The midpoint of one of 2^52 equal cells of (0, 1), exactly representable.
inline double open_uniform(uint32_t high, uint32_t low) {
  const uint64_t k = (uint64_t{high} << 20) | (low >> 12);
  return (static_cast<double>(k) + 0.5) * 0x1p-52;
}

// Box–Muller: columns 2b, 2b+1 from block b, with u1 in (0, 1] and u2 in [0, 1).
void fill_normal_row(const RowCounter& row, double* out, int64_t width) {
  for (int64_t j = 0; j < width; j += 2) {
    const Words w = row.block(static_cast<uint32_t>(j / 2));
    const double u1 = static_cast<double>(bits53(w[0], w[1]) + 1) * 0x1p-53;
    const double u2 = static_cast<double>(bits53(w[2], w[3])) * 0x1p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = kTwoPi * u2;
    out[j] = radius * std::cos(angle);
    if (j + 1 < width) out[j + 1] = radius * std::sin(angle);
  }
}

void fill_uniform_row(const RowCounter& row, double* out, int64_t width) {
  for (int64_t j = 0; j < width; j += 2) {
    const Words w = row.block(static_cast<uint32_t>(j / 2));
    out[j] = open_uniform(w[0], w[1]);
    if (j + 1 < width) out[j + 1] = open_uniform(w[2], w[3]);
  }
}

// Column j is bit j % 32 of word (j / 32) % 4 of block j / 128.
void fill_rademacher_row(const RowCounter& row, double* out, int64_t width) {
  for (int64_t start = 0; start < width; start += 128) {
    const Words w = row.block(static_cast<uint32_t>(start / 128));
    const int64_t n = std::min<int64_t>(128, width - start);
    for (int64_t b = 0; b < n; ++b) out[start + b] = (w[b >> 5] >> (b & 31)) & 1u ? 1.0 : -1.0;
  }
}

// A [count, width] float64 tensor whose row i is filled by fill_row for global id first + i.
template <typename FillRow>
at::Tensor fill_rows(const char* function, const RandomKey& key, int64_t first, int64_t count,
                     int64_t width, uint64_t step, int64_t values_per_block,
                     const FillRow& fill_row) {
  check_key_and_step(function, key, step);
  JF_CHECK(count >= 0 && width >= 0, function, ": count ", count, " and width ", width,
           " must be non-negative");
  JF_CHECK(first >= 0 && first <= kIdLimit - count, function, ": ids [", first, ", ", first + count,
           ") leave the counter's range [0, 2^56)");
  JF_CHECK((width + values_per_block - 1) / values_per_block <= kBlocksPerRowLimit, function,
           ": width ", width, " needs more than 2^31 Philox blocks per row");
  at::Tensor out = at::empty({count, width}, at::kDouble);
  double* data = out.data_ptr<double>();
  const int64_t grain = std::max<int64_t>(1, kElementsPerTask / std::max<int64_t>(width, 1));
  at::parallel_for(0, count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      fill_row(row_counter(key, first + i, step), data + i * width, width);
  });
  return out;
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 2> key,
                                      std::array<uint32_t, 4> counter) {
  return philox(key[0], key[1], counter);
}

at::Tensor counter_normal(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                          uint64_t step) {
  return fill_rows("counter_normal", key, first, count, width, step, 2, fill_normal_row);
}

at::Tensor counter_uniform(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                           uint64_t step) {
  return fill_rows("counter_uniform", key, first, count, width, step, 2, fill_uniform_row);
}

at::Tensor counter_rademacher(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                              uint64_t step) {
  return fill_rows("counter_rademacher", key, first, count, width, step, 128, fill_rademacher_row);
}

at::Tensor counter_permutation(const RandomKey& key, int64_t n, uint64_t step) {
  check_key_and_step("counter_permutation", key, step);
  JF_CHECK(n >= 0 && n <= kIdLimit, "counter_permutation: n = ", n,
           " leaves the counter's range [0, 2^56]");
  std::vector<std::pair<uint64_t, int64_t>> order(static_cast<size_t>(n));
  at::parallel_for(0, n, kElementsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const Words w = row_counter(key, i, step).block(kPermutationBlock);
      order[i] = {(uint64_t{w[0]} << 32) | w[1], i};
    }
  });
  std::sort(order.begin(), order.end());  // pairs: equal keys keep index order
  at::Tensor permutation = at::empty({n}, at::kLong);
  int64_t* data = permutation.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) data[i] = order[i].second;
  return permutation;
}

}  // namespace jointflow
