// spec/little_endian.h and spec::align_up: the helpers the device models and the driver share.

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "spec/little_endian.h"
#include "spec/virtio.h"

namespace {

using namespace vbsim::spec;

// Bytes chosen so that any swapped, dropped or repeated byte changes the value.
constexpr uint8_t kBytes[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

static_assert(load_le16(kBytes) == 0x2301);
static_assert(load_le32(kBytes) == 0x67452301);
static_assert(load_le64(kBytes) == 0xefcdab8967452301);

TEST(LittleEndian, FixedWidthLoads) {
    EXPECT_EQ(load_le16(kBytes), 0x2301u);
    EXPECT_EQ(load_le32(kBytes), 0x67452301u);
    EXPECT_EQ(load_le64(kBytes), 0xefcdab8967452301u);
    EXPECT_EQ(load_le32(kBytes + 4), 0xefcdab89u);
}

TEST(LittleEndian, FixedWidthStoresWriteOnlyTheirBytes) {
    struct Row {
        const char* name;
        int width;
        std::vector<uint8_t> expected;
    };
    const Row rows[] = {
        {"le16", 2, {0x01, 0x23, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}},
        {"le32", 4, {0x01, 0x23, 0x45, 0x67, 0xee, 0xee, 0xee, 0xee, 0xee}},
        {"le64", 8, {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xee}},
    };
    for (const Row& row : rows) {
        SCOPED_TRACE(row.name);
        std::vector<uint8_t> bytes(9, 0xee);
        const uint64_t value = 0xefcdab8967452301;
        if (row.width == 2) {
            store_le16(bytes.data(), static_cast<uint16_t>(value));
        } else if (row.width == 4) {
            store_le32(bytes.data(), static_cast<uint32_t>(value));
        } else {
            store_le64(bytes.data(), value);
        }
        EXPECT_EQ(bytes, row.expected);
    }
}

TEST(LittleEndian, AnyWidthRoundTrips) {
    for (size_t width = 0; width <= 8; ++width) {
        SCOPED_TRACE(width);
        uint8_t bytes[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0xee};
        store_le(bytes, width, 0xefcdab8967452301);
        const uint64_t mask = width == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * width)) - 1;
        EXPECT_EQ(load_le(bytes, width), 0xefcdab8967452301 & mask);
        EXPECT_EQ(load_le(kBytes, width), load_le64(kBytes) & mask);
        EXPECT_EQ(bytes[8], 0xee);  // never past `width`
        for (size_t i = width; i < 8; ++i) {
            EXPECT_EQ(bytes[i], 0) << "byte " << i;
        }
    }
}

TEST(AlignUp, RoundsToMultiplesOfAPowerOfTwo) {
    struct Row {
        uint64_t value;
        uint64_t align;
        uint64_t expected;
    };
    const Row rows[] = {
        {0, 4096, 0},       {1, 4096, 4096},      {4095, 4096, 4096},
        {4096, 4096, 4096}, {4097, 4096, 8192},   {7, 1, 7},
        {5, 2, 6},          {0x1234, 16, 0x1240}, {~uint64_t{0} - 4095, 4096, ~uint64_t{0} - 4095},
    };
    for (const Row& row : rows) {
        EXPECT_EQ(align_up(row.value, row.align), row.expected)
            << "align_up(" << row.value << ", " << row.align << ")";
    }
}

}  // namespace
