// The UNet velocity: shapes at odd sides, seeded initialization, per-image independence (GroupNorm
// and attention never mix images), option errors, and a double backward: ∇_x of a Hutchinson
// divergence (MATH §5.5) against central finite differences in float64.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "models/divergence.h"
#include "models/unet_velocity.h"

namespace jointflow {
namespace {

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

// A tiny float64 UNet: two levels on {1, 5, 7} images, attention at full resolution too.
UNetVelocity tiny_unet(uint64_t seed = 3) {
  UNetVelocity model(UNetVelocityOptions({1, 5, 7})
                         .channels(4)
                         .groups(2)
                         .channel_multipliers({1, 2})
                         .attention_levels({0, 1})
                         .seed(seed));
  model->to(at::kDouble);
  return model;
}

at::Tensor images(int64_t n, const std::vector<int64_t>& shape) {
  std::vector<int64_t> sizes{n};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  int64_t count = 1;
  for (const int64_t extent : sizes) count *= extent;
  return at::linspace(-3.0, 3.0, count, kDouble).reshape(sizes).sin();
}

TEST(UNetVelocity, ShapesTimesAndSeeds) {
  UNetVelocity model(UNetVelocityOptions({1, 28, 28}).channels(8).groups(4).seed(1));
  const at::Tensor x = at::randn({3, 1, 28, 28});
  const at::Tensor v = model->velocity(x, at::scalar_tensor(0.3));
  EXPECT_EQ(v.sizes(), x.sizes());
  EXPECT_EQ(model->sample_shape(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(model->dim(), 784);
  const at::Tensor per_row = model->velocity(x, at::full({3}, 0.3));
  EXPECT_TRUE(at::allclose(v, per_row, 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(v, model->velocity(x, at::scalar_tensor(0.7)), 1e-3, 1e-3));

  UNetVelocity same(UNetVelocityOptions({1, 28, 28}).channels(8).groups(4).seed(1));
  UNetVelocity other(UNetVelocityOptions({1, 28, 28}).channels(8).groups(4).seed(2));
  EXPECT_TRUE(at::equal(same->velocity(x, at::scalar_tensor(0.3)), v));
  EXPECT_FALSE(at::allclose(other->velocity(x, at::scalar_tensor(0.3)), v));

  UNetVelocity tiny = tiny_unet();
  const at::Tensor odd = images(2, {1, 5, 7});
  EXPECT_EQ(tiny->velocity(odd, at::scalar_tensor(0.5, kDouble)).sizes(), odd.sizes());
  EXPECT_THROW(tiny->velocity(images(2, {1, 5, 6}), at::scalar_tensor(0.5)), Error);
}

TEST(UNetVelocity, ImagesDoNotInfluenceEachOther) {
  UNetVelocity model = tiny_unet();
  const at::Tensor x = images(4, {1, 5, 7});
  const at::Tensor t = at::tensor({0.1, 0.4, 0.6, 0.9}, kDouble);
  const at::Tensor together = model->velocity(x, t);
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_TRUE(at::allclose(together[i], model->velocity(x.narrow(0, i, 1), t.narrow(0, i, 1))[0],
                             1e-12, 1e-12))
        << "image " << i;
}

TEST(UNetVelocity, OptionErrorsNameTheOption) {
  const auto message = [](const UNetVelocityOptions& options) -> std::string {
    try {
      options.validate();
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  };
  EXPECT_NE(message(UNetVelocityOptions({1, 8, 8}).channels(6).groups(4)).find("flow.channels"),
            std::string::npos);
  EXPECT_NE(
      message(UNetVelocityOptions({1, 8, 8}).attention_levels({3})).find("flow.attention_levels"),
      std::string::npos);
  EXPECT_NE(message(UNetVelocityOptions({8})).find("{channels, height, width}"), std::string::npos);
}

// f(x) = Σ_n ε_nᵀ (∂v/∂x)(x_n) ε_n with fixed Rademacher probes (a Hutchinson divergence), and
// its gradient in x through a second backward.
TEST(UNetVelocity, GradientOfHutchinsonDivergenceMatchesFiniteDifferences) {
  UNetVelocity model = tiny_unet();
  const at::Tensor t = at::tensor({0.3, 0.8}, kDouble);
  const DivergenceOptions options{/*exact_max_dim=*/0, /*probes=*/1};
  const ProbeKey probes{{5, RandomStream::hutchinson}, 0, 0};
  const auto f = [&](const at::Tensor& x, bool create_graph) {
    const at::Tensor input = x.detach().requires_grad_(true);
    const at::Tensor divergence_sum =
        divergence(model->velocity(input, t), input, options, probes, create_graph).sum();
    return std::make_pair(divergence_sum, input);
  };
  const at::Tensor x = images(2, {1, 5, 7});
  const auto [value, input] = f(x, /*create_graph=*/true);
  const at::Tensor gradient = torch::autograd::grad({value}, {input})[0];
  ASSERT_TRUE(at::isfinite(gradient).all().item<bool>());
  ASSERT_GT(gradient.abs().max().item<double>(), 1e-6);

  const double h = 1e-5;
  for (const int64_t j : {0, 9, 17, 34, 40, 69}) {
    at::Tensor step = at::zeros_like(x);
    step.view(-1)[j] = h;
    const double plus = f(x + step, false).first.item<double>();
    const double minus = f(x - step, false).first.item<double>();
    const double numeric = (plus - minus) / (2 * h);
    EXPECT_NEAR(gradient.view(-1)[j].item<double>(), numeric, 1e-6 * (1 + std::abs(numeric)))
        << "coordinate " << j;
  }
}

}  // namespace
}  // namespace jointflow
