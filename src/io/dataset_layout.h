// How the results-file writer stores tensors: the supported dtypes, chunking and gzip
// compression, and the creation of intermediate groups. Internal to src/io.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/hdf5_handle.h"

namespace jointflow::h5 {

// Datasets larger than this are chunked, shuffled and gzip-compressed.
constexpr int64_t kCompressAbove = 64 * 1024;
// Upper bound on one chunk: well under HDF5's default 1 MiB chunk cache, so appending a batch to
// a partly filled chunk never reads it back from disk.
constexpr hsize_t kChunkBytes = 256 * 1024;

// The dtype a tensor is stored as: bool becomes uint8; others must be one of the five supported.
at::ScalarType stored_dtype(at::ScalarType dtype, const std::string& context);
// A CPU, contiguous copy (or view) of `values` in its stored dtype.
at::Tensor stored_form(const at::Tensor& values, const std::string& context);

// Chunk dimensions no larger than `dims` and at most kChunkBytes: leading dimensions shrink
// first, so a chunk holds whole rows whenever a row fits.
std::vector<hsize_t> chunk_dims(std::vector<hsize_t> chunk, size_t element_size);
// Dataset creation properties: chunked as `chunk`, byte-shuffled, gzip-compressed and with a
// Fletcher-32 checksum per chunk, which HDF5 verifies on every read (a flipped bit in a shard
// or a large dataset is an error, not a wrong number).
Handle compressed_layout(const std::vector<hsize_t>& chunk, const std::string& context);
// Link creation properties that create missing intermediate groups.
Handle intermediate_groups(const std::string& context);

}  // namespace jointflow::h5
