#include "estimate/ranking.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace jointflow {
namespace {

std::vector<double> values_of(const at::Tensor& t, const char* what) {
  JF_CHECK(t.dim() == 1, what, " expects a 1-D tensor, got ", t.sizes());
  const at::Tensor c = t.to(at::kDouble).cpu().contiguous();
  JF_CHECK(c.isfinite().all().item<bool>(), what, " needs finite values");
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void check_pair(const std::vector<double>& x, const std::vector<double>& y, const char* what) {
  JF_CHECK(x.size() == y.size(), what, ": both lists must have the same length, got ", x.size(),
           " and ", y.size());
}

// Σ t(t − 1)/2 over the runs of equal neighbours in a sequence of n items, where same(i) says
// whether item i equals item i − 1.
template <typename Same>
int64_t pairs_in_runs(int64_t n, Same same) {
  int64_t pairs = 0, run = 1;
  for (int64_t i = 1; i <= n; ++i) {
    if (i < n && same(i)) {
      ++run;
    } else {
      pairs += run * (run - 1) / 2;
      run = 1;
    }
  }
  return pairs;
}

// Sorts `values` ascending (stable merge sort) and returns the number of pairs i < j with
// values_i > values_j.
int64_t sort_counting_inversions(std::vector<double>& values) {
  std::vector<double> buffer(values.size());
  int64_t inversions = 0;
  const size_t n = values.size();
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t left = 0; left < n; left += 2 * width) {
      const size_t middle = std::min(left + width, n), right = std::min(left + 2 * width, n);
      size_t i = left, j = middle, out = left;
      while (i < middle && j < right) {
        if (values[j] < values[i]) {
          inversions += static_cast<int64_t>(middle - i);
          buffer[out++] = values[j++];
        } else {
          buffer[out++] = values[i++];
        }
      }
      while (i < middle) buffer[out++] = values[i++];
      while (j < right) buffer[out++] = values[j++];
    }
    values.swap(buffer);
  }
  return inversions;
}

// 1-based ranks in ascending order, ties sharing the mean of their ranks.
std::vector<double> average_ranks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&values](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(n);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    while (end < n && values[order[end]] == values[order[start]]) ++end;
    const double rank = 0.5 * static_cast<double>(start + 1 + end);  // mean of start+1 .. end
    for (size_t i = start; i < end; ++i) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

}  // namespace

double squared_error(const at::Tensor& prediction, const at::Tensor& truth) {
  const std::vector<double> p = values_of(prediction, "squared_error");
  const std::vector<double> t = values_of(truth, "squared_error");
  check_pair(p, t, "squared_error");
  JF_CHECK(!p.empty(), "squared_error needs at least one item");
  double sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] - t[i]) * (p[i] - t[i]);
  return sum / static_cast<double>(p.size());
}

// App. H: c − d = n0 − n1 − n2 + n3 − 2·(discordant), with n0 = n(n − 1)/2, n1 and n2 the pairs
// tied in x and in y, n3 those tied in both; discordant pairs are the inversions of y once the
// items are sorted by (x, y).
double kendall_tau_b(const at::Tensor& x, const at::Tensor& y) {
  const std::vector<double> a = values_of(x, "kendall_tau_b");
  const std::vector<double> b = values_of(y, "kendall_tau_b");
  check_pair(a, b, "kendall_tau_b");
  const int64_t n = static_cast<int64_t>(a.size());
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t i, int64_t j) { return a[i] < a[j] || (a[i] == a[j] && b[i] < b[j]); });
  const int64_t n0 = n * (n - 1) / 2;
  const int64_t n1 = pairs_in_runs(n, [&](int64_t i) { return a[order[i]] == a[order[i - 1]]; });
  const int64_t n3 = pairs_in_runs(n, [&](int64_t i) {
    return a[order[i]] == a[order[i - 1]] && b[order[i]] == b[order[i - 1]];
  });
  std::vector<double> sorted_y(n);
  for (int64_t i = 0; i < n; ++i) sorted_y[i] = b[order[i]];
  const int64_t discordant = sort_counting_inversions(sorted_y);  // sorts sorted_y
  const int64_t n2 = pairs_in_runs(n, [&](int64_t i) { return sorted_y[i] == sorted_y[i - 1]; });
  const double denominator =
      std::sqrt(static_cast<double>(n0 - n1)) * std::sqrt(static_cast<double>(n0 - n2));
  if (denominator == 0.0) return 0.0;
  return static_cast<double>(n0 - n1 - n2 + n3 - 2 * discordant) / denominator;
}

