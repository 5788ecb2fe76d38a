// MATH §5.7 local-likelihood ground truth: exact for a locally flat density, and the acceptance
// test of the issue on 10⁵ IID samples of `gmm2d` against the exact mixture density.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "data/gaussian_mixture.h"
#include "distributed/counter_rng.h"
#include "estimate/local_likelihood.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

struct ErrorSummary {
  double bias, rmse;
};

ErrorSummary summarize(const at::Tensor& error) {
  return {error.mean().item<double>(), error.pow(2).mean().sqrt().item<double>()};
}

TEST(LocalLikelihood, FlatDensityGivesMinusLogVolume) {
  // 10⁵ uniform samples on [0, 2] × [0, 1] (log q = −log 2); the widest kernel (m = 2 560
  // neighbours) reaches about 0.13, so queries in [0.3, 1.7] × [0.3, 0.7] see a flat density.
  const int64_t n = 100000, q = 400;
  const at::Tensor scale = at::tensor({2.0, 1.0}, kDouble);
  const at::Tensor pool = counter_uniform({41, RandomStream::exact_samples}, 0, n, 2) * scale;
  const at::Tensor outside = counter_uniform({42, RandomStream::exact_samples}, 0, q, 2) *
                                 at::tensor({1.4, 0.4}, kDouble) +
                             0.3;
  const at::Tensor interior = (pool.select(1, 0) > 0.3) & (pool.select(1, 0) < 1.7) &
                              (pool.select(1, 1) > 0.3) & (pool.select(1, 1) < 0.7);
  const at::Tensor members = interior.nonzero().squeeze(1).narrow(0, 0, q);
  const double truth = -std::log(2.0);
  for (bool leave_one_out : {false, true}) {
    const LocalLikelihood result =
        leave_one_out ? local_likelihood(pool, pool.index_select(0, members), members)
                      : local_likelihood(pool, outside);
    const ErrorSummary error = summarize(result.log_q - truth);
    const double predicted_sd = result.variance.mean().sqrt().item<double>();
    std::printf("flat, leave-one-out %d: bias %+.4f, RMSE %.4f, sqrt(mean variance) %.4f\n",
                leave_one_out, error.bias, error.rmse, predicted_sd);
    // Unbiased within 3 standard errors; the noise level matches the gmm2d acceptance test.
    // (1/Σ ESS ranks confidence but understates the error: the fitted m̂ and Σ̂ add variance.)
    EXPECT_LT(std::abs(error.bias), 3 * error.rmse / std::sqrt(double(q)));
    EXPECT_LT(error.rmse, 0.12);
    EXPECT_TRUE(result.variance.isfinite().all().item<bool>());
  }
}

TEST(LocalLikelihood, ChunkingAndMembershipFlagsDoNotChangeTheResult) {
  const at::Tensor pool = counter_normal({43, RandomStream::exact_samples}, 0, 3000, 2);
  const at::Tensor queries = counter_normal({44, RandomStream::exact_samples}, 0, 50, 2);
  LocalLikelihoodOptions small_chunks;
  small_chunks.query_chunk = 7;
  const LocalLikelihood one = local_likelihood(pool, queries);
  const LocalLikelihood many = local_likelihood(pool, queries, {}, small_chunks);
  EXPECT_TRUE(at::allclose(one.log_q, many.log_q, 0, 1e-12));
  EXPECT_TRUE(at::allclose(one.variance, many.variance, 0, 1e-12));
  // Leave-one-out of pool row i equals querying the pool without row i (n − 1 samples in S0/n).
  const at::Tensor rows = at::tensor({5, 1234, 2999}, at::kLong);
  const LocalLikelihood loo = local_likelihood(pool, pool.index_select(0, rows), rows);
  for (int64_t j = 0; j < 3; ++j) {
    const int64_t row = rows[j].item<int64_t>();
    const at::Tensor rest = at::cat({pool.narrow(0, 0, row), pool.narrow(0, row + 1, 2999 - row)});
    const LocalLikelihood without = local_likelihood(rest, pool[row].view({1, 2}));
    EXPECT_NEAR(loo.log_q[j].item<double>(), without.log_q[0].item<double>(), 1e-12);
    EXPECT_NEAR(loo.variance[j].item<double>(), without.variance[0].item<double>(), 1e-15);
  }
}

TEST(LocalLikelihood, SmallPoolsSkipScalesAndBadOptionsThrow) {
  // 100 samples, leave-one-out: scales 16, 32 and 64 fit (m capped at 99 neighbours), 128 and
  // 256 are skipped.
  const at::Tensor pool = counter_normal({45, RandomStream::exact_samples}, 0, 100, 2);
  LocalLikelihoodOptions options;
  options.scales = {16, 32, 64};
  const LocalLikelihood fitting = local_likelihood(pool, pool, at::arange(100, at::kLong), options);
  const LocalLikelihood all = local_likelihood(pool, pool, at::arange(100, at::kLong));
  EXPECT_TRUE(at::equal(fitting.log_q, all.log_q));
  EXPECT_TRUE(all.log_q.isfinite().all().item<bool>());
  LocalLikelihoodOptions bad;
  bad.scales = {0};
  EXPECT_THROW(bad.validate(), std::exception);
  bad = {};
  bad.neighbours_per_scale = 0;
  EXPECT_THROW(local_likelihood(pool, pool, {}, bad), std::exception);
  options.scales = {200};
  EXPECT_THROW(local_likelihood(pool, pool, {}, options), std::exception);
}

TEST(LocalLikelihood, AcceptanceOnGmm2d) {
  // The acceptance test (MATH §5.7): n = 10⁵ IID samples of gmm2d, 2 000 leave-one-out
  // queries, error against the exact log p where p is above its 5 % quantile over the queries:
  // |bias| < 0.03 and RMSE < 0.12 (a PyTorch peer measured +0.003 and 0.094).
  const auto begin = std::chrono::steady_clock::now();
  const GaussianMixture mixture = named_mixture("gmm2d");
  const int64_t n = 100000, q = 2000;
  const at::Tensor pool = sample_mixture(mixture, {2024, RandomStream::exact_samples}, 0, n);
  const at::Tensor members = at::arange(q, at::kLong);  // IID: the first q are a random subset
  const LocalLikelihood result = local_likelihood(pool, pool.narrow(0, 0, q), members);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  const at::Tensor log_p = mixture_log_prob(mixture, pool.narrow(0, 0, q));
  const at::Tensor bulk = log_p > at::quantile(log_p, 0.05);
  const ErrorSummary error = summarize((result.log_q - log_p).index({bulk}));
  std::printf("gmm2d LLDE: bias %+.4f, RMSE %.4f over %ld bulk queries, %.1f s\n", error.bias,
              error.rmse, bulk.sum().item<int64_t>(), seconds);
  RecordProperty("bias", std::to_string(error.bias));
  RecordProperty("rmse", std::to_string(error.rmse));
  EXPECT_LT(std::abs(error.bias), 0.03);
  EXPECT_LT(error.rmse, 0.12);
}

}  // namespace
}  // namespace jointflow
