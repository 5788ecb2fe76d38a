// The `train-flow` stage: a rectified flow v_θ (MATH §1) — an MLP for vectors or a UNet for
// images — trained on the data set of [data], data-parallel over the ranks (DESIGN §3).
#pragma once

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective. Each rank loads its block of the data set, the network of model.kind (mlp | unet,
// architecture [flow]) is trained with the RF loss L = E‖x_1 − x_0 − v(x_t, t)‖² (fresh noise and
// times keyed by step and example, so any rank count gives the same run), EMA per train.ema_decay,
// and the checkpoint model.path is written (every train.checkpoint_every steps and at the end);
// run.output records the final loss. Resumes bit for bit when train.resume is set and model.path
// exists. sample and estimate then load model.path with the same config.
void run_train_flow(const Config& config, StageContext& context);

}  // namespace jointflow
