// `jointflow merge`: the partial files of a job array (run.parts > 1) combined into the file a
// single run over all sets would have written.
#pragma once

#include "pipeline/config.h"
#include "pipeline/stage_context.h"

namespace jointflow {

// Collective (rank 0 works). Reads merge.inputs (paths or glob patterns), checks that they come
// from the same stage and configuration and that their set ranges tile [0, G) without gap or
// overlap, merges their exact statistics in set order and writes run.output like the stage
// itself does for one part. Errors name the offending files.
void run_merge(const Config& config, StageContext& context);

}  // namespace jointflow
