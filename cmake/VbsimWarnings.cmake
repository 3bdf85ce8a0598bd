# Strict warnings for vbsim's own targets only; SystemC headers live in system
# include directories, so their warnings never reach -Werror.
add_library(vbsim_warnings INTERFACE)
target_compile_options(vbsim_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  $<$<BOOL:${VBSIM_WERROR}>:-Werror>)
