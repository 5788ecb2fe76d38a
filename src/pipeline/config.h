// Every option of every stage, grouped by INI section (DESIGN §8). Defaults live here and
// nowhere else; the command line and INI files bind to these fields (src/app/config_options.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.h"
#include "data/datasets.h"
#include "distributed/world.h"
#include "estimate/test_functions.h"
#include "models/divergence.h"
#include "models/mlp_velocity.h"
#include "models/noise_conditional_velocity.h"
#include "models/unet_velocity.h"
#include "sampling/field_samplers.h"
#include "sampling/sampler_options.h"
#include "training/field_training.h"
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
  std::string output;  // empty: runs/<command>-<time>/<command>.h5 (app/run_folder.h)
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
// sample / estimate rebuild it from the same config to load model.path. The network options are
// the models' own; the sample shape and the seed are filled in when a network is made.
struct FlowOptions {
  MlpVelocityOptions mlp = MlpVelocityOptions(0).hidden({256, 256, 256});  // mlp: hidden widths
  int64_t frequencies = 8;  // mlp: Fourier features of t; 0: t as one input
  UNetVelocityOptions unet{std::vector<int64_t>{}};  // unet: levels, attention, blocks, groups
};

// [field]: the noise-conditional field f(y, σ) of model.kind = field (train-flux, MATH §7.1):
// the network of field.network with [flow]'s architecture, used as an RF velocity (MATH §8).
struct FieldOptions {
  ModelKind network = ModelKind::mlp;   // mlp | unet
  FieldNetworkOptions network_options;  // parameterization raw | edm (σ_d), odd symmetry
  double sigma_max = 80.0;  // largest σ: annealed samplers start there, RF at 1/(1 + σ_max)
};

struct ModelOptions {
  ModelKind kind = ModelKind::gmm;
  std::string mixture = "gmm8d";
  // mlp | unet: the checkpoint of train-flow (written by it); torchscript: the module file.
  std::string path;
  // Shape of one sample, e.g. {8} or {1, 28, 28}; empty = from [data] (train-flow) or from the
  // TorchScript module's sample_shape attribute.
  std::vector<int64_t> sample_shape;
  bool ema = true;  // mlp | unet: load the checkpoint's EMA weights (train.ema_decay > 0)
  FlowOptions flow;
  FieldOptions field;
};

struct EvalOptions {
  std::string mixture;    // the mixture whose metrics are computed; "" = model.mixture for gmm
  std::string reference;  // results file whose /samples/x are the coverage radius's z_m; "" = off
};

struct OutputOptions {
  bool samples = false;       // write /samples/x (per-rank shards stitched by a virtual dataset)
  bool trajectories = false;  // write /trajectories/x0 and /x1 (residual training data)
  int64_t paths = 0;  // sets whose whole paths go to /trajectories/paths [n, steps+1, *shape]
};

// The residual velocity r_φ (MATH §5.2): its network and where it comes from and goes to.
struct ResidualOptions {
  std::string data;                          // results file of `sample` with /trajectories/x1
  std::string checkpoint = "residual.ckpt";  // written by train-residual, read by estimate
  std::vector<int64_t> hidden{128, 128};     // widths of the hidden layers
  int64_t groups = 1000;                     // sets drawn as training data by `jointflow run`
};

// [train]: data-parallel training (train-flow, train-residual, train-flux). The optimizer, its
// schedule, the EMA, autocast and checkpoint_every are the Trainer's own options; each stage fills
// in the step count, the checkpoint path and the label.
struct TrainOptions {
  TrainerOptions trainer;
  int64_t batch_size = 1024;  // global batch over all ranks
  int64_t epochs = 100;       // passes over the data (paper A App. E)
  int64_t steps = 0;          // optimizer steps; 0: from epochs
  bool resume = false;        // continue from the checkpoint when it exists
};

enum class WeightKind { trajectory, fixed, none };
const ChoiceTable<WeightKind>& weight_choices();
const ChoiceTable<Quadrature>& quadrature_choices();

// Estimation of E_{p_1}[f] from joint sets with importance weights (MATH §5).
struct EstimateOptions {
  TestFunction function;  // f: its kind, box bounds and moment
  WeightKind weights = WeightKind::trajectory;
  Quadrature quadrature = Quadrature::midpoint;
  DivergenceOptions divergence;  // ∇·r: exact up to a dimension, Hutchinson probes above
  bool per_sample = false;       // write /samples/x and /samples/log_w
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

// [flux]: train-flux (MATH §7, §7.1): data, objective, noise levels and the samples it draws.
enum class FluxDataKind { ring, data };  // paper B's 2-D ring, or the data set of [data]
const ChoiceTable<FluxDataKind>& flux_data_choices();
// The objective (loss, noise levels, horizon, divergence, sensitivity, spiral, KDE batch) and the
// sampler are the training and sampling libraries' own options; the sampler's Langevin σ and
// largest σ follow flux.sigma and field.sigma_max.
struct FluxOptions {
  FluxDataKind dataset = FluxDataKind::ring;
  int64_t ring_examples = 20000;  // ring: N
  FieldTrainingOptions objective;
  FieldSamplerOptions sampler;  // the samples drawn after training
  int64_t samples = 2000;
  int64_t nll_examples = 0;  // training examples whose NLL (bits/dim) is computed
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
  DatasetOptions data;  // [data]; its seed is run.seed (training_dataset)
  EstimateOptions estimate;
  EvaluateOptions evaluate;
  MergeOptions merge;
};

// Checks between options (each option's own range is checked when it is parsed); throws a
// collective Error naming the keys.
void validate_config(const Config& config);

at::ScalarType scalar_type(Precision precision);

}  // namespace jointflow
