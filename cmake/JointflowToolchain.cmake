# Compiler launcher, warnings and sanitizers shared by every target.
find_program(JF_CCACHE ccache)
if(JF_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${JF_CCACHE}")
  set(CMAKE_C_COMPILER_LAUNCHER "${JF_CCACHE}")
endif()

add_library(jf_warnings INTERFACE)
target_compile_options(jf_warnings INTERFACE -Wall -Wextra)

# JF_SANITIZE=ON: AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer on every
# target; the first undefined behaviour stops the process. LibTorch, OpenBLAS and Open MPI are not
# instrumented and keep process-lifetime allocations, so the tests run with the suppression files
# of tests/sanitizers/ (its README lists them and why). Open MPI unloads its components at
# MPI_Finalize, so their frames are unknown at the leak check: allocation stacks are unwound in
# full (fast_unwind_on_malloc=0) to reach the libmpi or libopen-pal frames the suppressions name.
# ctest reads the options below from sanitizer-environment.cmake in the build directory before it
# runs any test, so every test process and the ranks mpiexec or the Python tests start get them;
# options already in the environment come after ours and win.
if(JF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  set(JF_SANITIZER_FILES "${PROJECT_SOURCE_DIR}/tests/sanitizers")
  set(JF_SANITIZER_OPTIONS
      "ASAN_OPTIONS=suppressions=${JF_SANITIZER_FILES}/asan.supp:detect_odr_violation=0:strict_string_checks=1:check_initialization_order=1:abort_on_error=0"
      "LSAN_OPTIONS=suppressions=${JF_SANITIZER_FILES}/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
      "UBSAN_OPTIONS=suppressions=${JF_SANITIZER_FILES}/ubsan.supp:print_stacktrace=1:halt_on_error=1")
  set(environment "# Written by cmake/JointflowToolchain.cmake (JF_SANITIZE=ON); read by ctest.\n")
  foreach(assignment IN LISTS JF_SANITIZER_OPTIONS)
    string(REGEX MATCH "^[A-Z_]+" variable "${assignment}")
    string(REGEX REPLACE "^[A-Z_]+=" "" value "${assignment}")
    string(APPEND environment
           "if(DEFINED ENV{${variable}})\n"
           "  set(ENV{${variable}} \"${value}:\$ENV{${variable}}\")\n"
           "else()\n"
           "  set(ENV{${variable}} \"${value}\")\n"
           "endif()\n")
  endforeach()
  file(WRITE "${PROJECT_BINARY_DIR}/sanitizer-environment.cmake" "${environment}")
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY TEST_INCLUDE_FILES
               "${PROJECT_BINARY_DIR}/sanitizer-environment.cmake")
endif()
