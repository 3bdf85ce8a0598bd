#include "sw/guest/guest_memory.h"

#include "sw/bits/bits.h"

namespace vbsim::sw::guest {

namespace {

constexpr uint64_t kAllOnes = ~uint64_t{0};

uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}
uint64_t max_u64(uint64_t a, uint64_t b) {
    return a > b ? a : b;
}
uint64_t div_round_up(uint64_t value, uint64_t divisor) {
    // Written so that values near 2^64 do not overflow.
    return value / divisor + (value % divisor != 0 ? 1 : 0);
}
}  // namespace

// ---- HierarchicalBitmap --------------------------------------------------------------

uint64_t HierarchicalBitmap::words_for(uint64_t bits) {
    uint64_t total = 0;
    for (uint64_t words = div_round_up(bits, 64); words > 0; words = div_round_up(words, 64)) {
        total += words;
        if (words == 1) {
            break;
        }
    }
    return total;
}

bool HierarchicalBitmap::init(uint64_t bits, uint64_t* storage, uint64_t storage_words,
                              bool initial) {
    levels_ = 0;
    bits_ = 0;
    if (bits == 0 || storage == nullptr || storage_words < words_for(bits)) {
        return false;
    }
    uint64_t* next = storage;
    for (uint64_t words = div_round_up(bits, 64);; words = div_round_up(words, 64)) {
        level_[levels_] = next;
        level_words_[levels_] = words;
        next += words;
        ++levels_;
        if (words == 1) {
            break;
        }
    }
    bits_ = bits;

    __builtin_memset(level_[0], initial ? 0xff : 0x00, level_words_[0] * sizeof(uint64_t));
    const unsigned tail = static_cast<unsigned>(bits & 63);
    if (tail != 0) {
        level_[0][level_words_[0] - 1] |= kAllOnes << tail;
    }
    // Each summary bit says "that word below is full"; words past the end count as full.
    for (unsigned k = 1; k < levels_; ++k) {
        for (uint64_t i = 0; i < level_words_[k]; ++i) {
            uint64_t summary = 0;
            for (unsigned j = 0; j < 64; ++j) {
                const uint64_t child = i * 64 + j;
                if (child >= level_words_[k - 1] || level_[k - 1][child] == kAllOnes) {
                    summary |= uint64_t{1} << j;
                }
            }
            level_[k][i] = summary;
        }
    }
    return true;
}

void HierarchicalBitmap::set_bits(uint64_t word_index, uint64_t mask) {
    uint64_t& word0 = level_[0][word_index];
    const bool was_full = word0 == kAllOnes;
    word0 |= mask;
    if (was_full || word0 != kAllOnes) {
        return;
    }
    // The word just filled up: tell each level above, as long as that fills its word too.
    uint64_t child = word_index;
    for (unsigned k = 1; k < levels_; ++k) {
        uint64_t& word = level_[k][child >> 6];
        word |= uint64_t{1} << (child & 63);
        if (word != kAllOnes) {
            return;
        }
        child >>= 6;
    }
}

void HierarchicalBitmap::clear_bits(uint64_t word_index, uint64_t mask) {
    uint64_t& word0 = level_[0][word_index];
    const bool was_full = word0 == kAllOnes;
    word0 &= ~mask;
    if (!was_full || word0 == kAllOnes) {
        return;
    }
    // A full word now has room: clear its summary bit, and further up while words were full.
    uint64_t child = word_index;
    for (unsigned k = 1; k < levels_; ++k) {
        uint64_t& word = level_[k][child >> 6];
        const bool parent_was_full = word == kAllOnes;
        word &= ~(uint64_t{1} << (child & 63));
        if (!parent_was_full) {
            return;
        }
        child >>= 6;
    }
}

