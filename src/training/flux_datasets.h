// The 2-D training sets of paper B's examples (MATH §7.1 "2-D examples"), drawn from counters.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "distributed/counter_rng.h"

namespace jointflow {

// The ring of radius 2.5 and width 0.5: radius 2.5 + 0.25·N(0, 1), angle uniform on [0, 2π).
// Draws for global ids [first, first + count): [count, 2] float64 on the CPU; example id's angle
// and radius come from counters (key, id), so any split over ranks gives the same examples.
at::Tensor ring_samples(const RandomKey& key, int64_t first, int64_t count, double radius = 2.5,
                        double width_std = 0.25);

}  // namespace jointflow
