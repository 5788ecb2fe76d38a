// Errors: one exception type for everything the user can fix, and the check macros.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace jointflow {

// An error the user can act on: the message says what was wrong, where (file, key, rank) and what
// to do. `collective` marks errors raised identically on every rank (config, agreed checks), so
// that `main` can exit cleanly instead of aborting the world.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, bool collective = false)
      : std::runtime_error(message), collective_(collective) {}
  bool collective() const { return collective_; }

 private:
  bool collective_;
};

// Raised on every rank when the run stopped early on request (SIGTERM, SIGUSR1) after writing a
// checkpoint; the program then exits with kInterruptedStatus.
class Interrupted : public Error {
 public:
  explicit Interrupted(const std::string& message) : Error(message, /*collective=*/true) {}
};
constexpr int kInterruptedStatus = 75;  // EX_TEMPFAIL: try again (resume) later

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
[[noreturn]] void throw_check_failure(const char* file, int line, const char* condition,
                                      const std::string& message);
}  // namespace detail

}  // namespace jointflow

// Always-on check: throws jointflow::Error(message parts...) when `condition` is false.
#define JF_CHECK(condition, ...)                                                          \
  do {                                                                                    \
    if (!(condition)) throw ::jointflow::Error(::jointflow::detail::concat(__VA_ARGS__)); \
  } while (0)

// Collective check, for conditions that every rank evaluates alike (options, the config, data
// every rank holds the same copy of): throws a collective jointflow::Error, so that every rank
// prints nothing but rank 0 prints one line and all exit non-zero without aborting the world.
// A condition that may differ between ranks needs run_agreed (distributed/agreement.h) instead.
#define JF_CHECK_COLLECTIVE(condition, ...)                                                    \
  do {                                                                                         \
    if (!(condition))                                                                          \
      throw ::jointflow::Error(::jointflow::detail::concat(__VA_ARGS__), /*collective=*/true); \
  } while (0)

// Debug-only check for hot loops; names the condition and the source line.
#ifdef NDEBUG
#define JF_DCHECK(condition, ...) \
  do {                            \
  } while (0)
#else
#define JF_DCHECK(condition, ...)                                                         \
  do {                                                                                    \
    if (!(condition))                                                                     \
      ::jointflow::detail::throw_check_failure(__FILE__, __LINE__, #condition,            \
                                               ::jointflow::detail::concat(__VA_ARGS__)); \
  } while (0)
#endif
