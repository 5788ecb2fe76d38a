// Output-path checks: a file can be created there, and no output is an input or another output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/output_path.h"
#include "support/expect_error.h"
#include "support/tempdir.h"

namespace jointflow {
namespace {

namespace fs = std::filesystem;
using testing_support::expect_error;
using testing_support::TempDir;

TEST(CheckOutputPath, NamesTheOptionAndThePathAndCreatesNothing) {
  TempDir dir;
  EXPECT_NO_THROW(check_output_path(dir.file("ok.h5"), "run.output"));
  const std::string missing = dir.file("x/y.h5");
  expect_error(
      [&] { check_output_path(missing, "run.output"); },
      {"run.output = '" + missing + "'", "directory '" + dir.file("x") + "' does not exist",
       "create it or change run.output"});
  std::ofstream(dir.file("plain")) << "file";
  expect_error(
      [&] { check_output_path(dir.file("plain/y.h5"), "run.output"); },
      {"run.output", dir.file("plain/y.h5"), "'" + dir.file("plain") + "' is not a directory"});
  expect_error([&] { check_output_path(dir.path(), "eval.output"); },
               {"eval.output", dir.path(), "is a directory"});
  expect_error([&] { check_output_path("", "run.output"); }, {"run.output", "no file name"});
  EXPECT_FALSE(fs::exists(dir.file("ok.h5")));
  EXPECT_FALSE(fs::exists(dir.file("x")));
}

TEST(CheckOutputsAreNotInputs, ComparesFilesByIdentityAndNamesBothKeys) {
  TempDir dir;
  const std::string input = dir.file("in.h5");
  std::ofstream(input) << "data";
  fs::create_symlink(input, dir.file("symlink.h5"));
  fs::create_hard_link(input, dir.file("hardlink.h5"));
  const std::vector<NamedFile> inputs{{"--config", ""}, {"model.path", input}};

  EXPECT_NO_THROW(check_outputs_are_not_inputs(inputs, {{"run.output", dir.file("out.h5")}}));
  for (const std::string& output : {input, dir.file("./in.h5"), dir.file("sub/../in.h5"),
                                    dir.file("symlink.h5"), dir.file("hardlink.h5")})
    expect_error(
        [&] {
          check_outputs_are_not_inputs(inputs, {{"run.output", output}});
        },
        {"run.output = '" + output + "'", "same file as model.path = '" + input + "'",
         "which this command reads", "change run.output"});

  // Two outputs that do not exist yet, one path spelled two ways.
  expect_error(
      [&] {
        check_outputs_are_not_inputs(
            inputs, {{"run.output", dir.file("new.h5")}, {"model.path", dir.file("./new.h5")}});
      },
      {"model.path", "same file as run.output", "also writes", "change one of them"});
  EXPECT_NO_THROW(check_outputs_are_not_inputs(
      inputs, {{"run.output", dir.file("a.h5")}, {"model.path", ""}, {"x", dir.file("b.h5")}}));
  EXPECT_FALSE(fs::exists(dir.file("new.h5")));
  EXPECT_FALSE(fs::exists(dir.file("out.h5")));
}

}  // namespace
}  // namespace jointflow
