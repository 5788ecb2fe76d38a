#include "training/trainer.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "core/log.h"

namespace jointflow {

using detail::concat;

const ChoiceTable<OptimizerKind>& optimizer_choices() {
  static const ChoiceTable<OptimizerKind> table{{"adamw", OptimizerKind::adamw},
                                                {"adam", OptimizerKind::adam}};
  return table;
}

const ChoiceTable<LrSchedule>& lr_schedule_choices() {
  static const ChoiceTable<LrSchedule> table{{"constant", LrSchedule::constant},
                                             {"cosine", LrSchedule::cosine}};
  return table;
}

void TrainerOptions::validate(const std::string& section) const {
  const auto key = [&](const char* name) { return section + "." + name; };
  JF_CHECK_COLLECTIVE(std::isfinite(lr()) && lr() > 0,
                      concat(key("lr"), " = ", lr(), " must be positive"));
  JF_CHECK_COLLECTIVE(std::isfinite(weight_decay()) && weight_decay() >= 0,
                      concat(key("weight_decay"), " = ", weight_decay(), " must be non-negative"));
  JF_CHECK_COLLECTIVE(beta1() >= 0 && beta1() < 1,
                      concat(key("beta1"), " = ", beta1(), " must lie in [0, 1)"));
  JF_CHECK_COLLECTIVE(beta2() >= 0 && beta2() < 1,
                      concat(key("beta2"), " = ", beta2(), " must lie in [0, 1)"));
  JF_CHECK_COLLECTIVE(std::isfinite(eps()) && eps() > 0,
                      concat(key("eps"), " = ", eps(), " must be positive"));
  JF_CHECK_COLLECTIVE(warmup_steps() >= 0,
                      concat(key("warmup_steps"), " = ", warmup_steps(), " must be non-negative"));
  JF_CHECK_COLLECTIVE(
      std::isfinite(clip_norm()) && clip_norm() >= 0,
      concat(key("clip_norm"), " = ", clip_norm(), " must be non-negative (0 = off)"));
  JF_CHECK_COLLECTIVE(
      ema_decay() >= 0 && ema_decay() < 1,
      concat(key("ema_decay"), " = ", ema_decay(), " must lie in [0, 1) (0 = off)"));
  JF_CHECK_COLLECTIVE(steps() >= 0, concat(key("steps"), " = ", steps(), " must be non-negative"));
  JF_CHECK_COLLECTIVE(steps() == 0 || warmup_steps() < steps(),
                      concat(key("warmup_steps"), " = ", warmup_steps(), " is not below the ",
                             steps(), " training steps: the learning rate would never reach ",
                             key("lr"), "; shorten the warm-up or train longer"));
  JF_CHECK_COLLECTIVE(checkpoint_every() >= 0, concat(key("checkpoint_every"), " = ",
                                                      checkpoint_every(), " must be non-negative"));
  JF_CHECK_COLLECTIVE(checkpoint_every() == 0 || !checkpoint().empty(),
                      concat(key("checkpoint_every"), " = ", checkpoint_every(), " needs ",
                             key("checkpoint"), " (a file path)"));
  JF_CHECK_COLLECTIVE(log_every() >= 0,
                      concat(key("log_every"), " = ", log_every(), " must be non-negative"));
}

double learning_rate(const TrainerOptions& options, int64_t step) {
  const auto warmup = options.warmup_steps();
  if (step < warmup)
    return options.lr() * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (options.schedule() == LrSchedule::constant || options.steps() <= warmup) return options.lr();
  const double progress =
      static_cast<double>(step + 1 - warmup) / static_cast<double>(options.steps() - warmup);
  return options.lr() * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

Trainer::Trainer(torch::nn::Module& model, Communicator& comm, TrainerOptions options,
                 std::string config_hash)
    : model_(model),
      comm_(comm),
      options_(std::move(options)),
      config_hash_(std::move(config_hash)) {
  options_.validate();
  for (const auto& item : model_.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    names_.push_back(item.key());
    trained_.push_back(item.value());
  }
  JF_CHECK(!trained_.empty(), options_.label(), ": the model has no parameter to train");
  for (size_t i = 0; i < trained_.size(); ++i) {
    const at::Tensor& p = trained_[i];
    JF_CHECK(at::isFloatingType(p.scalar_type()) && p.scalar_type() == trained_[0].scalar_type() &&
                 p.device() == trained_[0].device(),
             options_.label(), ": parameter '", names_[i], "' is ", p.scalar_type(), " on ",
             p.device(), " but '", names_[0], "' is ", trained_[0].scalar_type(), " on ",
             trained_[0].device(), "; move the whole model with ->to(dtype) and ->to(device)");
  }
  JF_CHECK(options_.autocast() == AutocastMode::off || trained_[0].scalar_type() == at::kFloat,
           options_.label(), ": bf16 autocast needs float32 parameters, not ",
           trained_[0].scalar_type(), " (run.dtype = float32, or train.autocast = off)");
  broadcast_from_root();
  optimizer_ = make_optimizer();
  at::NoGradGuard no_grad;
  if (options_.ema_decay() > 0)
    for (const at::Tensor& p : trained_) ema_.push_back(p.detach().clone());
  int64_t count = 0;
  for (const at::Tensor& p : trained_) count += p.numel();
  log::info(options_.label(), ": ", count, " parameters (", trained_[0].scalar_type(), ", ",
            trained_[0].device(), ") on ", comm_.size(), " rank(s), ",
            choice_name(options_.optimizer(), optimizer_choices()), " lr ", options_.lr(),
            ", warm-up ", options_.warmup_steps(), ", ",
            choice_name(options_.schedule(), lr_schedule_choices()), ", clip ",
            options_.clip_norm(), ", EMA ", options_.ema_decay());
}

Trainer::~Trainer() = default;

std::unique_ptr<torch::optim::Optimizer> Trainer::make_optimizer() const {
  const auto betas = std::make_tuple(options_.beta1(), options_.beta2());
  switch (options_.optimizer()) {
    case OptimizerKind::adamw:
      return std::make_unique<torch::optim::AdamW>(trained_,
                                                   torch::optim::AdamWOptions(options_.lr())
                                                       .betas(betas)
                                                       .eps(options_.eps())
                                                       .weight_decay(options_.weight_decay()));
    case OptimizerKind::adam:
      return std::make_unique<torch::optim::Adam>(trained_,
                                                  torch::optim::AdamOptions(options_.lr())
                                                      .betas(betas)
                                                      .eps(options_.eps())
                                                      .weight_decay(options_.weight_decay()));
  }
  throw Error("internal: optimizer kind missing from make_optimizer");
}

// Rank 0's trained parameters in one coalesced broadcast; the rare frozen parameters and
// buffers one by one.
void Trainer::broadcast_from_root() {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  for (const at::Tensor& p : trained_) flat.push_back(p.detach().reshape(-1));
  at::Tensor buffer = at::cat(flat);
  comm_.broadcast(buffer, 0);
  int64_t offset = 0;
  for (at::Tensor& p : trained_) {
    p.copy_(buffer.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
  for (at::Tensor p : model_.parameters())
    if (!p.requires_grad()) comm_.broadcast(p, 0);
  for (at::Tensor b : model_.buffers()) comm_.broadcast(b, 0);
}

StepStats Trainer::step(const LossClosure& closure) {
  const int64_t s = step_;
  for (at::Tensor& p : trained_) p.mutable_grad() = at::Tensor();
  const LocalLoss local = [&] {
    const AutocastScope autocast(trained_[0].device().type(), options_.autocast());
    return closure(s);
  }();
  JF_CHECK(std::isfinite(local.weight) && local.weight >= 0, options_.label(), ": step ", s,
           ": the loss weight ", local.weight, " must be finite and non-negative");

  // Layout [gradients (P) | w·loss | w]; parameters without a gradient contribute zeros, so every
  // rank all-reduces the same buffer.
  int64_t total = 0;
  for (const at::Tensor& p : trained_) total += p.numel();
  at::Tensor buffer = at::zeros({total + 2}, trained_[0].options());
  if (local.weight > 0) {
    JF_CHECK(local.loss.defined() && local.loss.numel() == 1, options_.label(), ": step ", s,
             ": the loss closure must return a one-element loss tensor");
    if (local.loss.requires_grad()) local.loss.backward();
    int64_t offset = 0;
    for (const at::Tensor& p : trained_) {
      if (p.grad().defined()) buffer.narrow(0, offset, p.numel()).copy_(p.grad().reshape(-1));
      offset += p.numel();
    }
    if (local.weight != 1.0) buffer.narrow(0, 0, total).mul_(local.weight);
    buffer.narrow(0, total, 1).copy_(local.loss.detach().reshape(1) * local.weight);
    buffer.narrow(0, total + 1, 1).fill_(local.weight);
  }
  comm_.allreduce_sum(buffer);

  const at::Tensor tail = buffer.narrow(0, total, 2).to(at::kCPU, at::kDouble);
  const double weight_sum = tail.data_ptr<double>()[1];
  if (!(weight_sum > 0))
    throw Error(concat(options_.label(), ": step ", s, ": no rank had a loss (all weights 0)"),
                /*collective=*/true);
  const double mean_loss = tail.data_ptr<double>()[0] / weight_sum;
  at::Tensor gradients = buffer.narrow(0, 0, total);
  gradients.div_(weight_sum);
  const double grad_norm = gradients.norm().item<double>();
  if (!std::isfinite(mean_loss) || !std::isfinite(grad_norm))
    throw Error(concat(options_.label(), ": step ", s, ": the loss is ", mean_loss,
                       " and the gradient norm ", grad_norm,
                       "; lower the learning rate or enable clipping"),
                /*collective=*/true);
  if (options_.clip_norm() > 0 && grad_norm > options_.clip_norm())
    gradients.mul_(options_.clip_norm() / grad_norm);
  int64_t offset = 0;
  for (at::Tensor& p : trained_) {
    p.mutable_grad() = gradients.narrow(0, offset, p.numel()).view(p.sizes());
    offset += p.numel();
  }

  const double lr = learning_rate(options_, s);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  optimizer_->step();
  update_ema();
  ++step_;
  loss_history_.push_back(mean_loss);
  return {s, mean_loss, grad_norm, lr};
}

// Keeps the shadow the bias-corrected average of θ₁…θₜ (t = step_ + 1): shadow ← d_t·shadow +
// (1 − d_t)·θ with d_t = d(1 − dᵗ⁻¹)/(1 − dᵗ); d₁ = 0 drops the initial weights.
void Trainer::update_ema() {
  at::NoGradGuard no_grad;
  const double d = options_.ema_decay();
  const double t = static_cast<double>(step_ + 1);
  const double decay = d * (1 - std::pow(d, t - 1)) / (1 - std::pow(d, t));
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].mul_(decay).add_(trained_[i], 1.0 - decay);
}

StepStats Trainer::run(const LossClosure& loss, const std::function<bool()>& stop_requested,
                       const StepNote& note) {
  const int64_t first = step_;
  // With no step left (a resumed, finished run), the last step's loss is the history's.
  StepStats last{step_ - 1, loss_history_.empty() ? std::nan("") : loss_history_.back(), 0.0, 0.0};
  ProgressBar progress(options_.label(), options_.steps() - first, options_.progress(),
                       comm_.is_root());
  while (step_ < options_.steps()) {
    const StepStats stats = step(loss);
    last = stats;
    const std::string text = note ? note(stats) : std::string();
    progress.update(step_ - first, concat("loss ", stats.loss));
    if (options_.log_every() > 0 && step_ % options_.log_every() == 0)
      log::info(options_.label(), ": step ", step_, "/", options_.steps(), " loss ", stats.loss,
                " grad norm ", stats.grad_norm, " lr ", stats.learning_rate, text);
    if (options_.checkpoint_every() > 0 && step_ % options_.checkpoint_every() == 0)
      save(options_.checkpoint());
    if (stop_requested && step_ < options_.steps()) {
      at::Tensor stop = at::full({1}, stop_requested() ? 1 : 0, at::kLong);
      comm_.allreduce_max(stop);
      if (stop.item<int64_t>() > 0) {
        progress.finish();
        if (!options_.checkpoint().empty()) save(options_.checkpoint());
        throw Interrupted(concat(options_.label(), " stopped on request at step ", step_,
                                 options_.checkpoint().empty()
                                     ? std::string("; no checkpoint path is set")
                                     : concat("; checkpoint '", options_.checkpoint(),
                                              "' written: rerun with --train.resume true")));
      }
    }
  }
  progress.finish();
  const bool saved_last =
      options_.checkpoint_every() > 0 && step_ % options_.checkpoint_every() == 0;
  if (!options_.checkpoint().empty() && step_ > first && !saved_last) save(options_.checkpoint());
  return last;
}

void Trainer::copy_ema_to(torch::nn::Module& target) const {
  JF_CHECK(!ema_.empty(), options_.label(),
           ": there are no EMA weights to copy (the EMA decay is 0, i.e. off)");
  auto parameters = target.named_parameters();
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < ema_.size(); ++i) {
    at::Tensor* p = parameters.find(names_[i]);
    JF_CHECK(p != nullptr && p->sizes() == ema_[i].sizes(), options_.label(),
             ": cannot copy the EMA weights: the target has no parameter '", names_[i],
             "' of shape ", ema_[i].sizes());
    p->copy_(ema_[i]);
  }
}

}  // namespace jointflow
