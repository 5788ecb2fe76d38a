#include "training/field_training_closure.h"

#include "core/error.h"
#include "training/dsm_loss.h"

namespace jointflow {

LossClosure field_training_closure(const FluxModelImpl& model, ShardedBatches& batches,
                                   const FieldTrainingOptions& options, uint64_t seed,
                                   FieldBatchLoss* last) {
  options.validate();
  JF_CHECK(options.kde_batch() == 0 || batches.options().unit() == options.kde_batch(),
           "Flux Matching: KDE batches of ", options.kde_batch(),
           " examples need rank blocks of whole KDE batches (ShardedBatchesOptions::unit ",
           batches.options().unit(), ")");
  return [&model, &batches, options, seed, last](int64_t step) {
    const LocalBatch batch = batches.batch(step);
    if (batch.size() == 0) return LocalLoss{at::Tensor(), 0.0};
    const int64_t size = options.kde_batch() > 0 ? options.kde_batch() : batch.size();
    at::Tensor objective;
    for (int64_t first = 0; first < batch.size(); first += size) {
      const at::Tensor x = batch.x.narrow(0, first, size);
      const BatchPosition position{batch.position.step, batch.position.first + first};
      const FieldBatchLoss result = options.loss() == FieldLoss::flux
                                        ? flux_matching_objective(model, x, options, seed, position)
                                        : dsm_objective(model, x, options, seed, position);
      objective = objective.defined() ? objective + result.objective : result.objective;
      if (first == 0 && last != nullptr) *last = result;
    }
    return LocalLoss{objective * (static_cast<double>(size) / static_cast<double>(batch.size())),
                     static_cast<double>(batch.size())};
  };
}

}  // namespace jointflow
