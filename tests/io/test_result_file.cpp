// ResultFile / ResultReader: round trips, atomic commit, errors and h5py readability.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/python_check.h"
#include "io/result_file.h"
#include "support/expect_error.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

using testing_support::expect_error;

namespace fs = std::filesystem;
using testing_support::TempDir;

// A tensor of `dtype` and `shape` whose values identify their position.
at::Tensor pattern(at::ScalarType dtype, at::IntArrayRef shape) {
  const at::Tensor values = at::arange(c10::multiply_integers(shape), at::kDouble).reshape(shape);
  if (dtype == at::kBool) return values.remainder(3).eq(1);
  if (dtype == at::kByte) return values.remainder(251).to(dtype);
  return (values * 1.5 - 7).to(dtype);
}

TEST(ResultFile, AttributesRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("attributes.h5");
  const std::string config = "[sampler]\nsteps = 50\nlabel = σ-schedule ✓\n";
  {
    ResultFile file(path);
    file.set_attribute("config", config);
    file.set_attribute("version", std::string("0.1.0"));
    file.set_attribute("seed", int64_t{-(int64_t{1} << 40)});
    file.set_attribute("world_size", 3);           // int, through the integer template
    file.set_attribute("steps", uint64_t{12345});  // unsigned 64-bit
    file.set_attribute("wall_time", 12.25);
    file.set_attribute("wall_time", 13.5);  // replaces
    file.write_scalar("/metrics/log_p", -1.0);
    file.set_attribute("unit", std::string("nats"), "/metrics/log_p");
    file.set_attribute("count", int64_t{7}, "/metrics");
    file.commit();
  }
  ResultReader reader(path);
  EXPECT_EQ(reader.string_attribute("config"), config);
  EXPECT_EQ(reader.string_attribute("version"), "0.1.0");
  EXPECT_EQ(reader.int_attribute("seed"), -(int64_t{1} << 40));
  EXPECT_EQ(reader.int_attribute("world_size"), 3);
  EXPECT_EQ(reader.int_attribute("steps"), 12345);
  EXPECT_EQ(reader.double_attribute("wall_time"), 13.5);
  EXPECT_EQ(reader.double_attribute("world_size"), 3.0);  // integers read as numbers too
  EXPECT_EQ(reader.string_attribute("unit", "/metrics/log_p"), "nats");
  EXPECT_EQ(reader.int_attribute("count", "/metrics"), 7);
  expect_error([&] { reader.int_attribute("missing"); }, {"'missing'", path, "not found"});
  expect_error([&] { reader.int_attribute("config"); }, {"'config'", path, "not an integer"});
  expect_error([&] { reader.string_attribute("seed"); }, {"'seed'", "not a string"});
  expect_error([&] { reader.string_attribute("x", "/nowhere"); }, {"/nowhere", "not found"});
}

TEST(ResultFile, ScalarsRoundTripWithIntermediateGroups) {
  TempDir dir;
  const std::string path = dir.file("scalars.h5");
  {
    ResultFile file(path);
    file.write_scalar("/metrics/deep/group/rmse", 0.125);
    file.write_scalar("top", -3.5);
    file.commit();
  }
  ResultReader reader(path);
  EXPECT_TRUE(reader.exists("/metrics"));
  EXPECT_TRUE(reader.exists("/metrics/deep/group/rmse"));
  EXPECT_FALSE(reader.exists("/metrics/deep/other"));
  EXPECT_FALSE(reader.exists("/metrics/deep/group/rmse/below"));
  EXPECT_EQ(reader.read_scalar("/metrics/deep/group/rmse"), 0.125);
  EXPECT_EQ(reader.read_scalar("/top"), -3.5);
  EXPECT_TRUE(reader.shape("/top").empty());
}

