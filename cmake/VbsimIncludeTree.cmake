# vbsim_make_include_tree(<source_root> <out_dir>): makes <out_dir>/vbsim/{models,spec,sw,
# platform,plugin} symbolic links to the source folders, so that with <out_dir> on the include path
# `#include <vbsim/models/...>` finds the same files as `#include "models/..."` with the source
# root on it. Used by the host build and by firmware/riscv-virt alike.
function(vbsim_make_include_tree source_root out_dir)
  file(MAKE_DIRECTORY ${out_dir}/vbsim)
  foreach(folder models spec sw platform plugin)
    if(NOT EXISTS ${out_dir}/vbsim/${folder})
      file(CREATE_LINK ${source_root}/${folder} ${out_dir}/vbsim/${folder} SYMBOLIC)
    endif()
  endforeach()
endfunction()
