// Deliberate faults that a JF_SANITIZE=ON build must report (tests/sanitizers/CMakeLists.txt):
// they show that the sanitizers are on and that the suppression files do not hide jointflow's
// own errors. Usage: sanitizer_canary overflow | signed-overflow | leak
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

namespace {

// volatile keeps the compiler from proving the faults away.
volatile int g_index = 8;
volatile int g_large = std::numeric_limits<int>::max();
int* volatile g_only_pointer = nullptr;

int heap_overflow() {
  int* values = new int[8];
  std::memset(values, 0, 8 * sizeof(int));
  int* volatile unknown = values;     // hides the block's size from UBSan: ASan must see this
  const int read = unknown[g_index];  // one past the end
  delete[] values;
  return read;
}

int signed_overflow() { return g_large + 1; }

int leak() {
  g_only_pointer = new int[64];
  g_only_pointer = nullptr;  // the only pointer to the block is gone
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string fault = argc > 1 ? argv[1] : "";
  if (fault == "overflow") return heap_overflow() == 0 ? 0 : 1;
  if (fault == "signed-overflow") return signed_overflow() < 0 ? 0 : 1;
  if (fault == "leak") return leak();
  std::fprintf(stderr, "usage: sanitizer_canary overflow | signed-overflow | leak\n");
  return 2;
}