TEST(ResultFile, TensorsOfEveryDtypeAndRankRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("tensors.h5");
  const std::vector<at::ScalarType> dtypes{at::kDouble, at::kFloat, at::kLong,
                                           at::kInt,    at::kByte,  at::kBool};
  const std::vector<std::vector<int64_t>> shapes{{}, {5}, {3, 4}, {2, 3, 4}, {0}, {0, 3}};
  auto name = [](at::ScalarType dtype, size_t shape) {
    return "/tensors/" + std::string(c10::toString(dtype)) + "/" + std::to_string(shape);
  };
  {
    ResultFile file(path);
    for (const at::ScalarType dtype : dtypes)
      for (size_t s = 0; s < shapes.size(); ++s)
        file.write_tensor(name(dtype, s), pattern(dtype, shapes[s]));
    file.write_tensor("/transposed", pattern(at::kDouble, {3, 4}).t());
    file.commit();
  }
  ResultReader reader(path);
  for (const at::ScalarType dtype : dtypes) {
    for (size_t s = 0; s < shapes.size(); ++s) {
      const at::Tensor expected =
          pattern(dtype, shapes[s]).to(dtype == at::kBool ? at::kByte : dtype);
      const at::Tensor actual = reader.read_tensor(name(dtype, s));
      EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name(dtype, s);
      EXPECT_EQ(actual.sizes(), expected.sizes()) << name(dtype, s);
      EXPECT_TRUE(actual.equal(expected)) << name(dtype, s);
      EXPECT_EQ(reader.shape(name(dtype, s)), shapes[s]);
    }
  }
  EXPECT_TRUE(reader.read_tensor("/transposed").equal(pattern(at::kDouble, {3, 4}).t()));
}

// Layout and filters of a dataset, read with the HDF5 C API.
struct Layout {
  H5D_layout_t layout = H5D_LAYOUT_ERROR;
  int filters = 0;
};

Layout layout_of(const std::string& path, const std::string& dataset_path) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t dataset = H5Dopen2(file, dataset_path.c_str(), H5P_DEFAULT);
  const hid_t dcpl = H5Dget_create_plist(dataset);
  const Layout result{H5Pget_layout(dcpl), H5Pget_nfilters(dcpl)};
  H5Pclose(dcpl);
  H5Dclose(dataset);
  H5Fclose(file);
  return result;
}

TEST(ResultFile, LargeTensorIsChunkedCompressedAndChecksummedAndReadsByRows) {
  TempDir dir;
  const std::string path = dir.file("large.h5");
  const at::Tensor large = pattern(at::kDouble, {40000, 3});  // 960 kB
  const at::Tensor small = pattern(at::kFloat, {100, 2});
  {
    ResultFile file(path);
    file.write_tensor("/samples/large", large);
    file.write_tensor("/samples/small", small);
    file.commit();
  }
  EXPECT_EQ(layout_of(path, "/samples/large").layout, H5D_CHUNKED);
  EXPECT_EQ(layout_of(path, "/samples/large").filters, 3);  // shuffle, deflate, Fletcher-32
  EXPECT_EQ(layout_of(path, "/samples/small").layout, H5D_CONTIGUOUS);
  EXPECT_LT(fs::file_size(path), static_cast<uintmax_t>(large.nbytes()) / 2);

  ResultReader reader(path);
  EXPECT_TRUE(reader.read_tensor("/samples/large").equal(large));
  EXPECT_TRUE(reader.read_rows("/samples/large", 12345, 20000).equal(large.slice(0, 12345, 32345)));
  EXPECT_TRUE(reader.read_rows("/samples/small", 99, 1).equal(small.slice(0, 99, 100)));
  EXPECT_EQ(reader.read_rows("/samples/small", 100, 0).sizes(), (std::vector<int64_t>{0, 2}));
  expect_error([&] { reader.read_rows("/samples/small", 90, 11); },
               {"[90, 101)", "/samples/small", path, "100 rows"});
  expect_error([&] { reader.read_rows("/samples/small", -1, 1); }, {"/samples/small"});
}

