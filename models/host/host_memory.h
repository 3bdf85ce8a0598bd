#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <systemc>

#include "models/memory/zeroed_words.h"

namespace vbsim::models {

// What the host does when its guests touch more memory than it has.
enum class HostOvercommit : uint8_t {
    kCount,      // nothing: host free memory goes negative and is only reported
    kSwapOrKill  // swap guest pages out while swap has room, then OOM-kill the largest guest
};

struct HostMemoryParams {
    uint64_t host_ram_bytes = uint64_t{8} << 30;  // physical RAM of the host; must not be zero
    uint64_t host_reserved_bytes = 0;             // host OS and services: always counted as used
    HostOvercommit overcommit = HostOvercommit::kCount;
    // Host swap (kSwapOrKill). 0 bytes: no swap, as on many cloud hosts.
    uint64_t swap_bytes = 0;
    double swap_out_bytes_per_s = 500e6;  // write bandwidth of the swap device
    double swap_in_bytes_per_s = 500e6;   // read bandwidth
    sc_core::sc_time swap_out_latency = sc_core::sc_time(100, sc_core::SC_US);  // per batch
    sc_core::sc_time swap_in_latency = sc_core::sc_time(100, sc_core::SC_US);   // per fault run
};

// Handle returned by HostMemory::add_guest. A distinct type, so that it cannot be
// swapped with a PFN or a size argument without the compiler noticing.
struct GuestId {
    uint32_t index = 0;
    bool operator==(GuestId other) const { return index == other.index; }
    bool operator!=(GuestId other) const { return index != other.index; }
};

// Never handed out by add_guest: what a rejected registration returns when the error
// report is configured not to throw.
constexpr GuestId kNoGuest{std::numeric_limits<uint32_t>::max()};

// Outcome of an operation over a range of pages.
struct PageRangeResult {
    uint64_t changed = 0;  // pages whose residency flipped (touch: became resident; release: freed)
    uint64_t invalid = 0;  // pages outside the guest's RAM: ignored and counted
    // Touch under kSwapOrKill: how long the touching guest waits on the host's swap (its
    // swapped-out pages read back, and pages swapped out to make room).
    sc_core::sc_time stall = sc_core::SC_ZERO_TIME;
    bool ok() const { return invalid == 0; }
};

// Per-guest history; "pages" are always 4 KiB host pages.
struct HostGuestCounters {
    uint64_t pages_touched = 0;      // became resident: first touch, or first touch after a release
    uint64_t pages_released = 0;     // valid pages handed back by balloon inflate
    uint64_t pages_freed = 0;        // of those, the resident ones: host memory actually returned
    uint64_t pages_reclaimed = 0;    // valid pages taken back by balloon deflate
    uint64_t invalid_pages = 0;      // out-of-range PFNs or addresses in any operation, ignored
    uint64_t pages_swapped_out = 0;  // by the host, to make room
    uint64_t pages_swapped_in = 0;   // touched while swapped out
    sc_core::sc_time swap_stall = sc_core::SC_ZERO_TIME;  // the guest's wait on host swap
    bool killed = false;  // by the host's OOM killer: its memory is freed, it runs no more
};

// The host's RAM pool shared by any number of guests. A guest page costs host memory
// from its first touch until the balloon releases it (the host drops it, as with
// madvise(MADV_DONTNEED)); after deflate it costs again only once touched again.
// Residency is one bit per 4 KiB page in a dense bitmap, so a 1 TiB guest needs 32 MiB
// here, and range operations work a 64-bit word at a time.
//
// Host free memory is signed: with overcommit the guests may touch more than the host
// has, and a real host would then swap or OOM-kill. The model keeps counting and
// reports the excess as overcommit_shortfall_bytes() instead of wrapping around.
//
// PFNs are relative to the guest's RAM base (PFN 0 is the first page of its RAM); the
// *_address_range forms take guest-physical addresses and convert them. A plain
// object, not an sc_module: SystemC processes call it directly.
class HostMemory {
  public:
    static constexpr unsigned kPageShift = 12;
    static constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;

    using ChangeListener = std::function<void(const HostMemory&)>;

    explicit HostMemory(const HostMemoryParams& params);

    const HostMemoryParams& params() const { return params_; }

    // Registers a guest whose RAM spans [ram_base, ram_base + ram_bytes). Rejects, with
    // SC_REPORT_ERROR naming the guest, a zero or non-4-KiB-multiple size, an unaligned
    // base, or a range past the end of the address space.
    GuestId add_guest(std::string name, uint64_t ram_base, uint64_t ram_bytes);

