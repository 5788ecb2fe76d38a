// Estimated importance weights against ground truth (MATH §6, paper A App. H): squared error of
// log-weights, Kendall's τ_b, Spearman's ρ and graded AP, on the items whose ground truth is most
// confident.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace jointflow {

// All functions take 1-D float64 CPU tensors of one query's n items (n up to ~10⁵) and require
// finite values.

// mean_i (prediction_i − truth_i)²; prediction, truth: [n] log-weights.
double squared_error(const at::Tensor& prediction, const at::Tensor& truth);

// Kendall's τ_b (App. H) = (n_c − n_d) / sqrt((n_c + n_d + t_x)(n_c + n_d + t_y)), with n_c, n_d
// the concordant and discordant pairs, t_x (t_y) the pairs tied only in x (only in y); pairs tied
// in both are ignored; 0 when the denominator is 0 (choice). O(n log n) (Knight 1966).
// x, y: [n].
double kendall_tau_b(const at::Tensor& x, const at::Tensor& y);

// Spearman's ρ: Pearson correlation of the average ranks (ties share the mean of their ranks);
// 0 when either ranking is constant (choice). x, y: [n].
double spearman_rho(const at::Tensor& x, const at::Tensor& y);

// Grades normalized per query to [0, 1] (App. H): g − min g if any g < 0, then g / max g if
// max g > 1. grades: [n] → [n].
at::Tensor normalized_grades(const at::Tensor& grades);

// Graded AP (Moffat et al. 2022, the C/W/L form of AP with gains g_i ∈ [0, 1]). Order the items
// by decreasing prediction (ties keep their input order) and let g_(i) be the normalized grade at
// rank i; then
//   gAP = Σ_i g_(i)·P_i / Σ_i g_(i),  P_i = (1/i)·Σ_{j≤i} g_(j)  (graded precision at rank i).
// With grades in {0, 1} this is the standard AP. 0 when every normalized grade is 0 (choice).
// prediction, grades: [n].
double graded_average_precision(const at::Tensor& prediction, const at::Tensor& grades);

// Indices (int64 [⌈fraction·n⌉], ascending) of the items with the smallest ground-truth variance
// (LLDE variance of MATH §5.7); ties by index. variance: [n]; 0 < fraction ≤ 1.
at::Tensor most_confident(const at::Tensor& variance, double fraction = 0.5);

// The four metrics of MATH §6 on one query.
struct WeightAccuracy {
  double squared_error = 0.0;
  double kendall_tau_b = 0.0;
  double spearman_rho = 0.0;
  double graded_ap = 0.0;
  int64_t items = 0;  // items that were compared
};

// Compares estimated log-weights with ground truth on the most confident `fraction` of the items
// whose ground truth is finite. Ranks use log-weights (τ_b and ρ are invariant under exp); gAP
// grades are the true weights exp(log_w_true). log_w, log_w_true, true_variance: [n].
WeightAccuracy compare_log_weights(const at::Tensor& log_w, const at::Tensor& log_w_true,
                                   const at::Tensor& true_variance, double fraction = 0.5);

}  // namespace jointflow
