# Link-time optimisation of the simulator and the benchmark in Release builds (GCC).
#
# A guest step crosses many translation units (GuestCpu, the driver, the HAL, the TLM
# sockets, the router, the device, the host), and inlining across them takes about 13 % of
# the instructions off bench case (7) without changing a simulated result. The libraries
# are compiled to fat objects (GIMPLE and machine code): only the executables given to
# vbsim_link_time_optimize() are linked with -flto; the tests link the machine code. An
# integrator's GCC 12 may optimise across the installed libraries; another compiler uses their
# machine code, another GCC version needs -fno-lto at its link (README, "Using the models in a larger
# platform").
option(VBSIM_LTO "Link-time optimisation of vbsim, vbsim_bench and the plugin in Release builds (GCC)" ON)

set(VBSIM_LTO_ACTIVE OFF)
if(VBSIM_LTO AND CMAKE_BUILD_TYPE STREQUAL "Release" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
   AND NOT VBSIM_SANITIZE AND NOT VBSIM_FUZZ)
  include(CheckIPOSupported)
  check_ipo_supported(RESULT vbsim_lto_supported OUTPUT vbsim_lto_why LANGUAGES CXX)
  if(vbsim_lto_supported)
    set(VBSIM_LTO_ACTIVE ON)
    # GCC's linker plugin would otherwise optimise every link that sees the fat objects
    # (each test executable). -fno-lto anywhere on a link line wins over -flto, so the
    # targets of vbsim_link_time_optimize() are left out.
    add_link_options($<$<NOT:$<BOOL:$<TARGET_PROPERTY:VBSIM_LTO_LINK>>>:-fno-lto>)
  else()
    message(STATUS "vbsim: link-time optimisation not supported here, built without: ${vbsim_lto_why}")
  endif()
endif()

# Compiles `target`'s own sources to fat LTO objects (nothing when LTO is off).
function(vbsim_link_time_objects target)
  if(VBSIM_LTO_ACTIVE)
    target_compile_options(${target} PRIVATE -flto -ffat-lto-objects)
  endif()
endfunction()

# Compiles `target` to fat LTO objects and links it with -flto, across the libraries' objects.
function(vbsim_link_time_optimize target)
  if(VBSIM_LTO_ACTIVE)
    vbsim_link_time_objects(${target})
    # As many partitions in parallel as cores (-flto=auto finds no jobserver under CMake's
    # makefiles and goes serial); the partitioning, and so the code, does not depend on it.
    cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
    target_link_options(${target} PRIVATE -flto=${cores})
    set_target_properties(${target} PROPERTIES VBSIM_LTO_LINK ON)
  endif()
endfunction()
