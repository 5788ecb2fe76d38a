// Sampling throughput of the joint sampler on the analytic gmm8d flow (paper A Table 1 setting),
// as JSON lines: one per configuration (median of interleaved repetitions) and one per ratio.
// Not a ctest test (timings are not assertions); run by hand, on a quiet machine, and record the
// output in docs/performance.md.
//
// Sample runs:
//   build/tests/benchmarks/bench_sampler
//   build/tests/benchmarks/bench_sampler --sets 2000 --repetitions 5
//   build/tests/benchmarks/bench_sampler --objectives dpp,pg,logbarrier --threads 2
//   build/tests/benchmarks/bench_sampler --device cuda --dtype float32 --batch-groups 10000
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_options.h"
#include "core/error.h"
#include "core/timer.h"
#include "distributed/local_communicator.h"
#include "models/mixture_flow.h"
#include "sampling/joint_sampler.h"

namespace jointflow {
namespace {

struct BenchOptions {
  int64_t sets = 10000;
  int64_t group_size = 10;
  int64_t steps = 100;
  int64_t repetitions = 3;
  int64_t threads = 1;
  int64_t batch_groups = 128;
  std::vector<std::string> objectives;
  std::string device = "cpu";
  std::string dtype = "float64";
};

BenchOptions parse_arguments(int argc, char** argv) {
  BenchOptions options;
  std::string objectives = "dpp";
  boost::program_options::options_description description("options");
  description.add_options()("sets", bench::positive(&options.sets, "sets"),
                            "joint sets per configuration")(
      "group-size", bench::positive(&options.group_size, "group-size"), "K, members per set")(
      "steps", bench::positive(&options.steps, "steps"), "Euler steps")(
      "repetitions", bench::positive(&options.repetitions, "repetitions"),
      "interleaved repetitions (the median is reported)")(
      "threads", bench::positive(&options.threads, "threads"), "LibTorch threads")(
      "batch-groups", bench::positive(&options.batch_groups, "batch-groups"), "sets per batch")(
      "objectives", boost::program_options::value(&objectives)->default_value(objectives),
      "coupled objectives, comma-separated; IID always runs")(
      "device", boost::program_options::value(&options.device)->default_value(options.device),
      "cpu or cuda (GPU 0)")(
      "dtype", boost::program_options::value(&options.dtype)->default_value(options.dtype),
      "float64 or float32");
  bench::parse_command_line(
      argc, argv,
      "usage: bench_sampler [options]\n"
      "Times IID and, for each objective, sr = none, soft, hard; prints JSON lines.\n",
      description);
  options.objectives = bench::split_commas(objectives);
  JF_CHECK(options.device == "cpu" || options.device == "cuda", "--device must be cpu or cuda");
  JF_CHECK(options.dtype == "float64" || options.dtype == "float32",
           "--dtype must be float64 or float32");
  return options;
}

struct Timing {
  double wall = 0;
  double cpu = 0;  // process CPU time: robust to other load when threads = 1
};

struct Case {
  Objective objective;
  ScoreRegularization sr;
  std::vector<double> seconds;
  std::vector<double> cpu_seconds;

