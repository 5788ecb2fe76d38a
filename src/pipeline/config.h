// Every option of every stage, grouped by INI section (DESIGN §8). Defaults live here and
// nowhere else; the command line and INI files bind to these fields (src/app/config_options.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/progress.h"
#include "data/datasets.h"
#include "distributed/world.h"
#include "estimate/test_functions.h"
#include "models/divergence.h"
#include "models/noise_conditional_velocity.h"
#include "sampling/field_samplers.h"
#include "sampling/sampler_options.h"
#include "training/flux_matching_loss.h"
#include "training/trainer.h"

namespace jointflow {

enum class ModelKind { gmm, mlp, unet, torchscript, field };
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
  int64_t parts = 1;             // job-array tasks the sets are split into
  int64_t part = 0;              // this task: sets block_of(G, parts, part), a partial file
  int64_t checkpoint_every = 0;  // batches between checkpoints (<run.output>.checkpoint); 0: off
  bool resume = false;           // continue from the checkpoint when it exists
};

// [flow]: the architecture of the networks of model.kind = mlp | unet. train-flow builds it, and
// sample / estimate rebuild it from the same config to load model.path.
struct FlowOptions {
  std::string hidden = "256,256,256";  // mlp: widths of the hidden layers (SiLU)
  int64_t frequencies = 8;             // mlp: Fourier features of t; 0: t as one input
  int64_t channels = 32;               // unet: width of the first level
  std::string channel_multipliers = "1,2,2";  // unet: width of level l = channels · m_l
  std::string attention_levels = "2";  // unet: levels with self-attention ("" = middle only)
  int64_t res_blocks = 1;              // unet: residual blocks per level and direction
  int64_t groups = 8;                  // unet: GroupNorm groups
  int64_t heads = 1;                   // unet: attention heads
};

// [field]: the noise-conditional field f(y, σ) of model.kind = field (train-flux, MATH §7.1):
// the network of field.network with [flow]'s architecture, used as an RF velocity (MATH §8).
struct FieldOptions {
  ModelKind network = ModelKind::mlp;  // mlp | unet
  FieldParameterization parameterization = FieldParameterization::raw;
  double sigma_data = 0.5;  // edm: σ_d (images in [−1, 1])
  FieldSymmetry symmetry = FieldSymmetry::none;  // odd: f(−y, σ) = −f(y, σ)
  double sigma_max = 80.0;  // largest σ: annealed samplers start there, RF at 1/(1 + σ_max)
};

struct ModelOptions {
  ModelKind kind = ModelKind::gmm;
  std::string mixture = "gmm8d";
  // mlp | unet: the checkpoint of train-flow (written by it); torchscript: the module file.
  std::string path;
  // Shape of one sample, e.g. "8" or "1,28,28"; "" = from [data] (train-flow) or from the
  // TorchScript module's sample_shape attribute.
  std::string sample_shape;
  bool ema = true;  // mlp | unet: load the checkpoint's EMA weights (train.ema_decay > 0)
  FlowOptions flow;
  FieldOptions field;
};

struct EvalOptions {
  std::string mixture;  // the mixture whose metrics are computed; "" = model.mixture for gmm
  std::string reference;  // results file whose /samples/x are the coverage radius's z_m; "" = off
};

struct OutputOptions {
  bool samples = false;       // write /samples/x (per-rank shards stitched by a virtual dataset)
  bool trajectories = false;  // write /trajectories/x0 and /x1 (residual training data)
  int64_t paths = 0;          // sets whose whole paths go to /trajectories/paths [n, steps+1, *shape]
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
  LrSchedule schedule = LrSchedule::constant;
  double clip_norm = 0.0;
  double ema_decay = 0.0;
  AutocastMode autocast = AutocastMode::off;  // precision of the forward pass
  int64_t checkpoint_every = 0;
  bool resume = false;        // continue from the checkpoint when it exists
};

enum class WeightKind { trajectory, fixed, none };
const ChoiceTable<WeightKind>& weight_choices();
const ChoiceTable<Quadrature>& quadrature_choices();

// Estimation of E_{p_1}[f] from joint sets with importance weights (MATH §5).
struct EstimateOptions {
  TestFunctionKind function = TestFunctionKind::nearest_mean;
  std::string box_low, box_high;  // "a,b,...": one bound per dimension
  int64_t moment_dim = 0;
  int64_t moment_power = 1;
  WeightKind weights = WeightKind::trajectory;
  Quadrature quadrature = Quadrature::midpoint;
  int64_t exact_divergence_max_dim = 64;
  int64_t hutchinson_probes = 1;
  bool per_sample = false;  // write /samples/x and /samples/log_w
};

