// sw/bits/bits.h.

#include <cstdint>

#include <gtest/gtest.h>

#include "sw/bits/bits.h"

namespace {

namespace bits = vbsim::sw::bits;

TEST(Bits, IsPowerOfTwo) {
    struct Row {
        uint64_t value;
        bool expected;
    };
    const Row rows[] = {{0, false},
                        {1, true},
                        {2, true},
                        {3, false},
                        {4096, true},
                        {4097, false},
                        {uint64_t{1} << 63, true},
                        {~uint64_t{0}, false}};
    for (const Row& row : rows) {
        EXPECT_EQ(bits::is_power_of_two(row.value), row.expected) << row.value;
    }
}

TEST(Bits, CountsAndIndices) {
    struct Row {
        uint64_t value;
        unsigned popcount;
        unsigned lowest;
        unsigned log2_floor;
    };
    const Row rows[] = {
        {1, 1, 0, 0},
        {0x80, 1, 7, 7},
        {0x90, 2, 4, 7},
        {0xffff, 16, 0, 15},
        {uint64_t{1} << 63, 1, 63, 63},
        {~uint64_t{0}, 64, 0, 63},
        {0x8000000000000100, 2, 8, 63},
    };
    for (const Row& row : rows) {
        SCOPED_TRACE(row.value);
        EXPECT_EQ(bits::popcount(row.value), row.popcount);
        EXPECT_EQ(bits::lowest_bit(row.value), row.lowest);
        EXPECT_EQ(bits::log2_floor(row.value), row.log2_floor);
    }
    EXPECT_EQ(bits::popcount(0), 0u);
}

unsigned popcount_bit_by_bit(uint64_t value) {
    unsigned count = 0;
    for (; value != 0; value >>= 1) {
        count += static_cast<unsigned>(value & 1);
    }
    return count;
}

// Against a bit-by-bit count: every run of low ones, and sparse, random and dense values.
TEST(Bits, PopcountMatchesABitByBitCount) {
    for (unsigned ones = 0; ones < 64; ++ones) {
        EXPECT_EQ(bits::popcount((uint64_t{1} << ones) - 1), ones);
    }
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 3000; ++i) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        for (const uint64_t value :
             {state & (state >> 7) & (state >> 13), state, state | (state << 5)}) {
            ASSERT_EQ(bits::popcount(value), popcount_bit_by_bit(value)) << value;
        }
    }
    static_assert(bits::popcount(0xf0f0) == 8, "usable at compile time");
}

TEST(Bits, RoundDownToPowerOfTwo) {
    struct Row {
        uint32_t value;
        uint32_t expected;
    };
    const Row rows[] = {{0, 0},     {1, 1},     {2, 2},      {3, 2},
                        {255, 128}, {256, 256}, {1000, 512}, {0xffffffff, 0x80000000}};
    for (const Row& row : rows) {
        EXPECT_EQ(bits::round_down_to_power_of_two(row.value), row.expected) << row.value;
    }
}

TEST(Bits, LowestSetBits) {
    struct Row {
        uint64_t mask;
        uint64_t limit;
        uint64_t expected;
    };
    const Row rows[] = {
        {0, 3, 0},
        {0xf0, 0, 0},
        {0xf0, 2, 0x30},
        {0xf0, 4, 0xf0},
        {0xf0, 9, 0xf0},
        {0x8000000000000001, 1, 1},
        {~uint64_t{0}, 63, ~uint64_t{0} >> 1},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(bits::lowest_set_bits(row.mask, row.limit), row.expected)
            << "mask " << row.mask << ", limit " << row.limit;
    }
}

// The byte-wise search against the obvious bit-at-a-time loop, over masks of every density
// and every limit that cuts them.
TEST(Bits, LowestSetBitsMatchesTakingBitsOneByOne) {
    const auto one_by_one = [](uint64_t mask, uint64_t limit) {
        uint64_t result = 0;
        for (uint64_t taken = 0; taken < limit && mask != 0; ++taken) {
            const uint64_t low = mask & (~mask + 1);
            result |= low;
            mask ^= low;
        }
        return result;
    };
    uint64_t state = 0x9e3779b97f4a7c15u;
    const auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    unsigned cases = 0;
    for (int round = 0; round < 2000; ++round) {
        // AND/OR of random words: sparse, dense and half-full masks.
        const uint64_t a = next();
        const uint64_t b = next();
        const uint64_t masks[] = {a, a & b, a | b, a & b & next(), a | b | next(), ~uint64_t{0}};
        for (const uint64_t mask : masks) {
            for (uint64_t limit = 0; limit <= 65; ++limit) {
                ASSERT_EQ(bits::lowest_set_bits(mask, limit), one_by_one(mask, limit))
                    << "mask " << mask << ", limit " << limit;
                ++cases;
            }
        }
    }
    EXPECT_EQ(cases, 2000u * 6 * 66);
}

}  // namespace
