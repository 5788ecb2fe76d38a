#include "training/sharded_batches.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "core/error.h"

namespace jointflow {

using detail::concat;

namespace {

// Example indices of positions [step·B, step·B + B) of the stream of epochs; `permutation(e)`
// gives epoch e's permutation [N].
template <typename Permutation>
at::Tensor batch_indices(const ShardedBatchesOptions& options, int64_t step,
                         const Permutation& permutation) {
  const int64_t n = options.examples(), b = options.batch_size();
  JF_CHECK(step >= 0 && step <= std::numeric_limits<int64_t>::max() / b, "training step ", step,
           " is out of range for batch size ", b);
  at::Tensor indices = at::empty({b}, at::kLong);
  int64_t filled = 0;
  while (filled < b) {
    const int64_t position = step * b + filled;
    const int64_t epoch = position / n, offset = position % n;
    const int64_t count = std::min(b - filled, n - offset);
    indices.narrow(0, filled, count).copy_(permutation(epoch).narrow(0, offset, count));
    filled += count;
  }
  return indices;
}

RandomKey shuffle_key(const ShardedBatchesOptions& options) {
  return {options.seed(), RandomStream::data_shuffle};
}

}  // namespace

void ShardedBatchesOptions::validate(const std::string& section) const {
  if (examples() <= 0)
    throw Error(concat(section, ": the training data hold ", examples(),
                       " examples; give a non-empty data set"),
                /*collective=*/true);
  if (batch_size() <= 0)
    throw Error(concat(section, ".batch_size = ", batch_size(), " must be positive"),
                /*collective=*/true);
  if (unit() <= 0 || batch_size() % unit() != 0)
    throw Error(
        concat(section, ".batch_size = ", batch_size(), " must be a positive multiple of the ",
               unit(), " examples that share one loss term"),
        /*collective=*/true);
}

IdRange ShardedBatchesOptions::block(int parts, int part) const {
  const IdRange units = block_of(batch_size() / unit(), parts, part);
  return {units.begin * unit(), units.end * unit()};
}

at::Tensor global_batch_indices(const ShardedBatchesOptions& options, int64_t step) {
  options.validate();
  return batch_indices(options, step, [&](int64_t epoch) {
    return counter_permutation(shuffle_key(options), options.examples(),
                               static_cast<uint64_t>(epoch));
  });
}

ShardedBatches::ShardedBatches(at::Tensor data, int64_t first_row, ShardedBatchesOptions options,
                               Communicator& comm)
    : data_(std::move(data)), first_row_(first_row), options_(std::move(options)), comm_(comm) {
  options_.validate();
  JF_CHECK(data_.dim() >= 1, "training data must be [n, ...], got a 0-d tensor");
  // Every rank sees every rank's (first row, rows, N, B) and reaches the same verdict.
  const std::vector<int64_t> mine{first_row_, data_.size(0), options_.examples(),
                                  options_.batch_size()};
  const at::Tensor all = comm_.allgather(at::tensor(mine, at::kLong).reshape({1, 4}));
  const auto* row = all.data_ptr<int64_t>();
  const int64_t n = options_.examples();
  bool whole = true, tiled = true;
  int64_t next_begin = 0;
  std::string layout;
  for (int r = 0; r < comm_.size(); ++r, row += 4) {
    if (row[2] != n || row[3] != options_.batch_size())
      throw Error(concat("ranks disagree on the training data: rank ", r, " has N = ", row[2],
                         " and batch size ", row[3], ", rank ", comm_.rank(), " has N = ", n,
                         " and batch size ", options_.batch_size()),
                  /*collective=*/true);
    whole = whole && row[0] == 0 && row[1] == n;
    tiled = tiled && row[0] == next_begin && row[1] >= 0;
    next_begin = row[0] + row[1];
    row_begins_.push_back(row[0]);
    layout += concat(r == 0 ? "" : ", ", "rank ", r, ": [", row[0], ", ", row[0] + row[1], ")");
  }
  row_begins_.push_back(n);
  tiled = tiled && next_begin == n;
  if (!whole && !tiled)
    throw Error(concat("training data rows (", layout, ") must be all ", n,
                       " examples on every rank or contiguous blocks covering 0..", n - 1,
                       " in rank order"),
                /*collective=*/true);
  sharded_ = !whole;
}

at::Tensor ShardedBatches::indices_of(int64_t step) {
  return batch_indices(options_, step, [&](int64_t epoch) {
    auto found = permutations_.find(epoch);
    if (found != permutations_.end()) return found->second;
    const at::Tensor permutation = counter_permutation(shuffle_key(options_), options_.examples(),
                                                       static_cast<uint64_t>(epoch));
    permutations_[epoch] = permutation;
    while (permutations_.size() > 2) permutations_.erase(permutations_.begin());
    return permutation;
  });
}

LocalBatch ShardedBatches::batch(int64_t step) {
  const at::Tensor global = indices_of(step);
  const IdRange block = options_.block(comm_.size(), comm_.rank());
  LocalBatch local;
  local.position = {step, block.begin};
  local.indices = global.narrow(0, block.begin, block.size());
  if (!sharded_) {
    local.x = data_.index_select(0, local.indices.to(data_.device()));
    return local;
  }
  // Each rank sends the batch's rows it holds, in batch order; the allgather lines them up by
  // owner, and row_of[p] finds position p among them.
  const int64_t b = options_.batch_size();
  const auto* index = global.data_ptr<int64_t>();
  std::vector<int64_t> owner(b), owned, per_owner(comm_.size(), 0);
  for (int64_t p = 0; p < b; ++p) {
    owner[p] = std::upper_bound(row_begins_.begin(), row_begins_.end(), index[p]) -
               row_begins_.begin() - 1;
    ++per_owner[owner[p]];
    if (owner[p] == comm_.rank()) owned.push_back(index[p] - first_row_);
  }
  const at::Tensor rows = data_.index_select(0, at::tensor(owned, at::kLong).to(data_.device()));
  const at::Tensor gathered = comm_.allgather(rows);
  std::vector<int64_t> next(comm_.size(), 0);
  for (int r = 1; r < comm_.size(); ++r) next[r] = next[r - 1] + per_owner[r - 1];
  std::vector<int64_t> row_of(b);
  for (int64_t p = 0; p < b; ++p) row_of[p] = next[owner[p]]++;
  const at::Tensor mine = at::tensor(row_of, at::kLong).narrow(0, block.begin, block.size());
  local.x = gathered.index_select(0, mine.to(data_.device()));
  return local;
}

}  // namespace jointflow
