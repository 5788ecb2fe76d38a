#include "distributed/agreement.h"

#include <ATen/ATen.h>

#include <cstring>
#include <exception>
#include <string>

#include "core/error.h"

namespace jointflow {

void run_agreed(Communicator& comm, const std::function<void()>& action) {
  std::string message;
  bool failed = false;
  try {
    action();
  } catch (const std::exception& error) {
    failed = true;
    message = error.what();
  }
  // One maximum finds whether anyone failed and the lowest failing rank: size - rank is largest
  // for the lowest rank, and 0 means nobody failed.
  at::Tensor lowest = at::full({1}, failed ? comm.size() - comm.rank() : 0, at::kLong);
  comm.allreduce_max(lowest);
  const int64_t code = lowest.item<int64_t>();
  if (code == 0) return;
  const int root = static_cast<int>(comm.size() - code);

  at::Tensor length = at::full({1}, static_cast<int64_t>(message.size()), at::kLong);
  comm.broadcast(length, root);
  at::Tensor text = at::empty({length.item<int64_t>()}, at::kByte);
  if (comm.rank() == root && !message.empty())
    std::memcpy(text.data_ptr(), message.data(), message.size());
  comm.broadcast(text, root);
  message.clear();
  if (text.numel() > 0)
    message.assign(static_cast<const char*>(text.data_ptr()), static_cast<size_t>(text.numel()));
  throw Error(comm.size() > 1 ? detail::concat("rank ", root, ": ", message) : message,
              /*collective=*/true);
}

}  // namespace jointflow
