// A small UNet velocity field for images (MATH §1): GroupNorm, SiLU, a sinusoidal time
// embedding and self-attention written with plain matmul and softmax, so that every operation
// has a double backward (∇_x of a Hutchinson divergence, MATH §5.5 and §7).
#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/velocity_field.h"

namespace jointflow {

struct UNetVelocityOptions {
  /* implicit */ UNetVelocityOptions(std::vector<int64_t> sample_shape)
      : sample_shape_(std::move(sample_shape)) {}

  // Throws an Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "flow") const;

  TORCH_ARG(std::vector<int64_t>, sample_shape);  // {channels, height, width} of one image
  TORCH_ARG(int64_t, channels) = 32;              // width of the first level
  // Width of level l = channels · multipliers[l]; every level but the last halves the
  // resolution (stride-2 convolution, sides rounded up).
  TORCH_ARG(std::vector<int64_t>, channel_multipliers) = std::vector<int64_t>{1, 2, 2};
  // Levels (0 = full resolution) with self-attention after each residual block; the middle
  // block always has one.
  TORCH_ARG(std::vector<int64_t>, attention_levels) = std::vector<int64_t>{2};
  TORCH_ARG(int64_t, res_blocks) = 1;  // residual blocks per level and direction
  TORCH_ARG(int64_t, groups) = 8;      // GroupNorm groups; must divide `channels`
  TORCH_ARG(int64_t, heads) = 1;       // attention heads; must divide every level's width
  // The embedding's angles are time_scale·t·ω_i with ω_i = 10000^(−i/half), i < half.
  TORCH_ARG(double, time_scale) = 1000.0;
  // Initial parameters come from a CPU generator seeded with this value: U(±1/√fan_in) for
  // convolutions and linear maps (LibTorch's default bound), GroupNorm scale 1 and shift 0.
  TORCH_ARG(uint64_t, seed) = 0;
};

// float32 parameters on the CPU when built; move with `->to(device, dtype)`.
class UNetVelocityImpl : public torch::nn::Module, public VelocityField {
 public:
  explicit UNetVelocityImpl(UNetVelocityOptions options);
  ~UNetVelocityImpl() override;

  // x: [n, C, H, W] in the parameters' dtype and device; t: [] or [n] (any dtype, converted).
  // Returns v(x, t): [n, C, H, W], differentiable (twice) in x and in the parameters.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t) const;
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override {
    return forward(x, t);
  }
  std::vector<int64_t> sample_shape() const override { return options.sample_shape(); }

  UNetVelocityOptions options;

 private:
  struct Layers;  // the registered submodules, in the order forward() uses them
  std::shared_ptr<Layers> layers_;
};

TORCH_MODULE(UNetVelocity);

}  // namespace jointflow