TEST(ResultFile, AppendRowsGrowsADataset) {
  TempDir dir;
  const std::string path = dir.file("append.h5");
  const at::Tensor all = pattern(at::kFloat, {25000, 4});
  {
    ResultFile file(path);
    EXPECT_EQ(file.append_rows("/trajectories/x0", all.slice(0, 0, 10)), 0);
    EXPECT_EQ(file.append_rows("/trajectories/x0", all.slice(0, 10, 10)), 10);
    EXPECT_EQ(file.append_rows("/trajectories/x0", all.slice(0, 10, 25000)), 10);
    expect_error(
        [&] {
          file.append_rows("/trajectories/x0", pattern(at::kFloat, {2, 3}));
        },
        {"/trajectories/x0", "do not match"});
    expect_error(
        [&] {
          file.append_rows("/trajectories/x0", pattern(at::kDouble, {2, 4}));
        },
        {"/trajectories/x0", "do not match"});
    file.commit();
  }
  EXPECT_EQ(layout_of(path, "/trajectories/x0").layout, H5D_CHUNKED);
  ResultReader reader(path);
  EXPECT_TRUE(reader.read_tensor("/trajectories/x0").equal(all));
}

TEST(ResultFile, VirtualDatasetReadsRowsFromOtherFiles) {
  TempDir dir;
  const at::Tensor all = pattern(at::kLong, {9, 2});
  for (const int part : {0, 1}) {
    ResultFile source(dir.file("part" + std::to_string(part) + ".h5"));
    source.write_tensor("/rows", part == 0 ? all.slice(0, 0, 4) : all.slice(0, 4, 9));
    source.commit();
  }
  const std::string path = dir.file("virtual.h5");
  {
    ResultFile file(path);
    file.write_virtual("/all", at::kLong, {9, 2},
                       {{"part1.h5", "/rows", 0, 4, 5}, {"part0.h5", "/rows", 0, 0, 4}});
    file.write_virtual("/empty", at::kDouble, {0, 2}, {});
    expect_error(
        [&] {
          file.write_virtual("/bad", at::kLong, {3, 2}, {{"p.h5", "/r", 0, 2, 2}});
        },
        {"/bad", "[2, 4)", "outside [0, 3)"});
    file.commit();
  }
  {
    ResultReader reader(path);
    EXPECT_TRUE(reader.read_tensor("/all").equal(all));
    EXPECT_TRUE(reader.read_rows("/all", 3, 3).equal(all.slice(0, 3, 6)));
    EXPECT_EQ(reader.read_tensor("/empty").sizes(), (std::vector<int64_t>{0, 2}));
  }
  fs::remove(dir.file("part1.h5"));
  ResultReader reader(path);
  expect_error([&] { reader.read_tensor("/all"); },
               {"/all", path, dir.file("part1.h5"), "missing"});
}

TEST(ResultFile, OnlyTheTemporaryFileExistsBeforeCommit) {
  TempDir dir;
  const std::string path = dir.file("run.h5");
  ResultFile file(path);
  EXPECT_EQ(file.final_path(), path);
  EXPECT_EQ(file.temporary_path(), dir.file(".run.h5.tmp-" + std::to_string(getpid())));
  file.write_scalar("/x", 1.0);
  EXPECT_TRUE(fs::exists(file.temporary_path()));
  EXPECT_FALSE(fs::exists(path));
  file.commit();
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(file.temporary_path()));
  EXPECT_TRUE(file.committed());
  expect_error([&] { file.write_scalar("/y", 2.0); }, {path, "already committed"});
  EXPECT_EQ(ResultReader(path).read_scalar("/x"), 1.0);
}

