// Every option of every stage, grouped by INI section (DESIGN §8). Defaults live here and
// nowhere else; the command line and INI files bind to these fields (src/app/options.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/progress.h"
#include "dist/world.h"
#include "estimate/test_functions.h"
#include "models/divergence.h"
#include "sampling/sampler_options.h"
#include "training/trainer.h"

namespace jointflow {

enum class ModelKind { gmm };
const ChoiceTable<ModelKind>& model_kind_choices();
enum class DeviceKind { cpu, cuda };
const ChoiceTable<DeviceKind>& device_choices();
enum class Precision { float32, float64 };
const ChoiceTable<Precision>& precision_choices();
const ChoiceTable<ProgressMode>& progress_choices();

struct RunOptions {
  int64_t seed = 0;
  std::string output = "jointflow.h5";
  DeviceKind device = DeviceKind::cpu;
  CommBackend comm = CommBackend::automatic;
  Precision dtype = Precision::float64;
  int64_t threads = 0;  // intra-op threads per rank; 0: the node's cores shared among its ranks
  ProgressMode progress = ProgressMode::automatic;
};

struct ModelOptions {
  ModelKind kind = ModelKind::gmm;
  std::string mixture = "gmm8d";
};

struct EvalOptions {
  std::string mixture;  // the mixture whose metrics are computed; "" = model.mixture for gmm
};

struct OutputOptions {
  bool samples = false;       // write /samples/x (per-rank shards stitched by a virtual dataset)
  bool trajectories = false;  // write /trajectories/x0 and /x1 (residual training data)
};

// The residual velocity r_φ (MATH §5.2): its network and where it comes from and goes to.
struct ResidualOptions {
  std::string data;                  // results file of `sample` with /trajectories/x1
  std::string checkpoint = "residual.ckpt";  // written by train-residual, read by estimate
  std::string hidden = "128,128";    // widths of the hidden layers
  int64_t groups = 1000;             // sets drawn as training data by `jointflow run`
};

// Data-parallel training (train-residual; later trainers share it).
struct TrainOptions {
  OptimizerKind optimizer = OptimizerKind::adamw;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  int64_t batch_size = 1024;  // global batch over all ranks
  int64_t epochs = 100;       // passes over the data (paper A App. E)
  int64_t steps = 0;          // optimizer steps; 0: from epochs
  int64_t warmup_steps = 0;
  double clip_norm = 0.0;
  double ema_decay = 0.0;
  int64_t checkpoint_every = 0;
  bool resume = false;        // continue from the checkpoint when it exists
};

enum class WeightKind { trajectory, fixed, none };
const ChoiceTable<WeightKind>& weight_choices();

// Estimation of E_{p_1}[f] from joint sets with importance weights (MATH §5).
struct EstimateOptions {
  TestFunctionKind function = TestFunctionKind::nearest_mean;
  std::string box_low, box_high;  // "a,b,...": one bound per dimension
  int64_t moment_dim = 0;
  int64_t moment_power = 1;
  WeightKind weights = WeightKind::trajectory;
  int64_t exact_divergence_max_dim = 64;
  int64_t hutchinson_probes = 1;
  bool per_sample = false;  // write /samples/x and /samples/log_w
};

struct Config {
  RunOptions run;
  ModelOptions model;
  SamplerOptions sampler;
  EvalOptions eval;
  OutputOptions output;
  ResidualOptions residual;
  TrainOptions train;
  EstimateOptions estimate;
};

// "128,128" → {128, 128}; throws an Error naming `key` otherwise.
std::vector<int64_t> parse_integer_list(const std::string& key, const std::string& text);
std::vector<double> parse_real_list(const std::string& key, const std::string& text);

at::ScalarType scalar_type(Precision precision);

}  // namespace jointflow
