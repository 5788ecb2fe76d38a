#include "models/mlp_velocity.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <utility>

#include "core/error.h"

namespace jointflow {

constexpr double kPi = 3.14159265358979323846;

namespace {

at::Tensor activate(Activation activation, const at::Tensor& h) {
  switch (activation) {
    case Activation::silu:
      return at::silu(h);
    case Activation::relu:
      return at::relu(h);
    case Activation::tanh:
      return at::tanh(h);
  }
  throw Error("internal: activation missing from activate");
}

}  // namespace

const ChoiceTable<Activation>& activation_choices() {
  static const ChoiceTable<Activation> table{
      {"silu", Activation::silu}, {"relu", Activation::relu}, {"tanh", Activation::tanh}};
  return table;
}

const ChoiceTable<TimeEmbedding>& time_embedding_choices() {
  static const ChoiceTable<TimeEmbedding> table{{"input", TimeEmbedding::input},
                                                {"sinusoidal", TimeEmbedding::sinusoidal}};
  return table;
}

void MlpVelocityOptions::validate(const std::string& section) const {
  JF_CHECK(dim() > 0, section, ".dim = ", dim(), " must be positive");
  for (const int64_t width : hidden())
    JF_CHECK(width > 0, section, ".hidden has a layer of width ", width,
             "; every hidden width must be positive");
  JF_CHECK(time_embedding() == TimeEmbedding::input || (frequencies() > 0 && frequencies() <= 30),
           section, ".frequencies = ", frequencies(), " must lie in 1..30 for ", section,
           ".time_embedding = sinusoidal");
}

int64_t MlpVelocityOptions::input_features() const {
  return dim() + 1 + (time_embedding() == TimeEmbedding::sinusoidal ? 2 * frequencies() : 0);
}

MlpVelocityImpl::MlpVelocityImpl(MlpVelocityOptions options_) : options(std::move(options_)) {
  reset();
}

void MlpVelocityImpl::reset() {
  options.validate();
  layers_.clear();
  std::vector<int64_t> widths = options.hidden();
  widths.push_back(options.dim());
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  at::NoGradGuard no_grad;
  int64_t fan_in = options.input_features();
  for (size_t i = 0; i < widths.size(); ++i) {
    torch::nn::Linear layer(fan_in, widths[i]);
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    layer->weight.uniform_(-bound, bound, generator);
    layer->bias.uniform_(-bound, bound, generator);
    if (options.zero_output() && i + 1 == widths.size()) {
      layer->weight.zero_();
      layer->bias.zero_();
    }
    layers_.push_back(register_module("linear" + std::to_string(i), layer));
    fan_in = widths[i];
  }
}

at::Tensor MlpVelocityImpl::features(const at::Tensor& x, const at::Tensor& t) const {
  JF_CHECK(x.dim() == 2 && x.size(1) == options.dim(), "MLP velocity expects x of shape [n, ",
           options.dim(), "], got ", x.sizes());
  JF_CHECK(t.dim() == 0 || (t.dim() == 1 && t.size(0) == x.size(0)),
           "MLP velocity: time must be a scalar or one value per row of x, got shape ", t.sizes());
  const at::Tensor time = t.to(x.options()).expand({x.size(0)}).unsqueeze(1);  // [n, 1]
  if (options.time_embedding() == TimeEmbedding::input) return at::cat({x, time}, 1);
  // Angular frequencies 2^k π, k = 0..F−1: [F].
  const at::Tensor frequencies = kPi * at::pow(2.0, at::arange(options.frequencies(), x.options()));
  const at::Tensor angles = time * frequencies;  // [n, F]
  return at::cat({x, time, at::sin(angles), at::cos(angles)}, 1);
}

at::Tensor MlpVelocityImpl::forward(const at::Tensor& x, const at::Tensor& t) const {
  at::Tensor h = features(x, t);
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = at::linear(h, layers_[i]->weight, layers_[i]->bias);
    if (i + 1 < layers_.size()) h = activate(options.activation(), h);
  }
  if (!options.vanish_at_one()) return h;
  return h * (1 - t.to(h.options()).expand({h.size(0)}).unsqueeze(1));
}

}  // namespace jointflow
