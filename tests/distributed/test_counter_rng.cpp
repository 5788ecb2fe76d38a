#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "distributed/counter_rng.h"

namespace jointflow {
namespace {

using Words = std::array<uint32_t, 4>;

const RandomKey kKey{20240917u, RandomStream::initial_noise};

// Mean of a float64 tensor as a double.
double mean_of(const at::Tensor& x) { return x.mean().item<double>(); }

// Pearson correlation of two float64 vectors of equal length.
double correlation(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor da = a - a.mean();
  const at::Tensor db = b - b.mean();
  return ((da * db).sum() / (da.norm() * db.norm())).item<double>();
}

// Random123 tests/kat_vectors, the three "philox4x32 10" lines (counter, key -> result).
TEST(Philox, MatchesPublishedKnownAnswers) {
  EXPECT_EQ(philox4x32_10({0u, 0u}, {0u, 0u, 0u, 0u}),
            (Words{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu},
                          {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}),
            (Words{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0xa4093822u, 0x299f31d0u},
                          {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}),
            (Words{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

// Pins the documented key/counter layout and the Box–Muller transform: files depend on both.
TEST(CounterNormal, FollowsTheDocumentedCounterLayout) {
  const RandomKey key{0x0123456789abcdefull, RandomStream::hutchinson};
  const int64_t id = (int64_t{0x00abcdef} << 32) | 0x12345678;
  const uint64_t step = 77;
  const Words w =
      philox4x32_10({0x89abcdefu, 0x01234567u}, {1u, 77u, 0x12345678u, 0x00abcdefu | (7u << 24)});
  const double u1 = static_cast<double>(((uint64_t{w[0]} << 21) | (w[1] >> 11)) + 1) * 0x1p-53;
  const double u2 = static_cast<double>((uint64_t{w[2]} << 21) | (w[3] >> 11)) * 0x1p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const at::Tensor x = counter_normal(key, id, 1, 4, step);
  EXPECT_DOUBLE_EQ(x[0][2].item<double>(), radius * std::cos(2.0 * M_PI * u2));
  EXPECT_DOUBLE_EQ(x[0][3].item<double>(), radius * std::sin(2.0 * M_PI * u2));
}

TEST(CounterNormal, ShapeDtypeAndDevice) {
  const at::Tensor x = counter_normal(kKey, 5, 3, 7);
  EXPECT_EQ(x.sizes(), at::IntArrayRef({3, 7}));
  EXPECT_EQ(x.scalar_type(), at::kDouble);
  EXPECT_TRUE(x.is_cpu());
  EXPECT_EQ(counter_normal(kKey, 0, 0, 3).numel(), 0);
  EXPECT_EQ(counter_normal(kKey, 0, 4, 0).sizes(), at::IntArrayRef({4, 0}));
}

// Moments and correlations of N = 10^6 draws within 5 standard errors of N(0, 1)'s.
TEST(CounterNormal, HasStandardNormalMomentsAndLowCorrelation) {
  const int64_t rows = 250000;
  const at::Tensor x = counter_normal(kKey, 0, rows, 4, 3);
  const double n = static_cast<double>(x.numel());
  const at::Tensor flat = x.flatten();
  EXPECT_NEAR(mean_of(flat), 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(mean_of(flat * flat), 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(mean_of(flat.pow(4)), 3.0, 5.0 * std::sqrt(96.0 / n));
  EXPECT_NEAR(mean_of(flat.abs().gt(2.0).to(at::kDouble)), 0.0455002638963584,
              5.0 * std::sqrt(0.0455 * 0.9545 / n));
  const double tolerance = 5.0 / std::sqrt(static_cast<double>(rows));
  const at::Tensor col0 = x.select(1, 0);
  EXPECT_NEAR(correlation(col0, x.select(1, 1)), 0.0, tolerance);  // cos and sin of one block
  EXPECT_NEAR(correlation(col0, x.select(1, 2)), 0.0, tolerance);  // neighbouring blocks
  EXPECT_NEAR(correlation(col0.slice(0, 0, rows - 1), col0.slice(0, 1, rows)), 0.0,
              tolerance);  // neighbouring ids
  EXPECT_NEAR(correlation(col0 * col0, x.select(1, 1) * x.select(1, 1)), 0.0, tolerance);
}

TEST(CounterUniform, LiesInTheOpenIntervalWithUniformMoments) {
  const at::Tensor u = counter_uniform(kKey, 0, 200000, 5).flatten();
  const double n = static_cast<double>(u.numel());
  EXPECT_GT(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_NEAR(mean_of(u), 0.5, 5.0 * std::sqrt(1.0 / 12.0 / n));
  EXPECT_NEAR(mean_of((u - 0.5).pow(2)), 1.0 / 12.0, 5.0 * std::sqrt(1.0 / 180.0 / n));
  const at::Tensor counts = at::histc(u, 10, 0.0, 1.0);
  for (int64_t bin = 0; bin < 10; ++bin)
    EXPECT_NEAR(counts[bin].item<double>(), n / 10.0, 5.0 * std::sqrt(n * 0.1 * 0.9))
        << "bin " << bin;
}

TEST(CounterRademacher, IsPlusOrMinusOneAndBalancedInEveryBitPosition) {
  const int64_t rows = 20000;
  const at::Tensor r = counter_rademacher(kKey, 0, rows, 300, 9);
  EXPECT_TRUE(r.abs().eq(1.0).all().item<bool>());
  EXPECT_NEAR(mean_of(r), 0.0, 5.0 / std::sqrt(static_cast<double>(r.numel())));
  const at::Tensor column_means = r.mean(0);
  EXPECT_LT(column_means.abs().max().item<double>(), 5.0 / std::sqrt(static_cast<double>(rows)));
  EXPECT_NEAR(correlation(r.select(1, 0), r.select(1, 1)), 0.0,
              5.0 / std::sqrt(static_cast<double>(rows)));
}

// Invariant R: a row's values do not depend on which block (rank) generates it, nor on width.
TEST(CounterDraws, ValuesDependOnlyOnIdStepAndColumn) {
  const int64_t total = 97;
  const uint64_t step = 12;
  using Draw = at::Tensor (*)(const RandomKey&, int64_t, int64_t, int64_t, uint64_t);
  for (const Draw draw : {Draw{counter_normal}, Draw{counter_uniform}, Draw{counter_rademacher}}) {
    const at::Tensor full = draw(kKey, 0, total, 131, step);
    const int64_t blocks[][2] = {{0, 97}, {0, 1}, {13, 14}, {5, 50}, {50, 97}, {96, 97}, {31, 31}};
    for (const auto& [begin, end] : blocks) {
      EXPECT_TRUE(at::equal(draw(kKey, begin, end - begin, 131, step), full.slice(0, begin, end)))
          << "rows [" << begin << ", " << end << ")";
      EXPECT_TRUE(at::equal(draw(kKey, begin, end - begin, 3, step),
                            full.slice(0, begin, end).slice(1, 0, 3)));
    }
  }
}

TEST(CounterDraws, DifferentSeedsStreamsStepsAndIdsDiffer) {
  const at::Tensor base = counter_normal(kKey, 0, 64, 8, 0);
  const auto no_element_equal = [&](const at::Tensor& other) {
    return base.eq(other).sum().item<int64_t>() == 0;
  };
  EXPECT_TRUE(no_element_equal(counter_normal({kKey.seed + 1, kKey.stream}, 0, 64, 8, 0)));
  EXPECT_TRUE(no_element_equal(
      counter_normal({kKey.seed + (uint64_t{1} << 32), kKey.stream}, 0, 64, 8, 0)));
  EXPECT_TRUE(no_element_equal(counter_normal({kKey.seed, RandomStream::langevin}, 0, 64, 8, 0)));
  EXPECT_TRUE(no_element_equal(counter_normal(kKey, 0, 64, 8, 1)));
  EXPECT_TRUE(no_element_equal(counter_normal(kKey, 64, 64, 8, 0)));
  EXPECT_TRUE(no_element_equal(counter_normal(kKey, int64_t{1} << 32, 64, 8, 0)));
  EXPECT_TRUE(no_element_equal(counter_normal(kKey, int64_t{1} << 55, 64, 8, 0)));
}

TEST(CounterDraws, RejectsIdsAndStepsOutsideTheCounter) {
  const int64_t limit = int64_t{1} << 56;
  EXPECT_EQ(counter_normal(kKey, limit - 2, 2, 1).size(0), 2);
  EXPECT_THROW(counter_normal(kKey, limit - 2, 3, 1), Error);
  EXPECT_THROW(counter_uniform(kKey, -1, 1, 1), Error);
  EXPECT_THROW(counter_rademacher(kKey, 0, -1, 1), Error);
  EXPECT_EQ(counter_normal(kKey, 0, 1, 1, 0xffffffffull).size(0), 1);
  EXPECT_THROW(counter_normal(kKey, 0, 1, 1, uint64_t{1} << 32), Error);
  EXPECT_THROW(counter_permutation(kKey, limit + 1), Error);
}

TEST(CounterPermutation, IsADeterministicPermutation) {
  for (const int64_t n : {0, 1, 2, 10, 1000, 100003}) {
    const at::Tensor p = counter_permutation(kKey, n, 4);
    ASSERT_EQ(p.sizes(), at::IntArrayRef({n}));
    EXPECT_EQ(p.scalar_type(), at::kLong);
    EXPECT_TRUE(at::equal(std::get<0>(p.sort()), at::arange(n, at::kLong))) << "n = " << n;
    EXPECT_TRUE(at::equal(p, counter_permutation(kKey, n, 4)));
  }
  const at::Tensor p = counter_permutation(kKey, 1000, 4);
  EXPECT_FALSE(at::equal(p, at::arange(1000, at::kLong)));
  EXPECT_FALSE(at::equal(p, counter_permutation(kKey, 1000, 5)));
  EXPECT_FALSE(at::equal(p, counter_permutation({kKey.seed, RandomStream::data_shuffle}, 1000, 4)));
  // Each position is uniform over the indices: the mean of p[0] over many steps is near (n-1)/2.
  double sum = 0.0;
  const int trials = 2000;
  for (int step = 0; step < trials; ++step)
    sum += counter_permutation(kKey, 100, step)[0].item<double>();
  EXPECT_NEAR(sum / trials, 49.5, 5.0 * std::sqrt((100.0 * 100.0 - 1.0) / 12.0 / trials));
}

}  // namespace
}  // namespace jointflow
