// Readers of the IDX files of MNIST and Fashion-MNIST (gzip-compressed or plain): a big-endian
// header — magic 0x0000 08 <dims>, then one 32-bit extent per dimension — followed by the bytes.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace jointflow {

// Images of an idx3 file (magic 0x00000803): uint8 [n, rows, cols] on the CPU. A missing file,
// another magic number, implausible extents (0, or rows·cols > 2^24), missing bytes or bytes
// after the last image are Errors naming the file.
at::Tensor read_idx_images(const std::string& path);

// Labels of an idx1 file (magic 0x00000801): int64 [n] on the CPU; errors as above.
at::Tensor read_idx_labels(const std::string& path);

}  // namespace jointflow
