#pragma once

// Bit helpers for the guest software: the compiler builtins behind names that say what they
// count, written once for sw/. Bare-metal: <stdint.h> only (on rv64gc without the B extension
// the builtins become libgcc calls: __clzdi2, __ctzdi2, __popcountdi2).

#include <stdint.h>

namespace vbsim::sw::bits {

constexpr bool is_power_of_two(uint64_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

// Each byte of the result holds how many bits of that byte of `value` are set (the
// bit-parallel sum of pairs, then nibbles).
constexpr uint64_t set_bits_per_byte(uint64_t value) {
    value = value - ((value >> 1) & 0x5555555555555555u);
    value = (value & 0x3333333333333333u) + ((value >> 2) & 0x3333333333333333u);
    return (value + (value >> 4)) & 0x0f0f0f0f0f0f0f0fu;
}

// Byte k of the result holds how many bits of bytes 0..k of `value` are set: one multiply
// adds up the per-byte counts (none exceeds 64, so no byte carries into the next).
constexpr uint64_t set_bits_up_to_byte(uint64_t value) {
    return set_bits_per_byte(value) * 0x0101010101010101u;
}

// How many bits of `value` are set.
constexpr unsigned popcount(uint64_t value) {
#if defined(__POPCNT__) || defined(__riscv_zbb)
    return static_cast<unsigned>(__builtin_popcountll(value));
#else
    // Without a popcount instruction the builtin is a libgcc call: the bit-parallel sum is
    // inline and cheaper.
    return static_cast<unsigned>(set_bits_up_to_byte(value) >> 56);
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
    // limit < popcount(mask) <= 64 from here. Find the byte that holds the last bit wanted
    // from the running per-byte counts, then pick bits within that byte only: at most 8 + 8
    // steps, where clearing one bit at a time took up to 63 (this runs per allocation).
    const uint64_t running = set_bits_up_to_byte(mask);
    unsigned shift = 0;
    uint64_t before = 0;  // set bits below byte `shift`
    while (((running >> shift) & 0xff) < limit) {
        before = (running >> shift) & 0xff;
        shift += 8;
    }
    uint64_t result = mask & ((uint64_t{1} << shift) - 1);
    uint64_t byte = (mask >> shift) & 0xff;
    for (; before < limit; ++before) {
        const uint64_t low = byte & (~byte + 1);
        result |= low << shift;
        byte ^= low;
    }
    return result;
}

}  // namespace vbsim::sw::bits
