#include "training/flux_noise.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "distributed/counter_rng.h"

namespace jointflow {

namespace {

constexpr int64_t kProbeIds = int64_t{1} << 54;
constexpr int64_t kBatchUniformIds = int64_t{1} << 55;
constexpr int64_t kBatchNormalIds = kBatchUniformIds + kProbeIds;

RandomKey flux_key(uint64_t seed) { return {seed, RandomStream::flux}; }

void check_examples(BatchPosition position, int64_t rows) {
  JF_CHECK(position.first >= 0 && position.first + rows <= kProbeIds, "Flux Matching: examples [",
           position.first, ", ", position.first + rows,
           ") exceed the 2^54 ids of RandomStream::flux");
}

}  // namespace

const ChoiceTable<NoiseSchedule>& noise_schedule_choices() {
  static const ChoiceTable<NoiseSchedule> table{
      {"single", NoiseSchedule::single}, {"edm", NoiseSchedule::edm}, {"ve", NoiseSchedule::ve}};
  return table;
}

void NoiseLevelOptions::validate(const std::string& section) const {
  JF_CHECK(std::isfinite(sigma()) && sigma() > 0, section, ".sigma = ", sigma(),
           " must be positive");
  JF_CHECK(std::isfinite(edm_mean()) && std::isfinite(edm_std()) && edm_std() >= 0, section,
           ".edm_std = ", edm_std(), " must be non-negative (and ", section, ".edm_mean finite)");
  JF_CHECK(std::isfinite(sigma_max()) && sigma_min() > 0 && sigma_min() < sigma_max(), section,
           ".sigma_min = ", sigma_min(), " and ", section, ".sigma_max = ", sigma_max(),
           " must satisfy 0 < sigma_min < sigma_max");
}

BatchDraw batch_draw(const NoiseLevelOptions& options, uint64_t seed, BatchPosition position) {
  const auto step = static_cast<uint64_t>(position.step);
  const at::Tensor uniforms =
      counter_uniform(flux_key(seed), kBatchUniformIds + position.first, 1, 2, step);
  const double u_sigma = uniforms[0][0].item<double>();
  BatchDraw draw;
  draw.horizon_uniform = uniforms[0][1].item<double>();
  switch (options.schedule()) {
    case NoiseSchedule::single:
      draw.sigma = options.sigma();
      break;
    case NoiseSchedule::edm: {
      const double normal =
          counter_normal(flux_key(seed), kBatchNormalIds + position.first, 1, 1, step)
              .item<double>();
      draw.sigma = std::exp(options.edm_mean() + options.edm_std() * normal);
      break;
    }
    case NoiseSchedule::ve: {
      const double low = std::log(options.sigma_min()), high = std::log(options.sigma_max());
      draw.sigma = std::exp(low + (high - low) * u_sigma);
      break;
    }
  }
  return draw;
}

at::Tensor example_normals(uint64_t seed, BatchPosition position, int64_t rows, int64_t width) {
  check_examples(position, rows);
  return counter_normal(flux_key(seed), position.first, rows, width,
                        static_cast<uint64_t>(position.step));
}

at::Tensor example_probes(uint64_t seed, BatchPosition position, int64_t rows, int64_t width) {
  check_examples(position, rows);
  return counter_rademacher(flux_key(seed), kProbeIds + position.first, rows, width,
                            static_cast<uint64_t>(position.step));
}

}  // namespace jointflow
