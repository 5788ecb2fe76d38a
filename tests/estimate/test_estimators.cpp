// MATH §5.1 estimators against hand-built weights, exact merging of accumulators, and the JSD of
// MATH §6 against closed forms.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "distributed/counter_rng.h"
#include "estimate/estimators.h"
#include "estimate/exact_sum.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

TEST(ExactSum, KeepsEveryBitAndRoundsOnce) {
  ExactSum sum;
  for (double v : {1e16, 1.0, -1e16}) sum.add(v);
  EXPECT_EQ(sum.value(), 1.0);
  // math.fsum([1e-16, 1, 1e16]) = 1e16 + 2: the 1e-16 breaks the half-way tie upwards.
  ExactSum tie;
  for (double v : {1e-16, 1.0, 1e16}) tie.add(v);
  EXPECT_EQ(tie.value(), 1e16 + 2.0);
  ExactSum special;
  special.add(1.0);
  special.add(INFINITY);
  EXPECT_EQ(special.value(), INFINITY);
  special.add(-INFINITY);
  EXPECT_TRUE(std::isnan(special.value()));
}

TEST(ExactSum, AnySplitMergesToTheSameBits) {
  // Terms spanning 30 orders of magnitude, both signs: plain summation depends on the order.
  const at::Tensor normal = counter_normal({5, RandomStream::exact_samples}, 0, 2, 1000);
  const at::Tensor terms = (normal[0] * (normal[1] * 15).exp()).contiguous();
  const double* t = terms.data_ptr<double>();
  ExactSum whole, reversed;
  for (int i = 0; i < 1000; ++i) whole.add(t[i]);
  for (int i = 999; i >= 0; --i) reversed.add(t[i]);
  EXPECT_EQ(whole.value(), reversed.value());
  for (int split : {1, 137, 500, 999}) {
    ExactSum first, second;
    for (int i = 0; i < split; ++i) first.add(t[i]);
    for (int i = split; i < 1000; ++i) second.add(t[i]);
    second.merge(first);
    EXPECT_EQ(second.value(), whole.value()) << "split at " << split;
  }
  ExactSum twice = whole;
  twice.merge(twice);
  EXPECT_EQ(twice.value(), 2 * whole.value());
}

TEST(Estimators, MatchHandComputedValues) {
  // Two sets of K = 3 with a two-component f.
  const at::Tensor w = at::tensor({1.0, 2.0, 3.0, 0.5, 0.5, 2.0}, kDouble).view({2, 3});
  const at::Tensor f =
      at::tensor({1.0, 0.0, 2.0, 1.0, 0.0, 4.0, 3.0, 1.0, 1.0, 1.0, 0.0, 0.0}, kDouble)
          .view({2, 3, 2});
  // Set 0: Σ w f = (1 + 4 + 0, 0 + 2 + 12) = (5, 14), Σ w = 6, Σ w² = 14.
  // Set 1: Σ w f = (1.5 + 0.5 + 0, 0.5 + 0.5 + 0) = (2, 1), Σ w = 3, Σ w² = 4.5.
  const at::Tensor unbiased = importance_estimate(w, f);
  const at::Tensor expected_unbiased = at::tensor({5.0 / 3, 14.0 / 3, 2.0 / 3, 1.0 / 3}, kDouble);
  EXPECT_TRUE(at::allclose(unbiased.flatten(), expected_unbiased, 0, 1e-15));
  EXPECT_TRUE(at::allclose(kish_ess(w), at::tensor({36.0 / 14, 9.0 / 4.5}, kDouble), 0, 1e-15));
  // Pooled self-normalized: (5 + 2, 14 + 1) / (6 + 3). Per set a = Σ w f / 3, b = Σ w / 3, so
  // a − R b = (5/3 − 14/9, 14/3 − 10/3) and (2/3 − 7/9, 1/3 − 5/3): residuals ±1/9 and ±4/3,
  // standard error sqrt(2 r² / (2 · 1)) / b̄ with b̄ = 3/2.
  ImportanceAccumulator accumulator(2);
  accumulator.add(w, f);
  const ImportanceSummary summary = accumulator.finish();
  EXPECT_TRUE(
      at::allclose(summary.self_normalized, at::tensor({7.0 / 9, 15.0 / 9}, kDouble), 0, 1e-15));
  EXPECT_TRUE(at::allclose(summary.self_normalized_se,
                           at::tensor({1.0 / 9, 4.0 / 3}, kDouble) / 1.5, 0, 1e-15));
}

