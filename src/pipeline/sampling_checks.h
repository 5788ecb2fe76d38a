// Agreed checks on sampled blocks: every rank stops, or none does.
#pragma once

#include <ATen/core/Tensor.h>

#include "distributed/communicator.h"
#include "sampling/group_layout.h"
#include "sampling/joint_sampler.h"

namespace jointflow {

// Collective. When a member's state (or its log-weight, if given) is non-finite anywhere, every
// rank throws an Error naming the Euler step and the member of the first such member found,
// with what to do — unless `drop` is set: then the mask of finite members [n] bool is returned
// (undefined when not dropping). With a log-weight (estimate) the advice does not offer
// sampler.drop_nonfinite, which only `sample` honours.
at::Tensor check_finite(Communicator& comm, const GroupLayout& layout, const SampledBlock& block,
                        const at::Tensor& log_w = {}, bool drop = false);

}  // namespace jointflow
