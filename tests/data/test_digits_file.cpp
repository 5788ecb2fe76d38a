// scikit-learn's 8×8 digits as shipped by python3-sklearn, malformed CSV rows, and the data sets
// of train-flow on one rank (blocks, classes, resizing, scaling, mixture draws).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "data/datasets.h"
#include "data/digits_file.h"
#include "data/gaussian_mixture.h"
#include "distributed/counter_rng.h"
#include "distributed/local_communicator.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

using testing_support::TempDir;

bool digits_installed() { return std::filesystem::exists(default_digits_path()); }

TEST(Digits, ReadsTheSklearnFile) {
  if (!digits_installed()) GTEST_SKIP() << "python3-sklearn is not installed";
  const LabelledImages digits = read_digits(default_digits_path());
  ASSERT_EQ(digits.images.sizes(), (std::vector<int64_t>{1797, 8, 8}));
  EXPECT_EQ(digits.images.max().item<int64_t>(), 16);
  // The first row of the file: 0,0,5,13,9,1,0,0, ... label 0.
  EXPECT_TRUE(at::equal(digits.images[0][0],
                        at::tensor({0, 0, 5, 13, 9, 1, 0, 0}, at::kLong).to(at::kByte)));
  EXPECT_EQ(digits.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(digits.labels[1].item<int64_t>(), 1);
  EXPECT_EQ(at::bincount(digits.labels).sum().item<int64_t>(), 1797);
  EXPECT_EQ(at::bincount(digits.labels)[0].item<int64_t>(), 178);
}

TEST(Digits, MalformedRowsNameFileAndLine) {
  TempDir dir;
  const std::string path = dir.file("digits.csv");
  std::string good;
  for (int i = 0; i < 64; ++i) good += "1,";
  good += "3\n";
  std::ofstream(path) << good << good.substr(0, good.size() - 4) << "\n";
  try {
    read_digits(path);
    ADD_FAILURE() << "no Error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  }
  std::ofstream(path) << good.replace(0, 1, "17");
  EXPECT_THROW(read_digits(path), Error);
  EXPECT_THROW(read_digits(dir.file("missing.csv.gz")), Error);
}

TEST(Datasets, DigitsClassesSizeAndScale) {
  if (!digits_installed()) GTEST_SKIP() << "python3-sklearn is not installed";
  DatasetOptions options;
  options.kind = DatasetKind::digits;
  options.classes = {0, 1};
  options.size = 4;
  LocalCommunicator comm;
  const Dataset data = load_dataset(options, comm, at::kDouble);
  EXPECT_EQ(data.total, 178 + 182);
  EXPECT_EQ(data.first, 0);
  ASSERT_EQ(data.x.sizes(), (std::vector<int64_t>{360, 1, 4, 4}));
  // 2×2 area averages of pixels p ∈ 0..16 scaled by p/8 − 1.
  const LabelledImages digits = read_digits(default_digits_path());
  const at::Tensor first = digits.images[0].to(at::kDouble) / 8.0 - 1.0;
  EXPECT_NEAR(data.x[0][0][0][1].item<double>(),
              first.narrow(0, 0, 2).narrow(1, 2, 2).mean().item<double>(), 1e-12);
  EXPECT_GE(data.x.min().item<double>(), -1.0);
  EXPECT_LE(data.x.max().item<double>(), 1.0);

  options.examples = 5000;
  EXPECT_THROW(load_dataset(options, comm, at::kDouble), Error);
  options.examples = 0;
  options.size = 9;
  EXPECT_THROW(options.validate(), Error);
}

TEST(Datasets, MixtureDrawsAreKeyedByGlobalIndex) {
  DatasetOptions options;
  options.mixture = "gmm2d";
  options.examples = 50;
  options.seed = 4;
  LocalCommunicator comm;
  const Dataset data = load_dataset(options, comm, at::kDouble);
  EXPECT_EQ(data.sample_shape, (std::vector<int64_t>{2}));
  EXPECT_TRUE(at::equal(
      data.x, sample_mixture(named_mixture("gmm2d"), {4, RandomStream::exact_samples}, 0, 50)));
  options.examples = 0;
  EXPECT_THROW(options.validate(), Error);
}

}  // namespace
}  // namespace jointflow