bool HierarchicalBitmap::find_first_clear_word(uint64_t& word_index) const {
    if (levels_ == 0 || level_[levels_ - 1][0] == kAllOnes) {
        return false;
    }
    uint64_t index = 0;
    for (unsigned k = levels_ - 1; k > 0; --k) {
        index = index * 64 + bits::lowest_bit(~level_[k][index]);
    }
    word_index = index;
    return true;
}

// ---- GuestMemory: static helpers -----------------------------------------------------

size_t GuestMemory::storage_words_for(uint64_t pages) {
    const uint64_t words = 2 * HierarchicalBitmap::words_for(pages);
    // A 32-bit target cannot address the storage for a huge guest: ask for the impossible.
    if (static_cast<uint64_t>(static_cast<size_t>(words)) != words) {
        return static_cast<size_t>(-1);
    }
    return static_cast<size_t>(words);
}

uint64_t GuestMemory::int_sqrt(uint64_t value) {
    if (value < 2) {
        return value;
    }
    // Newton's iteration from a power of two at or above the root decreases monotonically
    // to floor(sqrt(value)).
    const unsigned width = bits::log2_floor(value) + 1;
    uint64_t x = uint64_t{1} << ((width + 1) / 2);
    uint64_t y = (x + value / x) / 2;
    while (y < x) {
        x = y;
        y = (x + value / x) / 2;
    }
    return x;
}

uint64_t GuestMemory::derive_min_free_kbytes(uint64_t ram_bytes) {
    // int_sqrt(KiB * 16) rather than 4 * int_sqrt(KiB): Linux's rounding. KiB < 2^54, so the
    // product fits.
    const uint64_t kbytes = int_sqrt((ram_bytes >> 10) * 16);
    return min_u64(max_u64(kbytes, kMinFreeKbytesFloor), kMinFreeKbytesCeiling);
}

Watermarks GuestMemory::derive_watermarks(const GuestMemoryParams& params) {
    Watermarks marks;
    const uint64_t kib_per_page = params.page_size >> 10;
    if (kib_per_page == 0) {
        return marks;
    }
    const uint64_t pages = params.ram_bytes / params.page_size;
    const uint64_t min_free_kbytes = params.min_free_kbytes != 0
                                         ? params.min_free_kbytes
                                         : derive_min_free_kbytes(params.ram_bytes);
    const uint64_t factor = params.watermark_scale_factor != 0 ? params.watermark_scale_factor
                                                               : kDefaultWatermarkScaleFactor;
    marks.min_pages = params.min_pages != 0 ? params.min_pages : min_free_kbytes / kib_per_page;
    // managed * factor / 10000 without overflowing the product (Linux's mult_frac).
    const uint64_t scaled = pages / 10000 * factor + pages % 10000 * factor / 10000;
    const uint64_t gap = max_u64(marks.min_pages / 4, scaled);
    marks.low_pages = params.low_pages != 0 ? params.low_pages : marks.min_pages + gap;
    marks.high_pages = params.high_pages != 0 ? params.high_pages : marks.low_pages + gap;
    return marks;
}

// ---- GuestMemory ----------------------------------------------------------------------

GuestMemory::GuestMemory(const GuestMemoryParams& params, uint64_t* storage, size_t storage_words) {
    const uint64_t size = params.page_size;
    if (size != kPageSize4K && size != kPageSize16K && size != kPageSize64K) {
        init_result_ = InitResult::kBadPageSize;
        return;
    }
    if (params.ram_bytes == 0 || params.ram_bytes % size != 0 || params.ram_base % size != 0 ||
        params.ram_base > kAllOnes - (params.ram_bytes - 1)) {
        init_result_ = InitResult::kBadRange;
        return;
    }
    const uint64_t pages = params.ram_bytes / size;
    const uint64_t per_bitmap = HierarchicalBitmap::words_for(pages);
    if (storage == nullptr || storage_words < storage_words_for(pages)) {
        init_result_ = InitResult::kStorageTooSmall;
        return;
    }
    const Watermarks marks = derive_watermarks(params);
    if (marks.min_pages > marks.low_pages || marks.low_pages > marks.high_pages) {
        init_result_ = InitResult::kBadWatermarks;
        return;
    }
    allocated_.init(pages, storage, per_bitmap, false);
    non_workload_.init(pages, storage + per_bitmap, per_bitmap, true);
    ram_base_ = params.ram_base;
    page_size_ = size;
    page_shift_ = bits::lowest_bit(size);
    total_pages_ = pages;
    kswapd_reclaims_cache_ = params.kswapd_reclaims_cache;
    watermarks_ = marks;
    min_free_kbytes_ = params.min_free_kbytes != 0 ? params.min_free_kbytes
                                                   : derive_min_free_kbytes(params.ram_bytes);
}

