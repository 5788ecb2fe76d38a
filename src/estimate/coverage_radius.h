// Coverage radius of joint sets against reference samples (MATH §6, paper A Eq. 26):
// R = max_m min_i ‖φ(z_m) − φ(x_i)‖ with φ the spatial mean of images. Lower is better.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

#include "distributed/communicator.h"
#include "estimate/exact_moments.h"
#include "estimate/metric.h"

namespace jointflow {

class ResultFile;
class ResultReader;

// φ of MATH §6: [n, C, H, W, ...] → [n, C] (mean over the spatial axes); vectors [n, d] as they
// are. float64 CPU.
at::Tensor spatial_mean_features(const at::Tensor& x);

// Per set g: max over references m of min over members i of ‖reference_m − sets_{g,i}‖.
// reference: [M, f], sets: [G, K, f] → [G] float64.
at::Tensor coverage_radius(const at::Tensor& reference, const at::Tensor& sets);

// Accumulates the coverage radius of batches of sets in global set order (rank 0), like
// MixtureMetrics: exact sums, so set ranges merge bitwise and the rank count does not matter.
class CoverageRadiusMetrics {
 public:
  // reference_samples: [M, *sample_shape] (e.g. /samples/x of an IID `sample` run).
  CoverageRadiusMetrics(const at::Tensor& reference_samples, int64_t group_size);

  // Collective. `x_local`: this rank's members of the batch in global member order, whole sets
  // over all ranks; `keep` (bool [n], may be undefined) marks members whose sets count.
  void add(Communicator& comm, const at::Tensor& x_local, const at::Tensor& keep = {});

  // Rank 0: coverage_radius with its standard error over sets.
  Metrics finish() const;
  void merge(const CoverageRadiusMetrics& other);
  void save(ResultFile& file, const std::string& prefix) const;
  void load(const ResultReader& reader, const std::string& prefix);

 private:
  at::Tensor reference_;  // [M, f] features of the reference samples
  int64_t group_size_;
  ExactMoments radius_;
};

// The samples /samples/x of the results file `path` (named by option `key` in errors).
at::Tensor read_reference_samples(const std::string& path, const std::string& key);

}  // namespace jointflow
