/* Start-up for the vbsim firmware on QEMU virt (machine mode, -bios none): park the other
 * harts, set gp/sp, install the trap vector, enable the FPU (lp64d code may use it), zero
 * .bss, run the (normally empty) .init_array, call main, and end QEMU with its result. */
  .section .text.start, "ax"
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, park
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la sp, __stack_top
  la t0, trap_entry
  csrw mtvec, t0
  li t0, (1 << 13)            /* mstatus.FS = Initial */
  csrs mstatus, t0
  csrwi fcsr, 0

  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  la s0, __init_array_start
  la s1, __init_array_end
3:
  bgeu s0, s1, 4f
  ld t0, 0(s0)
  jalr t0
  addi s0, s0, 8
  j 3b
4:
  call main
  call fw_exit                /* a0 = main's return value */
park:
  wfi
  j park

  .align 4
trap_entry:
  la sp, __stack_top          /* whatever broke, get a usable stack for the report */
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  call fw_trap
  j park