bool GuestMemory::allocate(AllocationClass cls, uint64_t& page_address_out) {
    PageOutput out;
    out.addresses = &page_address_out;
    return allocate_pages(cls, 1, out) == 1;
}

uint64_t GuestMemory::allocate_many(AllocationClass cls, uint64_t count,
                                    uint64_t* page_addresses_out) {
    PageOutput out;
    out.addresses = page_addresses_out;
    return allocate_pages(cls, count, out);
}

uint64_t GuestMemory::allocate_words(AllocationClass cls, uint64_t count, PageWord* words_out,
                                     size_t& word_count_out) {
    PageOutput out;
    out.words = words_out;
    const uint64_t done = allocate_pages(cls, count, out);
    word_count_out = out.word_count;
    return done;
}

uint64_t GuestMemory::allocate_chunks(AllocationClass cls, uint64_t count, PageWord* chunks_out,
                                      size_t& chunk_count_out) {
    PageOutput out;
    out.words = chunks_out;
    out.merge_words = false;
    const uint64_t done = allocate_pages(cls, count, out);
    chunk_count_out = out.word_count;
    return done;
}

uint64_t GuestMemory::allocate_pages(AllocationClass cls, uint64_t count, PageOutput& out) {
    last_failure_ = AllocationFailure::kNone;
    if (!valid()) {
        last_failure_ = count > 0 ? AllocationFailure::kRefused : AllocationFailure::kNone;
        return 0;
    }
    uint64_t done = 0;
    while (done < count) {
        const uint64_t free = free_pages();
        if (free > watermarks_.low_pages) {
            // Fast path: everything above LOW goes without questions, a word at a time.
            uint64_t budget = min_u64(count - done, free - watermarks_.low_pages);
            while (budget > 0) {
                const uint64_t taken = take_free_chunk(cls, budget, out);
                if (taken == 0) {
                    break;  // unreachable while the counters match the bitmap
                }
                done += taken;
                budget -= taken;
            }
            if (budget > 0) {
                break;
            }
            continue;
        }
        call_pages_ = done;  // what an OOM kill in admit_slow() finds the caller holding
        if (!admit_slow(cls) || take_free_chunk(cls, 1, out) == 0) {
            break;
        }
        ++done;
    }
    call_pages_ = 0;
    if (cls == AllocationClass::kWorkload) {
        counters_.minor_faults += done;  // first touch of a fresh anonymous page
    }
    return done;
}

bool GuestMemory::admit_slow(AllocationClass cls) {
    wake_kswapd();
    if (free_pages() > watermarks_.low_pages) {
        return true;
    }
    if (cls == AllocationClass::kBalloon) {
        // __GFP_NORETRY | __GFP_NOMEMALLOC: no reserves, no OOM; the driver retries later.
        ++counters_.balloon_alloc_failures;
        last_failure_ = AllocationFailure::kRefused;
        return false;
    }
    if (free_pages() <= watermarks_.min_pages && !run_oom_path()) {
        return false;
    }
    ++counters_.alloc_stalls;
    return true;
}

