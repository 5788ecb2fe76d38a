#include "models/unet_velocity.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"

namespace jointflow {
namespace {

using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using torch::nn::GroupNorm;
using torch::nn::GroupNormOptions;
using torch::nn::Linear;

// x + conv(SiLU(norm(conv(SiLU(norm(x))) + W·SiLU(e)))): a residual block with the time
// embedding e added between its two 3×3 convolutions; a 1×1 convolution matches the widths.
class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(int64_t in, int64_t out, int64_t embedding, int64_t groups)
      : norm1_(register_module("norm1", GroupNorm(GroupNormOptions(groups, in)))),
        conv1_(register_module("conv1", Conv2d(Conv2dOptions(in, out, 3).padding(1)))),
        time_(register_module("time", Linear(embedding, out))),
        norm2_(register_module("norm2", GroupNorm(GroupNormOptions(groups, out)))),
        conv2_(register_module("conv2", Conv2d(Conv2dOptions(out, out, 3).padding(1)))) {
    if (in != out) skip_ = register_module("skip", Conv2d(Conv2dOptions(in, out, 1)));
  }

  // x: [n, in, H, W]; embedding: [n, E] → [n, out, H, W].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& embedding) {
    at::Tensor h = conv1_->forward(at::silu(norm1_->forward(x)));
    h = h + time_->forward(at::silu(embedding)).unsqueeze(-1).unsqueeze(-1);
    h = conv2_->forward(at::silu(norm2_->forward(h)));
    return (skip_ ? skip_->forward(x) : x) + h;
  }

 private:
  GroupNorm norm1_;
  Conv2d conv1_;
  Linear time_;
  GroupNorm norm2_;
  Conv2d conv2_;
  Conv2d skip_{nullptr};
};
TORCH_MODULE(ResBlock);

// x + P·Attention(norm(x)) over the H·W positions, softmax(qᵀk/√c_h) per head, written with
// matmul and softmax (both twice differentiable).
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t channels, int64_t heads, int64_t groups)
      : heads_(heads),
        norm_(register_module("norm", GroupNorm(GroupNormOptions(groups, channels)))),
        qkv_(register_module("qkv", Conv2d(Conv2dOptions(channels, 3 * channels, 1)))),
        out_(register_module("out", Conv2d(Conv2dOptions(channels, channels, 1)))) {}

  // x: [n, c, H, W] → [n, c, H, W].
  at::Tensor forward(const at::Tensor& x) {
    const int64_t n = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3);
    const int64_t head_width = c / heads_;
    // q, k, v: [n, heads, c_h, H·W] each.
    const std::vector<at::Tensor> qkv = qkv_->forward(norm_->forward(x))
                                            .reshape({n, 3, heads_, head_width, height * width})
                                            .unbind(1);
    const at::Tensor scores =
        at::matmul(qkv[0].transpose(-1, -2), qkv[1]) / std::sqrt(static_cast<double>(head_width));
    const at::Tensor weights = at::softmax(scores, -1);  // [n, heads, H·W (query), H·W (key)]
    const at::Tensor attended = at::matmul(qkv[2], weights.transpose(-1, -2));
    return x + out_->forward(attended.reshape({n, c, height, width}));
  }

 private:
  int64_t heads_;
  GroupNorm norm_;
  Conv2d qkv_;
  Conv2d out_;
};
TORCH_MODULE(Attention);

// Residual blocks of one level and direction, each optionally followed by attention.
struct Level {
  std::vector<ResBlock> blocks;
  std::vector<Attention> attention;  // empty holders where the level has none
  Conv2d resample{nullptr};  // down: stride-2 conv after the blocks; up: conv after upsampling

  at::Tensor run(at::Tensor h, const at::Tensor& embedding) {
    for (size_t i = 0; i < blocks.size(); ++i) {
      h = blocks[i]->forward(h, embedding);
      if (!attention[i].is_empty()) h = attention[i]->forward(h);
    }
    return h;
  }
};

}  // namespace

struct UNetVelocityImpl::Layers {
  Conv2d input{nullptr};
  Linear time_in{nullptr}, time_out{nullptr};
  std::vector<Level> down, up;  // indexed by level
  ResBlock middle_first{nullptr}, middle_second{nullptr};
  Attention middle_attention{nullptr};
  GroupNorm output_norm{nullptr};
  Conv2d output{nullptr};
};

