#include <gtest/gtest.h>

#include "core/choice.h"
#include "core/error.h"

namespace jointflow {
namespace {

enum class Color { red, green };
const ChoiceTable<Color> kColors{{"red", Color::red}, {"green", Color::green}};

TEST(Check, ThrowsErrorWithConcatenatedMessage) {
  try {
    JF_CHECK(1 + 1 == 3, "expected ", 3, " got ", 2);
    FAIL() << "JF_CHECK did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "expected 3 got 2");
    EXPECT_FALSE(error.collective());
  }
}

TEST(Check, PassesWithoutEvaluatingMessageSideEffects) {
  int calls = 0;
  auto message = [&] { return ++calls; };
  JF_CHECK(true, message());
  EXPECT_EQ(calls, 0);
}

// A collective check's error is marked collective (main then exits cleanly on every rank) and its
// message is exactly the concatenated parts.
TEST(Check, CollectiveCheckThrowsACollectiveErrorWithItsMessage) {
  try {
    JF_CHECK_COLLECTIVE(1 + 1 == 3, "eval.mixture = ", 7, " is not set");
    FAIL() << "no error for a false condition";
  } catch (const Error& error) {
    EXPECT_TRUE(error.collective());
    EXPECT_EQ(std::string(error.what()), "eval.mixture = 7 is not set");
  }
  JF_CHECK_COLLECTIVE(true, "never thrown");
}

TEST(Choice, ParsesKnownNamesAndNamesTheKeyOtherwise) {
  EXPECT_EQ(parse_choice("paint.color", "green", kColors), Color::green);
  EXPECT_EQ(choice_name(Color::red, kColors), "red");
  try {
    parse_choice("paint.color", "blue", kColors);
    FAIL() << "no error for an unknown name";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "paint.color = 'blue' is not one of red|green");
  }
}

}  // namespace
}  // namespace jointflow
