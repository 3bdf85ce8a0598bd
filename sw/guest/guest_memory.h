#pragma once

// The guest kernel's page allocator, modelled closely enough for the balloon to feel memory
// pressure the way a Linux guest does: one zone, Linux watermarks (MIN/LOW/HIGH), allocation
// classes with Linux's rules, a page cache that kswapd gives back, and the counters behind the
// balloon's stats tags. Bare-metal: <stdint.h>/<stddef.h> only, no exceptions, no allocation;
// the bitmaps live in storage the caller hands in (size it with storage_words_for()).

#include <stddef.h>
#include <stdint.h>

#include "spec/virtio.h"

namespace vbsim::sw::guest {

// One bit per element with summary levels above it (bit j of word i at level k+1 is set iff
// word 64*i+j at level k is all ones), so the first clear bit is found in O(log64 n) and a
// set/clear touches at most one word per level. 268M pages need five levels.
class HierarchicalBitmap {
  public:
    static constexpr unsigned kMaxLevels = 11;  // 64^11 > 2^64

    // Words of storage for `bits` elements, all levels included (0 for 0 bits).
    static uint64_t words_for(uint64_t bits);

    // Uses `storage` (at least words_for(bits) words) and sets every bit to `initial`. Padding
    // bits past `bits` read as set, so they are never found as clear.
    bool init(uint64_t bits, uint64_t* storage, uint64_t storage_words, bool initial);

    uint64_t bits() const { return bits_; }
    bool test(uint64_t bit) const { return (level_[0][bit >> 6] >> (bit & 63)) & 1; }
    // Level-0 word `word_index` (bits 64*word_index ... +63).
    uint64_t word(uint64_t word_index) const { return level_[0][word_index]; }
    // ORs / clears `mask` in level-0 word `word_index`, keeping the summaries in step. Never
    // clear padding bits.
    void set_bits(uint64_t word_index, uint64_t mask);
    void clear_bits(uint64_t word_index, uint64_t mask);
    void set(uint64_t bit) { set_bits(bit >> 6, uint64_t{1} << (bit & 63)); }
    void clear(uint64_t bit) { clear_bits(bit >> 6, uint64_t{1} << (bit & 63)); }
    // The lowest level-0 word that has a clear bit; false when every bit is set.
    bool find_first_clear_word(uint64_t& word_index) const;

