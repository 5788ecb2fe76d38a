// Data-parallel training at 1, 2 and 3 ranks: the same global batch gives the same parameters on
// every rank and as a one-process run, with one all-reduce per step; batches are rank-count
// invariant whether each rank holds all the data or only its block.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/nn/module.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "distributed/local_communicator.h"
#include "distributed/mpi_communicator.h"
#include "distributed/partition.h"
#include "models/unet_velocity.h"
#include "training/residual_loss.h"
#include "training/sharded_batches.h"
#include "training/trainer.h"
#include "training_fixtures.h"

namespace jointflow {
namespace {

using testing_support::busy_options;
using testing_support::flat_parameters;
using testing_support::mixture_data;
using testing_support::small_mlp;

// Forwards to another communicator and counts the collectives.
class CountingCommunicator final : public Communicator {
 public:
  explicit CountingCommunicator(Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  std::string backend() const override { return inner_.backend(); }
  at::Tensor allgather(const at::Tensor& local) override {
    ++allgathers;
    return inner_.allgather(local);
  }
  void allreduce_sum(at::Tensor& tensor) override {
    allreduce_sum_sizes.push_back(tensor.numel());
    inner_.allreduce_sum(tensor);
  }
  void allreduce_max(at::Tensor& tensor) override { inner_.allreduce_max(tensor); }
  void broadcast(at::Tensor& tensor, int root) override {
    ++broadcasts;
    inner_.broadcast(tensor, root);
  }
  void barrier() override { inner_.barrier(); }

  int allgathers = 0;
  int broadcasts = 0;
  std::vector<int64_t> allreduce_sum_sizes;

 private:
  Communicator& inner_;
};

class TrainingRanks : public testing::Test {
 protected:
  void SetUp() override { log::configure(comm_.rank(), log::Level::quiet); }

  // Whether `local` ([P]) is bitwise the same on every rank.
  bool same_on_every_rank(const at::Tensor& local) {
    const at::Tensor all = comm_.allgather(local.unsqueeze(0));
    bool same = true;
    for (int r = 1; r < comm_.size(); ++r) same = same && at::equal(all[r], all[0]);
    return same;
  }

