// Every option of every stage, grouped by INI section (DESIGN §8). Defaults live here and
// nowhere else; the command line and INI files bind to these fields (src/app/options.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/progress.h"
#include "dist/world.h"
#include "sampling/sampler_options.h"

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
  bool samples = false;  // write /samples/x (per-rank shards stitched by a virtual dataset)
};

struct Config {
  RunOptions run;
  ModelOptions model;
  SamplerOptions sampler;
  EvalOptions eval;
  OutputOptions output;
};

at::ScalarType scalar_type(Precision precision);

}  // namespace jointflow