bool GuestMemory::run_oom_path() {
    while (free_pages() <= watermarks_.min_pages) {
        ++counters_.oom_events;
        const uint64_t before = free_pages();
        const uint64_t promised =
            oom_notifier_ != nullptr ? oom_notifier_(oom_notifier_context_) : 0;
        // Retry only while the notifier makes progress, so a notifier that frees nothing
        // cannot loop us forever.
        if (free_pages() > before) {
            continue;
        }
        if (promised > 0) {
            // Pages are on their way back from the host: Linux would wait in reclaim, the
            // model fails this call and lets the caller retry rather than kill anything.
            ++counters_.oom_deferred;
            last_failure_ = AllocationFailure::kOomDeferred;
        } else if (oom_killer_ == nullptr) {
            ++counters_.oom_kills;
            last_failure_ = AllocationFailure::kOomKill;
        } else if (oom_killer_(oom_killer_context_)) {
            // The victim's memory is free now; whether to retry is the caller's call, since
            // the caller may be the victim.
            ++counters_.oom_kills;
            last_failure_ = AllocationFailure::kOomVictimKilled;
        } else {
            ++counters_.oom_no_victim;
            last_failure_ = AllocationFailure::kOomNoVictim;
        }
        return false;
    }
    return true;
}

void GuestMemory::wake_kswapd() {
    ++counters_.kswapd_wakeups;
    const uint64_t free = free_pages();
    if (!kswapd_reclaims_cache_ || cache_pages_ == 0 || free >= watermarks_.high_pages) {
        return;
    }
    // Simulated time is the platform's business: kswapd's work is done at once.
    const uint64_t reclaimed =
        release_workload_pages(min_u64(watermarks_.high_pages - free, cache_pages_));
    cache_pages_ -= reclaimed;
    counters_.async_scan_pages += reclaimed;
    counters_.async_reclaim_pages += reclaimed;
}

uint64_t GuestMemory::take_free_chunk(AllocationClass cls, uint64_t max, PageOutput& out) {
    uint64_t word_index = 0;
    if (max == 0 || !allocated_.find_first_clear_word(word_index)) {
        return 0;
    }
    const uint64_t mask = bits::lowest_set_bits(~allocated_.word(word_index), max);
    allocated_.set_bits(word_index, mask);
    const uint64_t taken = bits::popcount(mask);
    allocated_pages_ += taken;
    if (reported_pages_ != 0) {
        unreport_word(word_index);
    }
    if (cls == AllocationClass::kWorkload) {
        non_workload_.clear_bits(word_index, mask);
        workload_pages_ += taken;
    }
    if (out.addresses != nullptr) {
        for (uint64_t rest = mask; rest != 0; rest &= rest - 1) {
            *out.addresses++ = page_address(word_index * 64 + bits::lowest_bit(rest));
        }
    }
    if (out.words != nullptr) {
        if (out.merge_words && out.word_count != 0 &&
            out.words[out.word_count - 1].word == word_index) {
            out.words[out.word_count - 1].mask |= mask;
        } else {
            out.words[out.word_count++] = PageWord{word_index, mask};
        }
    }
    return taken;
}

uint64_t GuestMemory::release_workload_pages(uint64_t count) {
    uint64_t done = 0;
    uint64_t word_index = 0;
    while (done < count && non_workload_.find_first_clear_word(word_index)) {
        // Clear bits of non_workload_ are workload pages; padding reads as set, so never here.
        const uint64_t mask = bits::lowest_set_bits(~non_workload_.word(word_index), count - done);
        non_workload_.set_bits(word_index, mask);
        allocated_.clear_bits(word_index, mask);
        const uint64_t freed = bits::popcount(mask);
        done += freed;
        workload_pages_ -= freed;
        allocated_pages_ -= freed;
        note_freed_word(word_index);
    }
    return done;
}

