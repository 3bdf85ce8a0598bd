#pragma once

// Bit helpers for the guest software: the compiler builtins behind names that say what they
// count, written once for sw/. Bare-metal: <stdint.h> only (on rv64gc without the B extension
// the builtins become libgcc calls: __clzdi2, __ctzdi2, __popcountdi2).

#include <stdint.h>

namespace vbsim::sw::bits {

constexpr bool is_power_of_two(uint64_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

// How many bits of `value` are set.
constexpr unsigned popcount(uint64_t value) {
#if defined(__POPCNT__) || defined(__riscv_zbb)
    return static_cast<unsigned>(__builtin_popcountll(value));
#else
    // Without a popcount instruction the builtin is a libgcc call: the bit-parallel sum is
    // inline and cheaper (pairs, nibbles, then bytes added up by one multiply).
    value = value - ((value >> 1) & 0x5555555555555555u);
    value = (value & 0x3333333333333333u) + ((value >> 2) & 0x3333333333333333u);
    value = (value + (value >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return static_cast<unsigned>((value * 0x0101010101010101u) >> 56);
#endif
}

// The index of the lowest set bit; `value` must not be 0.
constexpr unsigned lowest_bit(uint64_t value) {
    return static_cast<unsigned>(__builtin_ctzll(value));
}

// floor(log2(value)), the index of the highest set bit; `value` must not be 0.
constexpr unsigned log2_floor(uint64_t value) {
    return 63 - static_cast<unsigned>(__builtin_clzll(value));
}

// The largest power of two not above `value`; 0 for 0.
constexpr uint32_t round_down_to_power_of_two(uint32_t value) {
    return value == 0 ? 0 : uint32_t{1} << log2_floor(value);
}

// The `limit` lowest set bits of `mask` (all of them when it has no more than that).
constexpr uint64_t lowest_set_bits(uint64_t mask, uint64_t limit) {
    if (popcount(mask) <= limit) {
        return mask;
    }
    uint64_t result = 0;
    for (uint64_t i = 0; i < limit; ++i) {
        const uint64_t low = mask & (~mask + 1);
        result |= low;
        mask ^= low;
    }
    return result;
}

}  // namespace vbsim::sw::bits
