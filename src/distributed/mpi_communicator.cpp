#include "distributed/mpi_communicator.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "core/hash.h"
#include "distributed/mpi_check.h"

namespace jointflow {
namespace {

constexpr int64_t kMaxCount = INT_MAX;  // MPI counts and displacements are ints

enum class Reduction { sum, max };

// The MPI type of one element for reductions; float16/bfloat16 are widened to float32 first.
MPI_Datatype reduction_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kFloat:
      return MPI_FLOAT;
    case at::kLong:
      return MPI_INT64_T;
    case at::kInt:
      return MPI_INT32_T;
    case at::kShort:
      return MPI_INT16_T;
    case at::kChar:
      return MPI_INT8_T;
    case at::kByte:
      return MPI_UINT8_T;
    case at::kBool:
      return MPI_CXX_BOOL;
    default:
      throw Error(detail::concat("allreduce: dtype ", dtype,
                                 " is not supported (use a floating-point or integer dtype)"));
  }
}

// Calls `call(offset, count)` over [0, total) in pieces of at most INT_MAX.
template <typename Call>
void for_each_chunk(int64_t total, const Call& call) {
  for (int64_t offset = 0; offset < total; offset += kMaxCount)
    call(offset, static_cast<int>(std::min(kMaxCount, total - offset)));
}

// A contiguous CPU tensor with `tensor`'s values in `dtype`: `tensor` itself when it already is
// one, a copy otherwise (write it back with copy_back).
at::Tensor host_contiguous(const at::Tensor& tensor, at::ScalarType dtype) {
  return tensor.to(at::kCPU, dtype).contiguous();
}

void copy_back(at::Tensor& tensor, const at::Tensor& host) {
  if (!host.is_same(tensor)) tensor.copy_(host);
}

// Elementwise reduction over the ranks of `comm`, in place. Bool tensors reduce with logical or.
void reduce_in_place(MPI_Comm comm, at::Tensor& tensor, Reduction reduction) {
  const at::ScalarType dtype = tensor.scalar_type();
  const bool widen = dtype == at::kHalf || dtype == at::kBFloat16;
  at::Tensor host = host_contiguous(tensor, widen ? at::kFloat : dtype);
  const MPI_Datatype type = reduction_type(host.scalar_type());
  const MPI_Op op = dtype == at::kBool ? MPI_LOR : reduction == Reduction::sum ? MPI_SUM : MPI_MAX;
  auto* data = static_cast<char*>(host.data_ptr());
  const int64_t element_bytes = host.element_size();
  for_each_chunk(host.numel(), [&](int64_t offset, int count) {
    JF_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + offset * element_bytes, count, type, op, comm));
  });
  copy_back(tensor, host);
}

// A fingerprint (FNV-1a) of the trailing sizes: all dimensions but the first.
int64_t trailing_shape_hash(const at::Tensor& tensor) {
  uint64_t hash = kFnv1aOffsetBasis;
  for (int64_t d = 1; d < tensor.dim(); ++d)
    hash = fnv1a_word(hash, static_cast<uint64_t>(tensor.size(d)));
  return static_cast<int64_t>(hash);
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  JF_MPI_CHECK(MPI_Comm_dup(comm, &comm_));
  JF_MPI_CHECK(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  JF_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  JF_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

std::vector<int64_t> MpiCommunicator::allgather_row_counts(const at::Tensor& local) {
  constexpr int kFields = 4;
  const int64_t header[kFields] = {local.dim() == 0 ? -1 : local.size(0),
                                   static_cast<int64_t>(local.scalar_type()), local.dim(),
                                   trailing_shape_hash(local)};
  std::vector<int64_t> headers(static_cast<size_t>(kFields) * size_);
  JF_MPI_CHECK(
      MPI_Allgather(header, kFields, MPI_INT64_T, headers.data(), kFields, MPI_INT64_T, comm_));
  std::vector<int64_t> rows(size_);
  for (int r = 0; r < size_; ++r) {
    const int64_t* other = &headers[static_cast<size_t>(kFields) * r];
    if (other[0] < 0)
      throw Error(detail::concat("allgather: rank ", r,
                                 " passed a 0-d tensor; rows are concatenated along dim 0, so "
                                 "every rank needs a tensor with at least one dimension"),
                  /*collective=*/true);
    if (!std::equal(other + 1, other + kFields, &headers[1]))
      throw Error(detail::concat("allgather: ranks 0 and ", r,
                                 " disagree on the dtype or the trailing shape (all dimensions "
                                 "but the first) of their tensors"),
                  /*collective=*/true);
    rows[r] = other[0];
  }
  return rows;
}

at::Tensor MpiCommunicator::allgather(const at::Tensor& local) {
  const std::vector<int64_t> rows = allgather_row_counts(local);
  const at::Tensor host = host_contiguous(local, local.scalar_type());
  int64_t row_bytes = host.element_size();
  for (int64_t d = 1; d < host.dim(); ++d) row_bytes *= host.size(d);

  int64_t total_rows = 0;
  for (const int64_t count : rows) total_rows += count;
  const int64_t total_bytes = total_rows * row_bytes;
  if (total_bytes > kMaxCount)
    throw Error(detail::concat("allgather: the result has ", total_bytes,
                               " bytes, more than MPI's limit of ", kMaxCount,
                               " bytes per collective; gather in smaller batches"),
                /*collective=*/true);
  std::vector<int> counts(size_), displacements(size_);
  int64_t offset = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = static_cast<int>(rows[r] * row_bytes);
    displacements[r] = static_cast<int>(offset);
    offset += counts[r];
  }

  std::vector<int64_t> shape = host.sizes().vec();
  shape[0] = total_rows;
  at::Tensor result = at::empty(shape, host.options());
  JF_MPI_CHECK(MPI_Allgatherv(host.data_ptr(), counts[rank_], MPI_BYTE, result.data_ptr(),
                              counts.data(), displacements.data(), MPI_BYTE, comm_));
  return local.is_cpu() ? result : result.to(local.device());
}

void MpiCommunicator::allreduce_sum(at::Tensor& tensor) {
  reduce_in_place(comm_, tensor, Reduction::sum);
}

void MpiCommunicator::allreduce_max(at::Tensor& tensor) {
  reduce_in_place(comm_, tensor, Reduction::max);
}

void MpiCommunicator::broadcast(at::Tensor& tensor, int root) {
  JF_CHECK(root >= 0 && root < size_, "broadcast: root ", root, " is not a rank of this ", size_,
           "-rank communicator");
  at::Tensor host = host_contiguous(tensor, tensor.scalar_type());
  auto* data = static_cast<char*>(host.data_ptr());
  for_each_chunk(host.numel() * host.element_size(), [&](int64_t offset, int count) {
    JF_MPI_CHECK(MPI_Bcast(data + offset, count, MPI_BYTE, root, comm_));
  });
  copy_back(tensor, host);
}

void MpiCommunicator::barrier() { JF_MPI_CHECK(MPI_Barrier(comm_)); }

}  // namespace jointflow