bool GuestMemory::free_page(uint64_t page_address) {
    uint64_t index = 0;
    if (!allocated_index(page_address, index)) {
        ++counters_.invalid_frees;
        return false;
    }
    if (!non_workload_.test(index)) {
        non_workload_.set(index);
        --workload_pages_;
        // Pages are interchangeable within the workload: once no anonymous page is left, the
        // freed one was a cache page.
        if (cache_pages_ > workload_pages_) {
            cache_pages_ = workload_pages_;
        }
    } else if (ballooned_pages_ > 0 && ballooned_pages_ >= balloon_class_pages()) {
        // Every balloon-class page is ballooned, so this one was: the driver skipped
        // unmark_ballooned(). Keep the counts consistent and report it.
        ++counters_.balloon_accounting_errors;
        --ballooned_pages_;
    }
    allocated_.clear(index);
    --allocated_pages_;
    note_freed_word(index >> 6);
    return true;
}

uint64_t GuestMemory::free_many(uint64_t count) {
    if (!valid()) {
        return 0;
    }
    return release_workload_pages(min_u64(count, anon_pages()));
}

bool GuestMemory::mark_ballooned(uint64_t page_address) {
    uint64_t index = 0;
    if (!allocated_index(page_address, index) || !non_workload_.test(index) ||
        ballooned_pages_ >= balloon_class_pages()) {
        ++counters_.balloon_accounting_errors;
        return false;
    }
    ++ballooned_pages_;
    return true;
}

bool GuestMemory::unmark_ballooned(uint64_t page_address) {
    uint64_t index = 0;
    if (!allocated_index(page_address, index) || !non_workload_.test(index) ||
        ballooned_pages_ == 0) {
        ++counters_.balloon_accounting_errors;
        return false;
    }
    --ballooned_pages_;
    return true;
}

uint64_t GuestMemory::mark_ballooned_bits(uint64_t word_index, uint64_t mask) {
    const uint64_t valid = valid_bits(word_index, mask);
    const uint64_t count = bits::popcount(valid);
    // Fast path: every page allocated to the balloon class and room in the count for all of
    // them, so each per-page call would succeed.
    if (valid == mask && (allocated_.word(word_index) & mask) == mask &&
        (non_workload_.word(word_index) & mask) == mask &&
        ballooned_pages_ + count <= balloon_class_pages()) {
        ballooned_pages_ += count;
        return count;
    }
    uint64_t done = 0;
    for (uint64_t rest = mask; rest != 0; rest &= rest - 1) {
        done += mark_ballooned(page_address(word_index * 64 + bits::lowest_bit(rest))) ? 1 : 0;
    }
    return done;
}

uint64_t GuestMemory::release_ballooned_bits(uint64_t word_index, uint64_t mask) {
    const uint64_t valid = valid_bits(word_index, mask);
    const uint64_t count = bits::popcount(valid);
    // Fast path: every page a balloon-class page, enough ballooned pages to unmark, and no
    // more ballooned than balloon-class pages (so free_page() sees nothing to report).
    if (valid == mask && (allocated_.word(word_index) & mask) == mask &&
        (non_workload_.word(word_index) & mask) == mask && ballooned_pages_ >= count &&
        ballooned_pages_ <= balloon_class_pages()) {
        ballooned_pages_ -= count;
        allocated_.clear_bits(word_index, mask);
        allocated_pages_ -= count;
        note_freed_word(word_index);
        return count;
    }
    uint64_t done = 0;
    for (uint64_t rest = mask; rest != 0; rest &= rest - 1) {
        const uint64_t address = page_address(word_index * 64 + bits::lowest_bit(rest));
        done += unmark_ballooned(address) && free_page(address) ? 1 : 0;
    }
    return done;
}

uint64_t GuestMemory::valid_bits(uint64_t word_index, uint64_t mask) const {
    if (!valid() || word_index >= (total_pages_ + 63) / 64) {
        return 0;
    }
    const uint64_t tail = total_pages_ - word_index * 64;
    return tail >= 64 ? mask : mask & ((uint64_t{1} << tail) - 1);
}

// ---- free blocks: page reporting and free page hinting ---------------------------------