  private:
    uint64_t* level_[kMaxLevels] = {};
    uint64_t level_words_[kMaxLevels] = {};
    unsigned levels_ = 0;
    uint64_t bits_ = 0;
};

enum class AllocationClass : uint8_t {
    // Ordinary user/kernel memory: takes the reserve down to MIN (counting a stall), then
    // runs the OOM path.
    kWorkload,
    // The balloon's GFP_HIGHUSER_MOVABLE | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN:
    // wakes kswapd but never goes below LOW, never triggers OOM; just fails.
    kBalloon,
};

// Watermarks in guest pages. An allocation passes a mark while free pages > mark, so the last
// one that passes leaves exactly `mark` pages free.
struct Watermarks {
    uint64_t min_pages = 0;
    uint64_t low_pages = 0;
    uint64_t high_pages = 0;
};

struct GuestMemoryParams {
    uint64_t ram_base = 0;      // guest-physical address of the first page, page-aligned
    uint64_t ram_bytes = 0;     // a whole number of pages
    uint32_t page_size = 4096;  // 4, 16 or 64 KiB
    // Linux knobs; 0 = derive as Linux does (min_free_kbytes = 4*sqrt(RAM KiB) clamped to
    // 128 KiB..256 MiB; watermark_scale_factor 10).
    uint64_t min_free_kbytes = 0;
    uint32_t watermark_scale_factor = 0;
    // Direct overrides in pages; 0 = derive (LOW from MIN, HIGH from LOW, as Linux does).
    uint64_t min_pages = 0;
    uint64_t low_pages = 0;
    uint64_t high_pages = 0;
    // kswapd (run synchronously when an allocation finds free <= LOW) reclaims page cache back
    // to HIGH. Off: the cache is pinned, only shrink_cache() releases it.
    bool kswapd_reclaims_cache = true;
};

// Cumulative event counters (pages or events, not bytes; stat() converts).
struct GuestMemoryCounters {
    uint64_t swap_in_pages = 0;
    uint64_t swap_out_pages = 0;
    uint64_t major_faults = 0;
    uint64_t minor_faults = 0;  // one per workload page allocated, plus record_faults()
    uint64_t oom_events = 0;    // entries into the OOM path (also those a notifier resolved)
    // Tasks the OOM killer ended (with a killer installed: one per victim, its memory freed;
    // without one: one per OOM path entry nothing resolved, the allocating call failing).
    uint64_t oom_kills = 0;
    // OOM path entries that found nothing to kill (Linux would panic): the allocation failed.
    uint64_t oom_no_victim = 0;
    // OOM path entries where the notifier promised pages it releases later (DEFLATE_ON_OOM
    // waits for the host's ack): the allocation failed, but nothing was killed.
    uint64_t oom_deferred = 0;
    uint64_t alloc_stalls = 0;  // workload allocations served from below LOW
    uint64_t kswapd_wakeups = 0;
    uint64_t async_scan_pages = 0;  // kswapd
    uint64_t async_reclaim_pages = 0;
    uint64_t direct_scan_pages = 0;  // no direct reclaim is modelled: stays 0
    uint64_t direct_reclaim_pages = 0;
    uint64_t balloon_alloc_failures = 0;     // balloon calls that stopped short at LOW
    uint64_t invalid_frees = 0;              // double frees, addresses outside RAM or unaligned
    uint64_t balloon_accounting_errors = 0;  // bad mark/unmark, or freeing a ballooned page
    // Free page reporting: reported blocks an allocation took back (their pages cost the host
    // a fault each on first touch), and the pages in them.
    uint64_t reported_blocks_reused = 0;
    uint64_t reported_pages_reused = 0;
};

// One stats value, native layout: the driver serialises it into the packed le16/le64 entry.
struct StatEntry {
    uint16_t tag = 0;
    uint64_t value = 0;
};

// Called from the OOM path before it gives up (Linux's oom_notify_list: the DEFLATE_ON_OOM
// balloon releases pages with unmark_ballooned() + free_page()). The allocation is retried
// while the notifier keeps raising the free page count. A balloon driver must tell the host
// before it reuses a page, so it cannot free synchronously: it returns the number of 4 KiB
// pages it has started releasing and not yet freed (a release already in flight counts).
// Non-zero turns the failure into a deferred one (the caller retries later), not a kill.
using OomNotifier = uint64_t (*)(void* context);

// Linux's out_of_memory() after the notifiers gave nothing: picks a victim task, kills it and
// frees its memory (sw/guest/oom_killer.h). Returns false when there was nothing to kill.
using OomKillHook = bool (*)(void* context);

// Called when a free creates a whole free block of the reporting order that was not reported
// (Linux's page_reporting_notify_free()): the reporting engine asks for a pass.
using FreeBlockNotifier = void (*)(void* context);

// What a block taken with take_free_block() is for while the allocator cannot use it.
enum class BlockUse : uint8_t {
    kReporting,  // isolated while the host is told (Linux's __isolate_free_page)
    kHint,       // held by free page hinting until the host is done with it
};

// Pages as one word of the allocator's bitmaps: page index 64 * word + b for each bit b set in
// `mask` (GuestMemory::page_address() turns an index into an address). Moving a word costs
// what moving one page does.
struct PageWord {
    uint64_t word = 0;
    uint64_t mask = 0;
};

// Why the latest allocation call came back short.
enum class AllocationFailure : uint8_t {
    kNone,         // it got every page it asked for
    kRefused,      // balloon class at LOW (or an invalid GuestMemory)
    kOomDeferred,  // OOM, the notifier is releasing pages: retry later
    kOomKill,      // OOM, nothing will come back: the OOM killer ends the allocating task
    // OOM with a killer installed: it ended a task and freed its memory. The caller retries
    // unless it was the victim.
    kOomVictimKilled,
    kOomNoVictim,  // OOM with a killer installed, but no task to kill
};

class GuestMemory {
  public:
    static constexpr uint32_t kPageSize4K = 4096;
    static constexpr uint32_t kPageSize16K = 16384;
    static constexpr uint32_t kPageSize64K = 65536;
    // Linux's clamps for the derived min_free_kbytes and its default scale factor.
    static constexpr uint64_t kMinFreeKbytesFloor = 128;
    static constexpr uint64_t kMinFreeKbytesCeiling = 256 * 1024;
    static constexpr uint32_t kDefaultWatermarkScaleFactor = 10;

