#include "core/error.h"

namespace jointflow::detail {

void throw_check_failure(const char* file, int line, const char* condition,
                         const std::string& message) {
  throw Error(concat("internal check `", condition, "` failed at ", file, ":", line,
                     message.empty() ? "" : ": ", message));
}

}  // namespace jointflow::detail
