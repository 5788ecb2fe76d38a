// Training cost of Flux Matching against DSM on the same network, batch and noise schedule
// (paper B Table 1: Flux Matching costs 3–4× the time and 2–3× the memory of DSM; MATH §7.1),
// as JSON lines: one per loss (median over interleaved repetitions) and one with the ratios.
// On the CPU each measurement runs in a forked child, so that its peak resident memory (minus
// that of a child which builds the same model and batch but takes no step) is the training
// memory of that loss alone; on CUDA the caching allocator's peak is used instead. Not a ctest
// test (timings are not assertions); run by hand, on a quiet machine, and record the output in
// docs/performance.md.
//
// Sample runs:
//   build/tests/benchmarks/bench_flux
//   build/tests/benchmarks/bench_flux --network unet --shape 1,28,28 --batch 32 --steps 3
//   build/tests/benchmarks/bench_flux --network mlp --shape 2 --batch 512 --steps 20
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#ifdef JF_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "bench_options.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/timer.h"
#include "distributed/counter_rng.h"
#include "distributed/local_communicator.h"
#include "models/mlp_velocity.h"
#include "models/unet_velocity.h"
#include "training/field_training.h"
#include "training/field_training_closure.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"

namespace jointflow {
namespace {

struct BenchOptions {
  std::string network = "unet";
  std::vector<int64_t> shape;
  int64_t batch = 32;
  int64_t steps = 3;
  int64_t repetitions = 3;
  int64_t threads = 1;
  int64_t channels = 32;
  std::string device = "cpu";
};

BenchOptions parse_arguments(int argc, char** argv) {
  namespace po = boost::program_options;
  BenchOptions options;
  std::string shape = "1,28,28";
  po::options_description description("options");
  description.add_options()("network", po::value(&options.network)->default_value(options.network),
                            "unet or mlp")("shape", po::value(&shape)->default_value(shape),
                                           "C,H,W for unet, d for mlp")(
      "batch", bench::positive(&options.batch, "batch"), "examples per step")(
      "steps", bench::positive(&options.steps, "steps"), "timed steps after one warm-up step")(
      "repetitions", bench::positive(&options.repetitions, "repetitions"),
      "interleaved repetitions per loss (the median is reported)")(
      "threads", bench::positive(&options.threads, "threads"), "LibTorch threads")(
      "channels", bench::positive(&options.channels, "channels"), "UNet base channels")(
      "device", po::value(&options.device)->default_value(options.device), "cpu or cuda");
  bench::parse_command_line(
      argc, argv,
      "usage: bench_flux [options]\n"
      "Times N training steps (after one warm-up step) of Flux Matching and of DSM on the same\n"
      "network and batch, R interleaved repetitions each; prints JSON lines.\n",
      description);
  options.shape = bench::split_integers(shape, "shape");
  JF_CHECK(options.network == "unet" || options.network == "mlp", "--network must be unet or mlp");
  JF_CHECK(options.device == "cpu" || options.device == "cuda", "--device must be cpu or cuda");
  JF_CHECK((options.network == "unet" && options.shape.size() == 3) ||
               (options.network == "mlp" && options.shape.size() == 1),
           "--shape must be C,H,W for unet and d for mlp");
  return options;
}

// The field of paper B's image experiments: the network with EDM preconditioning (MATH §7.1).
FluxModel make_model(const BenchOptions& bench, at::Device device) {
  FieldNetworkOptions field_options;
  field_options.parameterization(FieldParameterization::edm);
  FluxModel model{nullptr};
  if (bench.network == "unet") {
    UNetVelocity unet(UNetVelocityOptions(bench.shape).channels(bench.channels).seed(1));
    model = FluxModel(FieldNetwork(unet, field_options), 2);
  } else {
    MlpVelocity mlp(MlpVelocityOptions(bench.shape[0]).seed(1));
    model = FluxModel(FieldNetwork(mlp, field_options), 2);
  }
  model->to(device, at::kFloat);
  return model;
}

struct Measurement {
  double seconds_per_step = 0.0;
  double peak_bytes = 0.0;  // CPU: peak resident set of the child; CUDA: allocator peak
};

// Builds the model, trainer and batches; with `loss` runs one warm-up step and `steps` timed
// steps. steps = 0 measures the baseline memory of everything but the steps.
Measurement measure(const BenchOptions& bench, FieldLoss loss, int64_t steps) {
  at::set_num_threads(static_cast<int>(bench.threads));
  const at::Device device = bench.device == "cuda" ? at::Device(at::kCUDA, 0) : at::kCPU;
  FluxModel model = make_model(bench, device);
  int64_t d = 1;
  for (const int64_t extent : bench.shape) d *= extent;
  std::vector<int64_t> data_shape{4 * bench.batch};
  data_shape.insert(data_shape.end(), bench.shape.begin(), bench.shape.end());
  const at::Tensor data =
      at::clamp(counter_normal({1, RandomStream::exact_samples}, 0, 4 * bench.batch, d), -1.0, 1.0)
          .to(device, at::kFloat)
          .view(data_shape);
  LocalCommunicator comm;
  ShardedBatches batches(data, 0, ShardedBatchesOptions(4 * bench.batch, bench.batch), comm);
  Trainer trainer(*model, comm,
                  TrainerOptions()
                      .optimizer(OptimizerKind::adam)
                      .lr(1e-4)
                      .weight_decay(0)
                      .clip_norm(1.0)
                      .ema_decay(0.9993)
                      .steps(steps + 1)
                      .log_every(0)
                      .progress(ProgressMode::off),
                  "bench");
  NoiseLevelOptions noise;
  noise.schedule(NoiseSchedule::edm);
  FieldTrainingOptions options;
  options.loss(loss).noise(noise).horizon(HorizonKind::learned);
  const LossClosure closure = field_training_closure(*model, batches, options, 3);
  Measurement result;
#ifdef JF_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(0);
#endif
  // Reading a parameter back waits for the device's queued work.
  const auto wait = [&] { model->parameters().front().sum().item<double>(); };
  if (steps > 0) {
    trainer.step(closure);
    wait();
    const Stopwatch clock;
    for (int64_t s = 0; s < steps; ++s) trainer.step(closure);
    wait();
    result.seconds_per_step = clock.seconds() / static_cast<double>(steps);
  }
#ifdef JF_WITH_CUDA
  if (device.is_cuda())
    result.peak_bytes = static_cast<double>(
        c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak);
#endif
  if (!device.is_cuda()) {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    result.peak_bytes = static_cast<double>(usage.ru_maxrss) * 1024.0;
  }
  return result;
}

// measure() in a forked child (CPU), so that the peak resident memory is this case's alone.
Measurement measure_in_child(const BenchOptions& bench, FieldLoss loss, int64_t steps) {
  int pipe_ends[2];
  JF_CHECK(pipe(pipe_ends) == 0, "bench_flux: pipe() failed");
  const pid_t child = fork();
  JF_CHECK(child >= 0, "bench_flux: fork() failed");
  if (child == 0) {
    close(pipe_ends[0]);
    Measurement result;
    int status = 0;
    try {
      result = measure(bench, loss, steps);
    } catch (const std::exception& error) {
      std::cerr << "bench_flux (child): " << error.what() << '\n';
      status = 1;
    }
    const ssize_t written = write(pipe_ends[1], &result, sizeof result);
    _exit(written == static_cast<ssize_t>(sizeof result) ? status : 1);
  }
  close(pipe_ends[1]);
  Measurement result;
  const ssize_t got = read(pipe_ends[0], &result, sizeof result);
  close(pipe_ends[0]);
  int status = 0;
  waitpid(child, &status, 0);
  JF_CHECK(
      got == static_cast<ssize_t>(sizeof result) && WIFEXITED(status) && WEXITSTATUS(status) == 0,
      "bench_flux: a measurement failed (see the child's message above)");
  return result;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double load_average() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  file >> load;
  return load;
}

int run(int argc, char** argv) {
  const BenchOptions bench = parse_arguments(argc, argv);
  log::configure(0, log::Level::quiet);
  const bool cuda = bench.device == "cuda";
  auto take = [&](FieldLoss loss, int64_t steps) {
    return cuda ? measure(bench, loss, steps) : measure_in_child(bench, loss, steps);
  };
  const double load_before = load_average();
  // The baseline: model, optimizer, EMA and batches without a step (CPU: resident memory).
  const double baseline = cuda ? 0.0 : take(FieldLoss::dsm, 0).peak_bytes;
  std::vector<double> seconds[2], peaks[2];
  const FieldLoss losses[2] = {FieldLoss::flux, FieldLoss::dsm};
  for (int64_t r = 0; r < bench.repetitions; ++r)
    for (int i = 0; i < 2; ++i) {
      const Measurement m = take(losses[i], bench.steps);
      seconds[i].push_back(m.seconds_per_step);
      peaks[i].push_back(m.peak_bytes - baseline);
    }
  const double load_after = load_average();
  std::string shape;
  for (const int64_t extent : bench.shape)
    shape += (shape.empty() ? "" : ",") + std::to_string(extent);
  for (int i = 0; i < 2; ++i)
    std::cout << "{\"bench\": \"flux_training\", \"loss\": \""
              << choice_name(losses[i], field_loss_choices()) << "\", \"network\": \""
              << bench.network << "\", \"shape\": \"" << shape << "\", \"batch\": " << bench.batch
              << ", \"device\": \"" << bench.device
              << "\", \"seconds_per_step\": " << median(seconds[i])
              << ", \"steps_per_s\": " << 1.0 / median(seconds[i])
              << ", \"training_memory_mb\": " << median(peaks[i]) / (1 << 20)
              << ", \"baseline_mb\": " << baseline / (1 << 20) << ", \"steps\": " << bench.steps
              << ", \"repetitions\": " << bench.repetitions << ", \"threads\": " << bench.threads
              << ", \"load_before\": " << load_before << ", \"load_after\": " << load_after
              << "}\n";
  std::cout << "{\"bench\": \"flux_training_ratio\", \"network\": \"" << bench.network
            << "\", \"batch\": " << bench.batch
            << ", \"time_ratio\": " << median(seconds[0]) / median(seconds[1])
            << ", \"memory_ratio\": " << median(peaks[0]) / median(peaks[1])
            << ", \"paper_time_ratio\": \"3-4\", \"paper_memory_ratio\": \"2-3\"}\n";
  return 0;
}

}  // namespace
}  // namespace jointflow

int main(int argc, char** argv) {
  try {
    return jointflow::run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "bench_flux: " << error.what() << '\n';
    return 1;
  }
}
