// FNV-1a against the published test vectors, and the config hash against the values that
// checkpoints and results files written by earlier releases carry.
#include <gtest/gtest.h>

#include "core/hash.h"

namespace jointflow {
namespace {

TEST(Hash, Fnv1aMatchesThePublishedTestVectors) {
  EXPECT_EQ(fnv1a(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a("foobar"), 0x85944171f73967e8ull);
}

TEST(Hash, WordsFoldLikeBytes) {
  EXPECT_EQ(fnv1a_word(kFnv1aOffsetBasis, 'a'), fnv1a("a"));
  EXPECT_EQ(fnv1a_word(fnv1a_word(kFnv1aOffsetBasis, 'a'), 'b'), fnv1a("ab"));
}

// The config hash keeps the start value of the first release, so that existing checkpoints still
// resume: these are the hashes that release computed.
TEST(Hash, ConfigHashKeepsItsFirstReleaseStart) {
  EXPECT_EQ(config_hash(""), "14650fb0739d0383");
  EXPECT_EQ(config_hash("train.lr=0.001"), "d279a31bf824f0ad");
  EXPECT_NE(config_hash("train.lr=0.001"), config_hash("train.lr=0.002"));
}

}  // namespace
}  // namespace jointflow
