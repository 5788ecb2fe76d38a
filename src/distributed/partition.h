// Contiguous, balanced (±1) blocks of global ids per rank (DESIGN §3).
#pragma once

#include <cstdint>

namespace jointflow {

struct IdRange {
  int64_t begin = 0;
  int64_t end = 0;  // one past the last id
  int64_t size() const { return end - begin; }
  bool contains(int64_t id) const { return id >= begin && id < end; }
};

// Block `part` of `total` ids split into `parts` blocks; the first total % parts blocks hold one
// id more than the others.
inline IdRange block_of(int64_t total, int parts, int part) {
  const int64_t base = total / parts;
  const int64_t extra = total % parts;
  const int64_t begin = part * base + (part < extra ? part : extra);
  return {begin, begin + base + (part < extra ? 1 : 0)};
}

}  // namespace jointflow
