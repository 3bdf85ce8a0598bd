# Cross toolchain for the bare-metal firmware: Debian's gcc-riscv64-unknown-elf (C headers
# only, no C++ library headers, no libc worth linking). Use with
#   cmake -S firmware/riscv-virt -B build/riscv-virt -DCMAKE_TOOLCHAIN_FILE=firmware/riscv-virt/toolchain-riscv64.cmake
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(VBSIM_RISCV_PREFIX riscv64-unknown-elf- CACHE STRING "Prefix of the riscv64 bare-metal tools")
set(CMAKE_C_COMPILER ${VBSIM_RISCV_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${VBSIM_RISCV_PREFIX}g++)
set(CMAKE_ASM_COMPILER ${VBSIM_RISCV_PREFIX}gcc)
set(CMAKE_OBJCOPY ${VBSIM_RISCV_PREFIX}objcopy CACHE FILEPATH "")
set(CMAKE_OBJDUMP ${VBSIM_RISCV_PREFIX}objdump CACHE FILEPATH "")
set(CMAKE_SIZE ${VBSIM_RISCV_PREFIX}size CACHE FILEPATH "")

# Nothing here can link a hosted test program.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
