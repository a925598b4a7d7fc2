# Compile options shared by every Aphex target: aphex_compile_options(<target>).
add_library(aphex_compile_options INTERFACE)
target_compile_options(aphex_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough
  # Option structs are filled with designated initializers that name only what differs from the
  # defaults (`{.limit = 500}`); g++ would flag every omitted member.
  -Wno-missing-field-initializers
  $<$<BOOL:${APHEX_WERROR}>:-Werror>)

if(APHEX_SANITIZE)
  target_compile_options(aphex_compile_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(aphex_compile_options INTERFACE -fsanitize=address,undefined)
endif()

# g++ 12 at -O3 reports a false -Wrestrict inside libstdc++'s std::string (GCC bug 105651, fixed
# in 13); with -Werror it would break the release build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(aphex_compile_options INTERFACE -Wno-restrict)
endif()