TEST(Estimators, PooledSelfNormalizedIsExactWhereTheMeanOfPerSetRatiosIsNot) {
  // q uniform on {a, b}, p = (0.2, 0.8): w = (0.4, 1.6). IID sets of K = 2 take the four
  // orderings aa, ab, ba, bb with probability ¼ each; one of each is their exact average. The
  // mean of per-set ratios gives ¼ f(a) + ½ (0.2 f(a) + 0.8 f(b)) + ¼ f(b) = 0.35 f(a) + 0.65 f(b),
  // a bias of order 1/K; the ratio pooled over the sets gives E_p[f] = 0.2 f(a) + 0.8 f(b).
  const at::Tensor w = at::tensor({0.4, 0.4, 0.4, 1.6, 1.6, 0.4, 1.6, 1.6}, kDouble).view({4, 2});
  const at::Tensor f_a = at::tensor({3.0, -1.0}, kDouble), f_b = at::tensor({2.0, 7.0}, kDouble);
  const at::Tensor f = at::stack({f_a, f_a, f_a, f_b, f_b, f_a, f_b, f_b}).view({4, 2, 2});
  ImportanceAccumulator accumulator(2);
  accumulator.add(w, f);
  const ImportanceSummary summary = accumulator.finish();
  const at::Tensor exact = 0.2 * f_a + 0.8 * f_b;
  EXPECT_TRUE(at::allclose(summary.self_normalized, exact, 0, 1e-14));
  EXPECT_TRUE(at::allclose(summary.unbiased, exact, 0, 1e-14));
  const at::Tensor per_set_ratios = (w.unsqueeze(2) * f).sum(1) / w.sum(1, true);
  EXPECT_TRUE(at::allclose(per_set_ratios.mean(0), 0.35 * f_a + 0.65 * f_b, 0, 1e-14));
}

TEST(Estimators, ExchangeableNonIidSetsAreUnbiased) {
  // q = uniform on {a, b}; antithetic sets {a, b} and {b, a} with probability ½ each (members
  // exchangeable, marginal q, not independent). p = (0.2, 0.8), so w = (0.4, 1.6), and the
  // average of μ̂ over the two equally likely sets is E_p[f] exactly.
  const at::Tensor w = at::tensor({0.4, 1.6, 1.6, 0.4}, kDouble).view({2, 2});
  const at::Tensor f = at::tensor({3.0, -1.0, 2.0, 7.0, 2.0, 7.0, 3.0, -1.0}, kDouble)
                           .view({2, 2, 2});  // f(a) = (3, −1), f(b) = (2, 7)
  ImportanceAccumulator accumulator(2);
  accumulator.add(w, f);
  const ImportanceSummary summary = accumulator.finish();
  EXPECT_NEAR(summary.unbiased[0].item<double>(), 0.2 * 3 + 0.8 * 2, 1e-15);
  EXPECT_NEAR(summary.unbiased[1].item<double>(), 0.2 * -1 + 0.8 * 7, 1e-15);
  // Here Σ w = K in every set, so the self-normalized estimate equals the unbiased one.
  EXPECT_TRUE(at::equal(summary.self_normalized, summary.unbiased));
  EXPECT_EQ(summary.sets, 2);
}