double spearman_rho(const at::Tensor& x, const at::Tensor& y) {
  const std::vector<double> a = values_of(x, "spearman_rho");
  const std::vector<double> b = values_of(y, "spearman_rho");
  check_pair(a, b, "spearman_rho");
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double mean = 0.5 * static_cast<double>(a.size() + 1);  // mean rank, ties included
  double cross = 0.0, sa = 0.0, sb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    cross += (ra[i] - mean) * (rb[i] - mean);
    sa += (ra[i] - mean) * (ra[i] - mean);
    sb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (sa == 0.0 || sb == 0.0) return 0.0;
  return cross / std::sqrt(sa * sb);
}

at::Tensor normalized_grades(const at::Tensor& grades) {
  JF_CHECK(grades.dim() == 1 && grades.numel() > 0,
           "normalized_grades expects a non-empty 1-D tensor, got ", grades.sizes());
  at::Tensor g = grades.to(at::kDouble);
  const double lowest = g.min().item<double>();
  if (lowest < 0) g = g - lowest;
  const double highest = g.max().item<double>();
  if (highest > 1) g = g / highest;
  return g;
}

double graded_average_precision(const at::Tensor& prediction, const at::Tensor& grades) {
  const std::vector<double> p = values_of(prediction, "graded_average_precision");
  const std::vector<double> g = values_of(normalized_grades(grades), "graded_average_precision");
  check_pair(p, g, "graded_average_precision");
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&p](size_t i, size_t j) { return p[i] > p[j]; });
  double cumulative = 0.0, numerator = 0.0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const double grade = g[order[rank]];
    cumulative += grade;
    numerator += grade * cumulative / static_cast<double>(rank + 1);
  }
  return cumulative > 0.0 ? numerator / cumulative : 0.0;
}

at::Tensor most_confident(const at::Tensor& variance, double fraction) {
  JF_CHECK(variance.dim() == 1, "most_confident expects a 1-D tensor, got ", variance.sizes());
  JF_CHECK(fraction > 0.0 && fraction <= 1.0, "most_confident: fraction must be in (0, 1], got ",
           fraction);
  const int64_t n = variance.size(0);
  const int64_t count =
      std::min(n, static_cast<int64_t>(std::ceil(fraction * static_cast<double>(n))));
  const at::Tensor order =
      std::get<1>(at::sort(variance.to(at::kDouble), /*stable=*/c10::optional<bool>(true), 0));
  return std::get<0>(at::sort(order.narrow(0, 0, count)));
}

WeightAccuracy compare_log_weights(const at::Tensor& log_w, const at::Tensor& log_w_true,
                                   const at::Tensor& true_variance, double fraction) {
  JF_CHECK(log_w.dim() == 1 && log_w_true.sizes() == log_w.sizes() &&
               true_variance.sizes() == log_w.sizes(),
           "compare_log_weights expects three [n] tensors, got ", log_w.sizes(), ", ",
           log_w_true.sizes(), " and ", true_variance.sizes());
  const at::Tensor finite = (log_w_true.isfinite() & true_variance.isfinite()).nonzero().squeeze(1);
  JF_CHECK(finite.numel() > 0, "compare_log_weights: no item has a finite ground truth");
  const at::Tensor chosen =
      finite.index_select(0, most_confident(true_variance.index_select(0, finite), fraction));
  const at::Tensor predicted = log_w.to(at::kDouble).index_select(0, chosen);
  const at::Tensor truth = log_w_true.to(at::kDouble).index_select(0, chosen);
  // exp(t − max t) = w/max w: the normalization of normalized_grades without overflow.
  const double top = truth.max().item<double>();
  const at::Tensor grades = top > 0 ? (truth - top).exp() : truth.exp();
  return {squared_error(predicted, truth), kendall_tau_b(predicted, truth),
          spearman_rho(predicted, truth), graded_average_precision(predicted, grades),
          chosen.numel()};
}

}  // namespace jointflow
