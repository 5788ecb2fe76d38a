#include "sampling/group_layout.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

namespace jointflow {
namespace {

struct BatchBlocks {
  int64_t first_member;  // global id of the batch's first member
  int64_t n_members;
  int ranks;
  IdRange of(int rank) const {
    const IdRange block = block_of(n_members, ranks, rank);
    return {first_member + block.begin, first_member + block.end};
  }
};

// A group is split when some rank holds part but not all of it.
bool is_split(const BatchBlocks& blocks, int64_t group, int64_t group_size) {
  const IdRange group_members{group * group_size, (group + 1) * group_size};
  for (int q = 0; q < blocks.ranks; ++q) {
    const IdRange block = blocks.of(q);
    const int64_t overlap =
        std::min(block.end, group_members.end) - std::max(block.begin, group_members.begin);
    if (overlap > 0 && overlap < group_size) return true;
  }
  return false;
}

at::Tensor to_tensor(const std::vector<int64_t>& values) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong));
}

}  // namespace

GroupLayout make_group_layout(int64_t first_group, int64_t n_groups, int64_t group_size, int ranks,
                              int rank) {
  const BatchBlocks blocks{first_group * group_size, n_groups * group_size, ranks};
  GroupLayout layout;
  layout.group_size = group_size;
  layout.members = blocks.of(rank);

  // Split groups of the batch, in increasing id, and their slots.
  std::vector<int64_t> split_groups;
  for (int q = 0; q < ranks; ++q) {
    const IdRange block = blocks.of(q);
    if (block.size() == 0) continue;
    for (int64_t g : {block.begin / group_size, (block.end - 1) / group_size})
      if ((split_groups.empty() || split_groups.back() < g) && is_split(blocks, g, group_size))
        split_groups.push_back(g);
  }
  layout.n_split = static_cast<int64_t>(split_groups.size());
  auto split_index = [&](int64_t g) -> int64_t {
    for (size_t i = 0; i < split_groups.size(); ++i)
      if (split_groups[i] == g) return static_cast<int64_t>(i);
    return -1;
  };

  // Rows every rank contributes to the allgather, in rank order = increasing global id.
  std::vector<int64_t> gathered_ids;
  for (int q = 0; q < ranks; ++q) {
    const IdRange block = blocks.of(q);
    for (int64_t m = block.begin; m < block.end; ++m) {
      if (split_index(m / group_size) < 0) {
        m = (m / group_size + 1) * group_size - 1;  // skip the rest of a whole group
        continue;
      }
      gathered_ids.push_back(m);
    }
  }

  const int64_t n = layout.members.size();
  std::vector<int64_t> contributed, assemble, position, group_of;
  if (n > 0) {
    layout.first_touched = layout.members.begin / group_size;
    layout.n_touched = (layout.members.end - 1) / group_size - layout.first_touched + 1;
  }
  for (int64_t m = layout.members.begin; m < layout.members.end; ++m) {
    const int64_t touched = m / group_size - layout.first_touched;
    position.push_back(touched * group_size + m % group_size);
    group_of.push_back(touched);
    if (split_index(m / group_size) >= 0) contributed.push_back(m - layout.members.begin);
  }
  for (int64_t touched = 0; touched < layout.n_touched; ++touched) {
    const int64_t g = layout.first_touched + touched;
    const bool split = split_index(g) >= 0;
    for (int64_t m = g * group_size; m < (g + 1) * group_size; ++m) {
      if (!split) {
        assemble.push_back(m - layout.members.begin);
      } else {
        const auto row = std::lower_bound(gathered_ids.begin(), gathered_ids.end(), m);
        assemble.push_back(n + (row - gathered_ids.begin()));
      }
    }
  }
  layout.contributed_rows = to_tensor(contributed);
  layout.assemble_index = to_tensor(assemble);
  layout.local_position = to_tensor(position);
  layout.local_group = to_tensor(group_of);
  return layout;
}

}  // namespace jointflow
