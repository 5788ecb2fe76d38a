// A PyTorch velocity field brought in as TorchScript: tests/golden/export_torchscript_flow.py
// scripts a small module, and jointflow's velocities and IID Euler samples (JointSampler, the
// initial noise of member ids) must match PyTorch's to 1e-5 in float32. Skipped when
// /usr/bin/python3 lacks torch or h5py.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../io/python_check.h"
#include "core/error.h"
#include "core/log.h"
#include "distributed/counter_rng.h"
#include "distributed/local_communicator.h"
#include "io/result_file.h"
#include "models/torchscript_velocity.h"
#include "sampling/joint_sampler.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

using testing_support::run_command;
using testing_support::TempDir;

constexpr int64_t kDim = 3;
constexpr int64_t kSteps = 40;
constexpr int64_t kGroups = 5;
constexpr int64_t kGroupSize = 4;
constexpr uint64_t kSeed = 21;

// Python runs once for the suite (importing torch takes seconds); every test reads its files.
class TorchScriptVelocityTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::configure(0, log::Level::quiet);
    if (run_command("/usr/bin/python3 -c 'import torch, h5py'").status != 0) {
      skip_reason_ =
          "/usr/bin/python3 with torch and h5py (python3-torch, python3-h5py) is "
          "needed to export the TorchScript module";
      return;
    }
    dir_ = new TempDir();
    x_ = at::linspace(-2.0, 2.0, 16 * kDim, at::kFloat).reshape({16, kDim}).sin() * 2.0;
    t_ = at::linspace(0.0, 0.95, 16, at::kFloat);
    x0_ = counter_normal({kSeed, RandomStream::initial_noise}, 0, kGroups * kGroupSize, kDim)
              .to(at::kFloat);
    ResultFile inputs(dir_->file("inputs.h5"));
    inputs.write_tensor("/x", x_);
    inputs.write_tensor("/t", t_);
    inputs.write_tensor("/x0", x0_);
    inputs.set_attribute("steps", kSteps);
    inputs.commit();
    const std::string script =
        std::string(std::getenv("JF_SOURCE_DIR")) + "/tests/golden/export_torchscript_flow.py";
    python_ = run_command("/usr/bin/python3 '" + script + "' '" + dir_->path() + "'");
    if (python_.status != 0) return;
    const ResultReader reference(dir_->file("reference.h5"));
    v_reference_ = reference.read_tensor("/v");
    x1_reference_ = reference.read_tensor("/x1");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_EQ(python_.status, 0) << python_.output;
  }

  static std::string skip_reason_;
  static testing_support::CommandResult python_;
  static TempDir* dir_;
  static at::Tensor x_, t_, x0_, v_reference_, x1_reference_;
};

std::string TorchScriptVelocityTest::skip_reason_;
testing_support::CommandResult TorchScriptVelocityTest::python_;
TempDir* TorchScriptVelocityTest::dir_ = nullptr;
at::Tensor TorchScriptVelocityTest::x_, TorchScriptVelocityTest::t_, TorchScriptVelocityTest::x0_,
    TorchScriptVelocityTest::v_reference_, TorchScriptVelocityTest::x1_reference_;

TEST_F(TorchScriptVelocityTest, VelocitiesAndSamplesMatchPyTorch) {
  const TorchScriptVelocity field(dir_->file("flow.pt"), {}, at::kFloat, at::kCPU);
  EXPECT_EQ(field.sample_shape(), (std::vector<int64_t>{kDim}));
  const at::Tensor v = field.velocity(x_, t_);
  EXPECT_LE((v - v_reference_).abs().max().item<double>(), 1e-5);
  // One time for all rows is expanded.
  EXPECT_TRUE(at::allclose(field.velocity(x_, at::scalar_tensor(0.25)),
                           field.velocity(x_, at::full({16}, 0.25)), 0, 0));

  SamplerOptions options;
  options.steps = kSteps;
  options.group_size = kGroupSize;
  options.groups = kGroups;
  LocalCommunicator comm;
  const JointSampler sampler(field, options, comm, at::kFloat, at::kCPU);
  const SampledBlock block = sampler.sample(make_group_layout(0, kGroups, kGroupSize, 1, 0),
                                            {kSeed, RandomStream::initial_noise});
  EXPECT_TRUE(at::equal(block.x0, x0_));
  EXPECT_LE((block.x1 - x1_reference_).abs().max().item<double>(), 1e-5);
}

TEST_F(TorchScriptVelocityTest, Float64AndGradientsInX) {
  const TorchScriptVelocity field(dir_->file("flow.pt"), {kDim}, at::kDouble, at::kCPU);
  const at::Tensor x = x_.to(at::kDouble).requires_grad_(true);
  const at::Tensor v = field.velocity(x, t_.to(at::kDouble));
  EXPECT_EQ(v.scalar_type(), at::kDouble);
  EXPECT_LE((v.detach() - v_reference_.to(at::kDouble)).abs().max().item<double>(), 1e-5);
  v.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(at::isfinite(x.grad()).all().item<bool>());
}

TEST_F(TorchScriptVelocityTest, ErrorsNameTheFile) {
  const std::string missing = dir_->file("missing.pt");
  try {
    TorchScriptVelocity(missing, {}, at::kFloat, at::kCPU);
    ADD_FAILURE() << "no Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(missing), std::string::npos) << error.what();
  }
  const std::string not_a_module = dir_->file("inputs.h5");
  EXPECT_THROW(TorchScriptVelocity(not_a_module, {}, at::kFloat, at::kCPU), Error);
  const TorchScriptVelocity wrong_shape(dir_->file("flow.pt"), {2}, at::kFloat, at::kCPU);
  EXPECT_THROW(wrong_shape.velocity(at::zeros({4, 2}), at::scalar_tensor(0.5)), Error);
}

}  // namespace
}  // namespace jointflow