TEST(ResultFile, DestroyingWithoutCommitLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.file("abandoned.h5");
  std::string temporary;
  {
    ResultFile file(path);
    temporary = file.temporary_path();
    file.write_tensor("/x", at::ones({100, 100}, at::kDouble));
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(temporary));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(ResultFile, CommitReplacesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("replaced.h5");
  for (const int64_t run : {1, 2}) {
    ResultFile file(path);
    file.set_attribute("run", run);
    file.commit();
  }
  EXPECT_EQ(ResultReader(path).int_attribute("run"), 2);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ResultFile, WritingADatasetTwiceOrAnUnsupportedDtypeIsAnError) {
  TempDir dir;
  ResultFile file(dir.file("twice.h5"));
  file.write_scalar("/metrics/a", 1.0);
  expect_error([&] { file.write_scalar("/metrics/a", 2.0); },
               {"/metrics/a", dir.file("twice.h5"), "already exists"});
  expect_error([&] { file.write_tensor("/half", at::ones({2}, at::kHalf)); },
               {"/half", "Half", "not supported"});
  expect_error([&] { file.set_attribute("a", 1.0, "/nowhere"); }, {"'a'", "/nowhere"});
}

TEST(ResultFile, MissingOrInvalidDirectoryNamesThePath) {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir/out.h5");
  expect_error(
      [&] { ResultFile file(missing); },
      {missing, "directory '" + dir.file("no/such/dir") + "' does not exist", "create it"});
  std::ofstream(dir.file("plain")) << "not a directory";
  const std::string under_file = dir.file("plain/out.h5");
  expect_error([&] { ResultFile file(under_file); }, {under_file, "is not a directory"});
  expect_error([&] { ResultFile file(dir.path()); }, {dir.path(), "is a directory"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(ResultReader, MissingTruncatedOrForeignFilesNameTheFile) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  expect_error([&] { ResultReader reader(missing); }, {missing, "does not exist"});

  const std::string truncated = dir.file("truncated.h5");
  {
    ResultFile file(truncated);
    file.write_tensor("/samples/x", pattern(at::kDouble, {1000, 8}));
    file.commit();
  }
  fs::resize_file(truncated, fs::file_size(truncated) / 2);
  expect_error([&] { ResultReader reader(truncated); }, {truncated, "corrupt or truncated"});

  const std::string text = dir.file("notes.h5");
  std::ofstream(text) << "these are not the bytes you are looking for\n";
  expect_error([&] { ResultReader reader(text); }, {text, "not an HDF5 file"});
}

TEST(ResultReader, MissingDatasetNamesDatasetAndFile) {
  TempDir dir;
  const std::string path = dir.file("some.h5");
  {
    ResultFile file(path);
    file.write_scalar("/metrics/log_p", 1.0);
    file.commit();
  }
  ResultReader reader(path);
  expect_error([&] { reader.read_tensor("/estimate/mean"); },
               {"dataset '/estimate/mean' not found", path});
  expect_error([&] { reader.read_rows("/metrics/nothing", 0, 1); }, {"/metrics/nothing", path});
  expect_error([&] { reader.shape("/metrics"); }, {"/metrics", path});
  expect_error([&] { reader.read_rows("/metrics/log_p", 0, 1); }, {"/metrics/log_p", "scalar"});
}

TEST(ResultFile, H5pyReadsStringsAsStrAndNumbersExactly) {
  const std::string reason = testing_support::h5py_unavailable();
  if (!reason.empty()) GTEST_SKIP() << reason;
  TempDir dir;
  const std::string path = dir.file("for_python.h5");
  {
    ResultFile file(path);
    file.set_attribute("config", std::string("[run]\nseed = 7\nname = σ ✓\n"));
    file.set_attribute("world_size", int64_t{3});
    file.set_attribute("wall_time", 2.5);
    file.write_scalar("/metrics/log_p", -0.75);
    file.write_tensor("/samples/x", pattern(at::kDouble, {50000, 2}));
    file.write_tensor("/samples/flags", at::arange(3).remainder(2).eq(0));  // 1, 0, 1
    file.write_tensor("/estimate/n_sets", at::arange(4, at::kLong));
    file.commit();
  }
  const std::string script = R"(
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "r") as f:
    config = f.attrs["config"]
    assert type(config) is str, type(config)
    assert config == "[run]\nseed = 7\nname = \u03c3 \u2713\n", repr(config)
    assert int(f.attrs["world_size"]) == 3 and f.attrs["world_size"].dtype == np.int64
    assert float(f.attrs["wall_time"]) == 2.5
    assert f["metrics/log_p"][()] == -0.75
    x = f["samples/x"]
    assert x.shape == (50000, 2) and x.dtype == np.float64 and x.compression == "gzip"
    assert np.array_equal(x[...], np.arange(100000.0).reshape(50000, 2) * 1.5 - 7)
    assert f["samples/flags"].dtype == np.uint8
    assert list(f["samples/flags"][...]) == [1, 0, 1]
    assert list(f["estimate/n_sets"][...]) == [0, 1, 2, 3]
print("h5py ok")
)";
  const auto result = testing_support::run_python(dir.file("check.py"), script, path);
  EXPECT_EQ(result.status, 0) << result.output;
  EXPECT_NE(result.output.find("h5py ok"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace jointflow
