// What this binary is: version, source revision and the libraries it was built against.
#pragma once

namespace jointflow {

const char* version();
const char* git_revision();  // `git describe --always --dirty` at build time, or "unknown"
const char* torch_version();

}  // namespace jointflow
