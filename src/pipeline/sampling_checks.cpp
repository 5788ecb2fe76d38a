#include "pipeline/sampling_checks.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "distributed/agreement.h"

namespace jointflow {

at::Tensor check_finite(Communicator& comm, const GroupLayout& layout, const SampledBlock& block,
                        const at::Tensor& log_w, bool drop) {
  at::Tensor bad = block.nonfinite_step.ge(0);
  if (log_w.defined()) bad = bad | log_w.detach().isfinite().logical_not().cpu();
  run_agreed(comm, [&] {
    if (drop || !bad.any().item<bool>()) return;
    const int64_t row = bad.nonzero()[0][0].item<int64_t>();
    const int64_t member = layout.members.begin + row;
    const int64_t step = block.nonfinite_step[row].item<int64_t>();
    throw Error(detail::concat(
        step >= 0 ? detail::concat("non-finite state at Euler step ", step)
                  : std::string("non-finite log-weight"),
        " in member ", member, " (set ", member / layout.group_size,
        "); lower sampler.lambda or use sampler.sr = hard",
        log_w.defined() ? ", and check the residual checkpoint (estimate never drops sets: "
                          "dropping them would bias the weighted estimates)"
                        : ", or set sampler.drop_nonfinite = true to drop such sets"));
  });
  return drop ? bad.logical_not() : at::Tensor();
}

}  // namespace jointflow
