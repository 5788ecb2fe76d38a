#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <vector>

#include "core/error.h"
#include "distributed/counter_rng.h"
#include "distributed/mpi_communicator.h"
#include "distributed/partition.h"

namespace jointflow {
namespace {

// Rank r holds rows_of(r) rows: rank 1 holds none, so sizes 2 and 3 exercise an empty rank.
int64_t rows_of(int rank) { return rank == 1 ? 0 : rank + 2; }

// Rank r's rows: distinct values 100·r + 0, 1, ... in float64, converted to `dtype`.
at::Tensor rows_for(int rank, const std::vector<int64_t>& trailing, at::ScalarType dtype) {
  std::vector<int64_t> shape{rows_of(rank)};
  shape.insert(shape.end(), trailing.begin(), trailing.end());
  int64_t numel = 1;
  for (const int64_t size : shape) numel *= size;
  return (at::arange(numel, at::kDouble) + 100.0 * rank).reshape(shape).to(dtype);
}

class MpiCommunicatorTest : public testing::Test {
 protected:
  MpiCommunicator comm_{MPI_COMM_WORLD};
};

TEST_F(MpiCommunicatorTest, KnowsItsRankAndSize) {
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(comm_.rank(), rank);
  EXPECT_EQ(comm_.size(), size);
  EXPECT_EQ(comm_.backend(), "mpi");
  int comparison = MPI_IDENT;
  MPI_Comm_compare(comm_.handle(), MPI_COMM_WORLD, &comparison);
  EXPECT_EQ(comparison, MPI_CONGRUENT);  // a duplicate, not the world itself
}

TEST_F(MpiCommunicatorTest, AllgatherConcatenatesVaryingRowCountsInRankOrder) {
  for (const at::ScalarType dtype : {at::kDouble, at::kFloat, at::kLong, at::kByte}) {
    for (const std::vector<int64_t>& trailing :
         {std::vector<int64_t>{}, std::vector<int64_t>{3}, std::vector<int64_t>{2, 3}}) {
      std::vector<at::Tensor> parts;
      for (int r = 0; r < comm_.size(); ++r) parts.push_back(rows_for(r, trailing, dtype));
      const at::Tensor expected = at::cat(parts, 0);
      const at::Tensor gathered = comm_.allgather(rows_for(comm_.rank(), trailing, dtype));
      EXPECT_EQ(gathered.scalar_type(), dtype);
      EXPECT_EQ(gathered.sizes(), expected.sizes());
      EXPECT_TRUE(at::equal(gathered, expected))
          << "dtype " << dtype << ", " << trailing.size() << " trailing dims";
    }
  }
}

TEST_F(MpiCommunicatorTest, AllgatherAcceptsNonContiguousInputAndEmptyWorlds) {
  // Every rank holds rows here: a strided view of an empty tensor would count as contiguous.
  const at::Tensor local = at::arange(12, at::kDouble).reshape({3, 4}) + 100.0 * comm_.rank();
  const at::Tensor strided = local.t().contiguous().t();  // same values, column-major
  EXPECT_FALSE(strided.is_contiguous());
  EXPECT_TRUE(at::equal(comm_.allgather(strided), comm_.allgather(local)));

  const at::Tensor empty = comm_.allgather(at::empty({0, 5}, at::kFloat));
  EXPECT_EQ(empty.sizes(), at::IntArrayRef({0, 5}));
}

TEST_F(MpiCommunicatorTest, AllgatherRejectsDisagreeingShapesOnEveryRank) {
  if (comm_.size() < 2) GTEST_SKIP() << "needs two ranks to disagree";
  const int64_t width = comm_.rank() == comm_.size() - 1 ? 4 : 3;
  try {
    comm_.allgather(at::zeros({2, width}, at::kDouble));
    FAIL() << "no error for different trailing shapes";
  } catch (const Error& error) {
    EXPECT_TRUE(error.collective());
    EXPECT_NE(std::string(error.what()).find("trailing shape"), std::string::npos) << error.what();
  }
}

TEST_F(MpiCommunicatorTest, AllreduceSumIsExactOnIntegersAndFloat64) {
  const int64_t n = comm_.size();
  const int64_t r = comm_.rank();
  at::Tensor integers = at::tensor({r + 1, -2 * r, (int64_t{1} << 40) + r}, at::kLong);
  comm_.allreduce_sum(integers);
  EXPECT_TRUE(at::equal(integers, at::tensor({n * (n + 1) / 2, -n * (n - 1),
                                              (int64_t{1} << 40) * n + n * (n - 1) / 2},
                                             at::kLong)));

  at::Tensor reals = at::full({2, 3}, 0.25 * static_cast<double>(r + 1), at::kDouble);
  comm_.allreduce_sum(reals);
  EXPECT_TRUE(
      at::equal(reals, at::full({2, 3}, 0.125 * static_cast<double>(n * (n + 1)), at::kDouble)));
}

TEST_F(MpiCommunicatorTest, AllreduceSumCoversNarrowDtypesAndStridedTensors) {
  const double n = comm_.size();
  const double r = comm_.rank();
  for (const at::ScalarType dtype :
       {at::kFloat, at::kHalf, at::kBFloat16, at::kInt, at::kShort, at::kChar, at::kByte}) {
    at::Tensor x = at::full({5}, r + 1.0, at::kDouble).to(dtype);
    comm_.allreduce_sum(x);
    EXPECT_EQ(x.scalar_type(), dtype);
    EXPECT_TRUE(at::equal(x.to(at::kDouble), at::full({5}, n * (n + 1.0) / 2.0, at::kDouble)))
        << "dtype " << dtype;
  }
  at::Tensor base = at::zeros({3, 4}, at::kDouble);
  at::Tensor column = base.select(1, 2);  // a strided view: the result must land in `base`
  column.fill_(1.0);
  comm_.allreduce_sum(column);
  EXPECT_TRUE(at::equal(base.select(1, 2), at::full({3}, n, at::kDouble)));
  EXPECT_EQ(base.sum().item<double>(), 3.0 * n);
}

TEST_F(MpiCommunicatorTest, AllreduceMaxIsExactAndBoolIsLogicalOr) {
  const int64_t n = comm_.size();
  const int64_t r = comm_.rank();
  at::Tensor integers = at::tensor({r, -r, r == 1 ? int64_t{1} << 50 : 0}, at::kLong);
  comm_.allreduce_max(integers);
  EXPECT_TRUE(at::equal(integers,
                        at::tensor({n - 1, int64_t{0}, n > 1 ? int64_t{1} << 50 : 0}, at::kLong)));

  at::Tensor reals =
      at::tensor({-1.5 * static_cast<double>(r), 1e300 * static_cast<double>(r)}, at::kDouble);
  comm_.allreduce_max(reals);
  EXPECT_TRUE(at::equal(reals, at::tensor({0.0, 1e300 * static_cast<double>(n - 1)}, at::kDouble)));

  const auto bools = [](bool a, bool b) {
    return at::tensor({int64_t{a}, int64_t{b}}, at::kLong).to(at::kBool);
  };
  at::Tensor flags = bools(r == n - 1, false);
  comm_.allreduce_sum(flags);
  EXPECT_TRUE(at::equal(flags, bools(true, false)));
  flags = bools(r == 0, false);
  comm_.allreduce_max(flags);
  EXPECT_TRUE(at::equal(flags, bools(true, false)));
}

TEST_F(MpiCommunicatorTest, AllreduceRejectsComplexDtypes) {
  at::Tensor x = at::zeros({2}, at::kComplexDouble);
  EXPECT_THROW(comm_.allreduce_sum(x), Error);
}

TEST_F(MpiCommunicatorTest, BroadcastCopiesTheRootsTensorFromANonZeroRoot) {
  const int root = comm_.size() - 1;
  at::Tensor x = at::full({4, 3}, static_cast<double>(comm_.rank()), at::kDouble) +
                 at::arange(12, at::kDouble).reshape({4, 3});
  comm_.broadcast(x, root);
  EXPECT_TRUE(at::equal(x, at::full({4, 3}, static_cast<double>(root), at::kDouble) +
                               at::arange(12, at::kDouble).reshape({4, 3})));

  at::Tensor base = at::zeros({2, 2}, at::kLong);
  at::Tensor row = base.select(1, 0);
  if (comm_.rank() == root) row.fill_(7);
  comm_.broadcast(row, root);
  EXPECT_TRUE(at::equal(base, at::tensor({7, 0, 7, 0}, at::kLong).reshape({2, 2})));

  EXPECT_THROW(comm_.broadcast(x, comm_.size()), Error);
  comm_.barrier();
}

// Invariant R end to end: blocks drawn on each rank and gathered equal one draw of all ids.
TEST_F(MpiCommunicatorTest, CounterDrawsGatheredFromRanksMatchASingleDraw) {
  const RandomKey key{99, RandomStream::initial_noise};
  const int64_t total = 1001;
  const IdRange mine = block_of(total, comm_.size(), comm_.rank());
  const at::Tensor gathered = comm_.allgather(counter_normal(key, mine.begin, mine.size(), 6, 4));
  EXPECT_TRUE(at::equal(gathered, counter_normal(key, 0, total, 6, 4)));
}

}  // namespace
}  // namespace jointflow