    // Guest accesses: the pages become resident. Single-page forms return false for a
    // PFN outside the guest's RAM; range forms apply the valid part and report the rest.
    bool touch(GuestId id, uint64_t pfn);
    PageRangeResult touch(GuestId id, uint64_t first_pfn, uint64_t count);
    PageRangeResult touch_address_range(GuestId id, uint64_t guest_physical_address,
                                        uint64_t bytes);
    // The guest uses `pages` (4 KiB) of what it holds, which ones unknown (a workload's touch
    // phase): taken as an even sample of its backed memory, that share of its swapped-out
    // pages (rounded down) is read back, lowest PFNs first, as one swap-in.
    PageRangeResult touch_held_share(GuestId id, uint64_t pages);
    // The same, done at `at` ahead of SystemC time by a guest running ahead (lookahead); only
    // the low-water mark cares when (see settle()). Reclaim (kSwapOrKill) while such a change
    // is counted would weigh the future: an SC_REPORT_ERROR (the platform's LookaheadGate
    // keeps guests in step when reclaim could come).
    PageRangeResult touch(GuestId id, uint64_t first_pfn, uint64_t count,
                          const sc_core::sc_time& at);
    PageRangeResult touch_address_range(GuestId id, uint64_t guest_physical_address, uint64_t bytes,
                                        const sc_core::sc_time& at);
    PageRangeResult touch_held_share(GuestId id, uint64_t pages, const sc_core::sc_time& at);

    // Balloon inflate: the host drops the pages. Releasing an untouched page frees nothing.
    bool release(GuestId id, uint64_t pfn);
    PageRangeResult release(GuestId id, uint64_t first_pfn, uint64_t count);
    PageRangeResult release_address_range(GuestId id, uint64_t guest_physical_address,
                                          uint64_t bytes);
    PageRangeResult release(GuestId id, uint64_t first_pfn, uint64_t count,
                            const sc_core::sc_time& at);

    // Balloon deflate: only counted. The pages stay non-resident until touched again,
    // so `changed` is always zero.
    bool reclaim(GuestId id, uint64_t pfn);
    PageRangeResult reclaim(GuestId id, uint64_t first_pfn, uint64_t count);
    PageRangeResult reclaim_address_range(GuestId id, uint64_t guest_physical_address,
                                          uint64_t bytes);

    // Release / reclaim for a list of 4 KiB guest-physical frame numbers (address >> 12, as
    // the balloon's PFNs carry them), in any order: one call and at most one change
    // notification for a whole balloon buffer, runs of consecutive frames a word at a time.
    PageRangeResult release_frames(GuestId id, const uint32_t* frames, size_t count);
    PageRangeResult reclaim_frames(GuestId id, const uint32_t* frames, size_t count);
    // The same, done at `at` by a device working ahead of SystemC time (see touch(..., at)).
    PageRangeResult release_frames(GuestId id, const uint32_t* frames, size_t count,
                                   const sc_core::sc_time& at);
    PageRangeResult reclaim_frames(GuestId id, const uint32_t* frames, size_t count,
                                   const sc_core::sc_time& at);

    // Host-wide state.
    uint64_t host_ram_bytes() const { return params_.host_ram_bytes; }
    uint64_t host_used_bytes() const;             // reserved + resident guest pages
    int64_t host_free_bytes() const;              // host RAM - used; negative when overcommitted
    uint64_t overcommit_shortfall_bytes() const;  // max(0, used - host RAM)
    uint64_t total_resident_pages() const { return total_resident_pages_; }
    uint64_t committed_bytes() const { return committed_bytes_; }  // sum of guest RAM sizes
    double overcommit_ratio() const;  // committed / host RAM (reserved part not subtracted)
    size_t guest_count() const { return guests_.size(); }

    // Low-water mark of host_free_bytes() since construction, and the simulated time it
    // was first reached. Taken at the end of each instant (after every change at that
    // time, whatever order the processes ran in); the latest instant counts as ended.
    int64_t min_host_free_bytes() const;
    sc_core::sc_time min_host_free_time() const;
    // Changes made ahead of SystemC time (a guest's lookahead) wait in a journal until
    // settle() puts every change up to `up_to` in time order; the low-water mark above
    // includes only settled changes. Call it once nothing earlier can still arrive.
    void settle(const sc_core::sc_time& up_to);

    // Host swap and OOM (kSwapOrKill).
    uint64_t swap_used_bytes() const { return swapped_pages_ << kPageShift; }
    uint64_t max_swap_used_bytes() const { return max_swapped_pages_ << kPageShift; }
    uint64_t host_oom_kills() const { return host_oom_kills_; }
    // Called when the host's OOM killer kills a guest (its memory is already freed).
    void on_guest_killed(std::function<void(GuestId)> listener);

