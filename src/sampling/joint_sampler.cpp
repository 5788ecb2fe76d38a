#include "sampling/joint_sampler.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

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
  at::Tensor table = local;
  if (layout.any_split()) {
    const at::Tensor contributed =
        local.index_select(0, layout.contributed_rows.to(local.device()));
    table = at::cat({local, comm_.allgather(contributed)});
  }
  return table.index_select(0, layout.assemble_index.to(local.device()))
      .view({layout.n_touched, layout.group_size, local.size(1)});
}

at::Tensor JointSampler::group_sums(const GroupLayout& layout, const at::Tensor& local_values) const {
  // Members are added one by one in global order (index_add_ is sequential on the CPU), from the
  // gathered rows for split groups: the sums are bitwise those of a one-rank run, which matters
  // for ill-conditioned objectives such as a DPP over many members.
  const int64_t k = layout.group_size;
  const at::Tensor rows = assemble_groups(layout, local_values).reshape({-1, local_values.size(1)});
  const at::Tensor group_of_row =
      at::arange(layout.n_touched * k, rows.options().dtype(at::kLong)).div(k, "floor");
  return at::zeros({layout.n_touched, local_values.size(1)}, local_values.options())
      .index_add_(0, group_of_row, rows);
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

  // Forward pass; with grad_through = model the graph from x to x̂_1 (and x̂_0) is kept.
  at::AutoGradMode grad_mode(through_model);
  const at::Tensor x_in = through_model ? x.detach().requires_grad_(true) : x;
  const at::Tensor v_graph = field_.velocity(x_in, time);
  v = v_graph.detach();
  at::AutoGradMode enable_grad(true);
  const at::Tensor endpoint_in = through_model
                                     ? endpoint_from_velocity(x_in, v_graph, time)
                                     : endpoint_from_velocity(x, v, time).requires_grad_(true);
  const at::Tensor y = features(endpoint_in);
  at::Tensor start_in, radius2;  // x̂_0 = x − t·v and ‖x̂_0‖² (DiverseFlow only, MATH §3.1)
  if (with_quality) {
    start_in = through_model ? x_in - t * v_graph : (x - t * v).requires_grad_(true);
    radius2 = start_in.flatten(1).pow(2).sum(1);
  }

  // ∂D/∂y for every member of the touched groups; keep this rank's rows (MATH §3).
  at::Tensor gathered = y.detach();
  if (with_quality) gathered = at::cat({gathered, radius2.detach().unsqueeze(1)}, 1);
  const at::Tensor groups = assemble_groups(layout, gathered);
  const int64_t width = y.size(1);
  const DiversityGradient gradient = diversity_gradient(
      spec_, groups.narrow(2, 0, width),
      with_quality ? groups.select(2, width) : at::Tensor());
  const at::Tensor position = layout.local_position.to(x.device());
  const at::Tensor dD_dy = gradient.features.reshape({-1, width}).index_select(0, position);

  // g = ∂D/∂x_t: through φ, and through the model or the identity Jacobian (MATH §3).
  std::vector<at::Tensor> outputs{y}, cotangents{dD_dy};
  std::vector<at::Tensor> inputs{through_model ? x_in : endpoint_in};
  if (with_quality) {
    outputs.push_back(radius2);
    cotangents.push_back(gradient.quality_input.reshape({-1}).index_select(0, position));
    if (!through_model) inputs.push_back(start_in);
  }
  const auto parts = torch::autograd::grad(outputs, inputs, cotangents);
  at::Tensor g = parts[0];
  if (parts.size() > 1) g = g + parts[1];
  g = g.flatten(1);

  // Score regularization and joint normalization over whole groups (MATH §4).
  at::NoGradGuard no_grad;
  const at::Tensor score = score_from_velocity(x, v, time).flatten(1);
  const at::Tensor g_tilde =
      regularize_diversity_gradient(options_.sr, g, score, t, options_.soft_power);
  const at::Tensor norms = group_sums(
      layout, at::stack({v.flatten(1).pow(2).sum(1), g_tilde.pow(2).sum(1)}, 1));  // [touched, 2]
  const at::Tensor v_norm = norms.select(1, 0).sqrt(), g_norm = norms.select(1, 1).sqrt();
  const at::Tensor scale = at::where(g_norm > 0, options_.lambda * (1 - t) * v_norm / g_norm,
                                     at::zeros_like(g_norm));
  const at::Tensor v_div = scale.index_select(0, layout.local_group.to(x.device())).unsqueeze(1) * g_tilde;
  return v + v_div.view_as(v);
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
    x = x + dt * xdot;
    const at::Tensor bad = x.flatten(1).isfinite().all(1).logical_not().cpu();
    block.nonfinite_step.masked_fill_(bad & block.nonfinite_step.lt(0), k);
  }
  block.x1 = x;
  return block;
}

}  // namespace jointflow