void UNetVelocityOptions::validate(const std::string& section) const {
  const auto key = [&](const char* name) { return section + "." + name; };
  JF_CHECK(sample_shape().size() == 3 && std::all_of(sample_shape().begin(), sample_shape().end(),
                                                     [](int64_t extent) { return extent > 0; }),
           "a UNet needs images of shape {channels, height, width}, got ", sample_shape().size(),
           " extents");
  JF_CHECK(channels() > 0 && groups() > 0 && channels() % groups() == 0, key("channels"), " = ",
           channels(), " must be a positive multiple of ", key("groups"), " = ", groups());
  JF_CHECK(!channel_multipliers().empty(), key("channel_multipliers"), " is empty");
  for (const int64_t multiplier : channel_multipliers())
    JF_CHECK(multiplier > 0, key("channel_multipliers"), " holds ", multiplier,
             "; every multiplier must be positive");
  const auto levels = static_cast<int64_t>(channel_multipliers().size());
  JF_CHECK(heads() > 0, key("heads"), " = ", heads(), " must be positive");
  for (const int64_t level : attention_levels()) {
    JF_CHECK(level >= 0 && level < levels, key("attention_levels"), " holds ", level,
             "; levels are 0..", levels - 1);
    JF_CHECK(channels() * channel_multipliers()[level] % heads() == 0, key("heads"), " = ", heads(),
             " must divide the width ", channels() * channel_multipliers()[level], " of level ",
             level);
  }
  JF_CHECK(channels() * channel_multipliers().back() % heads() == 0, key("heads"), " = ", heads(),
           " must divide the middle block's width ", channels() * channel_multipliers().back());
  JF_CHECK(res_blocks() > 0, key("res_blocks"), " = ", res_blocks(), " must be positive");
  JF_CHECK(std::isfinite(time_scale()) && time_scale() > 0, key("time_scale"), " = ", time_scale(),
           " must be positive");
}

UNetVelocityImpl::UNetVelocityImpl(UNetVelocityOptions options_)
    : options(std::move(options_)), layers_(std::make_shared<Layers>()) {
  options.validate();
  Layers& layers = *layers_;
  const int64_t base = options.channels(), groups = options.groups(), heads = options.heads();
  const int64_t embedding = 4 * base;
  const std::vector<int64_t>& multipliers = options.channel_multipliers();
  const auto levels = static_cast<int64_t>(multipliers.size());
  const auto attends = [&](int64_t level) {
    const std::vector<int64_t>& chosen = options.attention_levels();
    return std::find(chosen.begin(), chosen.end(), level) != chosen.end();
  };
  const auto name = [](const char* part, int64_t level, size_t index) {
    return detail::concat(part, level, "_", index);
  };

  layers.input = register_module(
      "input", Conv2d(Conv2dOptions(options.sample_shape()[0], base, 3).padding(1)));
  layers.time_in =
      register_module("time_in", Linear(2 * std::max<int64_t>(1, base / 2), embedding));
  layers.time_out = register_module("time_out", Linear(embedding, embedding));

  int64_t width = base;
  layers.down.resize(levels);
  for (int64_t level = 0; level < levels; ++level) {
    Level& stage = layers.down[level];
    const int64_t level_width = base * multipliers[level];
    for (int64_t i = 0; i < options.res_blocks(); ++i) {
      stage.blocks.push_back(register_module(name("down", level, stage.blocks.size()),
                                             ResBlock(width, level_width, embedding, groups)));
      width = level_width;
      stage.attention.push_back(attends(level) ? register_module(name("down_attention", level, i),
                                                                 Attention(width, heads, groups))
                                               : Attention(nullptr));
    }
    if (level + 1 < levels)
      stage.resample = register_module(detail::concat("downsample", level),
                                       Conv2d(Conv2dOptions(width, width, 3).stride(2).padding(1)));
  }
  layers.middle_first = register_module("middle_first", ResBlock(width, width, embedding, groups));
  layers.middle_attention = register_module("middle_attention", Attention(width, heads, groups));
  layers.middle_second =
      register_module("middle_second", ResBlock(width, width, embedding, groups));

  layers.up.resize(levels);
  for (int64_t level = levels - 1; level >= 0; --level) {
    Level& stage = layers.up[level];
    if (level + 1 < levels)
      stage.resample = register_module(detail::concat("upsample", level),
                                       Conv2d(Conv2dOptions(width, width, 3).padding(1)));
    const int64_t level_width = base * multipliers[level];
    width += level_width;  // the skip connection of this level is concatenated
    for (int64_t i = 0; i < options.res_blocks(); ++i) {
      stage.blocks.push_back(register_module(name("up", level, stage.blocks.size()),
                                             ResBlock(width, level_width, embedding, groups)));
      width = level_width;
      stage.attention.push_back(attends(level) ? register_module(name("up_attention", level, i),
                                                                 Attention(width, heads, groups))
                                               : Attention(nullptr));
    }
  }
  layers.output_norm = register_module("output_norm", GroupNorm(GroupNormOptions(groups, width)));
  layers.output = register_module(
      "output", Conv2d(Conv2dOptions(width, options.sample_shape()[0], 3).padding(1)));

  // Deterministic initial values: every convolution and linear map in registration order.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed());
  at::NoGradGuard no_grad;
  for (const std::shared_ptr<torch::nn::Module>& module : modules(/*include_self=*/false)) {
    at::Tensor weight, bias;
    if (const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(module.get())) {
      weight = conv->weight;
      bias = conv->bias;
    } else if (const auto* linear = dynamic_cast<const torch::nn::LinearImpl*>(module.get())) {
      weight = linear->weight;
      bias = linear->bias;
    } else {
      continue;
    }
    const double bound = 1.0 / std::sqrt(static_cast<double>(weight.numel() / weight.size(0)));
    weight.uniform_(-bound, bound, generator);
    bias.uniform_(-bound, bound, generator);
  }
}

