// Exact k-nearest-neighbour search by brute force in row chunks (never an n × n matrix): the
// shared kernel of the kNN, KDE and local-likelihood estimators (MATH §5.6, §5.7).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace jointflow {

// Squared distances from chunks of query rows to a fixed point set, written into one buffer that
// is reused from chunk to chunk: a fresh multi-megabyte tensor per chunk costs page faults that
// can dominate the run time.
class DistanceBlock {
 public:
  // points: [n, d] float64 CPU. Rows per chunk keep the buffer near 16 MiB (at least 1 row).
  explicit DistanceBlock(const at::Tensor& points);
  int64_t rows() const { return buffer_.size(0); }
  // ‖a_i − b_j‖² for a: [r, d] with r ≤ rows() → a [r, n] view of the buffer, valid until the
  // next call. Computed as ‖a‖² + ‖b‖² − 2a·b about the points' mean, accurate to about
  // 1e-16·max‖·‖², clamped at 0.
  at::Tensor squared(const at::Tensor& a);

 private:
  at::Tensor origin_;      // [1, d] mean of the points
  at::Tensor transposed_;  // [d, n] centred points, transposed
  at::Tensor norms_;       // [1, n] their squared norms
  at::Tensor buffer_;      // [rows, n]
};

struct Neighbours {
  at::Tensor distances;  // [q, k] float64, Euclidean, ascending along each row
  at::Tensor indices;    // [q, k] int64, rows of the pool
};

// The k nearest pool points of queries, chunk after chunk with the same buffers.
class NeighbourSearch {
 public:
  // pool: [n, d] float64 CPU.
  explicit NeighbourSearch(const at::Tensor& pool);
  // queries: [q, d]. `exclude` (int64 [q], may be undefined): a pool row that query i must not
  // use, typically the query itself for leave-one-out; −1 for none. Needs k ≤ n (k ≤ n − 1 when
  // rows are excluded). Distances are recomputed from the coordinate differences, so they are
  // exact to rounding.
  Neighbours find(const at::Tensor& queries, int64_t k, const at::Tensor& exclude = {});

 private:
  at::Tensor pool_;
  DistanceBlock block_;
  at::Tensor top_values_, top_indices_;  // [rows, k] topk outputs
};

// NeighbourSearch(pool).find(queries, k, exclude), for a single batch of queries.
Neighbours nearest_neighbours(const at::Tensor& pool, const at::Tensor& queries, int64_t k,
                              const at::Tensor& exclude = {});

}  // namespace jointflow