    enum class InitResult : uint8_t {
        kOk,
        kBadPageSize,      // not 4, 16 or 64 KiB
        kBadRange,         // empty, unaligned, or wrapping past 2^64
        kStorageTooSmall,  // fewer words than storage_words_for(pages), or a null pointer
        kBadWatermarks,    // overrides not ordered MIN <= LOW <= HIGH
    };

    // Words the caller must provide for `pages` guest pages (two hierarchical bitmaps, about
    // 2.03 bits per page: 1 TiB of 4 KiB pages needs 65 MiB).
    static size_t storage_words_for(uint64_t pages);
    // floor(sqrt(value)), no libm.
    static uint64_t int_sqrt(uint64_t value);
    // Linux's init_per_zone_wmark_min(): int_sqrt(KiB * 16), clamped to 128 KiB..256 MiB.
    static uint64_t derive_min_free_kbytes(uint64_t ram_bytes);
    // Linux's __setup_per_zone_wmarks() for one zone of params.ram_bytes, honouring the
    // overrides in `params`.
    static Watermarks derive_watermarks(const GuestMemoryParams& params);

    // Takes every page as free. On a bad configuration init_result() says why, the object
    // holds no pages and every operation fails harmlessly.
    GuestMemory(const GuestMemoryParams& params, uint64_t* storage, size_t storage_words);
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;

    bool valid() const { return init_result_ == InitResult::kOk; }
    InitResult init_result() const { return init_result_; }

    // ---- allocation ------------------------------------------------------------------
    // One page, lowest free address first. On success `page_address_out` is its
    // guest-physical address.
    bool allocate(AllocationClass cls, uint64_t& page_address_out);
    // Up to `count` pages; stops at the first refusal. Returns how many were allocated; the
    // pages are recorded either way, their addresses go to `page_addresses_out` (room for
    // `count`) when it is not null.
    uint64_t allocate_many(AllocationClass cls, uint64_t count,
                           uint64_t* page_addresses_out = nullptr);
    // allocate_many() that reports the pages as bitmap words, in allocation order, in
    // `words_out` (room for `count`; consecutive takes from one word share an entry);
    // `word_count_out` is set to the entries used.
    uint64_t allocate_words(AllocationClass cls, uint64_t count, PageWord* words_out,
                            size_t& word_count_out);
    // allocate_many() that reports each take as its own entry (a word and the bits taken from
    // it), in the order taken, in `chunks_out` (room for `count`): page by page the same order
    // as allocate_many()'s addresses, at a cost per take instead of per page.
    uint64_t allocate_chunks(AllocationClass cls, uint64_t count, PageWord* chunks_out,
                             size_t& chunk_count_out);
    // Frees any allocated page. A page that is not allocated, or an address that is not a
    // page of RAM, is counted in invalid_frees and ignored.
    bool free_page(uint64_t page_address);
    // Frees up to `count` of the workload's anonymous (non-cache) pages, whichever; returns
    // how many.
    uint64_t free_many(uint64_t count);

