// Data-parallel training (DESIGN §3, §5): parameters broadcast from rank 0, gradients of every
// step all-reduced once in one coalesced buffer, identical optimizer steps on all ranks, an EMA of
// the parameters and bit-exact checkpoints (DESIGN §6). Every later trainer (residual flow,
// rectified flow, Flux Matching) supplies only its loss closure.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/choice.h"
#include "core/progress.h"
#include "distributed/communicator.h"
#include "training/autocast_scope.h"

namespace torch::nn {
class Module;
}  // namespace torch::nn
namespace torch::optim {
class Optimizer;
}  // namespace torch::optim

namespace jointflow {

enum class OptimizerKind { adamw, adam };
const ChoiceTable<OptimizerKind>& optimizer_choices();

// After the warm-up: the peak rate to the end, or a half cosine from the peak to 0 at the
// last step.
enum class LrSchedule { constant, cosine };
const ChoiceTable<LrSchedule>& lr_schedule_choices();

struct TrainerOptions {
  // Throws an Error naming `<section>.<option>` (e.g. "train.lr") for an unusable value.
  void validate(const std::string& section = "train") const;

  // LibTorch's AdamW (decoupled weight decay) or Adam (weight decay as an L2 term).
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::adamw;
  TORCH_ARG(double, lr) = 1e-3;  // the peak learning rate
  TORCH_ARG(double, weight_decay) = 1e-4;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  // Steps of linear warm-up (learning_rate); 0 = none.
  TORCH_ARG(int64_t, warmup_steps) = 0;
  TORCH_ARG(LrSchedule, schedule) = LrSchedule::constant;
  // The global gradient norm is clipped to this; 0 = off.
  TORCH_ARG(double, clip_norm) = 0.0;
  // d of the EMA: after t steps the shadow is the bias-corrected average
  // Σᵢ dᵗ⁻ⁱ θᵢ · (1 − d)/(1 − dᵗ) of the iterates θ₁…θₜ (the initial weights get no weight); 0 =
  // off.
  TORCH_ARG(double, ema_decay) = 0.0;
  // Precision of the loss closure's forward pass (autocast_scope.h); bf16 needs float32
  // parameters. The backward pass, the all-reduce and the optimizer stay in float32.
  TORCH_ARG(AutocastMode, autocast) = AutocastMode::off;
  // Total optimizer steps of run().
  TORCH_ARG(int64_t, steps) = 1000;
  // Checkpoint path of run(); "" = none. Written every checkpoint_every steps (0: at the end
  // only) and after the last step.
  TORCH_ARG(std::string, checkpoint);
  TORCH_ARG(int64_t, checkpoint_every) = 0;
  // Steps between log lines of run(); 0 = none.
  TORCH_ARG(int64_t, log_every) = 100;
  TORCH_ARG(ProgressMode, progress) = ProgressMode::automatic;
  // Names the progress bar and prefixes log lines and errors.
  TORCH_ARG(std::string, label) = "training";
};

// Learning rate of step s (0-based) of `steps`: lr · (s + 1) / warmup_steps during the warm-up,
// so the first step already moves; then lr (constant), or
// lr · ½(1 + cos(π · (s + 1 − W) / (steps − W))) (cosine, W = warmup_steps), 0 after the
// last step.
double learning_rate(const TrainerOptions& options, int64_t step);

// A rank's loss for one step. `loss` is a 0-dim tensor on any device, differentiable in the
// model's parameters. `weight` is this rank's share of the global mean: its number of examples
// when the global loss is the mean over a global batch split unevenly over ranks, 1 when every
// rank's loss counts the same (gradients then are divided by the world size). A rank with weight
// 0 (an empty local batch) contributes nothing and `loss` is not evaluated.
struct LocalLoss {
  at::Tensor loss;
  double weight = 1.0;
};

// Called with the global step s; the loss's randomness must be keyed by s (counter_rng.h).
using LossClosure = std::function<LocalLoss(int64_t step)>;

// What one step did, identical on every rank.
struct StepStats {
  int64_t step = 0;        // the step just taken (0-based)
  double loss = 0.0;       // Σ_r w_r L_r / Σ_r w_r
  double grad_norm = 0.0;  // global gradient norm before clipping
  double learning_rate = 0.0;
};

// Called by Trainer::run after every step; the text it returns is appended to the periodic log
// line (commands record per-step losses and add what they know about the step).
using StepNote = std::function<std::string(const StepStats&)>;

class Trainer {
 public:
  // Collective. Borrows `model` (all its parameters on one device in one floating dtype; those
  // with requires_grad take part) and `comm`. Validates `options`, copies rank 0's parameters and
  // buffers into every rank's model (one broadcast for all parameters), builds the optimizer and
  // allocates the EMA shadow. `config_hash` identifies the configuration that
  // checkpoints must match on resume.
  Trainer(torch::nn::Module& model, Communicator& comm, TrainerOptions options,
          std::string config_hash);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Collective. One optimizer step at step(): clears the gradients, evaluates `loss` and
  // backpropagates, flattens every parameter's gradient (zeros where a parameter took no part)
  // together with w·loss and w into one buffer, all-reduces it once, divides by Σ w, clips,
  // applies the optimizer at learning_rate(step()) and updates the EMA. A non-finite mean
  // loss throws a collective Error naming the step.
  StepStats step(const LossClosure& loss);
  // Collective. Steps until options.steps(), with a progress bar (loss, ETA) on rank 0, a log
  // line every options.log_every() steps, a checkpoint every options.checkpoint_every() steps
  // and one at the end when options.checkpoint() is set. Returns the last step's statistics
  // (when no step was left to take, the loss of the checkpoint's last step). When `stop_requested`
  // returns true on any rank (checked collectively after every step), the checkpoint is written and
  // Interrupted raised.
  StepStats run(const LossClosure& loss, const std::function<bool()>& stop_requested = {},
                const StepNote& note = {});

