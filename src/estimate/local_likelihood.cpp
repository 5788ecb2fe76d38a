#include "estimate/local_likelihood.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.h"
#include "estimate/neighbours.h"

namespace jointflow {
namespace {

// Kernel-weighted sums of one scale (MATH §5.7) for a chunk of c queries, each over its m nearest
// neighbours: S0 = Σ K_j, Σ K_j², Σ K_j u_j and Σ K_j u_j u_jᵀ, K_j = exp(−‖u_j‖²/(2h²)).
struct KernelSums {
  at::Tensor s0, s2;  // [c]
  at::Tensor first;   // [c, d]
  at::Tensor second;  // [c, d, d]
};

// pool: [n, d] and chunk: [c, d] contiguous; neighbours: [c, ≥ m] int64 sorted by distance;
// h2: [c]. One pass over the neighbours, no temporaries (faster than tensor ops by far for d = 2).
KernelSums kernel_sums(const at::Tensor& pool, const at::Tensor& chunk,
                       const at::Tensor& neighbours, int64_t m, const at::Tensor& h2) {
  const int64_t c = chunk.size(0), d = chunk.size(1), stride = neighbours.size(1);
  KernelSums sums{at::zeros({c}, pool.options()), at::zeros({c}, pool.options()),
                  at::zeros({c, d}, pool.options()), at::zeros({c, d, d}, pool.options())};
  const double* points = pool.data_ptr<double>();
  const double* queries = chunk.data_ptr<double>();
  const int64_t* index = neighbours.data_ptr<int64_t>();
  const double* bandwidth2 = h2.data_ptr<double>();
  double* s0 = sums.s0.data_ptr<double>();
  double* s2 = sums.s2.data_ptr<double>();
  double* first = sums.first.data_ptr<double>();
  double* second = sums.second.data_ptr<double>();
  at::parallel_for(0, c, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> u(d);
    for (int64_t i = begin; i < end; ++i) {
      const double* x = queries + i * d;
      const double scale = -0.5 / bandwidth2[i];
      for (int64_t j = 0; j < m; ++j) {
        const double* neighbour = points + index[i * stride + j] * d;
        double norm2 = 0.0;
        for (int64_t a = 0; a < d; ++a) {
          u[a] = neighbour[a] - x[a];
          norm2 += u[a] * u[a];
        }
        const double kernel = std::exp(norm2 * scale);
        s0[i] += kernel;
        s2[i] += kernel * kernel;
        for (int64_t a = 0; a < d; ++a) {
          first[i * d + a] += kernel * u[a];
          for (int64_t b = 0; b < d; ++b) second[(i * d + a) * d + b] += kernel * u[a] * u[b];
        }
      }
    }
  });
  return sums;
}

// Per query of the chunk: log q̂_k = log(S0/n) − (d/2) log 2π − ½ log det Σ̂ − ½ m̂ᵀΣ̂⁻¹m̂ and
// ESS_k = S0²/Σ K_j², or ESS_k = 0 where the scale is invalid (Σ̂ not positive definite,
// ESS_k < d + 2, or a non-finite result). log_n: [c]. Returns ESS_k·log q̂_k and ESS_k, [c] each.
std::pair<at::Tensor, at::Tensor> scale_estimate(const KernelSums& sums, const at::Tensor& log_n,
                                                 double ridge) {
  const int64_t d = sums.first.size(1);
  const at::Tensor mean = sums.first / sums.s0.unsqueeze(1);  // m̂, [c, d]
  at::Tensor covariance =
      sums.second / sums.s0.view({-1, 1, 1}) - mean.unsqueeze(2) * mean.unsqueeze(1);
  covariance = (covariance + covariance.transpose(1, 2)) / 2;
  const at::Tensor trace = covariance.diagonal(0, 1, 2).sum(1);
  covariance = covariance + (ridge / static_cast<double>(d) * trace).view({-1, 1, 1}) *
                                at::eye(d, mean.options());
  const auto [cholesky, info] = at::linalg_cholesky_ex(covariance);
  // m̂ᵀ Σ̂⁻¹ m̂ = ‖L⁻¹ m̂‖², log det Σ̂ = 2 Σ log L_ii.
  const at::Tensor whitened =
      at::linalg_solve_triangular(cholesky, mean.unsqueeze(2), /*upper=*/false);
  const at::Tensor log_det = 2 * cholesky.diagonal(0, 1, 2).log().sum(1);
  const at::Tensor log_q = sums.s0.log() - log_n -
                           0.5 * static_cast<double>(d) * std::log(2 * M_PI) - 0.5 * log_det -
                           0.5 * whitened.pow(2).sum({1, 2});
  const at::Tensor ess = sums.s0.pow(2) / sums.s2;
  const at::Tensor valid = info.eq(0) & ess.ge(static_cast<double>(d + 2)) & log_q.isfinite();
  const at::Tensor zero = at::zeros_like(ess);
  return {at::where(valid, ess * log_q, zero), at::where(valid, ess, zero)};
}

}  // namespace