size_t GuestMemory::reporting_storage_words_for(uint64_t pages, unsigned order) {
    if (order < kMinBlockOrder || order > kMaxBlockOrder) {
        return 0;
    }
    return static_cast<size_t>(div_round_up(pages >> order, 64) + 1);
}

bool GuestMemory::enable_page_reporting(unsigned order, uint64_t* storage, size_t storage_words,
                                        FreeBlockNotifier notifier, void* context) {
    if (!valid() || order < kMinBlockOrder || order > kMaxBlockOrder || storage == nullptr ||
        storage_words < reporting_storage_words_for(total_pages_, order)) {
        return false;
    }
    __builtin_memset(storage, 0, storage_words * sizeof(uint64_t));
    reported_ = storage;
    reporting_order_ = order;
    reported_pages_ = 0;
    free_block_notifier_ = notifier;
    free_block_context_ = context;
    return true;
}

void GuestMemory::disable_page_reporting() {
    reporting_order_ = 0;
    reported_ = nullptr;
    reported_pages_ = 0;
    free_block_notifier_ = nullptr;
    free_block_context_ = nullptr;
}

uint64_t GuestMemory::block_count(unsigned order) const {
    if (!valid() || order < kMinBlockOrder || order > kMaxBlockOrder) {
        return 0;
    }
    return total_pages_ >> order;
}

bool GuestMemory::is_free_block(unsigned order, uint64_t block) const {
    if (block >= block_count(order)) {
        return false;
    }
    const uint64_t words = uint64_t{1} << (order - kMinBlockOrder);
    const uint64_t first = block * words;
    for (uint64_t i = 0; i < words; ++i) {
        if (allocated_.word(first + i) != 0) {
            return false;
        }
    }
    return true;
}

uint64_t GuestMemory::free_block_count(unsigned order) const {
    uint64_t count = 0;
    const uint64_t blocks = block_count(order);
    for (uint64_t block = 0; block < blocks; ++block) {
        count += is_free_block(order, block) ? 1 : 0;
    }
    return count;
}

bool GuestMemory::is_reported(uint64_t block) const {
    return reported_ != nullptr && block < block_count(reporting_order_) &&
           ((reported_[block >> 6] >> (block & 63)) & 1) != 0;
}

bool GuestMemory::find_free_block(unsigned order, uint64_t from, bool skip_reported,
                                  uint64_t& block_out) const {
    const uint64_t blocks = block_count(order);
    if (blocks == 0) {
        return false;
    }
    const bool check_reported = skip_reported && order == reporting_order_;
    from %= blocks;
    for (uint64_t i = 0; i < blocks; ++i) {
        const uint64_t block = (from + i) % blocks;
        if (is_free_block(order, block) && !(check_reported && is_reported(block))) {
            block_out = block;
            return true;
        }
    }
    return false;
}

bool GuestMemory::take_free_block(unsigned order, uint64_t block, BlockUse use) {
    if (!is_free_block(order, block)) {
        return false;
    }
    const uint64_t pages = uint64_t{1} << order;
    const uint64_t free = free_pages();
    if (use == BlockUse::kHint ? free < watermarks_.low_pages + pages
                               : free <= watermarks_.min_pages + pages) {
        return false;
    }
    const uint64_t words = uint64_t{1} << (order - kMinBlockOrder);
    const uint64_t first = block * words;
    for (uint64_t i = 0; i < words; ++i) {
        allocated_.set_bits(first + i, kAllOnes);
        // A hint takes the block like an allocation would; a reporting block is not reported
        // (the engine skips those), so this only matters for hints.
        if (reported_pages_ != 0 && use == BlockUse::kHint) {
            unreport_word(first + i);
        }
    }
    allocated_pages_ += pages;
    (use == BlockUse::kHint ? hinted_pages_ : isolated_pages_) += pages;
    return true;
}

