#include "pipeline/run_evaluate.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <map>

#include "core/log.h"
#include "core/timer.h"
#include "distributed/agreement.h"
#include "distributed/partition.h"
#include "estimate/density_baselines.h"
#include "estimate/estimators.h"
#include "estimate/exact_moments.h"
#include "estimate/local_likelihood.h"
#include "estimate/ranking.h"
#include "estimate/test_functions.h"
#include "io/result_file.h"
#include "pipeline/model_factory.h"
#include "pipeline/provenance.h"
#include "pipeline/training_setup.h"
#include "sampling/log_weights.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

at::Tensor read_dataset(const std::string& path, const std::string& key,
                        const std::string& dataset) {
  JF_CHECK(!path.empty(), key, " is empty: give the results file to evaluate");
  const ResultReader reader(path);
  JF_CHECK(reader.exists(dataset), key, " = '", path, "' has no ", dataset,
           ": produce it with estimate.per_sample = true (or output.samples = true for a pool)");
  return reader.read_tensor(dataset).to(at::kDouble);
}

// The set size K the samples of `path` were drawn with: sampler.group_size of the config the
// file records, not the config of this run.
int64_t drawn_group_size(const std::string& path, const StageContext& context) {
  const ResultReader reader(path);
  return context.parse_config(reader.string_attribute("config")).sampler.group_size;
}

// Rows of this rank, evaluated by `compute` and gathered in global order on every rank.
at::Tensor distributed_rows(
    Communicator& comm, int64_t rows,
    const std::function<at::Tensor(int64_t first, int64_t count)>& compute) {
  const IdRange block = block_of(rows, comm.size(), comm.rank());
  return comm.allgather(compute(block.begin, block.size()).to(at::kDouble).cpu());
}

// log q̂ of a density baseline fitted to all samples, or to each set's K members alone.
at::Tensor baseline_log_density(const std::function<at::Tensor(const at::Tensor&)>& fit,
                                const at::Tensor& x, int64_t k, BaselinePool pool) {
  if (pool == BaselinePool::pooled) return fit(x);
  std::vector<at::Tensor> per_set;
  for (int64_t first = 0; first < x.size(0); first += k)
    per_set.push_back(fit(x.narrow(0, first, k)));
  return at::cat(per_set);
}

struct MethodScores {
  ExactMoments squared_error, kendall, spearman, graded_ap, jsd;
};

}  // namespace

