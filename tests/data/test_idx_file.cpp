// The IDX reader on small gzip files written here: a round trip, and every kind of damage (wrong
// magic, implausible header, missing or extra bytes, a cut or corrupted gzip stream, no file)
// is an Error naming the file. Fashion-MNIST itself when dataset-fashion-mnist is installed.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/datasets.h"
#include "data/idx_file.h"
#include "distributed/local_communicator.h"
#include "support/expect_error.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

using testing_support::expect_error;

using testing_support::TempDir;

// Big-endian IDX header: magic 0x0000 08 <dims>, then the extents.
std::vector<unsigned char> idx_header(int dims, const std::vector<uint32_t>& extents) {
  std::vector<unsigned char> bytes{0, 0, 0x08, static_cast<unsigned char>(dims)};
  for (const uint32_t extent : extents)
    for (int shift = 24; shift >= 0; shift -= 8)
      bytes.push_back(static_cast<unsigned char>(extent >> shift));
  return bytes;
}

void write_gzip(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class IdxFile : public testing::Test {
 protected:
  // Three 2×4 images with pixel value 10·i + j; labels 7, 0, 3.
  std::vector<unsigned char> images() const {
    std::vector<unsigned char> bytes = idx_header(3, {3, 2, 4});
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 8; ++j) bytes.push_back(static_cast<unsigned char>(10 * i + j));
    return bytes;
  }
  std::vector<unsigned char> labels() const {
    std::vector<unsigned char> bytes = idx_header(1, {3});
    for (const unsigned char label : {7, 0, 3}) bytes.push_back(label);
    return bytes;
  }
  TempDir dir_;
};

TEST_F(IdxFile, RoundTripOfImagesAndLabels) {
  const std::string image_path = dir_.file("images.gz"), label_path = dir_.file("labels.gz");
  write_gzip(image_path, images());
  write_gzip(label_path, labels());
  const at::Tensor x = read_idx_images(image_path);
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{3, 2, 4}));
  EXPECT_EQ(x.scalar_type(), at::kByte);
  const at::Tensor expected =
      (10 * at::arange(3, at::kLong).view({3, 1, 1}) + at::arange(8, at::kLong).view({1, 2, 4}))
          .to(at::kByte);
  EXPECT_TRUE(at::equal(x, expected));
  EXPECT_TRUE(at::equal(read_idx_labels(label_path), at::tensor({7, 0, 3}, at::kLong)));
}

TEST_F(IdxFile, DamagedHeadersAndBodiesAreErrorsNamingTheFile) {
  const std::string path = dir_.file("bad.gz");
  write_gzip(path, labels());
  expect_error([&] { read_idx_images(path); }, {path, "magic number", "0x801"});
  std::vector<unsigned char> short_body = images();
  short_body.resize(short_body.size() - 5);
  write_gzip(path, short_body);
  expect_error([&] { read_idx_images(path); }, {path, "truncated", "24 bytes", "19"});
  std::vector<unsigned char> long_body = images();
  long_body.push_back(1);
  write_gzip(path, long_body);
  expect_error([&] { read_idx_images(path); }, {path, "bytes after the 3 items"});
  write_gzip(path, idx_header(3, {0, 28, 28}));
  expect_error([&] { read_idx_images(path); }, {path, "0 images", "header is corrupt"});
  write_gzip(path, {0, 0, 8});
  expect_error([&] { read_idx_labels(path); }, {path, "truncated", "header"});
  expect_error([&] { read_idx_images(dir_.file("missing.gz")); },
               {dir_.file("missing.gz"), "does not exist"});
}

TEST_F(IdxFile, CutOrCorruptedGzipStreamsAreErrors) {
  // Enough incompressible-looking bytes that the compressed stream is long.
  std::vector<unsigned char> bytes = idx_header(3, {64, 16, 16});
  for (int i = 0; i < 64 * 256; ++i) bytes.push_back(static_cast<unsigned char>((i * 7919) >> 3));
  const std::string good = dir_.file("good.gz");
  write_gzip(good, bytes);
  const std::string compressed = read_bytes(good);
  ASSERT_GT(compressed.size(), 200u);

  const std::string cut = dir_.file("cut.gz");
  std::ofstream(cut, std::ios::binary) << compressed.substr(0, compressed.size() / 2);
  expect_error([&] { read_idx_images(cut); }, {cut, "truncated"});

  std::string damaged = compressed;
  for (size_t i = 40; i < 80; ++i) damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
  const std::string corrupt = dir_.file("corrupt.gz");
  std::ofstream(corrupt, std::ios::binary) << damaged;
  expect_error([&] { read_idx_images(corrupt); }, {corrupt});
}

TEST_F(IdxFile, MissingFashionMnistNamesThePackage) {
  DatasetOptions options;
  options.kind = DatasetKind::fashion_mnist;
  options.path = dir_.file("nowhere");
  LocalCommunicator comm;
  expect_error([&] { load_dataset(options, comm, at::kFloat); },
               {options.path, "dataset-fashion-mnist", "data.path"});
}

TEST(FashionMnist, TestSplitLoadsScaledAndResized) {
  const std::string dir = default_fashion_mnist_dir();
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (" << dir << ")";
  const at::Tensor labels = read_idx_labels(dir + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(labels.numel(), 10000);
  EXPECT_TRUE(at::equal(at::bincount(labels), at::full({10}, 1000, at::kLong)));

  DatasetOptions options;
  options.kind = DatasetKind::fashion_mnist;
  options.split = DataSplit::test;
  options.classes = {1, 7};  // trousers and sneakers
  options.size = 14;
  LocalCommunicator comm;
  const Dataset data = load_dataset(options, comm, at::kFloat);
  EXPECT_EQ(data.total, 2000);
  EXPECT_EQ(data.x.sizes(), (std::vector<int64_t>{2000, 1, 14, 14}));
  EXPECT_EQ(data.sample_shape, (std::vector<int64_t>{1, 14, 14}));
  EXPECT_GE(data.x.min().item<double>(), -1.0);
  EXPECT_LE(data.x.max().item<double>(), 1.0);
  // Area resizing keeps the mean brightness.
  const at::Tensor images = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
  const at::Tensor kept =
      images.index_select(0, at::isin(labels, at::tensor({1, 7})).nonzero().flatten());
  EXPECT_NEAR(data.x.mean().item<double>(),
              kept.to(at::kDouble).mean().item<double>() / 127.5 - 1.0, 1e-5);
}

}  // namespace
}  // namespace jointflow
