#include "distributed/nccl_communicator.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <vector>

#include "core/error.h"
#include "distributed/agreement.h"
#include "distributed/mpi_check.h"

// Runs an NCCL call and throws jointflow::Error with ncclGetErrorString's text on failure.
#define JF_NCCL_CHECK(call)                                                                      \
  do {                                                                                           \
    const ncclResult_t jf_nccl_result = (call);                                                  \
    if (jf_nccl_result != ncclSuccess)                                                           \
      throw ::jointflow::Error(::jointflow::detail::concat(#call, " failed at ", __FILE__, ":",  \
                                                           __LINE__, ": ",                       \
                                                           ncclGetErrorString(jf_nccl_result))); \
  } while (0)

namespace jointflow {
namespace {

// The NCCL type of one element for reductions; float16/bfloat16 are widened to float32 first and
// bool is reduced as uint8 with max (logical or).
ncclDataType_t reduction_type(at::ScalarType dtype) {
  switch (dtype) {
    case at::kDouble:
      return ncclFloat64;
    case at::kFloat:
      return ncclFloat32;
    case at::kLong:
      return ncclInt64;
    case at::kInt:
      return ncclInt32;
    case at::kChar:
      return ncclInt8;
    case at::kByte:
    case at::kBool:
      return ncclUint8;
    default:
      throw Error(detail::concat("allreduce (NCCL): dtype ", dtype,
                                 " is not supported (use a floating-point or integer dtype)"));
  }
}

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm world, const c10::Device& device)
    : mpi_(world), device_(device) {
  JF_CHECK(device_.is_cuda() && device_.has_index(),
           "the NCCL communicator needs a CUDA device with an index, got ", device_);
  ncclUniqueId id{};
  run_agreed(mpi_, [&] {
    if (mpi_.is_root()) JF_NCCL_CHECK(ncclGetUniqueId(&id));
  });
  JF_MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_.handle()));
  const c10::cuda::CUDAGuard guard(device_);
  JF_NCCL_CHECK(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) ncclCommDestroy(comm_);
}

void NcclCommunicator::check_device(const at::Tensor& tensor, const char* operation) const {
  JF_CHECK(tensor.device() == device_, "NCCL communicator: ", operation, " got a tensor on ",
           tensor.device(), " but this rank drives ", device_);
}

at::Tensor NcclCommunicator::allgather(const at::Tensor& local) {
  if (local.is_cpu()) return mpi_.allgather(local);
  check_device(local, "allgather");
  const std::vector<int64_t> rows = mpi_.allgather_row_counts(local);
  const at::Tensor source = local.contiguous();
  int64_t row_bytes = source.element_size();
  for (int64_t d = 1; d < source.dim(); ++d) row_bytes *= source.size(d);
  std::vector<int64_t> shape = source.sizes().vec();
  shape[0] = 0;
  for (const int64_t count : rows) shape[0] += count;
  at::Tensor result = at::empty(shape, source.options());

  // One broadcast per rank with rows, grouped: rank r's rows land at their offset everywhere.
  const c10::cuda::CUDAGuard guard(device_);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
  auto* out = static_cast<char*>(result.data_ptr());
  int64_t offset = 0;
  JF_NCCL_CHECK(ncclGroupStart());
  for (int r = 0; r < size(); ++r) {
    const int64_t bytes = rows[r] * row_bytes;
    if (bytes > 0)
      JF_NCCL_CHECK(ncclBroadcast(source.data_ptr(), out + offset, static_cast<size_t>(bytes),
                                  ncclUint8, r, comm_, stream));
    offset += bytes;
  }
  JF_NCCL_CHECK(ncclGroupEnd());
  return result;
}

void NcclCommunicator::reduce(at::Tensor& tensor, bool maximum) {
  const at::ScalarType dtype = tensor.scalar_type();
  const bool widen = dtype == at::kHalf || dtype == at::kBFloat16;
  at::Tensor work = tensor.to(widen ? at::kFloat : dtype).contiguous();
  const ncclDataType_t type = reduction_type(work.scalar_type());
  if (work.numel() == 0) return;
  const ncclRedOp_t op = maximum || dtype == at::kBool ? ncclMax : ncclSum;
  const c10::cuda::CUDAGuard guard(device_);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
  JF_NCCL_CHECK(ncclAllReduce(work.data_ptr(), work.data_ptr(), static_cast<size_t>(work.numel()),
                              type, op, comm_, stream));
  if (!work.is_same(tensor)) tensor.copy_(work);
}

void NcclCommunicator::allreduce_sum(at::Tensor& tensor) {
  if (tensor.is_cpu()) return mpi_.allreduce_sum(tensor);
  check_device(tensor, "allreduce_sum");
  reduce(tensor, /*maximum=*/false);
}

void NcclCommunicator::allreduce_max(at::Tensor& tensor) {
  if (tensor.is_cpu()) return mpi_.allreduce_max(tensor);
  check_device(tensor, "allreduce_max");
  reduce(tensor, /*maximum=*/true);
}

void NcclCommunicator::broadcast(at::Tensor& tensor, int root) {
  if (tensor.is_cpu()) return mpi_.broadcast(tensor, root);
  check_device(tensor, "broadcast");
  JF_CHECK(root >= 0 && root < size(), "broadcast: root ", root, " is not a rank of this ", size(),
           "-rank communicator");
  at::Tensor work = tensor.contiguous();
  const int64_t bytes = work.numel() * work.element_size();
  if (bytes == 0) return;
  const c10::cuda::CUDAGuard guard(device_);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(device_.index()).stream();
  JF_NCCL_CHECK(ncclBroadcast(work.data_ptr(), work.data_ptr(), static_cast<size_t>(bytes),
                              ncclUint8, root, comm_, stream));
  if (!work.is_same(tensor)) tensor.copy_(work);
}

void NcclCommunicator::barrier() {
  at::Tensor token = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device_));
  reduce(token, /*maximum=*/false);
  c10::cuda::getCurrentCUDAStream(device_.index()).synchronize();
}

}  // namespace jointflow
