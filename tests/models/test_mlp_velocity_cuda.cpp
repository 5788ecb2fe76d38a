// The MLP velocity on a GPU (ctest label gpu): moved to the device, it gives the CPU's velocity
// to float32 rounding. Skipped where LibTorch sees no GPU.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <gtest/gtest.h>

#include "models/mlp_velocity.h"

namespace jointflow {
namespace {

TEST(MlpVelocityCuda, MatchesTheCpuVelocity) {
  if (!at::hasCUDA()) GTEST_SKIP() << "needs LibTorch with CUDA and a visible GPU";
  MlpVelocity model(MlpVelocityOptions(2).hidden({8}));
  const at::Tensor x = at::linspace(-2.0, 2.0, 6, at::kFloat).reshape({3, 2}).sin() * 1.5;
  const at::Tensor t = at::scalar_tensor(0.2);
  const at::Tensor host = model->velocity(x, t);
  model->to(at::Device(at::kCUDA, 0));
  const at::Tensor device = model->velocity(x.cuda(), t);
  EXPECT_TRUE(device.is_cuda());
  EXPECT_TRUE(at::allclose(device.cpu(), host, 1e-5, 1e-6));
}

}  // namespace
}  // namespace jointflow
