#include "estimate/neighbours.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace jointflow {

DistanceBlock::DistanceBlock(const at::Tensor& points) {
  JF_CHECK(points.dim() == 2, "DistanceBlock: points must be [n, d], got ", points.sizes());
  constexpr int64_t kBlockElements = int64_t{1} << 21;  // 16 MiB of float64
  const int64_t n = points.size(0);
  origin_ = points.mean(0, /*keepdim=*/true);
  const at::Tensor centred = points - origin_;
  transposed_ = centred.t().contiguous();
  norms_ = centred.pow(2).sum(1).unsqueeze(0);
  const int64_t rows = std::max<int64_t>(1, kBlockElements / std::max<int64_t>(1, n));
  buffer_ = at::empty({rows, n}, points.options());
}

at::Tensor DistanceBlock::squared(const at::Tensor& a) {
  JF_CHECK(a.dim() == 2 && a.size(0) <= rows() && a.size(1) == transposed_.size(0),
           "DistanceBlock: rows must be [r ≤ ", rows(), ", ", transposed_.size(0), "], got ",
           a.sizes());
  const at::Tensor centred = a - origin_;
  at::Tensor out = buffer_.narrow(0, 0, a.size(0));
  at::addmm_out(out, norms_, centred, transposed_, /*beta=*/1, /*alpha=*/-2);
  return out.add_(centred.pow(2).sum(1, /*keepdim=*/true)).clamp_min_(0.0);
}

NeighbourSearch::NeighbourSearch(const at::Tensor& pool) : pool_(pool), block_(pool) {}

Neighbours NeighbourSearch::find(const at::Tensor& queries, int64_t k, const at::Tensor& exclude) {
  JF_CHECK(queries.dim() == 2 && queries.size(1) == pool_.size(1),
           "nearest neighbours: queries must be [q, ", pool_.size(1), "], got ", queries.sizes());
  const int64_t n = pool_.size(0), q = queries.size(0), d = pool_.size(1);
  const int64_t available = exclude.defined() ? n - 1 : n;
  JF_CHECK(k >= 1 && k <= available, "nearest neighbours: k = ", k, " needs 1 ≤ k ≤ ", available,
           " (pool of ", n, exclude.defined() ? ", leave-one-out)" : ")");
  JF_CHECK(!exclude.defined() || (exclude.dim() == 1 && exclude.size(0) == q),
           "nearest neighbours: exclude must be [", q, "], got ", exclude.sizes());
  const at::Tensor skip = exclude.defined() ? exclude.to(at::kLong) : at::Tensor();
  JF_CHECK(!skip.defined() || q == 0 || skip.max().item<int64_t>() < n,
           "nearest neighbours: excluded rows must be < ", n);
  Neighbours result{at::empty({q, k}, pool_.options()),
                    at::empty({q, k}, at::TensorOptions().dtype(at::kLong))};
  if (!top_values_.defined() || top_values_.size(1) != k) {
    top_values_ = at::empty({block_.rows(), k}, pool_.options());
    top_indices_ = at::empty({block_.rows(), k}, result.indices.options());
  }
  for (int64_t start = 0; start < q; start += block_.rows()) {
    const int64_t count = std::min(block_.rows(), q - start);
    const at::Tensor chunk = queries.narrow(0, start, count);
    at::Tensor d2 = block_.squared(chunk);
    if (skip.defined()) {
      const at::Tensor own = skip.narrow(0, start, count);
      const at::Tensor excluded_rows = own.ge(0).nonzero().squeeze(1);
      d2.view(-1).index_fill_(0, excluded_rows * n + own.index_select(0, excluded_rows),
                              std::numeric_limits<double>::infinity());
    }
    at::Tensor values = top_values_.narrow(0, 0, count);
    at::Tensor candidates = top_indices_.narrow(0, 0, count);
    at::topk_out(values, candidates, d2, k, /*dim=*/1, /*largest=*/false, /*sorted=*/false);
    const at::Tensor offsets =
        pool_.index_select(0, candidates.reshape(-1)).view({count, k, d}) - chunk.unsqueeze(1);
    const auto sorted = at::sort(offsets.pow(2).sum(2).sqrt(), /*dim=*/1);
    result.distances.narrow(0, start, count).copy_(std::get<0>(sorted));
    result.indices.narrow(0, start, count).copy_(candidates.gather(1, std::get<1>(sorted)));
  }
  return result;
}

Neighbours nearest_neighbours(const at::Tensor& pool, const at::Tensor& queries, int64_t k,
                              const at::Tensor& exclude) {
  return NeighbourSearch(pool).find(queries, k, exclude);
}

}  // namespace jointflow