void GuestMemory::give_back_block(unsigned order, uint64_t block, BlockUse use, bool reported) {
    if (block >= block_count(order)) {
        return;
    }
    const uint64_t pages = uint64_t{1} << order;
    const uint64_t words = uint64_t{1} << (order - kMinBlockOrder);
    const uint64_t first = block * words;
    for (uint64_t i = 0; i < words; ++i) {
        allocated_.clear_bits(first + i, kAllOnes);
    }
    allocated_pages_ -= pages;
    (use == BlockUse::kHint ? hinted_pages_ : isolated_pages_) -= pages;
    if (use == BlockUse::kReporting && reported && order == reporting_order_ &&
        reported_ != nullptr) {
        reported_[block >> 6] |= uint64_t{1} << (block & 63);
        reported_pages_ += pages;
        return;
    }
    for (uint64_t i = 0; i < words;
         i += uint64_t{1} << (reporting_order_ > kMinBlockOrder ? reporting_order_ - kMinBlockOrder
                                                                : 0)) {
        note_freed_word(first + i);
    }
}

void GuestMemory::unreport_word(uint64_t word_index) {
    if (reported_ == nullptr) {
        return;
    }
    const uint64_t block = word_index >> (reporting_order_ - kMinBlockOrder);
    if (!is_reported(block)) {
        return;
    }
    reported_[block >> 6] &= ~(uint64_t{1} << (block & 63));
    const uint64_t pages = uint64_t{1} << reporting_order_;
    reported_pages_ -= pages;
    ++counters_.reported_blocks_reused;
    counters_.reported_pages_reused += pages;
}

void GuestMemory::note_freed_word(uint64_t word_index) {
    if (free_block_notifier_ == nullptr) {
        return;
    }
    const uint64_t block = word_index >> (reporting_order_ - kMinBlockOrder);
    if (!is_reported(block) && is_free_block(reporting_order_, block)) {
        free_block_notifier_(free_block_context_);
    }
}

uint64_t GuestMemory::grow_cache(uint64_t pages, uint64_t* page_addresses_out) {
    PageOutput out;
    out.addresses = page_addresses_out;
    return grow_cache_into(pages, out);
}

uint64_t GuestMemory::grow_cache_chunks(uint64_t pages, PageWord* chunks_out,
                                        size_t& chunk_count_out) {
    PageOutput out;
    out.words = chunks_out;
    out.merge_words = false;
    const uint64_t done = grow_cache_into(pages, out);
    chunk_count_out = out.word_count;
    return done;
}

uint64_t GuestMemory::grow_cache_into(uint64_t pages, PageOutput& out) {
    const uint64_t free = free_pages();
    if (!valid() || free <= watermarks_.low_pages) {
        return 0;
    }
    // Beyond LOW the kernel recycles older cache instead of growing it.
    const uint64_t budget = min_u64(pages, free - watermarks_.low_pages);
    uint64_t done = 0;
    while (done < budget) {
        const uint64_t taken = take_free_chunk(AllocationClass::kWorkload, budget - done, out);
        if (taken == 0) {
            break;
        }
        done += taken;
    }
    cache_pages_ += done;
    return done;
}

uint64_t GuestMemory::shrink_cache(uint64_t pages) {
    const uint64_t released = release_workload_pages(min_u64(pages, cache_pages_));
    cache_pages_ -= released;
    return released;
}

uint64_t GuestMemory::set_cache_pages(uint64_t pages) {
    if (pages > cache_pages_) {
        grow_cache(pages - cache_pages_);
    } else {
        shrink_cache(cache_pages_ - pages);
    }
    return cache_pages_;
}

void GuestMemory::record_faults(uint64_t major, uint64_t minor) {
    counters_.major_faults += major;
    counters_.minor_faults += minor;
}

void GuestMemory::record_swap(uint64_t in_pages, uint64_t out_pages) {
    counters_.swap_in_pages += in_pages;
    counters_.swap_out_pages += out_pages;
}

