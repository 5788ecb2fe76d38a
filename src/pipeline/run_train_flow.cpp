#include "pipeline/run_train_flow.h"

#include <filesystem>

#include "core/hash.h"
#include "core/list_text.h"
#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/training_setup.h"
#include "training/residual_loss.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

// training_config_hash extended by what only a flow depends on: [flow], [data] and the sample
// shape. train.steps, train.resume and outputs may change between a run and its resumption.
std::string flow_config_hash(const Config& config, const std::vector<int64_t>& sample_shape) {
  const DatasetOptions& data = config.data;
  const std::string text = detail::concat(
      training_config_hash(config), flow_architecture_text(config.model.flow),
      ";data.kind=", choice_name(data.kind, dataset_kind_choices()), ";data.path=", data.path,
      ";data.classes=", list_text(data.classes), ";data.size=", data.size,
      ";data.examples=", data.examples, ";data.mixture=", data.mixture,
      ";data.split=", choice_name(data.split, data_split_choices()),
      ";shape=", list_text(sample_shape));
  return config_hash(text);
}

}  // namespace

void run_train_flow(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  const std::string& checkpoint = config.model.path;
  run_agreed(comm, [&] {
    JF_CHECK(config.model.kind == ModelKind::mlp || config.model.kind == ModelKind::unet,
             "train-flow trains model.kind = mlp or unet, not ",
             choice_name(config.model.kind, model_kind_choices()));
    check_training_setup(config, context, "model.path", checkpoint);
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto seed = static_cast<uint64_t>(config.run.seed);
  Dataset data;
  run_agreed(comm, [&] { data = load_dataset(training_dataset(config), comm, dtype); });
  FlowNetwork network;
  run_agreed(comm, [&] {
    check_model_sample_shape(config.model, data.sample_shape);
    network = make_flow_network(config.model, data.sample_shape, seed, dtype, context.device);
  });

  const TrainOptions& train = config.train;
  const int64_t steps = training_steps(train, data.total);
  Trainer trainer(*network.module, comm, trainer_options(config, steps, checkpoint, "train-flow"),
                  flow_config_hash(config, data.sample_shape));
  if (train.resume && std::filesystem::exists(checkpoint)) trainer.resume(checkpoint);
  const bool trained_before = trainer.step() >= steps;

  ShardedBatchesOptions batch_options(data.total, train.batch_size);
  batch_options.seed(seed);
  ShardedBatches batches(data.x.to(context.device), data.first, batch_options, comm);
  log::info("train-flow: ", choice_name(config.model.kind, model_kind_choices()), " on ",
            data.total, " examples of shape [", list_text(data.sample_shape), "], ", steps,
            " steps of ", train.batch_size, ", resuming at step ", trainer.step());
  const StepStats last = trainer.run(residual_flow_closure(*network.field, nullptr, batches, seed),
                                     context.stop_requested);

  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    // A resumed run with nothing left to train keeps the results of the run that trained.
    if (trained_before && std::filesystem::exists(config.run.output)) {
      log::info("train-flow: the checkpoint was already at step ", trainer.step(), "; ",
                config.run.output, " kept");
      return;
    }
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    file.set_attribute("checkpoint", checkpoint);
    file.set_attribute("sample_shape", list_text(data.sample_shape));
    file.write_scalar("/metrics/final_loss", last.loss);
    file.write_scalar("/metrics/steps", static_cast<double>(trainer.step()));
    file.write_scalar("/metrics/examples", static_cast<double>(data.total));
    file.commit();
  });
  if (!trained_before)
    log::info("train-flow: ", trainer.step(), " steps, final loss ", last.loss, ", ",
              clock.seconds(), " s -> ", checkpoint);
}

}  // namespace jointflow
