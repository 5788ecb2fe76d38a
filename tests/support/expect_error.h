// expect_error: a GoogleTest check that an action throws a jointflow::Error with given words.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace jointflow::testing_support {

// Runs `action`, which must throw a jointflow::Error whose message contains every one of `parts`.
template <typename Action>
void expect_error(Action action, const std::vector<std::string>& parts) {
  try {
    action();
    ADD_FAILURE() << "no Error thrown; expected one mentioning '" << parts.front() << "'";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

template <typename Action>
void expect_error(Action action, const char* part) {
  expect_error(action, std::vector<std::string>{part});
}

}  // namespace jointflow::testing_support
