#include "estimate/coverage_radius.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "core/error.h"
#include "io/result_file.h"

namespace jointflow {

at::Tensor spatial_mean_features(const at::Tensor& x) {
  const at::Tensor x64 = x.detach().to(at::kDouble).cpu();
  JF_CHECK(x64.dim() >= 2, "coverage radius: samples need a batch axis, got shape ", x64.sizes());
  return x64.dim() == 2 ? x64 : x64.flatten(2).mean(2);
}

// MATH §6 (paper A Eq. 26): distances [G, M, K], nearest member per reference, worst reference.
at::Tensor coverage_radius(const at::Tensor& reference, const at::Tensor& sets) {
  JF_CHECK(reference.dim() == 2 && sets.dim() == 3 && reference.size(1) == sets.size(2),
           "coverage radius: references [M, f] and sets [G, K, f] disagree: ", reference.sizes(),
           " and ", sets.sizes());
  const at::Tensor distances = at::cdist(reference.unsqueeze(0).expand({sets.size(0), -1, -1}),
                                         sets, 2.0, /*compute_mode=*/2);
  return std::get<0>(std::get<0>(distances.min(2)).max(1));
}

CoverageRadiusMetrics::CoverageRadiusMetrics(const at::Tensor& reference_samples,
                                             int64_t group_size)
    : reference_(spatial_mean_features(reference_samples)), group_size_(group_size) {
  JF_CHECK(reference_.size(0) > 0, "coverage radius: no reference samples");
}

void CoverageRadiusMetrics::add(Communicator& comm, const at::Tensor& x_local,
                                const at::Tensor& keep) {
  const at::Tensor features = spatial_mean_features(x_local);
  const at::Tensor kept = keep.defined() ? keep.cpu().to(at::kDouble)
                                         : at::ones({features.size(0)}, features.options());
  const at::Tensor all = comm.allgather(at::cat({features, kept.unsqueeze(1)}, 1));
  if (!comm.is_root()) return;
  const int64_t f = reference_.size(1);
  JF_CHECK(all.size(1) == f + 1, "coverage radius: samples have ", all.size(1) - 1,
           " feature(s) but the reference samples ", f);
  const at::Tensor sets = all.view({all.size(0) / group_size_, group_size_, f + 1});
  const at::Tensor group_kept = std::get<0>(sets.select(2, f).min(1)).gt(0.5);
  const at::Tensor radius =
      coverage_radius(reference_, sets.narrow(2, 0, f).index({group_kept})).contiguous();
  for (int64_t g = 0; g < radius.size(0); ++g) radius_.add(radius.data_ptr<double>()[g]);
}

Metrics CoverageRadiusMetrics::finish() const {
  if (radius_.count() == 0) return {};
  return {radius_.metric("coverage_radius")};
}

void CoverageRadiusMetrics::merge(const CoverageRadiusMetrics& other) {
  radius_.merge(other.radius_);
}

void CoverageRadiusMetrics::save(ResultFile& file, const std::string& prefix) const {
  radius_.save(file, prefix + "/radius");
}

void CoverageRadiusMetrics::load(const ResultReader& reader, const std::string& prefix) {
  radius_ = ExactMoments::load(reader, prefix + "/radius");
}

at::Tensor read_reference_samples(const std::string& path, const std::string& key) {
  JF_CHECK(std::filesystem::exists(path), key, " = '", path,
           "': no such file; write it with `sample --output.samples true`");
  const ResultReader reader(path);
  JF_CHECK(reader.exists("/samples/x"), key, " = '", path,
           "' has no /samples/x; write it with `sample --output.samples true`");
  return reader.read_tensor("/samples/x");
}

}  // namespace jointflow
