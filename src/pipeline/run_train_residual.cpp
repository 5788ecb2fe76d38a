#include "pipeline/run_train_residual.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <filesystem>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "distributed/partition.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/training_setup.h"
#include "training/residual_loss.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

// This rank's block of the final states [N, d] written by `sample`.
at::Tensor read_training_states(const std::string& path, const Communicator& comm,
                                int64_t& first_row, int64_t& total_rows) {
  JF_CHECK(!path.empty(), "residual.data is empty: give the results file of `jointflow sample` ",
           "run with output.trajectories = true");
  const ResultReader reader(path);
  JF_CHECK(reader.exists("/trajectories/x1"), "residual.data = '", path,
           "' has no /trajectories/x1: run `jointflow sample` with output.trajectories = true");
  total_rows = reader.shape("/trajectories/x1").at(0);
  const IdRange block = block_of(total_rows, comm.size(), comm.rank());
  first_row = block.begin;
  return reader.read_rows("/trajectories/x1", block.begin, block.size());
}

}  // namespace

void run_train_residual(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  run_agreed(comm, [&] {
    check_training_setup(config, context, "residual.checkpoint", config.residual.checkpoint);
  });
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  int64_t first_row = 0, total_rows = 0;
  at::Tensor states;
  run_agreed(comm, [&] {
    states = read_training_states(config.residual.data, comm, first_row, total_rows);
  });
  const auto base = make_agreed_velocity_field(config.model, dtype, context.device, context.comm);
  MlpVelocity residual = make_residual(config, base->dim(), dtype, context.device);

  const TrainOptions& train = config.train;
  const int64_t steps = training_steps(train, total_rows);
  Trainer trainer(*residual, comm,
                  trainer_options(config, steps, config.residual.checkpoint, "train-residual"),
                  training_config_hash(config));
  if (train.resume && std::filesystem::exists(config.residual.checkpoint))
    trainer.resume(config.residual.checkpoint);

  ShardedBatchesOptions batch_options(total_rows, train.batch_size);
  batch_options.seed(static_cast<uint64_t>(config.run.seed));
  ShardedBatches batches(states.to(at::TensorOptions().dtype(dtype).device(context.device)),
                         first_row, batch_options, comm);
  log::info("train-residual: ", total_rows, " final states, ", steps, " steps of ",
            train.batch_size, " (", train.epochs, " epochs), resuming at step ", trainer.step());
  const StepStats last = trainer.run(
      residual_flow_closure(*residual, base.get(), batches, static_cast<uint64_t>(config.run.seed)),
      context.stop_requested);
  const double final_loss = last.loss;

  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    file.set_attribute("checkpoint", config.residual.checkpoint);
    file.write_scalar("/metrics/final_loss", final_loss);
    file.write_scalar("/metrics/steps", static_cast<double>(trainer.step()));
    file.commit();
  });
  log::info("train-residual: ", trainer.step(), " steps, final loss ", final_loss, ", ",
            clock.seconds(), " s -> ", config.residual.checkpoint);
}

}  // namespace jointflow
