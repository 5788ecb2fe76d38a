// The 8×8 handwritten digits shipped with scikit-learn (UCI optdigits test set): a gzip CSV of
// rows "p_0,...,p_63,label" with pixel values 0..16 and labels 0..9.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace jointflow {

struct LabelledImages {
  at::Tensor images;  // uint8 [n, rows, cols] on the CPU
  at::Tensor labels;  // int64 [n] on the CPU
};

// Where Debian's python3-sklearn installs the file.
const std::string& default_digits_path();

// Reads the digits CSV: uint8 images [n, 8, 8] with values 0..16 and labels 0..9. A missing file,
// a row without 65 integers, or a value out of range is an Error naming the file and the line.
LabelledImages read_digits(const std::string& path);

}  // namespace jointflow
