#include "io/dataset_descriptions.h"

#include <sstream>

namespace jointflow {
namespace {

std::vector<std::string> segments(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream stream(path);
  std::string part;
  while (std::getline(stream, part, '/'))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// A pattern segment with at most one "*", which matches any run of characters.
bool segment_matches(const std::string& pattern, const std::string& segment) {
  const size_t star = pattern.find('*');
  if (star == std::string::npos) return pattern == segment;
  const std::string prefix = pattern.substr(0, star), suffix = pattern.substr(star + 1);
  return segment.size() >= prefix.size() + suffix.size() && starts_with(segment, prefix) &&
         ends_with(segment, suffix);
}

bool path_matches(const std::string& pattern, const std::string& path) {
  const std::vector<std::string> want = segments(pattern), have = segments(path);
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "**") return i < have.size();
    if (i >= have.size() || !segment_matches(want[i], have[i])) return false;
  }
  return want.size() == have.size();
}

}  // namespace

const std::vector<DatasetDescription>& dataset_descriptions() {
  static const std::vector<DatasetDescription> table{
      // /metrics: scalars of every command.
      {"/metrics/*_se", "standard error of the metric named without _se, over sets", ""},
      {"/metrics/coverage_joint", "distinct nearest modes per set, averaged over sets (MATH §6)",
       "modes"},
      {"/metrics/coverage_marginal",
       "distinct nearest modes per set after pooling all samples and regrouping them into sets of "
       "K at random: its exact mean over all regroupings (MATH §6)",
       "modes"},
      {"/metrics/log_p", "mean log p1 of the final samples under the evaluation mixture", "nats"},
      {"/metrics/rmse", "root mean squared distance of the final samples to their nearest mode",
       "data units"},
      {"/metrics/n_sets",
       "sets that entered the metrics (sets with non-finite states are dropped when "
       "sampler.drop_nonfinite = true)",
       "sets"},
      {"/metrics/ess", "Kish's effective sample size per set, averaged over sets", "samples"},
      {"/metrics/mean_weight",
       "mean importance weight over all samples; 1 when the weights are exact", ""},
      {"/metrics/jsd_equal",
       "Jensen-Shannon divergence between the equal-weight estimate of each set and the exact "
       "E_p[f], averaged over sets",
       "nats"},
      {"/metrics/jsd_weighted",
       "Jensen-Shannon divergence between the importance-weighted estimate of each set and the "
       "exact E_p[f], averaged over sets",
       "nats"},
      {"/metrics/jsd_iid", "quickstart: jsd_equal of the IID sets", "nats"},
      {"/metrics/jsd_joint_equal", "quickstart: jsd_equal of the joint sets", "nats"},
      {"/metrics/jsd_joint_weighted", "quickstart: jsd_weighted of the joint sets", "nats"},
      {"/metrics/iid_*", "quickstart: the metric of the IID estimate named without iid_", ""},
      {"/metrics/joint_*", "quickstart: the metric of the joint estimate named without joint_", ""},
      {"/metrics/final_loss", "training loss of the last step", ""},
      {"/metrics/steps", "optimizer steps taken", "steps"},
      {"/metrics/examples", "training examples in the data set", "examples"},
      {"/metrics/train_seconds", "wall time of the training", "s"},
      {"/metrics/sample_seconds", "wall time of drawing /samples/x", "s"},
      {"/metrics/mmd2",
       "unbiased MMD² between /samples/x and /reference/x, Gaussian kernels at 0.5, 1 and 2 "
       "times the reference's median distance",
       ""},
      {"/metrics/nonfinite", "non-finite entries of /samples/x", "entries"},
      {"/metrics/nll_bpd", "mean of /nll/bits_per_dim", "bits/dim"},
      {"/metrics/radius_mean", "mean distance of /samples/x from the origin", "data units"},
      {"/metrics/radius_std", "standard deviation of that distance", "data units"},
      {"/metrics/inner_fraction", "fraction of /samples/x within radius 1 of the origin", ""},
      {"/metrics/reference_radius_mean", "mean distance of /reference/x from the origin",
       "data units"},
      {"/metrics/reference_radius_std", "standard deviation of that distance", "data units"},
      {"/metrics/mean_abs_curl", "mean |curl| of the field over /field/points", ""},
      // /estimate: estimate and run.
      {"/estimate/mean",
       "per component of f: mean over sets of the unbiased per-set estimates (1/K) Σ w_i f(x_i) "
       "(MATH §5.1)",
       ""},
      {"/estimate/stderr", "per component: standard error of mean, sqrt(s²/G)", ""},
      {"/estimate/sn_mean",
       "per component: self-normalized estimate pooled over all sets, Σ w f / Σ w", ""},
      {"/estimate/sn_stderr", "per component: delta-method standard error of sn_mean", ""},
      {"/estimate/ess", "Kish's effective sample size per set, averaged over sets", "samples"},
      {"/estimate/n_sets", "sets G that entered the estimate", "sets"},
      {"/estimate/exact", "per component: the exact E_p[f] under the evaluation mixture", ""},
      {"/estimate/equal_weights/*",
       "the /estimate dataset of the same name with every weight 1 (the plain joint average)", ""},
      // Per-sample and per-path data, as rank shards behind virtual datasets: in the results file
      // in global member order, in a shard the rows of that rank's block of it.
      {"/samples/x", "final states [G·K, *sample_shape] in global member order m = g·K + k",
       "data units"},
      {"/samples/log_w", "log importance weight of each final state in /samples/x", "nats"},
      {"/trajectories/x0", "start (noise) of every member's path, in global member order",
       "data units"},
      {"/trajectories/x1", "end of every member's path, in global member order", "data units"},
      {"/trajectories/paths",
       "every Euler state of the members of the first output.paths sets [members, steps + 1, "
       "*sample_shape], in global member order",
       "data units"},
      // evaluate.
      {"/evaluate/sets", "sets that entered the evaluation", "sets"},
      {"/evaluate/*/*_se", "standard error of the metric named without _se, over sets", ""},
      {"/evaluate/*/jsd",
       "Jensen-Shannon divergence between each set's mode probabilities estimated with the "
       "group's weights (trajectory, fixed, knn, kde, mgf; equal: every weight 1; iid: the sets "
       "of evaluate.iid) and the exact ones, averaged over sets (paper A Table 3)",
       "nats"},
      {"/evaluate/*/squared_error",
       "mean squared difference between these log-weights and the ground truth's, on the most "
       "confident members of each set, averaged over sets (MATH §6)",
       "nats²"},
      {"/evaluate/*/kendall_tau_b",
       "Kendall's τ_b between these weights and the ground truth's, averaged over sets", ""},
      {"/evaluate/*/spearman_rho",
       "Spearman's ρ between these weights and the ground truth's, averaged over sets", ""},
      {"/evaluate/*/graded_ap",
       "graded average precision of these weights against the ground truth's, averaged over sets",
       ""},
      // train-flux.
      {"/train/loss", "training loss at every step", ""},
      {"/reference/x", "samples of the training distribution that /samples/x is compared with",
       "data units"},
      {"/nll/bits_per_dim",
       "negative log-likelihood under the field of each of the first flux.nll_examples training "
       "examples",
       "bits/dim"},
      {"/field/points", "grid points [G², 2] where the field is shown", "data units"},
      {"/field/values",
       "the field on /field/points [G², 2], at the smallest noise level of the sampler (the "
       "training noise level when it is not annealed)",
       ""},
      {"/field/curl", "curl ∂f₂/∂x₁ − ∂f₁/∂x₂ of the field on /field/points [G²]", ""},
      // Partial files of a job array.
      {"/state/sets", "sets this partial file covers", "sets"},
      {"/state/**",
       "running sums (count, sum, sum_of_squares, cross) from which merge rebuilds the "
       "statistics of all parts exactly",
       ""},
  };
  return table;
}

const DatasetDescription* find_dataset_description(const std::string& dataset_path) {
  for (const DatasetDescription& entry : dataset_descriptions())
    if (path_matches(entry.pattern, dataset_path)) return &entry;
  return nullptr;
}

std::string dataset_descriptions_markdown() {
  std::ostringstream out;
  out << "| dataset | meaning | units |\n|---|---|---|\n";
  for (const DatasetDescription& entry : dataset_descriptions())
    out << "| `" << entry.pattern << "` | " << entry.description << " | "
        << (entry.units.empty() ? "—" : entry.units) << " |\n";
  return out.str();
}

}  // namespace jointflow