TEST(Estimators, SelfNormalizedEqualsUnbiasedWhenWeightsSumToK) {
  const int64_t groups = 50, k = 8;
  const at::Tensor raw = counter_uniform({7, RandomStream::exact_samples}, 0, groups, k);
  const at::Tensor w = raw * k / raw.sum(1, true);
  const at::Tensor f =
      counter_normal({8, RandomStream::exact_samples}, 0, groups, k * 3).view({groups, k, 3});
  ImportanceAccumulator accumulator(3);
  accumulator.add(w, f);
  const ImportanceSummary summary = accumulator.finish();
  EXPECT_TRUE(at::allclose(summary.self_normalized, summary.unbiased, 1e-13, 1e-13));
  EXPECT_TRUE(at::allclose(summary.self_normalized_se, summary.unbiased_se, 1e-12, 1e-14));
}

TEST(Estimators, KishEssOfEqualAndOfASingleWeight) {
  const at::Tensor equal = at::full({3, 10}, 2.5, kDouble);
  EXPECT_TRUE(at::allclose(kish_ess(equal), at::full({3}, 10.0, kDouble), 0, 1e-14));
  at::Tensor single = at::zeros({2, 10}, kDouble);
  single[0][3] = 7.0;
  single[1][9] = 1e-3;
  EXPECT_TRUE(at::allclose(kish_ess(single), at::ones({2}, kDouble), 0, 1e-15));
}

TEST(ImportanceAccumulator, MergedPartsEqualOneAccumulatorBitwise) {
  const int64_t groups = 301, k = 6, c = 4;
  const at::Tensor w = (counter_normal({11, RandomStream::exact_samples}, 0, groups, k) * 2).exp();
  const at::Tensor f =
      counter_normal({12, RandomStream::exact_samples}, 0, groups, k * c).view({groups, k, c}) *
          1e3 +
      5;
  ImportanceAccumulator whole(c);
  for (int64_t start = 0; start < groups; start += 64) {
    const int64_t count = std::min<int64_t>(64, groups - start);
    whole.add(w.narrow(0, start, count), f.narrow(0, start, count));
  }
  ImportanceAccumulator first(c), second(c);
  first.add(w.narrow(0, 0, 100), f.narrow(0, 0, 100));
  second.add(w.narrow(0, 100, 150), f.narrow(0, 100, 150));
  second.add(w.narrow(0, 250, 51), f.narrow(0, 250, 51));
  ImportanceAccumulator merged = first;
  merged.merge(second);
  second.merge(first);  // the other order
  const ImportanceSummary a = whole.finish(), b = merged.finish(), r = second.finish();
  for (const ImportanceSummary* s : {&b, &r}) {
    EXPECT_TRUE(at::equal(a.unbiased, s->unbiased));
    EXPECT_TRUE(at::equal(a.unbiased_se, s->unbiased_se));
    EXPECT_TRUE(at::equal(a.self_normalized, s->self_normalized));
    EXPECT_TRUE(at::equal(a.self_normalized_se, s->self_normalized_se));
    EXPECT_EQ(a.ess, s->ess);
    EXPECT_EQ(a.ess_se, s->ess_se);
    EXPECT_EQ(s->sets, groups);
  }
  // The summary is the mean and standard error of the per-set values.
  const at::Tensor per_set = importance_estimate(w, f);
  EXPECT_TRUE(at::allclose(a.unbiased, per_set.mean(0), 1e-13, 0));
  EXPECT_TRUE(at::allclose(a.unbiased_se, per_set.std(0) / std::sqrt(double(groups)), 1e-10, 0));
  // The pooled ratio and its delta-method standard error, from the per-set means of w f and w.
  const at::Tensor mean_weight = w.mean(1, true);
  const at::Tensor ratio = per_set.sum(0) / mean_weight.sum();
  const at::Tensor residual = per_set - ratio * mean_weight;
  EXPECT_TRUE(at::allclose(a.self_normalized, ratio, 1e-13, 0));
  EXPECT_TRUE(at::allclose(
      a.self_normalized_se,
      (residual.pow(2).sum(0) / (groups * (groups - 1.0))).sqrt() / mean_weight.mean(), 1e-10, 0));
  EXPECT_NEAR(a.ess, kish_ess(w).mean().item<double>(), 1e-13);
}