    // ---- balloon accounting ---------------------------------------------------------
    // Called by the driver once the host acknowledged the inflate (mark) / before it frees a
    // deflated page (unmark). The page must be held by the balloon class; errors are counted
    // and refused. Ballooned pages stay allocated: they never count as free.
    bool mark_ballooned(uint64_t page_address);
    bool unmark_ballooned(uint64_t page_address);
    // Word-at-a-time forms for the pages 64 * word_index + bit, for each bit set in `mask`:
    // the same checks, results and counters as mark_ballooned(), or unmark_ballooned() then
    // free_page(), called for each of those pages in ascending order (a bit past the last page
    // fails like an address outside RAM). Return how many pages succeeded. The balloon moves
    // thousands of pages a second of simulated time: one call per word, not per page.
    uint64_t mark_ballooned_bits(uint64_t word_index, uint64_t mask);
    uint64_t release_ballooned_bits(uint64_t word_index, uint64_t mask);
    // DEFLATE_ON_OOM negotiated: MemTotal keeps ballooned pages (they count as used).
    // Otherwise ballooned pages leave managed pages, as adjust_managed_page_count() does.
    // Watermarks are never recomputed.
    void set_deflate_on_oom_accounting(bool enabled) { deflate_on_oom_accounting_ = enabled; }
    bool deflate_on_oom_accounting() const { return deflate_on_oom_accounting_; }
    void set_oom_notifier(OomNotifier notifier, void* context) {
        oom_notifier_ = notifier;
        oom_notifier_context_ = context;
    }
    // Without a killer the OOM path counts a kill of the allocating call and frees nothing.
    void set_oom_killer(OomKillHook killer, void* context) {
        oom_killer_ = killer;
        oom_killer_context_ = context;
    }

    // ---- free blocks (page reporting, free page hinting) ----------------------------------
    // A block of order k is 2^k pages starting at a page index that is a multiple of 2^k;
    // k from kMinBlockOrder (whole bitmap words) up to kMaxBlockOrder.
    static constexpr unsigned kMinBlockOrder = 6;
    static constexpr unsigned kMaxBlockOrder = 20;
    // Words of storage for the reported flags of `pages` pages in blocks of `order`.
    static size_t reporting_storage_words_for(uint64_t pages, unsigned order);
    // Starts tracking which free blocks of `order` were reported (one flag per block in
    // `storage`) and calls `notifier` when a free completes an unreported free block. False
    // on a bad order or too little storage. Every flag starts clear.
    bool enable_page_reporting(unsigned order, uint64_t* storage, size_t storage_words,
                               FreeBlockNotifier notifier, void* context);
    void disable_page_reporting();
    bool page_reporting_enabled() const { return reporting_order_ != 0; }
    unsigned reporting_order() const { return reporting_order_; }
    // Blocks of `order` (whole blocks only) and whether block `block` is entirely free.
    uint64_t block_count(unsigned order) const;
    bool is_free_block(unsigned order, uint64_t block) const;
    // Free blocks of `order` (Linux's nr_free of that order, reported ones included).
    uint64_t free_block_count(unsigned order) const;
    // The first entirely free block of `order` at or after `from` (wrapping once to 0); with
    // `skip_reported`, reported blocks are passed over. False when there is none.
    bool find_free_block(unsigned order, uint64_t from, bool skip_reported,
                         uint64_t& block_out) const;
    bool is_reported(uint64_t block) const;
    // Takes entirely free block `block` of `order` out of the allocator for `use`. A hint
    // block is taken like a balloon allocation (never below LOW); a reporting block only
    // while free stays above MIN + the block (Linux's isolation check). False otherwise.
    bool take_free_block(unsigned order, uint64_t block, BlockUse use);
    // Returns a block taken with take_free_block(); `reported` flags a reporting block as
    // reported (the host discarded it).
    void give_back_block(unsigned order, uint64_t block, BlockUse use, bool reported);
    // Free pages in reported blocks; pages taken for reporting / held by hinting.
    uint64_t reported_pages() const { return reported_pages_; }
    uint64_t isolated_pages() const { return isolated_pages_; }
    uint64_t hinted_pages() const { return hinted_pages_; }

