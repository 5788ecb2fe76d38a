// The MLP velocity: architecture, seeded initialization, time handling, dtypes and
// gradients in x (float64 against finite differences).
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/mlp_velocity.h"
#include "support/expect_error.h"

namespace jointflow {
namespace {

using testing_support::expect_error;

const auto kDouble = at::TensorOptions().dtype(at::kDouble);

at::Tensor probe_x(int64_t n, int64_t d) {
  return at::linspace(-2.0, 2.0, n * d, kDouble).reshape({n, d}).sin() * 1.5;
}

TEST(MlpVelocity, DefaultIsPaperArchitecture) {
  MlpVelocity model(2);
  const auto parameters = model->named_parameters();
  ASSERT_EQ(parameters.size(), 6u);
  EXPECT_EQ(parameters["linear0.weight"].sizes(), at::IntArrayRef({128, 3}));
  EXPECT_EQ(parameters["linear1.weight"].sizes(), at::IntArrayRef({128, 128}));
  EXPECT_EQ(parameters["linear2.weight"].sizes(), at::IntArrayRef({2, 128}));
  EXPECT_EQ(parameters["linear2.bias"].sizes(), at::IntArrayRef({2}));
  const VelocityField& field = *model;
  EXPECT_EQ(field.dim(), 2);
  EXPECT_EQ(field.sample_shape(), std::vector<int64_t>{2});
}

TEST(MlpVelocity, SeedDeterminesInitialParametersWithinLinearBounds) {
  MlpVelocity a(MlpVelocityOptions(2).hidden({16}).seed(5));
  MlpVelocity b(MlpVelocityOptions(2).hidden({16}).seed(5));
  MlpVelocity c(MlpVelocityOptions(2).hidden({16}).seed(6));
  const auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(at::equal(pa[i], pb[i])) << "parameter " << i;
    EXPECT_FALSE(at::equal(pa[i], pc[i])) << "parameter " << i;
  }
  // fan_in 3 for the first layer, 16 for the second.
  EXPECT_LE(a->named_parameters()["linear0.weight"].abs().max().item<double>(), 1 / std::sqrt(3.0));
  EXPECT_LE(a->named_parameters()["linear1.bias"].abs().max().item<double>(), 0.25);
}

TEST(MlpVelocity, ScalarTimeEqualsOneTimePerRow) {
  for (const TimeEmbedding embedding : {TimeEmbedding::input, TimeEmbedding::sinusoidal}) {
    MlpVelocity model(MlpVelocityOptions(3).hidden({8, 8}).time_embedding(embedding));
    model->to(at::kDouble);
    const at::Tensor x = probe_x(5, 3);
    const at::Tensor scalar = model->velocity(x, at::scalar_tensor(0.3, kDouble));
    const at::Tensor rows = model->velocity(x, at::full({5}, 0.3, kDouble));
    EXPECT_EQ(scalar.sizes(), at::IntArrayRef({5, 3}));
    EXPECT_TRUE(at::allclose(scalar, rows, 0, 1e-15));
    // Rows with different times differ from the shared-time result only where t differs.
    const at::Tensor mixed = model->velocity(x, at::tensor({0.3, 0.9, 0.3, 0.9, 0.3}, kDouble));
    EXPECT_TRUE(at::allclose(mixed[0], scalar[0], 0, 1e-15));
    EXPECT_FALSE(at::allclose(mixed[1], scalar[1], 0, 1e-6));
  }
}

TEST(MlpVelocity, SinusoidalEmbeddingWidensTheInput) {
  const auto options =
      MlpVelocityOptions(2).hidden({4}).time_embedding(TimeEmbedding::sinusoidal).frequencies(3);
  EXPECT_EQ(options.input_features(), 2 + 1 + 6);
  MlpVelocity model(options);
  EXPECT_EQ(model->named_parameters()["linear0.weight"].size(1), 9);
}

TEST(MlpVelocity, VanishAtOneScalesTheOutputByOneMinusT) {
  // The residual's form (MATH §5.2): the same network times (1 − t), hence exactly 0 at t = 1.
  MlpVelocity plain(MlpVelocityOptions(2).hidden({8}).seed(3));
  MlpVelocity vanishing(MlpVelocityOptions(2).hidden({8}).seed(3).vanish_at_one(true));
  plain->to(at::kDouble);
  vanishing->to(at::kDouble);
  const at::Tensor x = probe_x(4, 2);
  const at::Tensor t = at::tensor({0.0, 0.25, 0.9, 1.0}, kDouble);
  const at::Tensor expected = plain->velocity(x, t) * (1 - t).unsqueeze(1);
  EXPECT_TRUE(at::allclose(vanishing->velocity(x, t), expected, 0, 1e-15));
  EXPECT_EQ(vanishing->velocity(x, t)[3].abs().max().item<double>(), 0.0);
  EXPECT_GT(plain->velocity(x, t)[3].abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(at::allclose(vanishing->velocity(x, at::scalar_tensor(0.25, kDouble)),
                           plain->velocity(x, at::scalar_tensor(0.25, kDouble)) * 0.75, 0, 1e-15));
}

TEST(MlpVelocity, Float32AndFloat64Agree) {
  MlpVelocity single(MlpVelocityOptions(2).hidden({32, 32}).seed(1));
  MlpVelocity twin(MlpVelocityOptions(2).hidden({32, 32}).seed(1));
  twin->to(at::kDouble);
  const at::Tensor x = probe_x(7, 2);
  const at::Tensor t = at::linspace(0.0, 0.9, 7, kDouble);
  const at::Tensor v32 = single->velocity(x.to(at::kFloat), t);
  const at::Tensor v64 = twin->velocity(x, t);
  EXPECT_EQ(v32.scalar_type(), at::kFloat);
  EXPECT_EQ(v64.scalar_type(), at::kDouble);
  EXPECT_TRUE(at::allclose(v32.to(at::kDouble), v64, 1e-5, 1e-5));
}

TEST(MlpVelocity, GradientInXMatchesFiniteDifferences) {
  MlpVelocity model(MlpVelocityOptions(2).hidden({16, 16}).seed(2));
  model->to(at::kDouble);
  const at::Tensor x = probe_x(4, 2).requires_grad_(true);
  const at::Tensor t = at::scalar_tensor(0.4, kDouble);
  const at::Tensor weights = at::tensor({1.0, -0.5}, kDouble);
  const at::Tensor objective = (model->velocity(x, t) * weights).sum();
  const at::Tensor gradient = torch::autograd::grad({objective}, {x})[0];
  const double h = 1e-6;
  for (int64_t j = 0; j < 2; ++j) {
    at::Tensor step = at::zeros_like(x);
    step.select(1, j).fill_(h);
    const at::Tensor plus = (model->velocity(x.detach() + step, t) * weights).sum(1);
    const at::Tensor minus = (model->velocity(x.detach() - step, t) * weights).sum(1);
    EXPECT_TRUE(at::allclose((plus - minus) / (2 * h), gradient.select(1, j), 1e-7, 1e-8));
  }
}

TEST(MlpVelocity, CloneIsAnIndependentDeepCopy) {
  MlpVelocity model(MlpVelocityOptions(2).hidden({8}).seed(3));
  model->to(at::kDouble);
  auto copy = std::dynamic_pointer_cast<MlpVelocityImpl>(model->clone());
  ASSERT_NE(copy, nullptr);
  const at::Tensor x = probe_x(3, 2);
  const at::Tensor t = at::scalar_tensor(0.5, kDouble);
  EXPECT_TRUE(at::equal(copy->velocity(x, t), model->velocity(x, t)));
  {
    at::NoGradGuard no_grad;
    copy->parameters()[0].add_(1.0);
  }
  EXPECT_FALSE(at::equal(copy->velocity(x, t), model->velocity(x, t)));
}

TEST(MlpVelocity, RejectsBadOptionsAndShapes) {
  expect_error([] { MlpVelocity(0); }, "model.dim");
  expect_error([] { MlpVelocity(MlpVelocityOptions(2).hidden({4, 0})); }, "model.hidden");
  expect_error(
      [] {
        MlpVelocityOptions(2)
            .time_embedding(TimeEmbedding::sinusoidal)
            .frequencies(0)
            .validate("residual");
      },
      "residual.frequencies");
  MlpVelocity model(MlpVelocityOptions(2).hidden({4}));
  expect_error([&] { model->velocity(at::zeros({3, 5}), at::scalar_tensor(0.1)); }, "[n, 2]");
  expect_error([&] { model->velocity(at::zeros({3, 2}), at::zeros({4})); }, "one value per row");
  EXPECT_EQ(parse_choice("model.activation", "tanh", activation_choices()), Activation::tanh);
  EXPECT_EQ(parse_choice("model.time_embedding", "sinusoidal", time_embedding_choices()),
            TimeEmbedding::sinusoidal);
}

}  // namespace
}  // namespace jointflow
