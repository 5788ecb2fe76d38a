#include "data/datasets.h"

#include <ATen/ATen.h>

#include "core/error.h"
#include "data/digits_file.h"
#include "data/gaussian_mixture.h"
#include "data/idx_file.h"
#include "distributed/counter_rng.h"
#include "distributed/partition.h"

namespace jointflow {

using detail::concat;

namespace {

constexpr int64_t kFashionSide = 28;
constexpr int64_t kDigitsSide = 8;
constexpr double kFashionMax = 255.0;
constexpr double kDigitsMax = 16.0;

int64_t native_side(DatasetKind kind) {
  return kind == DatasetKind::digits ? kDigitsSide : kFashionSide;
}

// The images and labels of the Fashion-MNIST split, with a remedy in every file error.
LabelledImages read_fashion_mnist(const DatasetOptions& options) {
  const std::string dir = options.path.empty() ? default_fashion_mnist_dir() : options.path;
  const std::string prefix = dir + (options.split == DataSplit::train ? "/train" : "/t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  LabelledImages data;
  try {
    data.images = read_idx_images(images_path);
    data.labels = read_idx_labels(labels_path);
  } catch (const Error& error) {
    throw Error(concat("Fashion-MNIST: ", error.what(),
                       "; install it with `apt-get install dataset-fashion-mnist` or point "
                       "data.path at a directory holding the four *-idx?-ubyte.gz files"));
  }
  JF_CHECK(data.images.size(0) == data.labels.size(0), "Fashion-MNIST: '", images_path, "' holds ",
           data.images.size(0), " images but '", labels_path, "' ", data.labels.size(0),
           " labels; reinstall dataset-fashion-mnist");
  JF_CHECK(data.images.size(1) == kFashionSide && data.images.size(2) == kFashionSide,
           "Fashion-MNIST: '", images_path, "' holds ", data.images.size(1), "x",
           data.images.size(2), " images instead of 28x28");
  return data;
}

// Indices (in file order) of the examples the options keep: labels in `classes`, at most
// `examples` of them.
at::Tensor kept_indices(const DatasetOptions& options, const at::Tensor& labels) {
  at::Tensor keep = at::ones({labels.size(0)}, at::kBool);
  if (!options.classes.empty()) keep = at::isin(labels, at::tensor(options.classes, at::kLong));
  at::Tensor indices = keep.nonzero().flatten();
  JF_CHECK(indices.numel() > 0, "data.classes keeps no example of the data set");
  if (options.examples > 0) {
    JF_CHECK(options.examples <= indices.numel(), "data.examples = ", options.examples,
             " but the data set (after data.classes) holds only ", indices.numel());
    indices = indices.narrow(0, 0, options.examples);
  }
  return indices;
}

}  // namespace

const ChoiceTable<DatasetKind>& dataset_kind_choices() {
  static const ChoiceTable<DatasetKind> table{{"mixture", DatasetKind::mixture},
                                              {"fashion_mnist", DatasetKind::fashion_mnist},
                                              {"digits", DatasetKind::digits}};
  return table;
}

const ChoiceTable<DataSplit>& data_split_choices() {
  static const ChoiceTable<DataSplit> table{{"train", DataSplit::train}, {"test", DataSplit::test}};
  return table;
}

void DatasetOptions::validate(const std::string& section) const {
  const auto key = [&](const char* name) { return section + "." + name; };
  JF_CHECK_COLLECTIVE(examples >= 0,
                      concat(key("examples"), " = ", examples, " must be non-negative"));
  JF_CHECK_COLLECTIVE(size >= 0,
                      concat(key("size"), " = ", size, " must be non-negative (0 = native)"));
  if (kind == DatasetKind::mixture) {
    JF_CHECK_COLLECTIVE(examples > 0, concat(key("examples"), " must give the number of draws for ",
                                             key("kind"), " = mixture"));
    named_mixture(mixture, key("mixture"));
    return;
  }
  for (const int64_t label : classes)
    JF_CHECK_COLLECTIVE(label >= 0 && label <= 9,
                        concat(key("classes"), " holds ", label, "; labels lie in 0..9"));
  JF_CHECK_COLLECTIVE(size == 0 || size <= native_side(kind),
                      concat(key("size"), " = ", size, " exceeds the native side ",
                             native_side(kind), " (images are only shrunk)"));
}

const std::string& default_fashion_mnist_dir() {
  static const std::string dir = "/usr/share/datasets/fashion-mnist";
  return dir;
}

std::vector<int64_t> dataset_sample_shape(const DatasetOptions& options) {
  if (options.kind == DatasetKind::mixture) return {named_mixture(options.mixture).dim()};
  const int64_t side = options.size > 0 ? options.size : native_side(options.kind);
  return {1, side, side};
}

Dataset load_dataset(const DatasetOptions& options, const Communicator& comm,
                     at::ScalarType dtype) {
  options.validate();
  Dataset data;
  data.sample_shape = dataset_sample_shape(options);
  if (options.kind == DatasetKind::mixture) {
    data.total = options.examples;
    const IdRange block = block_of(data.total, comm.size(), comm.rank());
    data.first = block.begin;
    data.x = sample_mixture(named_mixture(options.mixture, "data.mixture"),
                            {options.seed, RandomStream::exact_samples}, block.begin, block.size())
                 .to(dtype);
    return data;
  }
  const LabelledImages file =
      options.kind == DatasetKind::fashion_mnist
          ? read_fashion_mnist(options)
          : read_digits(options.path.empty() ? default_digits_path() : options.path);
  const at::Tensor indices = kept_indices(options, file.labels);
  data.total = indices.numel();
  const IdRange block = block_of(data.total, comm.size(), comm.rank());
  data.first = block.begin;
  const double maximum = options.kind == DatasetKind::digits ? kDigitsMax : kFashionMax;
  at::Tensor x = file.images.index_select(0, indices.narrow(0, block.begin, block.size()))
                     .unsqueeze(1)
                     .to(at::kDouble)
                     .mul(2.0 / maximum)
                     .sub(1.0);
  const int64_t side = data.sample_shape[1];
  if (side != native_side(options.kind)) x = at::adaptive_avg_pool2d(x, {side, side});
  data.x = x.to(dtype).contiguous();
  return data;
}

}  // namespace jointflow
