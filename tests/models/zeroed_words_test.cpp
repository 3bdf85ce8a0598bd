#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <new>
#include <utility>

#include "models/memory/zeroed_words.h"

namespace vbsim::models {
namespace {

TEST(ZeroedWords, StartsAllZeroAndKeepsWhatIsWritten) {
    // 4 MiB of words: large enough that calloc maps fresh memory rather than reusing the heap.
    ZeroedWords words(512 * 1024);
    ASSERT_EQ(words.size(), 512u * 1024u);
    EXPECT_TRUE(std::all_of(words.begin(), words.end(), [](uint64_t word) { return word == 0; }));
    words[0] = 0x1234;
    words[words.size() - 1] = ~uint64_t{0};
    EXPECT_EQ(words.data()[0], 0x1234u);
    EXPECT_EQ(*(words.end() - 1), ~uint64_t{0});
    EXPECT_EQ(std::count(words.begin(), words.end(), 0u), static_cast<long>(words.size() - 2));
}

TEST(ZeroedWords, MovingLeavesTheSourceEmpty) {
    ZeroedWords source(100);
    source[7] = 42;
    ZeroedWords target = std::move(source);
    EXPECT_EQ(target.size(), 100u);
    EXPECT_EQ(target[7], 42u);
    EXPECT_EQ(source.size(), 0u);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(source.begin(), source.end());

    ZeroedWords other(3);
    other = std::move(target);
    EXPECT_EQ(other.size(), 100u);
    EXPECT_EQ(other[7], 42u);
    EXPECT_EQ(target.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

TEST(ZeroedWords, EmptyHoldsNothing) {
    const ZeroedWords words(0);
    EXPECT_EQ(words.size(), 0u);
    EXPECT_EQ(words.data(), nullptr);
    EXPECT_EQ(words.begin(), words.end());
}

TEST(ZeroedWords, ASizeBeyondTheAddressSpaceThrowsBadAlloc) {
    EXPECT_THROW(ZeroedWords(std::numeric_limits<size_t>::max() / 4), std::bad_alloc);
    EXPECT_THROW(ZeroedWords(std::numeric_limits<size_t>::max() / sizeof(uint64_t) + 1),
                 std::bad_alloc);
}

}  // namespace
}  // namespace vbsim::models
