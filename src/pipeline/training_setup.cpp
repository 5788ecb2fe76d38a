#include "pipeline/training_setup.h"

#include "core/error.h"
#include "core/hash.h"
#include "core/list_text.h"
#include "io/result_file.h"

namespace jointflow {

MlpVelocity make_residual(const Config& config, int64_t dim, at::ScalarType dtype,
                          at::Device device) {
  MlpVelocityOptions options(dim);
  options.hidden(config.residual.hidden);
  options.seed(static_cast<uint64_t>(config.run.seed)).zero_output(true).vanish_at_one(true);
  MlpVelocity residual(options);
  residual->to(device, dtype);
  return residual;
}

DatasetOptions training_dataset(const Config& config) {
  DatasetOptions options = config.data;
  options.seed = static_cast<uint64_t>(config.run.seed);
  return options;
}

int64_t training_steps(const TrainOptions& train, int64_t examples) {
  return train.steps > 0 ? train.steps
                         : (train.epochs * examples + train.batch_size - 1) / train.batch_size;
}

TrainerOptions trainer_options(const Config& config, int64_t steps, const std::string& checkpoint,
                               const std::string& label) {
  TrainerOptions options = config.train.trainer;
  options.steps(steps).checkpoint(checkpoint).progress(config.run.progress).label(label);
  options.validate("train");
  return options;
}

std::string training_config_hash(const Config& config) {
  const TrainOptions& train = config.train;
  const TrainerOptions& trainer = train.trainer;
  const std::string text = detail::concat(
      "model.kind=", choice_name(config.model.kind, model_kind_choices()),
      ";model.mixture=", config.model.mixture, ";residual.data=", config.residual.data,
      ";residual.hidden=", list_text(config.residual.hidden),
      ";train.optimizer=", choice_name(trainer.optimizer(), optimizer_choices()),
      ";train.lr=", trainer.lr(), ";train.weight_decay=", trainer.weight_decay(),
      ";train.batch_size=", train.batch_size, ";train.warmup_steps=", trainer.warmup_steps(),
      ";train.clip_norm=", trainer.clip_norm(), ";train.ema_decay=", trainer.ema_decay(),
      ";run.seed=", config.run.seed,
      ";run.dtype=", choice_name(config.run.dtype, precision_choices()));
  return config_hash(text);
}

std::string flow_architecture_text(const FlowOptions& flow) {
  const UNetVelocityOptions& unet = flow.unet;
  return detail::concat(";flow.hidden=", list_text(flow.mlp.hidden()),
                        ";flow.frequencies=", flow.frequencies, ";flow.channels=", unet.channels(),
                        ";flow.channel_multipliers=", list_text(unet.channel_multipliers()),
                        ";flow.attention_levels=", list_text(unet.attention_levels()),
                        ";flow.res_blocks=", unet.res_blocks(), ";flow.groups=", unet.groups(),
                        ";flow.heads=", unet.heads());
}

void check_training_setup(const Config& config, const StageContext& context, const std::string& key,
                          const std::string& checkpoint) {
  JF_CHECK(!checkpoint.empty(), context.command, " needs ", key, ": the checkpoint to write");
  JF_CHECK(config.train.trainer.autocast() == AutocastMode::off ||
               config.run.dtype == Precision::float32,
           "train.autocast = bf16 needs run.dtype = float32 (bf16 autocast casts float32 "
           "operations), not ",
           choice_name(config.run.dtype, precision_choices()));
  if (!context.comm.is_root()) return;
  check_output_path(config.run.output, "run.output");
  check_output_path(checkpoint, key);
}

void check_model_sample_shape(const ModelOptions& model, const std::vector<int64_t>& data_shape) {
  JF_CHECK(model.sample_shape.empty() || model.sample_shape == data_shape,
           "model.sample_shape = ", list_text(model.sample_shape),
           " but the data set's samples have shape ", list_text(data_shape),
           "; fix it or leave it empty");
}

}  // namespace jointflow