// The samples a density baseline (kNN, KDE, MGF) estimates q_1 from: each set's own K members,
// or all evaluated samples pooled (MATH §5.6 says pooled; paper A's Tables 2–3 match per-set).
enum class BaselinePool { per_set, pooled };
const ChoiceTable<BaselinePool>& baseline_pool_choices();

// Accuracy of importance weights against a local-likelihood ground truth (paper A Tables 2–3).
struct EvaluateOptions {
  std::string samples;  // `estimate` output with /samples/x and /samples/log_w (per_sample)
  std::string pool;     // `sample` output with /samples/x of the same sampler (n ≥ 10⁵)
  std::string iid;      // optional `estimate` output of IID sets, for the IID column
  double confident_fraction = 0.5;  // ground truth kept per set, by smallest LLDE variance
  BaselinePool baselines = BaselinePool::per_set;  // samples the density baselines fit
};

// [data]: the training set of train-flow (data/datasets.h), parsed into DatasetOptions.
struct DataOptions {
  DatasetKind kind = DatasetKind::mixture;
  std::string path;     // "" = where Debian installs the files
  std::string classes;  // images: comma-separated labels to keep; "" = all
  int64_t size = 0;     // images: side after resizing; 0 = native
  int64_t examples = 0;  // N (mixture: draws, required); 0 = all
  std::string mixture = "gmm8d";
  DataSplit split = DataSplit::train;
};

// [flux]: train-flux (MATH §7, §7.1): data, objective, noise levels and the samples it draws.
enum class FluxDataKind { ring, data };  // paper B's 2-D ring, or the data set of [data]
const ChoiceTable<FluxDataKind>& flux_data_choices();
struct FluxOptions {
  FluxDataKind dataset = FluxDataKind::ring;
  int64_t ring_examples = 20000;  // ring: N
  FieldLoss loss = FieldLoss::flux;
  NoiseSchedule noise = NoiseSchedule::single;
  double sigma = 0.22360679774997896;  // single: σ (σ² = 0.05, the ring)
  double edm_mean = -1.2;              // edm: ln σ ~ N(edm_mean, edm_std²)
  double edm_std = 1.2;
  double sigma_min = 0.01;  // ve: ln σ ~ U[ln sigma_min, ln sigma_max]
  double sigma_max = 10.0;
  HorizonKind horizon = HorizonKind::learned;
  DivergenceMode divergence = DivergenceMode::hutchinson;
  ChainSensitivity sensitivity = ChainSensitivity::cross_chain;
  double spiral = 0.0;  // ring, flux: tangential speed c of the spiral loss; 0 = off
  int64_t kde_batch = 0;  // examples sharing one KDE, σ and horizon; 0 = each rank's local batch
  FieldSamplerKind sampler = FieldSamplerKind::langevin;  // samples drawn after training
  int64_t samples = 2000;
  int64_t sample_steps = 1000;
  double langevin_step = 0.01;        // langevin: ε
  double langevin_init = 3.0;         // langevin: initial N(0, s²)
  double sample_sigma_min = 0.002;    // annealed samplers and the NLL: the smallest σ
  int64_t nll_examples = 0;           // training examples whose NLL (bits/dim) is computed
};

// Combining the partial files of a job array (run.parts > 1).
struct MergeOptions {
  std::string inputs;  // comma-separated paths or glob patterns
};

struct Config {
  RunOptions run;
  ModelOptions model;
  SamplerOptions sampler;
  EvalOptions eval;
  OutputOptions output;
  ResidualOptions residual;
  TrainOptions train;
  FluxOptions flux;
  DataOptions data;
  EstimateOptions estimate;
  EvaluateOptions evaluate;
  MergeOptions merge;
};

// Checks between options (each option's own range is checked when it is parsed); throws a
// collective Error naming the keys.
void validate_config(const Config& config);

// "128,128" → {128, 128}; throws an Error naming `key` otherwise.
std::vector<int64_t> parse_integer_list(const std::string& key, const std::string& text);
std::vector<double> parse_real_list(const std::string& key, const std::string& text);

at::ScalarType scalar_type(Precision precision);

}  // namespace jointflow
