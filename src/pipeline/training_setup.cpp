#include "pipeline/training_setup.h"


#include "core/error.h"
#include "core/hash.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"

namespace jointflow {

MlpVelocity make_residual(const Config& config, int64_t dim, at::ScalarType dtype,
                          at::Device device) {
  MlpVelocityOptions options(dim);
  options.hidden(parse_integer_list("residual.hidden", config.residual.hidden));
  options.seed(static_cast<uint64_t>(config.run.seed)).zero_output(true).vanish_at_one(true);
  MlpVelocity residual(options);
  residual->to(device, dtype);
  return residual;
}

TrainerOptions trainer_options(const Config& config, int64_t steps, const std::string& checkpoint,
                               const std::string& label) {
  const TrainOptions& train = config.train;
  TrainerOptions options;
  options.optimizer(train.optimizer)
      .lr(train.lr)
      .weight_decay(train.weight_decay)
      .warmup_steps(train.warmup_steps)
      .schedule(train.schedule)
      .clip_norm(train.clip_norm)
      .ema_decay(train.ema_decay)
      .autocast(train.autocast)
      .steps(steps)
      .checkpoint(checkpoint)
      .checkpoint_every(train.checkpoint_every)
      .progress(config.run.progress)
      .label(label);
  options.validate("train");
  return options;
}

std::string training_config_hash(const Config& config) {
  const TrainOptions& train = config.train;
  const std::string text = detail::concat(
      "model.kind=", choice_name(config.model.kind, model_kind_choices()),
      ";model.mixture=", config.model.mixture, ";residual.data=", config.residual.data,
      ";residual.hidden=", config.residual.hidden,
      ";train.optimizer=", choice_name(train.optimizer, optimizer_choices()), ";train.lr=", train.lr,
      ";train.weight_decay=", train.weight_decay, ";train.batch_size=", train.batch_size,
      ";train.warmup_steps=", train.warmup_steps, ";train.clip_norm=", train.clip_norm,
      ";train.ema_decay=", train.ema_decay, ";run.seed=", config.run.seed,
      ";run.dtype=", choice_name(config.run.dtype, precision_choices()));
  return config_hash(text);
}

void check_training_setup(const Config& config, const StageContext& context,
                          const std::string& key, const std::string& checkpoint) {
  JF_CHECK(!checkpoint.empty(), context.command, " needs ", key, ": the checkpoint to write");
  JF_CHECK(config.train.autocast == AutocastMode::off || config.run.dtype == Precision::float32,
           "train.autocast = bf16 needs run.dtype = float32 (bf16 autocast casts float32 "
           "operations), not ", choice_name(config.run.dtype, precision_choices()));
  if (!context.comm.is_root()) return;
  check_output_path(config.run.output, "run.output");
  check_output_path(checkpoint, key);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text;
  for (const int64_t extent : shape) text += (text.empty() ? "" : ",") + std::to_string(extent);
  return text;
}

void check_model_sample_shape(const ModelOptions& model, const std::vector<int64_t>& data_shape) {
  const std::vector<int64_t> given = model_sample_shape(model);
  JF_CHECK(given.empty() || given == data_shape, "model.sample_shape = ", model.sample_shape,
           " but the data set's samples have shape ", shape_text(data_shape),
           "; fix it or leave it empty");
}

}  // namespace jointflow