    // ---- page cache (file LRU) --------------------------------------------------------
    // Cache pages are workload pages counted as file-backed: reading files grows the cache
    // down to LOW free (older cache would be recycled beyond that), kswapd reclaims it.
    // Each returns the number of pages added / removed; set_cache_pages() returns the new size.
    // grow_cache() writes the new pages' addresses to `page_addresses_out` (room for `pages`)
    // when it is not null, so the caller can report their first use.
    uint64_t grow_cache(uint64_t pages, uint64_t* page_addresses_out = nullptr);
    // grow_cache() reporting the new pages as allocate_chunks() does.
    uint64_t grow_cache_chunks(uint64_t pages, PageWord* chunks_out, size_t& chunk_count_out);
    uint64_t shrink_cache(uint64_t pages);
    uint64_t set_cache_pages(uint64_t pages);

    // ---- events the workload model reports --------------------------------------------
    void record_faults(uint64_t major, uint64_t minor);
    void record_swap(uint64_t in_pages, uint64_t out_pages);

    // ---- queries ------------------------------------------------------------------------
    uint64_t page_size() const { return page_size_; }
    uint64_t ram_base() const { return ram_base_; }
    uint64_t total_pages() const { return total_pages_; }
    uint64_t free_pages() const { return total_pages_ - allocated_pages_; }
    uint64_t allocated_pages() const { return allocated_pages_; }
    uint64_t workload_pages() const { return workload_pages_; }  // anonymous + cache
    uint64_t anon_pages() const { return workload_pages_ - cache_pages_; }
    uint64_t cache_pages() const { return cache_pages_; }
    uint64_t balloon_class_pages() const {
        return allocated_pages_ - workload_pages_ - isolated_pages_ - hinted_pages_;
    }
    uint64_t ballooned_pages() const { return ballooned_pages_; }
    // MemTotal in pages.
    uint64_t managed_pages() const {
        return deflate_on_oom_accounting_ ? total_pages_ : total_pages_ - ballooned_pages_;
    }
    // MemAvailable (Linux >= 3.14 si_mem_available(), caches as file LRU, no slab).
    uint64_t available_pages() const;
    const Watermarks& watermarks() const { return watermarks_; }
    uint64_t min_free_kbytes() const { return min_free_kbytes_; }
    const GuestMemoryCounters& counters() const { return counters_; }
    // Inside the OOM path (a notifier or the killer): pages the allocation call in progress
    // has taken so far (its caller does not know of them yet); 0 otherwise.
    uint64_t pages_taken_by_current_call() const { return call_pages_; }
    // Outcome of the latest allocate()/allocate_many() call.
    AllocationFailure last_allocation_failure() const { return last_failure_; }
    // The latest allocation failed in OOM while the notifier is releasing pages.
    bool oom_rescue_pending() const { return last_failure_ == AllocationFailure::kOomDeferred; }

    // 4 KiB PFN of the first frame of the page at `page_address` (inflate/deflate buffers
    // carry these); a guest page spans pfns_per_page() consecutive PFNs.
    static uint64_t pfn_of(uint64_t page_address) {
        return page_address >> spec::balloon::kPfnShift;
    }
    uint64_t pfns_per_page() const { return page_size_ >> spec::balloon::kPfnShift; }
    uint64_t page_address(uint64_t page_index) const {
        return ram_base_ + (page_index << page_shift_);
    }
    // False unless `address` is the first byte of a page of RAM. Inline, with shifts: it runs
    // for every page the balloon moves.
    bool page_index_of(uint64_t address, uint64_t& page_index_out) const {
        const uint64_t offset = address - ram_base_;
        if (!valid() || address < ram_base_ || (offset & (page_size_ - 1)) != 0 ||
            (offset >> page_shift_) >= total_pages_) {
            return false;
        }
        page_index_out = offset >> page_shift_;
        return true;
    }
    bool is_allocated(uint64_t page_address) const;
    bool is_workload_page(uint64_t page_address) const;