uint64_t GuestMemory::available_pages() const {
    // free - totalreserve + file - min(file / 2, LOW), never negative; totalreserve is HIGH
    // for a single zone without lowmem reserves.
    int64_t available =
        static_cast<int64_t>(free_pages()) - static_cast<int64_t>(watermarks_.high_pages);
    const uint64_t file = cache_pages_ - min_u64(cache_pages_ / 2, watermarks_.low_pages);
    available += static_cast<int64_t>(file);
    return available < 0 ? 0 : static_cast<uint64_t>(available);
}

bool GuestMemory::allocated_index(uint64_t page_address, uint64_t& index) const {
    return page_index_of(page_address, index) && allocated_.test(index);
}

bool GuestMemory::is_allocated(uint64_t page_address) const {
    uint64_t index = 0;
    return allocated_index(page_address, index);
}

bool GuestMemory::is_workload_page(uint64_t page_address) const {
    uint64_t index = 0;
    return allocated_index(page_address, index) && !non_workload_.test(index);
}

uint64_t GuestMemory::stat(spec::balloon::StatTag tag) const {
    namespace balloon = spec::balloon;
    const uint64_t page = page_size_;
    switch (tag) {
        case balloon::kStatSwapIn:
            return counters_.swap_in_pages * page;
        case balloon::kStatSwapOut:
            return counters_.swap_out_pages * page;
        case balloon::kStatMajorFaults:
            return counters_.major_faults;
        case balloon::kStatMinorFaults:
            return counters_.minor_faults;
        case balloon::kStatMemFree:
            return free_pages() * page;
        case balloon::kStatMemTotal:
            return managed_pages() * page;
        case balloon::kStatAvailable:
            return available_pages() * page;
        case balloon::kStatCaches:
            return cache_pages_ * page;
        case balloon::kStatHugetlbAllocations:
        case balloon::kStatHugetlbFailures:
            return 0;  // no hugetlbfs in the model
        case balloon::kStatOomKills:
            return counters_.oom_kills;
        case balloon::kStatAllocStalls:
            return counters_.alloc_stalls;
        case balloon::kStatAsyncScans:
            return counters_.async_scan_pages * page;
        case balloon::kStatDirectScans:
            return counters_.direct_scan_pages * page;
        case balloon::kStatAsyncReclaims:
            return counters_.async_reclaim_pages * page;
        case balloon::kStatDirectReclaims:
            return counters_.direct_reclaim_pages * page;
        default:
            return 0;
    }
}

size_t GuestMemory::fill_stats(StatEntry* out, size_t capacity) const {
    if (out == nullptr) {
        return 0;
    }
    // The set is tags 0 .. capacity-1; the order is the one Linux's update_balloon_stats()
    // sends: event counters (6.12+ adds OOM_KILL .. DIRECT_RECLAIM after MINFLT), hugetlb,
    // then the memory sizes. Six tags give the 2012 driver's 0-5, ten Linux 6.1's.
    namespace b = spec::balloon;
    static constexpr b::StatTag kLinuxOrder[b::kStatTagCount] = {
        b::kStatSwapIn,
        b::kStatSwapOut,
        b::kStatMajorFaults,
        b::kStatMinorFaults,
        b::kStatOomKills,
        b::kStatAllocStalls,
        b::kStatAsyncScans,
        b::kStatDirectScans,
        b::kStatAsyncReclaims,
        b::kStatDirectReclaims,
        b::kStatHugetlbAllocations,
        b::kStatHugetlbFailures,
        b::kStatMemFree,
        b::kStatMemTotal,
        b::kStatAvailable,
        b::kStatCaches,
    };
    size_t count = 0;
    for (const b::StatTag tag : kLinuxOrder) {
        if (static_cast<size_t>(tag) < capacity) {
            out[count].tag = static_cast<uint16_t>(tag);
            out[count].value = stat(tag);
            ++count;
        }
    }
    return count;
}

}  // namespace vbsim::sw::guest
