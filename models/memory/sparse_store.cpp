#include "models/memory/sparse_store.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace vbsim::models {

SparseStore::SparseStore(uint64_t size, uint64_t page_size) : size_(size), page_size_(page_size) {
    if (page_size_ == 0 || (page_size_ & (page_size_ - 1)) != 0) {
        throw std::invalid_argument("SparseStore: page size must be a power of two");
    }
}

void SparseStore::read(uint64_t address, uint8_t* destination, uint64_t length) const {
    while (length > 0) {
        const uint64_t offset = address & (page_size_ - 1);
        const uint64_t chunk = std::min(length, page_size_ - offset);
        const uint8_t* page = find_page(address / page_size_);
        if (page != nullptr) {
            std::memcpy(destination, page + offset, chunk);
        } else {
            std::memset(destination, 0, chunk);
        }
        address += chunk;
        destination += chunk;
        length -= chunk;
    }
}

void SparseStore::write(uint64_t address, const uint8_t* source, uint64_t length) {
    while (length > 0) {
        const uint64_t offset = address & (page_size_ - 1);
        const uint64_t chunk = std::min(length, page_size_ - offset);
        std::memcpy(materialize_page(address / page_size_) + offset, source, chunk);
        address += chunk;
        source += chunk;
        length -= chunk;
    }
}

const uint8_t* SparseStore::find_page(uint64_t page_index) const {
    const auto it = pages_.find(page_index);
    return it == pages_.end() ? nullptr : it->second.get();
}

uint8_t* SparseStore::materialize_page(uint64_t page_index) {
    auto& page = pages_[page_index];
    if (!page) {
        page = std::make_unique<uint8_t[]>(page_size_);  // value-initialised: zeros
    }
    return page.get();
}

}  // namespace vbsim::models
