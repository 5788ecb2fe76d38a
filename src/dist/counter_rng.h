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
  marginal_regroup = 2,  // shuffle for the marginal coverage metric
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

// One Philox4x32-10 block: four 32-bit words for (key, counter).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 2> key, std::array<uint32_t, 4> counter);

// Standard normals, float64 on the CPU, shape [count, width]: row i belongs to global id
// first + i, and element (i, j) depends only on (key, first + i, step, j).
at::Tensor counter_normal(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                          uint64_t step = 0);
// Uniforms on the open interval (0, 1), float64 on the CPU, shape [count, width].
at::Tensor counter_uniform(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                           uint64_t step = 0);
// ±1 with equal probability, float64 on the CPU, shape [count, width].
at::Tensor counter_rademacher(const RandomKey& key, int64_t first, int64_t count, int64_t width,
                              uint64_t step = 0);
// A permutation of 0..n-1 (int64, CPU) determined by (key, step) alone.
at::Tensor counter_permutation(const RandomKey& key, int64_t n, uint64_t step = 0);

}  // namespace jointflow
