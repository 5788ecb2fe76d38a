// Statistics of a trained field and its samples that train-flux writes: the MMD² to reference
// samples and the field on a 2-D grid with its curl (MATH §7.1).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include "models/noise_conditional_velocity.h"

namespace jointflow {

// Unbiased MMD² between x [n, d] and y [m, d] with the sum of Gaussian kernels of bandwidths
// h·{0.5, 1, 2}, h the median distance between the rows of y (a scale-free sample distance).
double mmd2(const at::Tensor& x, const at::Tensor& y);

// The field at σ on the grid: points [G², 2], values [G², 2] and curl ∂f₂/∂x₁ − ∂f₁/∂x₂ [G²].
struct GridField {
  at::Tensor points, values, curl;
};

// The grid of the curl statistic and of /field/*: 41² points on [−4, 4]² (choice; paper B's
// notebook uses its own grid).
GridField field_on_grid(const NoiseConditionalField& field, double sigma,
                        const at::TensorOptions& options);

}  // namespace jointflow
