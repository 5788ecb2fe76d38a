// The randomness of Flux Matching and DSM training (MATH §7, §7.1): the noise-level distribution
// and where every draw sits in RandomStream::flux, keyed by step and global example index so
// that it does not depend on the rank count (DESIGN §3).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "core/choice.h"
#include "training/sharded_batches.h"

namespace jointflow {

// single: one fixed σ (paper B §3.3, the 2-D examples); edm: ln σ ~ N(mean, std²) (images);
// ve: ln σ ~ U[ln σ_min, ln σ_max] (non-image data).
enum class NoiseSchedule { single, edm, ve };
const ChoiceTable<NoiseSchedule>& noise_schedule_choices();

struct NoiseLevelOptions {
  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "flux") const;
  // Whether σ varies from step to step (the noise-annealed objective B-Eq. 11).
  bool annealed() const { return schedule() != NoiseSchedule::single; }

  TORCH_ARG(NoiseSchedule, schedule) = NoiseSchedule::single;
  TORCH_ARG(double, sigma) = std::sqrt(0.05);  // single: σ (σ² = 0.05 for the ring)
  TORCH_ARG(double, edm_mean) = -1.2;          // edm: mean of ln σ
  TORCH_ARG(double, edm_std) = 1.2;            // edm: standard deviation of ln σ
  TORCH_ARG(double, sigma_min) = 0.01;         // ve: range of σ (choice)
  TORCH_ARG(double, sigma_max) = 10.0;
};

// What one rank draws once per step for its whole local batch (MATH §7.1 point 2): its σ and the
// uniform that becomes its horizon τ.
struct BatchDraw {
  double sigma = 0.0;
  double horizon_uniform = 0.5;  // in (0, 1)
};

// Layout of RandomStream::flux. Per-example draws use counter id first + i (the example's index
// in the step's global batch, below 2^54) at the step; probes use id 2^54 + that index; the batch
// draws use ids 2^55 + position.first (uniforms) and 2^55 + 2^54 + position.first (the normal of
// the edm schedule), so that each rank's local batch gets its own σ and τ.
BatchDraw batch_draw(const NoiseLevelOptions& options, uint64_t seed, BatchPosition position);

// Standard normals [rows, width], float64 on the CPU: row i belongs to example position.first + i
// at position.step. Callers cut the columns into blocks of d (start noise, chain steps).
at::Tensor example_normals(uint64_t seed, BatchPosition position, int64_t rows, int64_t width);

// Rademacher probes [rows, width] (±1), float64 on the CPU, keyed like example_normals.
at::Tensor example_probes(uint64_t seed, BatchPosition position, int64_t rows, int64_t width);

}  // namespace jointflow