Metrics run_evaluate(const Config& config, StageContext& context) {
  Communicator& comm = context.comm;
  const Stopwatch clock;
  const EvaluateOptions& options = config.evaluate;
  int64_t k = 0, iid_k = 0;
  at::Tensor x, trajectory_log_w, pool, iid_x;
  run_agreed(comm, [&] {
    if (comm.is_root()) check_output_path(config.run.output, "run.output");
    x = read_dataset(options.samples, "evaluate.samples", "/samples/x").flatten(1);
    trajectory_log_w = read_dataset(options.samples, "evaluate.samples", "/samples/log_w");
    k = drawn_group_size(options.samples, context);
    pool = read_dataset(options.pool, "evaluate.pool", "/samples/x").flatten(1);
    if (!options.iid.empty()) {
      iid_x = read_dataset(options.iid, "evaluate.iid", "/samples/x").flatten(1);
      iid_k = drawn_group_size(options.iid, context);
    }
    JF_CHECK(x.size(0) % k == 0, "evaluate.samples holds ", x.size(0),
             " samples, not whole sets of the K = ", k, " its config records");
  });
  if (k != config.sampler.group_size)
    log::info("evaluate: the sets of evaluate.samples have K = ", k,
              " (its config); sampler.group_size = ", config.sampler.group_size, " is not used");
  const std::optional<GaussianMixture> found = evaluation_mixture(config);
  JF_CHECK_COLLECTIVE(found.has_value(), "evaluate needs the true density: set eval.mixture");
  const GaussianMixture& mixture = *found;
  const int64_t n = x.size(0), sets = n / k;
  const at::Tensor log_p = mixture_log_prob(mixture, x);

  // Ground truth: local likelihood of the pooled non-IID samples (MATH §5.7); queries split.
  log::info("evaluate: local-likelihood ground truth of ", n, " samples from a pool of ",
            pool.size(0));
  const at::Tensor truth = distributed_rows(comm, n, [&](int64_t first, int64_t count) {
    const LocalLikelihood estimate = local_likelihood(pool, x.narrow(0, first, count));
    return at::stack({estimate.log_q, estimate.variance}, 1);
  });
  const at::Tensor true_log_w = log_p - truth.select(1, 0);
  const at::Tensor true_variance = truth.select(1, 1);

  // Fixed-position weights at the same samples (MATH §5.4); rows split over ranks.
  const at::ScalarType dtype = scalar_type(config.run.dtype);
  const auto field = make_agreed_velocity_field(config.model, dtype, context.device, context.comm);
  MlpVelocity residual = make_residual(config, field->dim(), dtype, context.device);
  run_agreed(comm, [&] { load_trained_model(config.residual.checkpoint, *residual); });
  const DivergenceOptions& divergence = config.estimate.divergence;
  const at::Tensor fixed_log_w = distributed_rows(comm, n, [&](int64_t first, int64_t count) {
    return fixed_position_log_weights(
        *field, *residual,
        x.narrow(0, first, count).to(at::TensorOptions().dtype(dtype).device(context.device)),
        config.sampler.steps, config.estimate.quadrature, divergence,
        {static_cast<uint64_t>(config.run.seed), RandomStream::hutchinson}, first);
  });

  Metrics metrics;
  run_agreed(comm, [&] {
    if (!comm.is_root()) return;
    // Density baselines estimate q_1 from the evaluated samples (MATH §5.6).
    auto baseline = [&](const std::function<at::Tensor(const at::Tensor&)>& fit) {
      return log_p - baseline_log_density(fit, x, k, options.baselines);
    };
    const std::vector<std::pair<std::string, at::Tensor>> methods{
        {"trajectory", trajectory_log_w},
        {"fixed", fixed_log_w},
        {"knn", baseline([](const at::Tensor& s) { return knn_log_density(s); })},
        {"kde", baseline([](const at::Tensor& s) { return kde_log_density(s); })},
        {"mgf", baseline([](const at::Tensor& s) { return gaussian_fit_log_density(s); })}};
    TestFunction modes;
    const at::Tensor f = evaluate_test_function(modes, mixture, x).view({sets, k, -1});
    const at::Tensor mode_truth = exact_expectation(modes, mixture);
    ResultFile file(config.run.output);
    write_provenance(file, context, config, clock.seconds());
    auto record = [&](const std::string& name, const Metric& metric) {
      file.write_scalar("/evaluate/" + name, metric.value);
      file.write_scalar("/evaluate/" + name + "_se", metric.standard_error);
      metrics.push_back({name, metric.value, metric.standard_error});
    };
    for (const auto& [name, log_w] : methods) {
      MethodScores scores;
      const at::Tensor per_set_jsd =
          jensen_shannon(importance_estimate(log_w.view({sets, k}).exp(), f), mode_truth);
      for (int64_t g = 0; g < sets; ++g) {
        const WeightAccuracy accuracy =
            compare_log_weights(log_w.narrow(0, g * k, k), true_log_w.narrow(0, g * k, k),
                                true_variance.narrow(0, g * k, k), options.confident_fraction);
        if (accuracy.items < 2) continue;
        scores.squared_error.add(accuracy.squared_error);
        scores.kendall.add(accuracy.kendall_tau_b);
        scores.spearman.add(accuracy.spearman_rho);
        scores.graded_ap.add(accuracy.graded_ap);
        scores.jsd.add(per_set_jsd[g].item<double>());
      }
      record(name + "/squared_error", scores.squared_error.metric(""));
      record(name + "/kendall_tau_b", scores.kendall.metric(""));
      record(name + "/spearman_rho", scores.spearman.metric(""));
      record(name + "/graded_ap", scores.graded_ap.metric(""));
      record(name + "/jsd", scores.jsd.metric(""));
    }
    record("equal/jsd", mean_jensen_shannon(
                            importance_estimate(at::ones({sets, k}, x.options()), f), mode_truth));
    if (iid_x.defined()) {
      const int64_t iid_sets = iid_x.size(0) / iid_k;
      const at::Tensor iid_f =
          evaluate_test_function(modes, mixture, iid_x.narrow(0, 0, iid_sets * iid_k))
              .view({iid_sets, iid_k, -1});
      record("iid/jsd",
             mean_jensen_shannon(
                 importance_estimate(at::ones({iid_sets, iid_k}, x.options()), iid_f), mode_truth));
    }
    file.write_scalar("/evaluate/sets", static_cast<double>(sets));
    file.commit();
  });

  log::info("evaluate: ", sets, " sets of ", k, ", ", comm.size(), " rank(s), ", clock.seconds(),
            " s -> ", config.run.output);
  log::info("  method        SE       tau_b    rho      gAP      JSD");
  for (const char* method : {"trajectory", "fixed", "knn", "kde", "mgf"}) {
    std::map<std::string, double> values;
    for (const Metric& metric : metrics)
      if (metric.name.rfind(std::string(method) + "/", 0) == 0)
        values[metric.name.substr(std::string(method).size() + 1)] = metric.value;
    char line[160];
    std::snprintf(line, sizeof line, "  %-10s %8.3f %8.3f %8.3f %8.3f %8.4f", method,
                  values["squared_error"], values["kendall_tau_b"], values["spearman_rho"],
                  values["graded_ap"], values["jsd"]);
    log::info(line);
  }
  return metrics;
}

}  // namespace jointflow