void LocalLikelihoodOptions::validate() const {
  JF_CHECK(!scales.empty(), "LocalLikelihoodOptions.scales must list at least one k");
  for (int64_t k : scales)
    JF_CHECK(k >= 1, "LocalLikelihoodOptions.scales must be positive, got ", k);
  JF_CHECK(neighbours_per_scale >= 1,
           "LocalLikelihoodOptions.neighbours_per_scale must be ≥ 1, got ", neighbours_per_scale);
  JF_CHECK(ridge >= 0.0, "LocalLikelihoodOptions.ridge must be ≥ 0, got ", ridge);
  JF_CHECK(query_chunk >= 1, "LocalLikelihoodOptions.query_chunk must be ≥ 1, got ", query_chunk);
}

// MATH §5.7: per scale k, h_k = r_k/√d and the moments of the 10k nearest; the valid scales are
// combined as Σ_k ESS_k·log q̂_k / Σ_k ESS_k with variance 1/Σ_k ESS_k.
LocalLikelihood local_likelihood(const at::Tensor& pool, const at::Tensor& queries,
                                 const at::Tensor& members, const LocalLikelihoodOptions& options) {
  options.validate();
  JF_CHECK(pool.dim() == 2 && queries.dim() == 2 && queries.size(1) == pool.size(1),
           "local_likelihood: pool [n, d] and queries [q, d] expected, got ", pool.sizes(), " and ",
           queries.sizes());
  JF_CHECK(!members.defined() || (members.dim() == 1 && members.size(0) == queries.size(0)),
           "local_likelihood: members must be [", queries.size(0), "], got ", members.sizes());
  const at::Tensor points = pool.to(at::kDouble).contiguous();
  const at::Tensor targets = queries.to(at::kDouble).contiguous();
  const int64_t n = points.size(0), q = targets.size(0), d = points.size(1);
  const int64_t available = members.defined() ? n - 1 : n;
  std::vector<int64_t> scales;
  for (int64_t k : options.scales)
    if (k <= available) scales.push_back(k);
  JF_CHECK(!scales.empty(), "local_likelihood: a pool of ", n,
           " samples is too small for the smallest scale k = ",
           *std::min_element(options.scales.begin(), options.scales.end()));
  const int64_t largest = *std::max_element(scales.begin(), scales.end());
  const int64_t neighbours = std::min(options.neighbours_per_scale * largest, available);
  const at::Tensor member_rows = members.defined() ? members.to(at::kLong) : at::Tensor();
  // log of the number of samples each query may draw on: n − 1 for pool members.
  const at::Tensor log_n = member_rows.defined()
                               ? (static_cast<double>(n) - member_rows.ge(0).to(at::kDouble)).log()
                               : at::full({q}, std::log(static_cast<double>(n)), points.options());

  LocalLikelihood result{at::empty({q}, points.options()), at::empty({q}, points.options())};
  NeighbourSearch search(points);
  for (int64_t start = 0; start < q; start += options.query_chunk) {
    const int64_t count = std::min(options.query_chunk, q - start);
    const at::Tensor chunk = targets.narrow(0, start, count);
    const Neighbours near =
        search.find(chunk, neighbours,
                    member_rows.defined() ? member_rows.narrow(0, start, count) : at::Tensor());
    at::Tensor weighted_log_q = at::zeros({count}, points.options());
    at::Tensor information = at::zeros({count}, points.options());
    for (int64_t k : scales) {
      const int64_t m = std::min(options.neighbours_per_scale * k, neighbours);
      const at::Tensor h2 =
          (near.distances.select(1, k - 1).pow(2) / static_cast<double>(d)).contiguous();
      const auto [numerator, ess] = scale_estimate(kernel_sums(points, chunk, near.indices, m, h2),
                                                   log_n.narrow(0, start, count), options.ridge);
      weighted_log_q += numerator;
      information += ess;
    }
    result.log_q.narrow(0, start, count).copy_(weighted_log_q / information);
    result.variance.narrow(0, start, count).copy_(information.reciprocal());
  }
  return result;
}

}  // namespace jointflow
