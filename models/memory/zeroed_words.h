#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <utility>

namespace vbsim::models {

// A fixed-size array of 64-bit words that starts all zero, for per-guest bitmaps.
// It comes from calloc rather than a zero-filled std::vector: a large calloc is fresh
// mapped memory the kernel zeroes on first touch, so a bitmap over a guest's whole RAM
// costs no zeroing pass at start-up and no resident memory for the parts a run never
// reaches. With a thousand guests that pass was a quarter of the start-up time.
class ZeroedWords {
  public:
    ZeroedWords() = default;
    explicit ZeroedWords(size_t size) : size_(size) {
        if (size > std::numeric_limits<size_t>::max() / sizeof(uint64_t)) {
            throw std::bad_alloc();
        }
        if (size != 0) {
            words_.reset(static_cast<uint64_t*>(std::calloc(size, sizeof(uint64_t))));
            if (words_ == nullptr) {
                throw std::bad_alloc();
            }
        }
    }

    ZeroedWords(ZeroedWords&& other) noexcept
        : words_(std::move(other.words_)), size_(std::exchange(other.size_, 0)) {}
    ZeroedWords& operator=(ZeroedWords&& other) noexcept {
        words_ = std::move(other.words_);
        size_ = std::exchange(other.size_, 0);
        return *this;
    }

    uint64_t* data() { return words_.get(); }
    const uint64_t* data() const { return words_.get(); }
    size_t size() const { return size_; }
    uint64_t& operator[](size_t index) { return words_.get()[index]; }
    const uint64_t& operator[](size_t index) const { return words_.get()[index]; }
    uint64_t* begin() { return data(); }
    uint64_t* end() { return data() + size_; }
    const uint64_t* begin() const { return data(); }
    const uint64_t* end() const { return data() + size_; }

  private:
    struct FreeWords {
        void operator()(uint64_t* words) const { std::free(words); }
    };
    std::unique_ptr<uint64_t, FreeWords> words_;
    size_t size_ = 0;
};

}  // namespace vbsim::models
