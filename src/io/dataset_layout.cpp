// How the results-file writer stores tensors (see dataset_layout.h).
#include "io/dataset_layout.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"

namespace jointflow::h5 {

using detail::concat;

constexpr unsigned kGzipLevel = 4;

at::ScalarType stored_dtype(at::ScalarType dtype, const std::string& context) {
  switch (dtype) {
    case at::kDouble:
    case at::kFloat:
    case at::kLong:
    case at::kInt:
    case at::kByte:
      return dtype;
    case at::kBool:
      return at::kByte;
    default:
      throw Error(concat(context, ": dtype ", dtype,
                         " is not supported; use float64, float32, int64, int32, uint8 or bool"));
  }
}

at::Tensor stored_form(const at::Tensor& values, const std::string& context) {
  JF_CHECK(values.defined(), context, ": the tensor is undefined");
  return values.to(at::kCPU, stored_dtype(values.scalar_type(), context)).contiguous();
}

std::vector<hsize_t> chunk_dims(std::vector<hsize_t> chunk, size_t element_size) {
  for (hsize_t& size : chunk) size = std::max<hsize_t>(size, 1);
  for (hsize_t& size : chunk) {
    hsize_t bytes = element_size;
    for (const hsize_t other : chunk) bytes *= other;
    if (bytes <= kChunkBytes) break;
    size = std::max<hsize_t>(1, size / ((bytes + kChunkBytes - 1) / kChunkBytes));
  }
  return chunk;
}

Handle compressed_layout(const std::vector<hsize_t>& chunk, const std::string& context) {
  Handle dcpl(JF_H5_CHECK(H5Pcreate(H5P_DATASET_CREATE), context));
  JF_H5_CHECK(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), context);
  JF_H5_CHECK(H5Pset_shuffle(dcpl.get()), context);
  JF_H5_CHECK(H5Pset_deflate(dcpl.get(), kGzipLevel), context);
  JF_H5_CHECK(H5Pset_fletcher32(dcpl.get()), context);
  return dcpl;
}

Handle intermediate_groups(const std::string& context) {
  Handle lcpl(JF_H5_CHECK(H5Pcreate(H5P_LINK_CREATE), context));
  JF_H5_CHECK(H5Pset_create_intermediate_group(lcpl.get(), 1), context);
  return lcpl;
}

}  // namespace jointflow::h5
