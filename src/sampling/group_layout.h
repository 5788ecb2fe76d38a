// Which members of a batch of joint sets a rank owns, and how it sees whole groups (DESIGN §3).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "distributed/partition.h"

namespace jointflow {

// A batch holds groups [first_group, first_group + n_groups) of K members each; member
// m = g·K + k has a global id, and ranks own contiguous balanced blocks of the batch's members.
// A group lies inside one rank or is split across several; split groups need their members'
// features and norms from other ranks (two allgathers per step).
struct GroupLayout {
  int64_t group_size = 0;     // K
  IdRange members;            // this rank's global member ids
  int64_t first_touched = 0;  // global id of the first group this rank holds members of
  int64_t n_touched = 0;      // groups this rank holds members of
  int64_t n_split = 0;        // split groups in the whole batch (same on every rank)

  // Local rows (0-based within `members`) this rank contributes to the allgather: its members
  // of split groups, in increasing id. int64 [n_contributed].
  at::Tensor contributed_rows;
  // For each (touched group, k), the row of cat(local features, gathered features) holding
  // member (first_touched + group)·K + k. int64 [n_touched·K].
  at::Tensor assemble_index;
  // For each local member, its position (group·K + k) among the touched groups. int64 [n].
  at::Tensor local_position;
  // For each local member, its touched-group index. int64 [n].
  at::Tensor local_group;

  int64_t local_count() const { return members.size(); }
  bool any_split() const { return n_split > 0; }
};

GroupLayout make_group_layout(int64_t first_group, int64_t n_groups, int64_t group_size, int ranks,
                              int rank);

}  // namespace jointflow