  MpiCommunicator comm_{MPI_COMM_WORLD};
};

// Rank r starts from seed 100 + r: the initial broadcast must give every rank rank 0's model.
// The global batch is the same at any rank count: 31 gives uneven blocks at 2 and 3 ranks, 2
// leaves rank 2 of 3 without examples (weight 0).
TEST_F(TrainingRanks, SameParametersOnEveryRankAndAsOneProcess) {
  constexpr int64_t kSteps = 20;
  const at::Tensor data = mixture_data("gmm2d", 100);
  for (const int64_t batch_size : {31, 2}) {
    SCOPED_TRACE(testing::Message() << "global batch " << batch_size);
    const ShardedBatchesOptions batch_options = ShardedBatchesOptions(100, batch_size).seed(5);
    CountingCommunicator counting(comm_);
    MlpVelocity model = small_mlp(100 + comm_.rank());
    ShardedBatches batches(data, 0, batch_options, counting);
    Trainer trainer(*model, counting, busy_options(kSteps), "ranks");
    EXPECT_EQ(counting.broadcasts, 1) << "parameters must be broadcast in one coalesced buffer";
    counting.allreduce_sum_sizes.clear();
    counting.allgathers = 0;
    trainer.run(residual_flow_closure(*model, nullptr, batches, 7));

    int64_t parameters = 0;
    for (const at::Tensor& p : model->parameters()) parameters += p.numel();
    ASSERT_EQ(counting.allreduce_sum_sizes.size(), static_cast<size_t>(kSteps))
        << "one all-reduce per step";
    for (const int64_t size : counting.allreduce_sum_sizes) EXPECT_EQ(size, parameters + 2);
    EXPECT_EQ(counting.allgathers, 0) << "whole data: batches need no communication";

    const at::Tensor trained = flat_parameters(*model);
    EXPECT_TRUE(same_on_every_rank(trained));

    // The same run on one process, here on every rank.
    LocalCommunicator local;
    MlpVelocity reference = small_mlp(100);
    ShardedBatches one(data, 0, batch_options, local);
    Trainer single(*reference, local, busy_options(kSteps), "ranks");
    single.run(residual_flow_closure(*reference, nullptr, one, 7));
    // Only the summation order differs: the all-reduce adds per-rank partial gradients (each the
    // mean of its block, times its size) where one process reduces the whole batch at once. That
    // is an O(1e-16) relative change per step (measured: 2e-16 after 20 steps at 3 ranks), which
    // Adam's m / (√v + ε) passes on without amplification while gradients stay away from 0;
    // 1e-10 leaves a wide margin yet catches any real difference (a wrong batch, weighting or
    // step moves parameters by ~lr = 1e-2).
    const at::Tensor expected = flat_parameters(*reference);
    const double relative =
        ((trained - expected).abs().max() / expected.abs().max()).item<double>();
    EXPECT_LT(relative, 1e-10);
    if (comm_.size() == 1) {
      EXPECT_TRUE(at::equal(trained, expected));
    }
  }
}

// Trains `model` for `steps` steps of the rectified-flow loss on `data` through `comm`; returns
// its parameters, flattened.
template <typename Model>
at::Tensor train_flow(Model& model, const at::Tensor& data, const ShardedBatchesOptions& options,
                      Communicator& comm, int64_t steps) {
  ShardedBatches batches(data, 0, options, comm);
  Trainer trainer(*model, comm, busy_options(steps), "ranks");
  trainer.run(residual_flow_closure(*model, nullptr, batches, 7));
  return flat_parameters(*model);
}

// The image model of train-flow and train-flux (convolutions, GroupNorm, attention), float64:
// data-parallel training gives every rank the parameters of a one-process run, as for the MLP
// above. GroupNorm normalizes each image on its own, so splitting a batch across ranks changes
// only the summation order. A global batch of 7 gives uneven blocks at 2 and 3 ranks.
TEST_F(TrainingRanks, ImageModelTrainsToTheSameParametersAsOneProcess) {
  constexpr int64_t kSteps = 4, kImages = 24;
  const at::Tensor data =
      (at::arange(kImages * 64, at::kDouble).reshape({kImages, 1, 8, 8}) * 0.37).sin();
  const auto make_unet = [](uint64_t seed) {
    UNetVelocity unet(UNetVelocityOptions({1, 8, 8})
                          .channels(8)
                          .channel_multipliers({1, 2})
                          .attention_levels({1})
                          .groups(4)
                          .seed(seed));
    unet->to(at::kDouble);
    return unet;
  };
  const ShardedBatchesOptions options = ShardedBatchesOptions(kImages, 7).seed(3);
  UNetVelocity model = make_unet(200 + comm_.rank());
  const at::Tensor trained = train_flow(model, data, options, comm_, kSteps);
  EXPECT_TRUE(same_on_every_rank(trained));

  LocalCommunicator local;
  UNetVelocity reference = make_unet(200);
  const at::Tensor expected = train_flow(reference, data, options, local, kSteps);
  const double relative = ((trained - expected).abs().max() / expected.abs().max()).item<double>();
  EXPECT_LT(relative, 1e-10);
  if (comm_.size() == 1) {
    EXPECT_TRUE(at::equal(trained, expected));
  }
  // The training moved the parameters by more than the tolerance.
  const at::Tensor initial = flat_parameters(*make_unet(200));
  EXPECT_GT(((expected - initial).abs().max() / initial.abs().max()).item<double>(), 1e-4);
}

// A module with parameters outside the loss: `unused` never takes part, `rank0_only` only on
// rank 0. Every rank still all-reduces the same buffer.
struct WithExtrasImpl : torch::nn::Module {
  WithExtrasImpl() {
    mlp = register_module("mlp", small_mlp(1, 4));
    unused = register_parameter("unused", at::ones({3}, at::kDouble));
    rank0_only = register_parameter("rank0_only", at::ones({2}, at::kDouble));
  }
  MlpVelocity mlp{nullptr};
  at::Tensor unused, rank0_only;
};

TEST_F(TrainingRanks, ParametersOutsideTheLossGetZeroGradients) {
  auto model = std::make_shared<WithExtrasImpl>();
  Trainer trainer(*model, comm_, busy_options(1).clip_norm(0), "extras");
  const at::Tensor x = mixture_data("gmm2d", 8);
  const StepStats stats = trainer.step([&](int64_t) {
    at::Tensor loss = model->mlp->velocity(x, at::scalar_tensor(0.5, at::kDouble)).pow(2).mean();
    if (comm_.rank() == 0) loss = loss + model->rank0_only.pow(2).sum();
    return LocalLoss{loss};
  });
  EXPECT_TRUE(std::isfinite(stats.loss));
  ASSERT_TRUE(model->unused.grad().defined());
  EXPECT_TRUE(at::equal(model->unused.grad(), at::zeros({3}, at::kDouble)));
  // d/dθ θ² = 2 at θ = 1 on rank 0, 0 elsewhere, averaged over the ranks.
  EXPECT_TRUE(at::allclose(model->rank0_only.grad(), at::full({2}, 2.0 / comm_.size(), at::kDouble),
                           0, 1e-15));
  EXPECT_TRUE(same_on_every_rank(flat_parameters(*model)));
}

// Rank r holding only block_of(N, size, r) sees exactly the batches of a rank holding all data,
// and the ranks' blocks put together are the global batch.
TEST_F(TrainingRanks, ShardedDataGiveTheSameBatches) {
  const int64_t n = 23;
  const at::Tensor data = at::arange(3 * n, at::kDouble).reshape({n, 3});
  const IdRange block = block_of(n, comm_.size(), comm_.rank());
  const ShardedBatchesOptions options = ShardedBatchesOptions(n, 10).seed(4);
  ShardedBatches whole(data, 0, options, comm_);
  ShardedBatches sharded(data.narrow(0, block.begin, block.size()), block.begin, options, comm_);
  EXPECT_EQ(sharded.sharded(), comm_.size() > 1);
  for (int64_t s = 0; s < 6; ++s) {  // 60 positions: two epoch boundaries
    const LocalBatch a = whole.batch(s);
    const LocalBatch b = sharded.batch(s);
    EXPECT_TRUE(at::equal(a.x, b.x)) << "step " << s;
    EXPECT_TRUE(at::equal(a.indices, b.indices));
    EXPECT_EQ(a.position.first, block_of(10, comm_.size(), comm_.rank()).begin);
    const at::Tensor global = comm_.allgather(a.indices);
    EXPECT_TRUE(at::equal(global, global_batch_indices(options, s))) << "step " << s;
    EXPECT_TRUE(at::equal(comm_.allgather(b.x), data.index_select(0, global)));
  }
}

}  // namespace
}  // namespace jointflow