    // Per-guest state. An unknown id is a wiring bug: SC_REPORT_ERROR, then a neutral value.
    bool has_guest(GuestId id) const { return id.index < guests_.size(); }
    const std::string& guest_name(GuestId id) const;
    uint64_t guest_ram_base(GuestId id) const;
    uint64_t guest_ram_bytes(GuestId id) const;
    uint64_t guest_pages(GuestId id) const;
    uint64_t guest_resident_pages(GuestId id) const;
    uint64_t guest_resident_bytes(GuestId id) const;
    uint64_t guest_swap_used_bytes(GuestId id) const;  // its pages in the host's swap now
    const HostGuestCounters& guest_counters(GuestId id) const;
    // False for a PFN outside the guest's RAM (not counted: queries change nothing).
    bool is_resident(GuestId id, uint64_t pfn) const;

    // Called after every operation that changed host usage or the set of guests, once
    // per operation however many pages it covered, e.g. for the platform to sample
    // host free memory. Listeners should only read.
    void on_change(ChangeListener listener);

  private:
    struct Guest {
        std::string name;
        uint64_t ram_base = 0;
        uint64_t pages = 0;
        ZeroedWords resident;  // bit p of word p / 64 set = PFN p resident
        uint64_t resident_pages = 0;
        ZeroedWords swapped;  // PFNs the host swapped out (never also resident)
        uint64_t swapped_pages = 0;
        HostGuestCounters counters;

        Guest() = default;
        // sc_time's copy is not noexcept, so without this a growing guests_ would copy every
        // guest's bitmaps instead of moving them (quadratic work and twice the memory).
        Guest(Guest&&) noexcept = default;
        Guest& operator=(Guest&&) noexcept = default;
    };
    enum class Op { kTouch, kRelease, kReclaim };

    Guest* find(GuestId id, const char* operation);
    const Guest* find(GuestId id, const char* operation) const;
    PageRangeResult apply(GuestId id, uint64_t first_pfn, uint64_t count, Op op,
                          const char* operation);
    // The bookkeeping of apply() for a valid range, without the change notification;
    // returns how many pages flipped.
    uint64_t apply_valid(Guest& guest, uint64_t first_pfn, uint64_t count, Op op);
    PageRangeResult apply_frames(GuestId id, const uint32_t* frames, size_t count, Op op,
                                 const char* operation);
    PageRangeResult apply_address_range(GuestId id, uint64_t address, uint64_t bytes, Op op,
                                        const char* operation);
    void changed();
    // Host usage changed by `pages` at time `at` (for the low-water mark).
    void record_usage_change(const sc_core::sc_time& at, int64_t pages);
    void fold_usage_change(const sc_core::sc_time& at, int64_t pages);
    int64_t free_bytes_with(uint64_t resident_pages) const;
    // kSwapOrKill after a touch: swaps out (or kills) until usage fits the RAM; returns the
    // toucher's wait for the swap-outs (direct reclaim).
    sc_core::sc_time make_room();
    // Swaps out up to `pages` resident pages of `guest`, highest PFNs first (the guest's
    // allocator hands out low pages first, so high ones are the coldest); returns how many.
    uint64_t swap_out(Guest& guest, uint64_t pages);
    void kill(Guest& guest);

    HostMemoryParams params_;
    std::vector<Guest> guests_;
    std::vector<ChangeListener> listeners_;
    uint64_t total_resident_pages_ = 0;
    uint64_t committed_bytes_ = 0;
    uint64_t swapped_pages_ = 0;
    uint64_t max_swapped_pages_ = 0;
    uint64_t host_oom_kills_ = 0;
    std::vector<std::function<void(GuestId)>> kill_listeners_;
    int64_t min_host_free_bytes_ = 0;  // over ended instants
    sc_core::sc_time min_host_free_time_;
    uint64_t recorded_resident_pages_ = 0;  // total_resident_pages_ as changed() last saw it
    uint64_t settled_resident_pages_ = 0;   // after every settled change
    sc_core::sc_time settled_instant_;      // time of the latest settled change
    struct UsageChange {
        sc_core::sc_time at;
        int64_t pages = 0;
    };
    std::vector<UsageChange> unsettled_;  // not yet in time order with the others
    sc_core::sc_time latest_unsettled_;   // the latest time among them
    // The time of the operation running ahead of SystemC; null: sc_time_stamp().
    const sc_core::sc_time* operation_time_ = nullptr;
    template <typename Operation>
    PageRangeResult at_time(const sc_core::sc_time& at, Operation operation);
};

}  // namespace vbsim::models
