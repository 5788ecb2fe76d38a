#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "sampling/group_layout.h"

namespace jointflow {
namespace {

// Reassembling every rank's view from the global member ids must give each touched group's
// members in order, for every split of the batch.
TEST(GroupLayout, EveryRankSeesWholeGroupsInOrder) {
  for (int64_t k : {2, 3, 10, 64})
    for (int ranks : {1, 2, 3, 5, 8})
      for (int64_t first_group : {0, 7})
        for (int64_t n_groups : {1, 2, 5, 13}) {
          int64_t split_total = -1;
          std::vector<int64_t> gathered;  // global ids every rank contributes, in rank order
          std::vector<GroupLayout> layouts;
          for (int r = 0; r < ranks; ++r) {
            layouts.push_back(make_group_layout(first_group, n_groups, k, ranks, r));
            const GroupLayout& layout = layouts.back();
            if (split_total >= 0) {
              EXPECT_EQ(layout.n_split, split_total);
            }
            split_total = layout.n_split;
            for (int64_t i = 0; i < layout.contributed_rows.numel(); ++i)
              gathered.push_back(layout.members.begin + layout.contributed_rows[i].item<int64_t>());
          }
          int64_t covered = 0;
          for (const GroupLayout& layout : layouts) {
            covered += layout.local_count();
            const int64_t n = layout.local_count();
            for (int64_t touched = 0; touched < layout.n_touched; ++touched)
              for (int64_t j = 0; j < k; ++j) {
                const int64_t row = layout.assemble_index[touched * k + j].item<int64_t>();
                const int64_t id = row < n ? layout.members.begin + row : gathered.at(row - n);
                EXPECT_EQ(id, (layout.first_touched + touched) * k + j);
              }
            for (int64_t i = 0; i < n; ++i) {
              const int64_t id = layout.members.begin + i;
              EXPECT_EQ(layout.local_position[i].item<int64_t>(),
                        (id / k - layout.first_touched) * k + id % k);
              EXPECT_EQ(layout.local_group[i].item<int64_t>(), id / k - layout.first_touched);
            }
          }
          EXPECT_EQ(covered, n_groups * k);
          if (ranks == 1) {
            EXPECT_EQ(split_total, 0);
          }
        }
}

TEST(GroupLayout, WholeGroupsPerRankNeedNoExchange) {
  // 6 groups of 10 over 3 ranks: 20 members each, no group split.
  for (int r = 0; r < 3; ++r) {
    const GroupLayout layout = make_group_layout(0, 6, 10, 3, r);
    EXPECT_EQ(layout.n_split, 0);
    EXPECT_EQ(layout.n_touched, 2);
    EXPECT_EQ(layout.contributed_rows.numel(), 0);
  }
  // One group of 64 over 3 ranks: split, every member contributed.
  const GroupLayout middle = make_group_layout(0, 1, 64, 3, 1);
  EXPECT_EQ(middle.n_split, 1);
  EXPECT_EQ(middle.contributed_rows.numel(), middle.local_count());
  EXPECT_EQ(middle.n_touched, 1);
}

}  // namespace
}  // namespace jointflow
