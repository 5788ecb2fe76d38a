// The trainer's closure of train-flux: each rank's KDE batches with Flux Matching
// (field_training.h) or the DSM baseline (dsm_loss.h), weighted for the data-parallel mean.
#pragma once

#include <cstdint>

#include "training/field_training.h"
#include "training/flux_model.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {

// The trainer's closure for options.loss() (Flux Matching, or DSM as dsm_loss.h) on `batches`:
// each KDE batch of the local batch (options.kde_batch(); the whole local batch for 0) with its
// own σ, horizon and KDE, the rank weighted by its number of examples. The batches' unit must be
// options.kde_batch() when that is set. `last` (may be null) receives the first KDE batch's
// FieldBatchLoss of each step. Borrows everything.
LossClosure field_training_closure(const FluxModelImpl& model, ShardedBatches& batches,
                                   const FieldTrainingOptions& options, uint64_t seed,
                                   FieldBatchLoss* last = nullptr);

}  // namespace jointflow