TEST(JensenShannon, ZeroForEqualDistributionsAndClosedFormForTwoPoints) {
  const at::Tensor truth = at::tensor({0.1, 0.2, 0.7}, kDouble);
  const at::Tensor same = at::stack({truth * 3, truth});  // renormalized before comparing
  EXPECT_TRUE(at::allclose(jensen_shannon(same, truth), at::zeros({2}, kDouble), 0, 1e-16));
  // Two points: JSD = H((p + q)/2) − (H(p) + H(q))/2, H the binary entropy in nats.
  const auto entropy = [](double p) { return -p * std::log(p) - (1 - p) * std::log(1 - p); };
  const double p = 0.3, q = 0.85;
  const double expected = entropy((p + q) / 2) - (entropy(p) + entropy(q)) / 2;
  const at::Tensor estimate = at::tensor({p, 1 - p}, kDouble).view({1, 2});
  const at::Tensor target = at::tensor({q, 1 - q}, kDouble);
  EXPECT_NEAR(jensen_shannon(estimate, target).item<double>(), expected, 1e-15);
  EXPECT_NEAR(jensen_shannon(target.view({1, 2}), estimate[0]).item<double>(), expected, 1e-15);
}

TEST(JensenShannon, BoundedByLn2ClipsNegativesAndTreatsZeroAsUniform) {
  const at::Tensor truth = at::tensor({1.0, 0.0}, kDouble);
  // Disjoint supports reach ln 2; a negative entry is clipped to 0 first.
  const at::Tensor disjoint = at::tensor({-0.5, 2.0}, kDouble).view({1, 2});
  EXPECT_NEAR(jensen_shannon(disjoint, truth).item<double>(), std::log(2.0), 1e-15);
  // All zero after clipping: the estimate counts as uniform (½, ½), so with M = (¾, ¼)
  // JSD = H(M) − (H(½) + H(1))/2 = H(¾) − ½ ln 2, H the binary entropy in nats.
  const at::Tensor zero = at::tensor({-1.0, 0.0}, kDouble).view({1, 2});
  const double expected = -0.75 * std::log(0.75) - 0.25 * std::log(0.25) - 0.5 * std::log(2.0);
  EXPECT_NEAR(jensen_shannon(zero, truth).item<double>(), expected, 1e-15);
  // Random pairs: symmetric and within [0, ln 2]; the mean comes with its standard error.
  const at::Tensor a = counter_uniform({21, RandomStream::exact_samples}, 0, 200, 5);
  const at::Tensor b = counter_uniform({22, RandomStream::exact_samples}, 0, 200, 5);
  at::Tensor forward = at::empty({200}, kDouble), backward = at::empty({200}, kDouble);
  for (int64_t g = 0; g < 200; ++g) {
    forward[g] = jensen_shannon(a[g].view({1, 5}), b[g])[0];
    backward[g] = jensen_shannon(b[g].view({1, 5}), a[g])[0];
  }
  EXPECT_TRUE(at::allclose(forward, backward, 0, 1e-15));
  EXPECT_TRUE(at::allclose(forward, jensen_shannon(a, b), 0, 1e-15));
  EXPECT_TRUE(forward.ge(0).all().item<bool>() && forward.le(std::log(2.0)).all().item<bool>());
  const Metric mean = mean_jensen_shannon(a, b);
  EXPECT_EQ(mean.name, "jsd");
  EXPECT_NEAR(mean.value, forward.mean().item<double>(), 1e-15);
  EXPECT_NEAR(mean.standard_error, (forward.std() / std::sqrt(200.0)).item<double>(), 1e-15);
}

}  // namespace
}  // namespace jointflow
