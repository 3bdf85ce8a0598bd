#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace vbsim::models {

// A byte-addressable store of any size whose backing pages are created on first
// write, so a 1 TiB guest RAM costs host memory only for the pages it touches.
// Untouched pages read as zero.
class SparseStore {
  public:
    static constexpr uint64_t kDefaultPageSize = 4096;

    explicit SparseStore(uint64_t size, uint64_t page_size = kDefaultPageSize);

    uint64_t size() const { return size_; }
    uint64_t page_size() const { return page_size_; }
    uint64_t resident_pages() const { return pages_.size(); }

    // Copies [address, address + length) out; the range must be inside the store.
    void read(uint64_t address, uint8_t* destination, uint64_t length) const;
    // Copies into [address, address + length), creating pages as needed.
    void write(uint64_t address, const uint8_t* source, uint64_t length);

    // The backing page holding `page_index`, or nullptr when it was never written.
    const uint8_t* find_page(uint64_t page_index) const;
    // The backing page holding `page_index`, created (zero-filled) when missing.
    uint8_t* materialize_page(uint64_t page_index);

  private:
    uint64_t size_;
    uint64_t page_size_;
    std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
};

}  // namespace vbsim::models
