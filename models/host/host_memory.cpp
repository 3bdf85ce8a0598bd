#include "models/host/host_memory.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "models/timing/current_time.h"

namespace vbsim::models {

namespace {

constexpr const char* kReportType = "vbsim/host_memory";
constexpr uint64_t kWordBits = 64;
// Host usage must fit int64 so that free memory can be signed without overflow.
constexpr uint64_t kMaxBytes = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

unsigned popcount(uint64_t word) {
#if defined(__GNUC__) || defined(__clang__)
    return static_cast<unsigned>(__builtin_popcountll(word));
#else
    unsigned bits = 0;
    for (; word != 0; word &= word - 1) {
        ++bits;
    }
    return bits;
#endif
}

// Mask of bits [offset, offset + span) within one word; span in 1..64.
uint64_t word_mask(uint64_t offset, uint64_t span) {
    const uint64_t ones = span == kWordBits ? ~uint64_t{0} : (uint64_t{1} << span) - 1;
    return ones << offset;
}

// Sets (or clears) bits [first, first + count) a word at a time and returns how many
// actually flipped, so the caller can keep residency totals without a second pass.
uint64_t set_bits(ZeroedWords& words, uint64_t first, uint64_t count, bool value) {
    uint64_t flipped = 0;
    const uint64_t end = first + count;
    for (uint64_t bit = first; bit < end;) {
        const uint64_t offset = bit % kWordBits;
        const uint64_t span = std::min(kWordBits - offset, end - bit);
        const uint64_t mask = word_mask(offset, span);
        uint64_t& word = words[bit / kWordBits];
        if (value) {
            flipped += popcount(~word & mask);
            word |= mask;
        } else {
            flipped += popcount(word & mask);
            word &= ~mask;
        }
        bit += span;
    }
    return flipped;
}

std::string quoted(const std::string& name) {
    return "guest '" + name + "'";
}

}  // namespace

HostMemory::HostMemory(const HostMemoryParams& params) : params_(params) {
    if (params_.host_ram_bytes == 0) {
        SC_REPORT_ERROR(kReportType, "host RAM size must not be zero");
    }
    if (params_.host_ram_bytes > kMaxBytes) {
        SC_REPORT_ERROR(kReportType, "host RAM size must be below 8 EiB");
    }
    if (params_.host_reserved_bytes > params_.host_ram_bytes) {
        SC_REPORT_ERROR(kReportType, "host reserved memory exceeds host RAM");
    }
    min_host_free_bytes_ = host_free_bytes();
    min_host_free_time_ = models::current_time();
    settled_instant_ = min_host_free_time_;
}

GuestId HostMemory::add_guest(std::string name, uint64_t ram_base, uint64_t ram_bytes) {
    if (ram_bytes == 0 || ram_bytes % kPageSize != 0) {
        SC_REPORT_ERROR(kReportType, (quoted(name) + ": RAM size " + std::to_string(ram_bytes) +
                                      " bytes is not a non-zero multiple of 4 KiB")
                                         .c_str());
        return kNoGuest;
    }
    if (ram_base % kPageSize != 0) {
        SC_REPORT_ERROR(kReportType, (quoted(name) + ": RAM base " + std::to_string(ram_base) +
                                      " is not 4 KiB aligned")
                                         .c_str());
        return kNoGuest;
    }
    if (ram_bytes - 1 > std::numeric_limits<uint64_t>::max() - ram_base) {
        SC_REPORT_ERROR(kReportType,
                        (quoted(name) + ": RAM runs past the end of the address space").c_str());
        return kNoGuest;
    }
    // Keeps every used/committed sum representable, see kMaxBytes.
    const uint64_t headroom = kMaxBytes - params_.host_reserved_bytes - committed_bytes_;
    if (ram_bytes > headroom) {
        SC_REPORT_ERROR(kReportType,
                        (quoted(name) + ": total guest RAM would exceed 8 EiB").c_str());
        return kNoGuest;
    }
    if (guests_.size() >= std::numeric_limits<uint32_t>::max()) {
        SC_REPORT_ERROR(kReportType, (quoted(name) + ": too many guests").c_str());
        return kNoGuest;
    }

    Guest guest;
    guest.name = std::move(name);
    guest.ram_base = ram_base;
    guest.pages = ram_bytes >> kPageShift;
    guest.resident = ZeroedWords((guest.pages + kWordBits - 1) / kWordBits);
    guest.swapped = ZeroedWords(guest.resident.size());
    guests_.push_back(std::move(guest));
    committed_bytes_ += ram_bytes;
    changed();
    return GuestId{static_cast<uint32_t>(guests_.size() - 1)};
}

HostMemory::Guest* HostMemory::find(GuestId id, const char* operation) {
    return const_cast<Guest*>(std::as_const(*this).find(id, operation));
}

const HostMemory::Guest* HostMemory::find(GuestId id, const char* operation) const {
    if (!has_guest(id)) {
        SC_REPORT_ERROR(
            kReportType,
            (std::string(operation) + ": unknown guest id " + std::to_string(id.index)).c_str());
        return nullptr;
    }
    return &guests_[id.index];
}

PageRangeResult HostMemory::apply(GuestId id, uint64_t first_pfn, uint64_t count, Op op,
                                  const char* operation) {
    PageRangeResult result;
    Guest* guest = find(id, operation);
    if (guest == nullptr) {
        result.invalid = count;
        return result;
    }
    // Written so that first_pfn + count cannot overflow.
    const uint64_t valid = first_pfn < guest->pages ? std::min(count, guest->pages - first_pfn) : 0;
    result.invalid = count - valid;
    guest->counters.invalid_pages += result.invalid;

    if (op == Op::kTouch && guest->counters.killed) {
        return result;  // a killed guest runs no more: nothing of it becomes resident again
    }
    uint64_t swapped_in = 0;
    if (op == Op::kTouch && guest->swapped_pages != 0) {
        // Pages the host swapped out come back: read from swap before the guest goes on.
        swapped_in = set_bits(guest->swapped, first_pfn, valid, false);
        guest->swapped_pages -= swapped_in;
        swapped_pages_ -= swapped_in;
        guest->counters.pages_swapped_in += swapped_in;
    }
    result.changed = apply_valid(*guest, first_pfn, valid, op);
    if (op == Op::kTouch && params_.overcommit == HostOvercommit::kSwapOrKill) {
        if (swapped_in != 0) {
            result.stall += params_.swap_in_latency +
                            sc_core::sc_time(static_cast<double>(swapped_in << kPageShift) /
                                                 params_.swap_in_bytes_per_s,
                                             sc_core::SC_SEC);
        }
        result.stall += make_room();
        guest->counters.swap_stall += result.stall;
    }
    if (result.changed != 0) {
        changed();
    }
    return result;
}

sc_core::sc_time HostMemory::make_room() {
    sc_core::sc_time stall = sc_core::SC_ZERO_TIME;
    const sc_core::sc_time now = models::current_time();
    const bool ahead =
        latest_unsettled_ > now || (operation_time_ != nullptr && *operation_time_ > now);
    if (host_used_bytes() > params_.host_ram_bytes && ahead) {
        // Reclaim would weigh pages touched ahead of their time: the run would no longer be
        // what it is in step. The platform's lookahead gate is there to prevent this.
        SC_REPORT_ERROR(kReportType,
                        "host reclaim while a guest has run ahead of SystemC time "
                        "(turn cpu.lookahead off)");
    }
    while (host_used_bytes() > params_.host_ram_bytes) {
        const uint64_t excess =
            (host_used_bytes() - params_.host_ram_bytes + kPageSize - 1) >> kPageShift;
        Guest* largest = nullptr;
        for (Guest& guest : guests_) {
            if (!guest.counters.killed && guest.resident_pages != 0 &&
                (largest == nullptr || guest.resident_pages > largest->resident_pages)) {
                largest = &guest;
            }
        }
        if (largest == nullptr) {
            break;  // only the reserved part is left: nothing to swap or kill
        }
        const uint64_t swap_room = (params_.swap_bytes >> kPageShift) - swapped_pages_;
        const uint64_t out = swap_out(*largest, std::min(excess, swap_room));
        if (out != 0) {
            // Direct reclaim: the guest whose touch needed the room waits for the write.
            stall += params_.swap_out_latency +
                     sc_core::sc_time(
                         static_cast<double>(out << kPageShift) / params_.swap_out_bytes_per_s,
                         sc_core::SC_SEC);
            continue;
        }
        // No swap left: the host's OOM killer takes the guest with the most resident memory.
        kill(*largest);
    }
    return stall;
}

uint64_t HostMemory::swap_out(Guest& guest, uint64_t pages) {
    uint64_t done = 0;
    for (uint64_t w = guest.resident.size(); w-- > 0 && done < pages;) {
        uint64_t& word = guest.resident[w];
        while (word != 0 && done < pages) {
            const uint64_t bit = uint64_t{1} << (63 - static_cast<unsigned>(__builtin_clzll(word)));
            word &= ~bit;
            guest.swapped[w] |= bit;
            ++done;
        }
    }
    guest.resident_pages -= done;
    total_resident_pages_ -= done;
    guest.swapped_pages += done;
    swapped_pages_ += done;
    max_swapped_pages_ = std::max(max_swapped_pages_, swapped_pages_);
    guest.counters.pages_swapped_out += done;
    return done;
}

void HostMemory::kill(Guest& guest) {
    total_resident_pages_ -= guest.resident_pages;
    swapped_pages_ -= guest.swapped_pages;
    guest.resident_pages = 0;
    guest.swapped_pages = 0;
    std::fill(guest.resident.begin(), guest.resident.end(), 0);
    std::fill(guest.swapped.begin(), guest.swapped.end(), 0);
    guest.counters.killed = true;
    ++host_oom_kills_;
    const GuestId id{static_cast<uint32_t>(&guest - guests_.data())};
    for (const auto& listener : kill_listeners_) {
        listener(id);
    }
}

void HostMemory::on_guest_killed(std::function<void(GuestId)> listener) {
    if (listener) {
        kill_listeners_.push_back(std::move(listener));
    }
}

uint64_t HostMemory::apply_valid(Guest& guest, uint64_t first_pfn, uint64_t count, Op op) {
    uint64_t flipped = 0;
    switch (op) {
        case Op::kTouch:
            flipped = set_bits(guest.resident, first_pfn, count, true);
            guest.resident_pages += flipped;
            total_resident_pages_ += flipped;
            guest.counters.pages_touched += flipped;
            break;
        case Op::kRelease: {
            // A swapped-out page the balloon takes frees its swap slot too.
            const uint64_t unswapped = set_bits(guest.swapped, first_pfn, count, false);
            guest.swapped_pages -= unswapped;
            swapped_pages_ -= unswapped;
            flipped = set_bits(guest.resident, first_pfn, count, false);
            guest.resident_pages -= flipped;
            total_resident_pages_ -= flipped;
            guest.counters.pages_released += count;
            guest.counters.pages_freed += flipped;
            break;
        }
        case Op::kReclaim:
            guest.counters.pages_reclaimed += count;
            break;
    }
    return flipped;
}

PageRangeResult HostMemory::apply_frames(GuestId id, const uint32_t* frames, size_t count, Op op,
                                         const char* operation) {
    PageRangeResult result;
    Guest* guest = find(id, operation);
    if (guest == nullptr) {
        result.invalid = count;
        return result;
    }
    const uint64_t base_page = guest->ram_base >> kPageShift;
    // Balloon buffers hold ascending runs: apply each run as one range.
    for (size_t i = 0; i < count;) {
        const uint64_t first = frames[i];
        size_t run = 1;
        while (i + run < count && frames[i + run] == first + run) {
            ++run;
        }
        i += run;
        // Frames below the base would wrap to huge PFNs; the range check covers the rest.
        const uint64_t below = first < base_page ? std::min<uint64_t>(run, base_page - first) : 0;
        uint64_t valid = 0;
        if (below < run) {
            const uint64_t pfn = first + below - base_page;
            valid = pfn < guest->pages ? std::min(run - below, guest->pages - pfn) : 0;
            result.changed += apply_valid(*guest, pfn, valid, op);
        }
        result.invalid += run - valid;
    }
    guest->counters.invalid_pages += result.invalid;
    if (result.changed != 0) {
        changed();
    }
    return result;
}

PageRangeResult HostMemory::apply_address_range(GuestId id, uint64_t address, uint64_t bytes, Op op,
                                                const char* operation) {
    const Guest* guest = find(id, operation);
    if (guest == nullptr || bytes == 0) {
        return PageRangeResult{};
    }
    // Every page the byte range overlaps; a range running off the address space is cut.
    const uint64_t last_address = bytes - 1 > std::numeric_limits<uint64_t>::max() - address
                                      ? std::numeric_limits<uint64_t>::max()
                                      : address + bytes - 1;
    const uint64_t first_page = address >> kPageShift;
    const uint64_t pages = (last_address >> kPageShift) - first_page + 1;
    const uint64_t base_page = guest->ram_base >> kPageShift;

    // Pages below the RAM base would wrap to huge PFNs: count them invalid here.
    const uint64_t below = first_page < base_page ? std::min(pages, base_page - first_page) : 0;
    const uint64_t first_pfn = std::max(first_page, base_page) - base_page;
    guests_[id.index].counters.invalid_pages += below;
    PageRangeResult result = apply(id, first_pfn, pages - below, op, operation);
    result.invalid += below;
    return result;
}

int64_t HostMemory::free_bytes_with(uint64_t resident_pages) const {
    const int64_t used = static_cast<int64_t>(params_.host_reserved_bytes) +
                         static_cast<int64_t>(resident_pages << kPageShift);
    return static_cast<int64_t>(params_.host_ram_bytes) - used;
}

int64_t HostMemory::min_host_free_bytes() const {
    return std::min(min_host_free_bytes_, free_bytes_with(settled_resident_pages_));
}

sc_core::sc_time HostMemory::min_host_free_time() const {
    return free_bytes_with(settled_resident_pages_) < min_host_free_bytes_ ? settled_instant_
                                                                           : min_host_free_time_;
}

void HostMemory::fold_usage_change(const sc_core::sc_time& at, int64_t pages) {
    if (at > settled_instant_) {
        // The previous instant has ended: its value is a candidate low-water mark.
        const int64_t ended = free_bytes_with(settled_resident_pages_);
        if (ended < min_host_free_bytes_) {
            min_host_free_bytes_ = ended;
            min_host_free_time_ = settled_instant_;
        }
        settled_instant_ = at;
    }
    settled_resident_pages_ =
        static_cast<uint64_t>(static_cast<int64_t>(settled_resident_pages_) + pages);
}

void HostMemory::record_usage_change(const sc_core::sc_time& at, int64_t pages) {
    // In step with SystemC and nothing ahead waiting: in time order already.
    if (unsettled_.empty() && at == models::current_time() && at >= settled_instant_) {
        fold_usage_change(at, pages);
    } else {
        unsettled_.push_back({at, pages});
        latest_unsettled_ = std::max(latest_unsettled_, at);
    }
}

void HostMemory::settle(const sc_core::sc_time& up_to) {
    if (unsettled_.empty()) {
        return;
    }
    // Only the changes up to `up_to` are put in time order and folded (the order of changes
    // at one instant does not matter: the mark is taken between instants); those of guests
    // further ahead wait unsorted, rather than being sorted again at every settle.
    const auto later =
        std::partition(unsettled_.begin(), unsettled_.end(),
                       [&up_to](const UsageChange& change) { return change.at <= up_to; });
    std::sort(unsettled_.begin(), later,
              [](const UsageChange& a, const UsageChange& b) { return a.at < b.at; });
    for (auto change = unsettled_.begin(); change != later; ++change) {
        fold_usage_change(std::max(change->at, settled_instant_), change->pages);
    }
    unsettled_.erase(unsettled_.begin(), later);
    latest_unsettled_ = sc_core::SC_ZERO_TIME;
    for (const UsageChange& change : unsettled_) {
        latest_unsettled_ = std::max(latest_unsettled_, change.at);
    }
}

void HostMemory::changed() {
    const int64_t delta = static_cast<int64_t>(total_resident_pages_) -
                          static_cast<int64_t>(recorded_resident_pages_);
    recorded_resident_pages_ = total_resident_pages_;
    if (delta != 0) {
        record_usage_change(operation_time_ != nullptr ? *operation_time_ : models::current_time(),
                            delta);
    }
    for (const ChangeListener& listener : listeners_) {
        listener(*this);
    }
}

bool HostMemory::touch(GuestId id, uint64_t pfn) {
    return apply(id, pfn, 1, Op::kTouch, "touch").ok();
}

PageRangeResult HostMemory::touch(GuestId id, uint64_t first_pfn, uint64_t count) {
    return apply(id, first_pfn, count, Op::kTouch, "touch");
}

PageRangeResult HostMemory::touch_address_range(GuestId id, uint64_t guest_physical_address,
                                                uint64_t bytes) {
    return apply_address_range(id, guest_physical_address, bytes, Op::kTouch,
                               "touch_address_range");
}

template <typename Operation>
PageRangeResult HostMemory::at_time(const sc_core::sc_time& at, Operation operation) {
    operation_time_ = &at;
    const PageRangeResult result = operation();
    operation_time_ = nullptr;
    return result;
}

PageRangeResult HostMemory::touch(GuestId id, uint64_t first_pfn, uint64_t count,
                                  const sc_core::sc_time& at) {
    return at_time(at, [&] { return touch(id, first_pfn, count); });
}

PageRangeResult HostMemory::touch_address_range(GuestId id, uint64_t guest_physical_address,
                                                uint64_t bytes, const sc_core::sc_time& at) {
    return at_time(at, [&] { return touch_address_range(id, guest_physical_address, bytes); });
}

PageRangeResult HostMemory::touch_held_share(GuestId id, uint64_t pages,
                                             const sc_core::sc_time& at) {
    return at_time(at, [&] { return touch_held_share(id, pages); });
}

PageRangeResult HostMemory::release(GuestId id, uint64_t first_pfn, uint64_t count,
                                    const sc_core::sc_time& at) {
    return at_time(at, [&] { return release(id, first_pfn, count); });
}

PageRangeResult HostMemory::touch_held_share(GuestId id, uint64_t pages) {
    PageRangeResult result;
    Guest* guest = find(id, "touch_held_share");
    if (guest == nullptr || guest->counters.killed || guest->swapped_pages == 0 || pages == 0) {
        return result;
    }
    const uint64_t backed = guest->resident_pages + guest->swapped_pages;
    // pages < backed and swapped <= backed, both below 2^32 (a guest's RAM is at most 16 TiB
    // of 4 KiB pages): the product fits.
    const uint64_t wanted =
        pages >= backed ? guest->swapped_pages : pages * guest->swapped_pages / backed;
    uint64_t swapped_in = 0;
    for (uint64_t w = 0; w < guest->swapped.size() && swapped_in < wanted; ++w) {
        while (guest->swapped[w] != 0 && swapped_in < wanted) {
            const uint64_t pfn = w * 64 + static_cast<unsigned>(__builtin_ctzll(guest->swapped[w]));
            guest->swapped[w] &= guest->swapped[w] - 1;
            result.changed += apply_valid(*guest, pfn, 1, Op::kTouch);
            ++swapped_in;
        }
    }
    if (swapped_in == 0) {
        return result;
    }
    guest->swapped_pages -= swapped_in;
    swapped_pages_ -= swapped_in;
    guest->counters.pages_swapped_in += swapped_in;
    result.stall += params_.swap_in_latency +
                    sc_core::sc_time(
                        static_cast<double>(swapped_in << kPageShift) / params_.swap_in_bytes_per_s,
                        sc_core::SC_SEC);
    result.stall += make_room();
    guest->counters.swap_stall += result.stall;
    if (result.changed != 0) {
        changed();
    }
    return result;
}

bool HostMemory::release(GuestId id, uint64_t pfn) {
    return apply(id, pfn, 1, Op::kRelease, "release").ok();
}

PageRangeResult HostMemory::release(GuestId id, uint64_t first_pfn, uint64_t count) {
    return apply(id, first_pfn, count, Op::kRelease, "release");
}

PageRangeResult HostMemory::release_address_range(GuestId id, uint64_t guest_physical_address,
                                                  uint64_t bytes) {
    return apply_address_range(id, guest_physical_address, bytes, Op::kRelease,
                               "release_address_range");
}

bool HostMemory::reclaim(GuestId id, uint64_t pfn) {
    return apply(id, pfn, 1, Op::kReclaim, "reclaim").ok();
}

PageRangeResult HostMemory::reclaim(GuestId id, uint64_t first_pfn, uint64_t count) {
    return apply(id, first_pfn, count, Op::kReclaim, "reclaim");
}

PageRangeResult HostMemory::reclaim_address_range(GuestId id, uint64_t guest_physical_address,
                                                  uint64_t bytes) {
    return apply_address_range(id, guest_physical_address, bytes, Op::kReclaim,
                               "reclaim_address_range");
}

PageRangeResult HostMemory::release_frames(GuestId id, const uint32_t* frames, size_t count) {
    return apply_frames(id, frames, count, Op::kRelease, "release_frames");
}

PageRangeResult HostMemory::release_frames(GuestId id, const uint32_t* frames, size_t count,
                                           const sc_core::sc_time& at) {
    return at_time(at, [&] { return release_frames(id, frames, count); });
}

PageRangeResult HostMemory::reclaim_frames(GuestId id, const uint32_t* frames, size_t count,
                                           const sc_core::sc_time& at) {
    return at_time(at, [&] { return reclaim_frames(id, frames, count); });
}

PageRangeResult HostMemory::reclaim_frames(GuestId id, const uint32_t* frames, size_t count) {
    return apply_frames(id, frames, count, Op::kReclaim, "reclaim_frames");
}

uint64_t HostMemory::host_used_bytes() const {
    return params_.host_reserved_bytes + (total_resident_pages_ << kPageShift);
}

int64_t HostMemory::host_free_bytes() const {
    // Both sides are at most kMaxBytes (checked on construction and registration).
    return static_cast<int64_t>(params_.host_ram_bytes) - static_cast<int64_t>(host_used_bytes());
}

uint64_t HostMemory::overcommit_shortfall_bytes() const {
    const uint64_t used = host_used_bytes();
    return used > params_.host_ram_bytes ? used - params_.host_ram_bytes : 0;
}

double HostMemory::overcommit_ratio() const {
    if (params_.host_ram_bytes == 0) {
        return 0.0;
    }
    return static_cast<double>(committed_bytes_) / static_cast<double>(params_.host_ram_bytes);
}

const std::string& HostMemory::guest_name(GuestId id) const {
    static const std::string kNone;
    const Guest* guest = find(id, "guest_name");
    return guest != nullptr ? guest->name : kNone;
}

uint64_t HostMemory::guest_ram_base(GuestId id) const {
    const Guest* guest = find(id, "guest_ram_base");
    return guest != nullptr ? guest->ram_base : 0;
}

uint64_t HostMemory::guest_ram_bytes(GuestId id) const {
    const Guest* guest = find(id, "guest_ram_bytes");
    return guest != nullptr ? guest->pages << kPageShift : 0;
}

uint64_t HostMemory::guest_pages(GuestId id) const {
    const Guest* guest = find(id, "guest_pages");
    return guest != nullptr ? guest->pages : 0;
}

uint64_t HostMemory::guest_resident_pages(GuestId id) const {
    const Guest* guest = find(id, "guest_resident_pages");
    return guest != nullptr ? guest->resident_pages : 0;
}

uint64_t HostMemory::guest_resident_bytes(GuestId id) const {
    return guest_resident_pages(id) << kPageShift;
}

uint64_t HostMemory::guest_swap_used_bytes(GuestId id) const {
    const Guest* guest = find(id, "guest_swap_used_bytes");
    return guest != nullptr ? guest->swapped_pages << kPageShift : 0;
}

const HostGuestCounters& HostMemory::guest_counters(GuestId id) const {
    static const HostGuestCounters kNone;
    const Guest* guest = find(id, "guest_counters");
    return guest != nullptr ? guest->counters : kNone;
}

bool HostMemory::is_resident(GuestId id, uint64_t pfn) const {
    const Guest* guest = find(id, "is_resident");
    if (guest == nullptr || pfn >= guest->pages) {
        return false;
    }
    return (guest->resident[pfn / kWordBits] >> (pfn % kWordBits)) & 1u;
}

void HostMemory::on_change(ChangeListener listener) {
    if (listener) {
        listeners_.push_back(std::move(listener));
    }
}

}  // namespace vbsim::models