  std::string name() const {
    return choice_name(objective, objective_choices()) + "+" +
           choice_name(sr, score_regularization_choices());
  }
};

// Wall and CPU time of one full run: every set, in batches, as `jointflow sample` integrates them.
// On CUDA the clock stops once the last batch's final states have reached the host.
Timing time_run(const MixtureFlow& flow, const BenchOptions& bench, const Case& c,
                at::ScalarType dtype, at::Device device) {
  SamplerOptions options;
  options.objective = c.objective;
  options.sr = c.sr;
  options.steps = bench.steps;
  options.group_size = bench.group_size;
  options.groups = bench.sets;
  LocalCommunicator comm;
  const JointSampler sampler(flow, options, comm, dtype, device);
  const Stopwatch clock;
  const std::clock_t cpu_start = std::clock();
  at::Tensor last;
  for (int64_t first = 0; first < bench.sets; first += bench.batch_groups) {
    const int64_t n = std::min(bench.batch_groups, bench.sets - first);
    const GroupLayout layout = make_group_layout(first, n, bench.group_size, 1, 0);
    last = sampler.sample(layout, {1, RandomStream::initial_noise}).x1;
  }
  last.to(at::kCPU);
  return {clock.seconds(), static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC};
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The 1-minute load average, so that a reader can tell a quiet machine from a busy one.
double load_average() {
  std::ifstream file("/proc/loadavg");
  double load = -1;
  file >> load;
  return load;
}

int run(int argc, char** argv) {
  const BenchOptions bench = parse_arguments(argc, argv);
  at::set_num_threads(static_cast<int>(bench.threads));
  const at::ScalarType dtype = bench.dtype == "float32" ? at::kFloat : at::kDouble;
  const at::Device device = bench.device == "cuda" ? at::Device(at::kCUDA, 0) : at::kCPU;
  const MixtureFlow flow(named_mixture("gmm8d"), dtype, device);
  std::vector<Case> cases{{Objective::iid, ScoreRegularization::none, {}, {}}};
  for (const std::string& name : bench.objectives) {
    const Objective objective = parse_choice("--objectives", name, objective_choices());
    JF_CHECK(objective != Objective::iid, "--objectives lists coupled objectives; iid always runs");
    for (ScoreRegularization sr :
         {ScoreRegularization::none, ScoreRegularization::soft, ScoreRegularization::hard})
      cases.push_back({objective, sr, {}, {}});
  }
  const double load_before = load_average();
  for (int64_t repetition = 0; repetition < bench.repetitions; ++repetition)
    for (Case& c : cases) {
      const Timing timing = time_run(flow, bench, c, dtype, device);
      c.seconds.push_back(timing.wall);
      c.cpu_seconds.push_back(timing.cpu);
    }
  const double load_after = load_average();

  const double member_steps = static_cast<double>(bench.sets * bench.group_size * bench.steps);
  for (const Case& c : cases) {
    const double seconds = median(c.seconds);
    std::cout << "{\"bench\": \"sampler\", \"objective\": \""
              << choice_name(c.objective, objective_choices()) << "\", \"sr\": \""
              << choice_name(c.sr, score_regularization_choices()) << "\", \"sets\": " << bench.sets
              << ", \"K\": " << bench.group_size << ", \"steps\": " << bench.steps
              << ", \"member_steps_per_s\": " << member_steps / seconds
              << ", \"seconds\": " << seconds << ", \"cpu_seconds\": " << median(c.cpu_seconds)
              << ", \"threads\": " << bench.threads << ", \"batch_groups\": " << bench.batch_groups
              << ", \"repetitions\": " << bench.repetitions << ", \"dtype\": \"" << bench.dtype
              << "\", \"device\": \"" << bench.device << "\""
              << ", \"load_before\": " << load_before << ", \"load_after\": " << load_after
              << "}\n";
  }
  // Time ratios: each coupled case against IID, and SR against the same objective without it;
  // by wall time and by CPU time (the latter unaffected by other processes on a shared machine).
  auto ratio = [&](const Case& numerator, const Case& denominator) {
    std::cout << "{\"bench\": \"sampler_ratio\", \"numerator\": \"" << numerator.name()
              << "\", \"denominator\": \"" << denominator.name()
              << "\", \"time_ratio\": " << median(numerator.seconds) / median(denominator.seconds)
              << ", \"cpu_time_ratio\": "
              << median(numerator.cpu_seconds) / median(denominator.cpu_seconds) << "}\n";
  };
  for (size_t i = 1; i < cases.size(); ++i) ratio(cases[i], cases[0]);
  for (size_t i = 1; i < cases.size(); i += 3) {
    ratio(cases[i + 1], cases[i]);
    ratio(cases[i + 2], cases[i]);
  }
  return 0;
}

}  // namespace
}  // namespace jointflow

int main(int argc, char** argv) {
  try {
    return jointflow::run(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "bench_sampler: " << error.what() << '\n';
    return 1;
  }
}