  // Collective. Rank 0 writes model parameters and buffers, optimizer state, EMA shadow, step and
  // config hash to `path` under a temporary name and renames it; a failure is an Error on every
  // rank.
  void save(const std::string& path);
  // Collective. Every rank reads `path` (written by save() for the same model) and continues
  // from its step bit for bit. A missing, truncated or corrupt file, another config hash or
  // another model gives an Error on every rank naming the file; nothing is changed then.
  void resume(const std::string& path);

  // The number of steps taken (the next step's index).
  int64_t step() const { return step_; }
  // The mean loss of every step taken, steps 0 … step() − 1, kept in checkpoints so that a
  // resumed run has the whole history (NaN for steps of a checkpoint written without it).
  const std::vector<double>& loss_history() const { return loss_history_; }
  const TrainerOptions& options() const { return options_; }
  torch::nn::Module& model() { return model_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  // The EMA shadow, one tensor per trained parameter in model().parameters() order; empty when
  // options.ema_decay() is 0.
  const std::vector<at::Tensor>& ema_parameters() const { return ema_; }
  // Copies the EMA shadow into the same-named parameters of `target` (a model built like
  // model(), or model() itself to sample with the averaged weights). Throws an Error when the EMA
  // is off or the parameters do not match.
  void copy_ema_to(torch::nn::Module& target) const;

 private:
  std::unique_ptr<torch::optim::Optimizer> make_optimizer() const;
  void broadcast_from_root();
  void update_ema();

  torch::nn::Module& model_;
  Communicator& comm_;
  TrainerOptions options_;
  std::string config_hash_;
  std::vector<std::string> names_;   // trained parameters' names, in model().parameters() order
  std::vector<at::Tensor> trained_;  // the parameters with requires_grad
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<at::Tensor> ema_;
  int64_t step_ = 0;
  std::vector<double> loss_history_;
};

// Loads the parameters (or, with `use_ema`, the EMA shadow) and buffers of a checkpoint written
// by Trainer::save into `model` (built like the trained one), for sampling with a trained
// network. Not collective. A missing, corrupt or mismatched file is an Error naming it.
void load_trained_model(const std::string& path, torch::nn::Module& model, bool use_ema = false);

}  // namespace jointflow
