// A small MLP velocity field: a learned base flow v_θ (MATH §1) or the residual r_φ of
// MATH §5.2 (paper A: 2+1 → 128 → 128 → 2 with SiLU).
#pragma once

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/choice.h"
#include "models/velocity_field.h"

namespace jointflow {

enum class Activation { silu, relu, tanh };
// How t enters the network: as one extra input feature, or as that feature followed by the
// Fourier features sin(2^k π t), cos(2^k π t) for k < frequencies.
enum class TimeEmbedding { input, sinusoidal };

const ChoiceTable<Activation>& activation_choices();
const ChoiceTable<TimeEmbedding>& time_embedding_choices();

struct MlpVelocityOptions {
  /* implicit */ MlpVelocityOptions(int64_t dim) : dim_(dim) {}

  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "model") const;
  // Width of the network's input: dim + the time features.
  int64_t input_features() const;

  TORCH_ARG(int64_t, dim);  // d: samples are [n, d]
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{128, 128};
  TORCH_ARG(Activation, activation) = Activation::silu;
  TORCH_ARG(TimeEmbedding, time_embedding) = TimeEmbedding::input;
  TORCH_ARG(int64_t, frequencies) = 8;  // Fourier frequencies of TimeEmbedding::sinusoidal
  // Initial parameters come from a CPU generator seeded with this value (never the global one):
  // LibTorch's Linear initialization U(−1/√fan_in, 1/√fan_in) for weights and biases.
  TORCH_ARG(uint64_t, seed) = 0;
  // Start the output layer at zero, so that the network starts as v ≡ 0: a residual r_φ then
  // starts at u = v, where every importance weight is exactly 1 (MATH §5.2).
  TORCH_ARG(bool, zero_output) = false;
  // Multiply the output by (1 − t). A residual r = u − v = ((1 − t)/t)(s_q − s_p) vanishes
  // linearly at t = 1 (MATH §1, §5.2); building that in keeps the rate r·[…]/(1 − t) of
  // MATH §5.3 integrable when the network's r is not exactly zero there.
  TORCH_ARG(bool, vanish_at_one) = false;
};

// Linear layers with the activation between them; float32 parameters on the CPU when built,
// moved with `->to(dtype)` / `->to(device)` like any LibTorch module.
class MlpVelocityImpl : public torch::nn::Cloneable<MlpVelocityImpl>, public VelocityField {
 public:
  explicit MlpVelocityImpl(MlpVelocityOptions options);

  // (Re)creates the layers and draws their initial values from options.seed().
  void reset() override;

  // x: [n, d] in the parameters' dtype and device; t: [] or [n] (any dtype, converted).
  // Returns v(x, t): [n, d], differentiable in x and in the parameters.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) const;
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override {
    return forward(x, t);
  }
  std::vector<int64_t> sample_shape() const override { return {options.dim()}; }

  MlpVelocityOptions options;

 private:
  // The network's input [n, input_features]: x, t and (sinusoidal) the Fourier features.
  at::Tensor features(const at::Tensor& x, const at::Tensor& t) const;

  std::vector<torch::nn::Linear> layers_;
};

TORCH_MODULE(MlpVelocity);

}  // namespace jointflow