UNetVelocityImpl::~UNetVelocityImpl() = default;

at::Tensor UNetVelocityImpl::forward(const at::Tensor& x, const at::Tensor& t) const {
  const std::vector<int64_t>& shape = options.sample_shape();
  JF_CHECK(x.dim() == 4 && x.size(1) == shape[0] && x.size(2) == shape[1] && x.size(3) == shape[2],
           "UNet velocity expects x of shape [n, ", shape[0], ", ", shape[1], ", ", shape[2],
           "], got ", x.sizes());
  JF_CHECK(t.dim() == 0 || (t.dim() == 1 && t.size(0) == x.size(0)),
           "UNet velocity: time must be a scalar or one value per image, got shape ", t.sizes());
  Layers& layers = *layers_;
  const int64_t n = x.size(0);

  // Sinusoidal embedding [n, 2·half] of time_scale·t, then a two-layer MLP → [n, 4·channels].
  const int64_t half = layers.time_in->options.in_features() / 2;
  const at::Tensor omega = at::exp(at::arange(half, x.options()) * (-std::log(10000.0) / half));
  const at::Tensor angles =
      (t.to(x.options()).expand({n}) * options.time_scale()).unsqueeze(1) * omega;  // [n, half]
  const at::Tensor embedding = layers.time_out->forward(
      at::silu(layers.time_in->forward(at::cat({at::sin(angles), at::cos(angles)}, 1))));

  at::Tensor h = layers.input->forward(x);
  std::vector<at::Tensor> skips;
  for (Level& stage : layers.down) {
    h = stage.run(h, embedding);
    skips.push_back(h);
    if (!stage.resample.is_empty()) h = stage.resample->forward(h);
  }
  h = layers.middle_first->forward(h, embedding);
  h = layers.middle_attention->forward(h);
  h = layers.middle_second->forward(h, embedding);
  for (auto level = static_cast<int64_t>(layers.up.size()) - 1; level >= 0; --level) {
    Level& stage = layers.up[level];
    const at::Tensor& skip = skips[level];
    if (!stage.resample.is_empty())
      h = stage.resample->forward(
          at::upsample_nearest2d(h, std::vector<int64_t>{skip.size(2), skip.size(3)}));
    h = stage.run(at::cat({h, skip}, 1), embedding);
  }
  return layers.output->forward(at::silu(layers.output_norm->forward(h)));
}

}  // namespace jointflow
