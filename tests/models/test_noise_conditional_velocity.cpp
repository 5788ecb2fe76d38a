// Noise-conditional fields (MATH §7.1, §8): the EDM parameterization against its formula, and the
// RF velocity of a field against the exact rectified flow of the same data (MATH §2): for a
// Gaussian mixture p_data, f(y, σ) = ∇ log (p_data * N(0, σ²)) gives v = the mixture flow's
// velocity, x̂_1 = E[x_1 | x_t] and s = f/t; the odd symmetry of a field network.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "data/gaussian_mixture.h"
#include "distributed/counter_rng.h"
#include "models/mixture_flow.h"
#include "models/mlp_velocity.h"
#include "models/noise_conditional_velocity.h"
#include "models/rectified_flow.h"

namespace jointflow {
namespace {

const at::TensorOptions kDouble = at::TensorOptions().dtype(at::kDouble);

// ∇ log p_σ of an isotropic-per-component mixture with diagonal stds: p_σ = Σ π_k N(μ_k, S_k + σ²).
class MixtureField final : public NoiseConditionalField {
 public:
  explicit MixtureField(GaussianMixture mixture) : mixture_(std::move(mixture)) {}
  at::Tensor field(const at::Tensor& y, const at::Tensor& sigma) const override {
    const at::Tensor s2 = sigma.to(y.options()).reshape({-1, 1, 1}).pow(2);  // [n or 1, 1, 1]
    const at::Tensor variance = mixture_.stds.pow(2).unsqueeze(0) + s2;      // [., C, d]
    const at::Tensor offset = y.unsqueeze(1) - mixture_.means.unsqueeze(0);  // [n, C, d]
    const at::Tensor log_density = at::log(mixture_.weights).unsqueeze(0) -
                                   0.5 * (offset.pow(2) / variance + at::log(variance)).sum(2);
    const at::Tensor responsibility = at::softmax(log_density, 1).unsqueeze(2);
    return -(responsibility * offset / variance).sum(1);
  }
  std::vector<int64_t> sample_shape() const override { return {mixture_.dim()}; }

