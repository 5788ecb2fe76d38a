# Compiler launcher, warnings and sanitizers shared by every target.
find_program(JF_CCACHE ccache)
if(JF_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${JF_CCACHE}")
  set(CMAKE_C_COMPILER_LAUNCHER "${JF_CCACHE}")
endif()

add_library(jf_warnings INTERFACE)
target_compile_options(jf_warnings INTERFACE -Wall -Wextra)

if(JF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
