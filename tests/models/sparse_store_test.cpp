#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>

#include "models/memory/sparse_store.h"

namespace vbsim::models {
namespace {

constexpr uint64_t kTiB = uint64_t{1} << 40;

TEST(SparseStore, HoldsOnlyTheTouchedPagesOfATebibyte) {
    SparseStore store(kTiB);
    const std::array<uint8_t, 4> bytes{1, 2, 3, 4};
    store.write(0, bytes.data(), bytes.size());
    store.write(kTiB / 2 + 123, bytes.data(), bytes.size());
    store.write(kTiB - 4, bytes.data(), bytes.size());
    EXPECT_EQ(store.resident_pages(), 3u);

    std::array<uint8_t, 4> back{};
    store.read(kTiB / 2 + 123, back.data(), back.size());
    EXPECT_EQ(back, bytes);
    store.read(kTiB - 4, back.data(), back.size());
    EXPECT_EQ(back, bytes);
}

TEST(SparseStore, UntouchedMemoryReadsAsZeroWithoutAllocating) {
    SparseStore store(kTiB);
    std::array<uint8_t, 16> back;
    back.fill(0xaa);
    store.read(kTiB / 3, back.data(), back.size());
    for (uint8_t byte : back) {
        EXPECT_EQ(byte, 0u);
    }
    EXPECT_EQ(store.resident_pages(), 0u);
}

TEST(SparseStore, AWriteAcrossAPageBoundaryTouchesBothPages) {
    SparseStore store(1 << 20);
    std::array<uint8_t, 8> bytes{1, 2, 3, 4, 5, 6, 7, 8};
    store.write(4096 - 4, bytes.data(), bytes.size());
    EXPECT_EQ(store.resident_pages(), 2u);
    std::array<uint8_t, 8> back{};
    store.read(4096 - 4, back.data(), back.size());
    EXPECT_EQ(back, bytes);
    ASSERT_NE(store.find_page(1), nullptr);
    EXPECT_EQ(store.find_page(1)[0], 5u);
}

TEST(SparseStore, RejectsAPageSizeThatIsNotAPowerOfTwo) {
    EXPECT_THROW(SparseStore(1 << 20, 3000), std::invalid_argument);
}

}  // namespace
}  // namespace vbsim::models
