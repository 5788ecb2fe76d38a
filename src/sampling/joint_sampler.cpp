#include "sampling/joint_sampler.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "models/rectified_flow.h"
#include "sampling/score_regularization.h"

namespace jointflow {

JointSampler::JointSampler(const VelocityField& field, const SamplerOptions& options,
                           Communicator& comm, at::ScalarType dtype, at::Device device)
    : field_(field),
      options_(options),
      spec_(make_diversity_spec(options, field.dim())),
      comm_(comm),
      tensor_options_(at::TensorOptions().dtype(dtype).device(device)) {}

at::Tensor JointSampler::features(const at::Tensor& endpoint) const {
  switch (options_.features) {
    case FeatureMap::identity:
      return endpoint.flatten(1);
    case FeatureMap::spatial_mean:
      return endpoint.mean({2, 3});
    case FeatureMap::avg_pool:
      return at::adaptive_avg_pool2d(endpoint, {options_.pool_size, options_.pool_size}).flatten(1);
  }
  throw Error("internal: unknown feature map");
}

at::Tensor JointSampler::assemble_groups(const GroupLayout& layout, const at::Tensor& local) const {
  const std::vector<int64_t> shape{layout.n_touched, layout.group_size, local.size(1)};
  // Without split groups the local rows are already the touched groups in member order.
  if (!layout.any_split()) return local.view(shape);
  const at::Tensor contributed = local.index_select(0, layout.contributed_rows.to(local.device()));
  return at::cat({local, comm_.allgather(contributed)})
      .index_select(0, layout.assemble_index.to(local.device()))
      .view(shape);
}

at::Tensor JointSampler::group_scales(const GroupLayout& layout, const at::Tensor& squared_norms,
                                      double t) const {
  // The squared norms are added member by member in global order, from the gathered rows for
  // split groups, on the host: the sums are bitwise those of a one-rank run on any device, which
  // matters for ill-conditioned objectives such as a DPP over many members.
  const int64_t k = layout.group_size;
  const at::Tensor rows =
      assemble_groups(layout, squared_norms).to(at::kCPU, at::kDouble).contiguous();
  const double* norms = rows.data_ptr<double>();
  at::Tensor scales = at::empty({layout.n_touched}, rows.options());
  double* scale = scales.data_ptr<double>();
  for (int64_t g = 0; g < layout.n_touched; ++g) {
    double v2 = 0, g2 = 0;
    for (int64_t member = g * k; member < (g + 1) * k; ++member) {
      v2 += norms[2 * member];
      g2 += norms[2 * member + 1];
    }
    scale[g] = g2 > 0 ? options_.lambda * (1 - t) * std::sqrt(v2) / std::sqrt(g2) : 0.0;
  }
  return scales;
}

at::Tensor JointSampler::coupled_velocity(const GroupLayout& layout, const at::Tensor& x, double t,
                                          at::Tensor& v) const {
  const at::Tensor time = at::scalar_tensor(t, tensor_options_);
  if (!options_.coupled()) {
    at::NoGradGuard no_grad;
    v = field_.velocity(x, time);
    return v;
  }
  const bool through_model = options_.grad_through == GradThrough::model;
  const bool with_quality = options_.objective == Objective::df;

  // Forward pass. With grad_through = model the graph from x to x̂_1 (and x̂_0) is recorded;
  // with endpoint only a feature map other than the identity is (the identity needs no graph).
  const bool records = through_model || options_.features != FeatureMap::identity;
  at::AutoGradMode grad_mode(through_model);
  const at::Tensor x_in = through_model ? x.detach().requires_grad_(true) : x;
  const at::Tensor v_graph = field_.velocity(x_in, time);
  v = v_graph.detach();
  at::AutoGradMode record_features(records);
  const at::Tensor endpoint_in = through_model ? endpoint_from_velocity(x_in, v_graph, time)
                                               : at::add(x, v, 1 - t).requires_grad_(records);
  const at::Tensor y = features(endpoint_in);
  at::Tensor start_in, radius2;  // x̂_0 = x − t·v and ‖x̂_0‖² (DiverseFlow only, MATH §3.1)
  if (with_quality) {
    start_in = through_model ? x_in - t * v_graph : at::add(x, v, -t).requires_grad_(records);
    radius2 = start_in.flatten(1).pow(2).sum(1);
  }

  // ∂D/∂y for every member of the touched groups; keep this rank's rows (MATH §3).
  at::Tensor gathered = y.detach();
  if (with_quality) gathered = at::cat({gathered, radius2.detach().unsqueeze(1)}, 1);
  const at::Tensor groups = assemble_groups(layout, gathered);
  const int64_t width = y.size(1);
  const DiversityGradient gradient = diversity_gradient(
      spec_, groups.narrow(2, 0, width), with_quality ? groups.select(2, width) : at::Tensor());
  auto local_rows = [&](const at::Tensor& per_member) {  // [n_touched·K, ...] → [n, ...]
    return layout.any_split() ? per_member.index_select(0, layout.local_position.to(x.device()))
                              : per_member;
  };
  const at::Tensor dD_dy = local_rows(gradient.features.reshape({-1, width}));
  const at::Tensor dD_dradius2 =
      with_quality ? local_rows(gradient.quality_input.reshape({-1})) : at::Tensor();

  // g = ∂D/∂x_t: through φ, and through the model or the identity Jacobian (MATH §3). With
  // the identity φ and Jacobian, g = ∂D/∂y (+ 2 x̂_0 ∂D/∂‖x̂_0‖² for df) without autograd.
  at::Tensor g;
  if (records) {
    std::vector<at::Tensor> outputs{y}, cotangents{dD_dy};
    std::vector<at::Tensor> inputs{through_model ? x_in : endpoint_in};
    if (with_quality) {
      outputs.push_back(radius2);
      cotangents.push_back(dD_dradius2);
      if (!through_model) inputs.push_back(start_in);
    }
    const auto parts = torch::autograd::grad(outputs, inputs, cotangents);
    g = parts[0];
    if (parts.size() > 1) g = g + parts[1];
    g = g.flatten(1);
  } else {
    g = with_quality ? at::addcmul(dD_dy, start_in.flatten(1), dD_dradius2.unsqueeze(1), 2) : dD_dy;
  }

  // Score regularization and joint normalization over whole groups (MATH §4).
  at::NoGradGuard no_grad;
  const RegularizedGradient regularized =
      regularize_with_norms(options_.sr, x.flatten(1), v.flatten(1), g, t, options_.soft_power);
  const at::Tensor member_scale = group_scales(layout, regularized.squared_norms, t)
                                      .to(v.options())
                                      .index_select(0, layout.local_group.to(x.device()));
  return at::addcmul(v.flatten(1), member_scale.unsqueeze(1), regularized.g_tilde).view_as(v);
}

SampledBlock JointSampler::sample(const GroupLayout& layout, const RandomKey& noise_key,
                                  StepObserver* observer) const {
  std::vector<int64_t> shape = field_.sample_shape();
  shape.insert(shape.begin(), layout.local_count());
  SampledBlock block;
  block.x0 = counter_normal(noise_key, layout.members.begin, layout.local_count(), field_.dim())
                 .to(tensor_options_)
                 .view(shape);
  block.nonfinite_step = at::full({layout.local_count()}, -1, at::kLong);
  at::Tensor x = block.x0.clone();
  const double dt = 1.0 / static_cast<double>(options_.steps);
  for (int64_t k = 0; k < options_.steps; ++k) {
    const double t = static_cast<double>(k) * dt;  // t_k = k/N; t = 1 is never evaluated
    at::Tensor v;
    const at::Tensor xdot = coupled_velocity(layout, x, t, v);
    if (observer != nullptr) observer->observe(x, t, dt, v, xdot);
    x = at::add(x, xdot, dt);
    // One reduction per step; the per-member check only when the sum is not finite.
    if (std::isfinite(x.sum().item<double>())) continue;
    const at::Tensor bad = x.flatten(1).isfinite().all(1).logical_not().cpu();
    block.nonfinite_step.masked_fill_(bad & block.nonfinite_step.lt(0), k);
  }
  block.x1 = x;
  return block;
}

}  // namespace jointflow