 private:
  GaussianMixture mixture_;
};

TEST(NoiseConditionalVelocity, IsTheExactRectifiedFlowOfTheData) {
  const GaussianMixture mixture = named_mixture("gmm2d3");
  const MixtureField field(mixture);
  const MixtureFlow exact(mixture, at::kDouble, at::kCPU);
  const NoiseConditionalVelocity velocity(field, 1e4);
  const at::Tensor x = counter_normal({3, RandomStream::exact_samples}, 0, 64, 2);
  for (const double t : {0.05, 0.3, 0.7, 0.95}) {
    const at::Tensor time = at::full({}, t, kDouble);
    const at::Tensor v = velocity.velocity(x, time);
    EXPECT_TRUE(at::allclose(v, exact.velocity(x, time), 1e-10, 1e-10)) << "t = " << t;
    // MATH §8: the endpoint y + σ² f and the score f(y, σ)/t.
    const double sigma = (1 - t) / t;
    const at::Tensor y = x / t;
    const at::Tensor f = field.field(y, at::full({}, sigma, kDouble));
    EXPECT_TRUE(
        at::allclose(endpoint_from_velocity(x, v, time), y + sigma * sigma * f, 1e-10, 1e-10));
    EXPECT_TRUE(at::allclose(score_from_velocity(x, v, time), f / t, 1e-9, 1e-9));
    EXPECT_TRUE(at::allclose(score_from_velocity(x, v, time), exact.score(x, time), 1e-9, 1e-9));
  }
  // Per-row times give the same rows.
  const at::Tensor times = at::linspace(0.1, 0.9, 64, kDouble);
  EXPECT_TRUE(at::allclose(velocity.velocity(x, times), exact.velocity(x, times), 1e-10, 1e-10));
}

TEST(NoiseConditionalVelocity, TimesBelowTMinAreEvaluatedAtTMin) {
  const MixtureField field(named_mixture("gmm2d3"));
  const NoiseConditionalVelocity velocity(field, 80.0);
  EXPECT_DOUBLE_EQ(velocity.t_min(), 1.0 / 81.0);
  const at::Tensor x = counter_normal({4, RandomStream::exact_samples}, 0, 8, 2);
  const at::Tensor at_zero = velocity.velocity(x, at::zeros({}, kDouble));
  EXPECT_TRUE(at::isfinite(at_zero).all().item<bool>());
  EXPECT_TRUE(at::equal(at_zero, velocity.velocity(x, at::full({}, 1.0 / 81.0, kDouble))));
}

TEST(FieldNetwork, RawAndEdmParameterizations) {
  MlpVelocity mlp(MlpVelocityOptions(3).hidden({8}).seed(2));
  mlp->to(at::kDouble);
  const at::Tensor y = counter_normal({5, RandomStream::exact_samples}, 0, 6, 3);
  const at::Tensor sigma = at::tensor({0.01, 0.1, 0.5, 1.0, 3.0, 80.0}, kDouble);
  // raw: f = F(y, ln σ / 4).
  FieldNetwork raw(mlp, FieldNetworkOptions());
  EXPECT_TRUE(
      at::allclose(raw->field(y, sigma), mlp->velocity(y, at::log(sigma) / 4), 1e-14, 1e-14));
  EXPECT_EQ(raw->named_parameters().size(), mlp->named_parameters().size());
  // edm: f = (D − y)/σ², D = c_skip y + c_out F(c_in y, ln σ / 4) (MATH §7.1 "Images").
  FieldNetwork edm(
      mlp, FieldNetworkOptions().parameterization(FieldParameterization::edm).sigma_data(0.5));
  const at::Tensor s = sigma.unsqueeze(1);
  const at::Tensor c_skip = 0.25 / (s * s + 0.25);
  const at::Tensor c_out = s * 0.5 / at::sqrt(s * s + 0.25);
  const at::Tensor c_in = 1 / at::sqrt(s * s + 0.25);
  const at::Tensor denoised = c_skip * y + c_out * mlp->velocity(c_in * y, at::log(sigma) / 4);
  EXPECT_TRUE(at::allclose(edm->field(y, sigma), (denoised - y) / (s * s), 1e-9, 1e-12));
  // One σ for all rows is the same as that σ repeated.
  const at::Tensor one = at::full({}, 0.7, kDouble);
  EXPECT_TRUE(
      at::allclose(edm->field(y, one), edm->field(y, at::full({6}, 0.7, kDouble)), 1e-14, 1e-14));
}

TEST(FieldNetwork, OddSymmetryAveragesTheNetworkOverYAndMinusY) {
  MlpVelocity mlp(MlpVelocityOptions(2).hidden({8}).seed(4));
  mlp->to(at::kDouble);
  const at::Tensor y = counter_normal({6, RandomStream::exact_samples}, 0, 5, 2);
  const at::Tensor sigma = at::tensor({0.05, 0.2, 1.0, 4.0, 20.0}, kDouble);
  const at::Tensor c = at::log(sigma) / 4;
  for (const FieldParameterization parameterization :
       {FieldParameterization::raw, FieldParameterization::edm}) {
    const FieldNetworkOptions plain = FieldNetworkOptions().parameterization(parameterization);
    FieldNetwork none(mlp, plain);
    FieldNetwork odd(mlp, FieldNetworkOptions(plain).symmetry(FieldSymmetry::odd));
    const at::Tensor f = odd->field(y, sigma);
    EXPECT_TRUE(at::allclose(odd->field(-y, sigma), -f, 0, 1e-14));
    EXPECT_FALSE(at::allclose(none->field(-y, sigma), -none->field(y, sigma), 1e-3, 1e-3));
    // The odd part of the unconstrained field, and one σ for every row as that σ repeated.
    EXPECT_TRUE(
        at::allclose(f, (none->field(y, sigma) - none->field(-y, sigma)) / 2, 1e-12, 1e-14));
    EXPECT_TRUE(at::allclose(odd->field(y, at::full({}, 0.7, kDouble)),
                             odd->field(y, at::full({5}, 0.7, kDouble)), 1e-14, 1e-14));
  }
  EXPECT_TRUE(at::allclose(
      FieldNetwork(mlp, FieldNetworkOptions().symmetry(FieldSymmetry::odd))->field(y, sigma),
      (mlp->velocity(y, c) - mlp->velocity(-y, c)) / 2, 1e-14, 1e-14));
}

}  // namespace
}  // namespace jointflow
