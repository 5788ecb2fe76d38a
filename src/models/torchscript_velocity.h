// A velocity field brought from PyTorch (DESIGN §6): a TorchScript module (torch.jit.script or
// torch.jit.trace, then torch.jit.save) whose forward(x, t) returns v(x, t) (MATH §1).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/velocity_field.h"

namespace jointflow {

class TorchScriptVelocity final : public VelocityField {
 public:
  // Loads the module saved at `path` onto `device` with its floating-point parameters and
  // buffers converted to `dtype`. `sample_shape` is the shape of one sample (e.g. {8} or
  // {1, 28, 28}); empty: the module's attribute `sample_shape: List[int]`. A missing or
  // unreadable file, or no shape from either source, is an Error naming the file and what to do.
  TorchScriptVelocity(const std::string& path, std::vector<int64_t> sample_shape,
                      at::ScalarType dtype, at::Device device);
  ~TorchScriptVelocity() override;
  TorchScriptVelocity(const TorchScriptVelocity&) = delete;
  TorchScriptVelocity& operator=(const TorchScriptVelocity&) = delete;

  // Calls forward(x, t) with x: [n, *sample_shape] and t: [n] in x's dtype and device (a 0-dim
  // t is expanded); the result must be [n, *sample_shape]. Differentiable in x as far as the
  // module's operations are.
  at::Tensor velocity(const at::Tensor& x, const at::Tensor& t) const override;
  std::vector<int64_t> sample_shape() const override { return sample_shape_; }

 private:
  struct Module;  // the loaded torch::jit::Module (torch/script.h stays in the .cpp)
  std::unique_ptr<Module> module_;
  std::string path_;
  std::vector<int64_t> sample_shape_;
};

}  // namespace jointflow
