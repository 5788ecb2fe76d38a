// The training data sets of train-flow (DESIGN §2): draws of a named mixture (MATH §2),
// Fashion-MNIST from its IDX files and scikit-learn's 8×8 digits, each rank loading only its
// block of examples (DESIGN §3; training/sharded_batches.h batches them).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/choice.h"
#include "distributed/communicator.h"

namespace jointflow {

enum class DatasetKind { mixture, fashion_mnist, digits };
enum class DataSplit { train, test };
const ChoiceTable<DatasetKind>& dataset_kind_choices();
const ChoiceTable<DataSplit>& data_split_choices();

struct DatasetOptions {
  // Throws a collective Error naming `<section>.<option>` for an unusable value.
  void validate(const std::string& section = "data") const;

  DatasetKind kind = DatasetKind::mixture;
  // fashion_mnist: the directory of the four *-idx?-ubyte.gz files; digits: the CSV file;
  // "" = where Debian installs them (dataset-fashion-mnist, python3-sklearn).
  std::string path;
  std::vector<int64_t> classes;        // images: keep these labels only; empty = all
  int64_t size = 0;                    // images: side after area resizing; 0 = native (28 or 8)
  int64_t examples = 0;                // N: the first N examples (mixture: N draws); 0 = all
  std::string mixture = "gmm8d";       // mixture: the named mixture
  DataSplit split = DataSplit::train;  // fashion_mnist: training (60 000) or test (10 000) file
  uint64_t seed = 0;  // mixture: draws keyed by (seed, exact_samples, global index)
};

// This rank's examples of a data set of `total`: rows [first, first + x.size(0)) — the block
// block_of(total, size, rank) of distributed/partition.h, in the data set's order.
struct Dataset {
  at::Tensor x;  // [n_local, *sample_shape]: vectors as they are, images scaled to [−1, 1]
  int64_t first = 0;
  int64_t total = 0;
  std::vector<int64_t> sample_shape;  // {d} or {1, side, side}
};

// Where Debian's dataset-fashion-mnist installs the IDX files.
const std::string& default_fashion_mnist_dir();

// The shape of one example: {d} for a mixture, {1, side, side} for images (no file is read).
std::vector<int64_t> dataset_sample_shape(const DatasetOptions& options);

// Not collective: uses comm.rank() and comm.size() only, and every rank reads the same files.
// Loads this rank's block of the data set in `dtype` on the CPU. Image files are read whole
// (their labels decide which examples exist), but only the block's rows are converted. Missing,
// corrupt or truncated files are Errors naming the file and the package to install.
Dataset load_dataset(const DatasetOptions& options, const Communicator& comm, at::ScalarType dtype);

}  // namespace jointflow