    // ---- stats tags -------------------------------------------------------------------
    // The value Linux would report for `tag` (memory values in bytes); 0 for unknown tags.
    uint64_t stat(spec::balloon::StatTag tag) const;
    // Fills tags 0 .. min(capacity, kStatTagCount)-1, in the order Linux sends them (see
    // the definition); returns how many. A driver reporting the 2012 set passes capacity 6,
    // Linux 6.1's 10.
    size_t fill_stats(StatEntry* out, size_t capacity) const;

  private:
    // Where allocated pages are reported: addresses (advanced as they are written), bitmap
    // words, or nowhere.
    struct PageOutput {
        uint64_t* addresses = nullptr;
        PageWord* words = nullptr;
        size_t word_count = 0;
        bool merge_words = true;  // consecutive takes from one word share an entry
    };
    uint64_t grow_cache_into(uint64_t pages, PageOutput& out);

    uint64_t allocate_pages(AllocationClass cls, uint64_t count, PageOutput& out);
    // Slow path for one page once free <= LOW: kswapd, then the class's rules. True when one
    // page may be taken.
    bool admit_slow(AllocationClass cls);
    // Below MIN: asks the notifier, retries while it frees pages. True when one page may be
    // taken; otherwise last_failure_ says whether pages are on their way.
    bool run_oom_path();
    void wake_kswapd();
    // Takes up to `max` free pages from one bitmap word and reports them to `out`; returns
    // how many.
    uint64_t take_free_chunk(AllocationClass cls, uint64_t max, PageOutput& out);
    // Frees `count` workload pages, whichever; returns how many.
    uint64_t release_workload_pages(uint64_t count);
    bool allocated_index(uint64_t page_address, uint64_t& index) const;
    // Page reporting bookkeeping: an allocation from bitmap word `word_index` takes back the
    // reported block it lies in; a free into it may complete an unreported free block.
    void unreport_word(uint64_t word_index);
    void note_freed_word(uint64_t word_index);
    // The bits of `mask` that name pages of RAM in bitmap word `word_index`.
    uint64_t valid_bits(uint64_t word_index, uint64_t mask) const;

    InitResult init_result_ = InitResult::kOk;
    uint64_t ram_base_ = 0;
    uint64_t page_size_ = 0;
    unsigned page_shift_ = 0;  // log2(page_size_)
    uint64_t total_pages_ = 0;
    bool kswapd_reclaims_cache_ = true;
    Watermarks watermarks_;
    uint64_t min_free_kbytes_ = 0;
    // Set = allocated.
    HierarchicalBitmap allocated_;
    // Set = not held by the workload, so the first clear bit is a workload page to free.
    HierarchicalBitmap non_workload_;
    uint64_t allocated_pages_ = 0;
    uint64_t workload_pages_ = 0;
    uint64_t cache_pages_ = 0;
    uint64_t ballooned_pages_ = 0;
    bool deflate_on_oom_accounting_ = false;
    OomNotifier oom_notifier_ = nullptr;
    unsigned reporting_order_ = 0;  // 0: page reporting off
    uint64_t* reported_ = nullptr;  // bit per block of reporting_order_
    uint64_t reported_pages_ = 0;
    uint64_t isolated_pages_ = 0;
    uint64_t hinted_pages_ = 0;
    FreeBlockNotifier free_block_notifier_ = nullptr;
    void* free_block_context_ = nullptr;
    void* oom_notifier_context_ = nullptr;
    OomKillHook oom_killer_ = nullptr;
    void* oom_killer_context_ = nullptr;
    AllocationFailure last_failure_ = AllocationFailure::kNone;
    uint64_t call_pages_ = 0;
    GuestMemoryCounters counters_;
};

}  // namespace vbsim::sw::guest
