// Counter-based random numbers keyed by (seed, stream, global id, step): Philox4x32-10 with
// Box–Muller. A value never depends on how ids are spread over ranks (DESIGN §3, Invariant R).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>

namespace jointflow {

// Independent streams of one run; never renumber (files and checkpoints depend on them).
enum class RandomStream : uint32_t {
  initial_noise = 1,     // x_0 of sampler members
  marginal_regroup = 2,  // no longer drawn (MATH §6 marginal coverage is exact); number kept
  exact_samples = 3,     // exact mixture draws (tests, references)
  training_noise = 4,    // fresh x_0 paired with training data
  training_time = 5,     // t ~ U[0,1] per training example
  data_shuffle = 6,      // epoch permutations of data sets
  hutchinson = 7,        // Rademacher probes of divergence estimates
  langevin = 8,          // noise of Langevin / Euler–Maruyama samplers
  flux = 9,              // Flux Matching: σ, horizon, chains, probes
  dropout = 10,
};

struct RandomKey {
  uint64_t seed = 0;
  RandomStream stream = RandomStream::initial_noise;
};

// One Philox4x32-10 block (Salmon et al. 2011, as in Random123): four 32-bit words for
// (key, counter).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 2> key, std::array<uint32_t, 4> counter);

// Layout. Philox key = (seed low 32 bits, seed high 32 bits); counter = (block b, step,
// id low 32 bits, id high 24 bits | stream << 24). Row `id` of a draw uses blocks b = 0, 1, ...
// in column order, so element (id, j) depends only on (seed, stream, id, step, j) — not on
// `first`, `count` or `width`. Limits (an Error otherwise): 0 <= id < 2^56, step < 2^32,
// fewer than 2^31 blocks per row.

// Standard normals, float64 on the CPU, shape [count, width]: row i belongs to global id
// first + i, and element (i, j) depends only on (key, first + i, step, j). Block b gives columns
// 2b and 2b+1 by Box–Muller from two 53-bit uniforms (one per pair of words).
at::Tensor counter_normal(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                          uint64_t step = 0);
// Uniforms on the open interval (0, 1), float64 on the CPU, shape [count, width]: the midpoints
// (k + 1/2)·2⁻⁵² of 2⁵² equal cells, k from 52 bits of a pair of words (two per block).
at::Tensor counter_uniform(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                           uint64_t step = 0);
// ±1 with equal probability, float64 on the CPU, shape [count, width]: one bit each, 128 per
// block.
at::Tensor counter_rademacher(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                              uint64_t step = 0);
// A permutation of 0..n-1 (int64, CPU, shape [n]) determined by (key, step) alone: indices
// sorted by a 64-bit key per index (counter block 2^31, out of reach of the draws above), ties
// by index.
at::Tensor counter_permutation(const RandomKey& key, int64_t n, uint64_t step = 0);

}  // namespace jointflow
