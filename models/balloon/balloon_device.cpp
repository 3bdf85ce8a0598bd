#include "models/balloon/balloon_device.h"

#include <algorithm>
#include <sstream>

#include "models/timing/current_time.h"
#include "spec/little_endian.h"

namespace vbsim::models {

namespace {

namespace balloon = spec::balloon;
using spec::load_le16;
using spec::load_le32;
using spec::load_le64;
using spec::feature::bit;

constexpr const char* kReportType = "vbsim/balloon";
// Scratch sized for this many PFNs up front: a Linux buffer carries 256.
constexpr size_t kPfnChunk = 1024;
// A buffer is read whole before any of it is applied; beyond this (4 MiB of PFNs, 4096 Linux
// buffers) it is refused as broken rather than buffered.
constexpr uint64_t kMaxPfnsPerBuffer = uint64_t{1} << 20;
// Stats beyond this many bytes are not read (16 tags need 160).
constexpr uint64_t kMaxStatsBytes = 4096;

// Flips the bitmap bit of every PFN in guest RAM whose bit is not yet in the wanted state (set
// for inflate), in order, appending those PFNs to `applied`; returns how many. `applied` may be
// `pfns` itself: an entry is written only after it was read. `index_of` maps a PFN to its bitmap
// bit (false outside RAM). The current word stays in a register while
// consecutive PFNs fall in it, as the allocator's runs do.
template <bool kInflate, typename IndexOf>
size_t flip_pfns(const uint32_t* pfns, size_t count, const IndexOf& index_of, uint64_t* bitmap,
                 uint32_t* applied, uint64_t& out_of_range, uint32_t& first_bad) {
    constexpr uint64_t kNoWord = ~uint64_t{0};
    size_t applied_count = 0;
    uint64_t word_index = kNoWord;
    uint64_t word = 0;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t pfn = pfns[i];
        uint64_t index = 0;
        if (!index_of(pfn, index)) {
            if (out_of_range++ == 0) {
                first_bad = pfn;
            }
            continue;
        }
        if (index / 64 != word_index) {
            if (word_index != kNoWord) {
                bitmap[word_index] = word;
            }
            word_index = index / 64;
            word = bitmap[word_index];
        }
        const uint64_t mask = uint64_t{1} << (index % 64);
        if (((word & mask) != 0) == kInflate) {
            continue;  // already ballooned (inflate) or not ballooned (deflate)
        }
        word ^= mask;
        applied[applied_count++] = pfn;
    }
    if (word_index != kNoWord) {
        bitmap[word_index] = word;
    }
    return applied_count;
}

// flip_pfns() for one RAM window (`first_pfn`, `pages`), a run of consecutive PFNs inside one
// bitmap word at a time: drivers send the allocator's runs, so most buffers are a few runs,
// and a run costs one compare per PFN plus a word operation. Same results and order.
template <bool kInflate>
size_t flip_pfn_runs(const uint32_t* pfns, size_t count, uint64_t first_pfn, uint64_t pages,
                     uint64_t* bitmap, uint32_t* applied, uint64_t& out_of_range,
                     uint32_t& first_bad) {
    size_t applied_count = 0;
    for (size_t i = 0; i < count;) {
        const uint32_t pfn = pfns[i];
        const uint64_t index = uint64_t{pfn} - first_pfn;  // wraps huge when below the base
        if (index >= pages) {
            if (out_of_range++ == 0) {
                first_bad = pfn;
            }
            ++i;
            continue;
        }
        const unsigned bit = static_cast<unsigned>(index % 64);
        const uint64_t longest = std::min<uint64_t>({count - i, 64 - bit, pages - index});
        uint64_t run = 1;
        while (run < longest && uint64_t{pfns[i + run]} == uint64_t{pfn} + run) {
            ++run;
        }
        const uint64_t bits = (run == 64 ? ~uint64_t{0} : (uint64_t{1} << run) - 1) << bit;
        uint64_t& word = bitmap[index / 64];
        const uint64_t flipped = kInflate ? bits & ~word : bits & word;
        word ^= flipped;
        if (flipped == bits) {
            for (uint64_t j = 0; j < run; ++j) {
                applied[applied_count++] = pfn + static_cast<uint32_t>(j);
            }
        } else {
            for (uint64_t rest = flipped; rest != 0; rest &= rest - 1) {
                const unsigned at = static_cast<unsigned>(__builtin_ctzll(rest));
                applied[applied_count++] = pfn + (at - bit);
            }
        }
        i += run;
    }
    return applied_count;
}

}  // namespace

uint64_t BalloonStats::value(uint16_t tag, uint64_t fallback) const {
    // The last entry wins if a driver repeats a tag.
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        if (it->first == tag) {
            return it->second;
        }
    }
    return fallback;
}

BalloonDevice::BalloonDevice(const sc_core::sc_module_name& name, const BalloonDeviceParams& params)
    : sc_core::sc_module(name), params_(params) {
    const uint64_t modelled =
        bit(balloon::kFeatureMustTellHost) | bit(balloon::kFeatureStatsVq) |
        bit(balloon::kFeatureDeflateOnOom) | bit(balloon::kFeatureFreePageHint) |
        bit(balloon::kFeaturePagePoison) | bit(balloon::kFeaturePageReporting);
    if ((params_.offered_features & ~modelled) != 0) {
        std::ostringstream text;
        text << "offered features 0x" << std::hex << (params_.offered_features & ~modelled)
             << " are not modelled (balloon feature bits 0-5 are)";
        SC_REPORT_ERROR(kReportType, text.str().c_str());
    }
    std::vector<GuestRamRange> ranges = params_.ram_ranges();
    std::sort(ranges.begin(), ranges.end(),
              [](const GuestRamRange& a, const GuestRamRange& b) { return a.base < b.base; });
    for (size_t i = 0; i < ranges.size(); ++i) {
        const GuestRamRange& range = ranges[i];
        std::ostringstream where;
        where << "guest RAM range 0x" << std::hex << range.base << "+0x" << range.bytes;
        if (range.bytes == 0 || range.bytes % balloon::kPageSize != 0 ||
            range.base % balloon::kPageSize != 0) {
            SC_REPORT_ERROR(
                kReportType,
                (where.str() + ": base and size must be non-zero multiples of 4 KiB").c_str());
            continue;
        }
        if (range.bytes - 1 > ~uint64_t{0} - range.base) {
            SC_REPORT_ERROR(kReportType, (where.str() + ": ends beyond 2^64").c_str());
            continue;
        }
        if (!banks_.empty() &&
            (banks_.back().first_pfn + banks_.back().pages) << balloon::kPfnShift > range.base) {
            SC_REPORT_ERROR(kReportType, (where.str() + ": overlaps another range").c_str());
            continue;
        }
        banks_.push_back(
            {range.base >> balloon::kPfnShift, range.bytes >> balloon::kPfnShift, ram_pages_});
        ram_pages_ += range.bytes >> balloon::kPfnShift;
    }
    if (params_.queue_num_max == 0 || params_.queue_num_max > spec::vring::kMaxSize) {
        SC_REPORT_ERROR(kReportType, "queue_num_max must be in 1..32768");
    }
    ballooned_ = ZeroedWords((ram_pages_ + 63) / 64);
    pfns_.resize(kPfnChunk);

    SC_HAS_PROCESS(BalloonDevice);
    SC_THREAD(worker);
    SC_THREAD(handover_worker);
    SC_THREAD(stats_poller);
}

int BalloonDevice::stats_queue() const {
    return transport_ == nullptr
               ? -1
               : balloon::queue_index(balloon::Queue::kStats, transport_->negotiated_features());
}

int BalloonDevice::free_page_queue() const {
    return transport_ == nullptr
               ? -1
               : balloon::queue_index(balloon::Queue::kFreePage, transport_->negotiated_features());
}

int BalloonDevice::reporting_queue() const {
    return transport_ == nullptr ? -1
                                 : balloon::queue_index(balloon::Queue::kReporting,
                                                        transport_->negotiated_features());
}

// ---- host-facing API ------------------------------------------------------------

void BalloonDevice::set_target_pages(uint32_t pages) {
    if (pages == num_pages_) {
        return;
    }
    num_pages_ = pages;
    for (BalloonObserver* observer : observers_) {
        observer->target_changed(pages);
    }
    if (transport_ != nullptr) {
        transport_->config_changed();
    }
}

bool BalloonDevice::page_index(uint32_t pfn, uint64_t& index) const {
    for (const RamBank& bank : banks_) {
        const uint64_t offset = uint64_t{pfn} - bank.first_pfn;  // wraps huge below the bank
        if (offset < bank.pages) {
            index = bank.first_index + offset;
            return true;
        }
    }
    return false;
}

uint32_t BalloonDevice::pfn_of_index(uint64_t index) const {
    for (const RamBank& bank : banks_) {
        if (index - bank.first_index < bank.pages) {
            return static_cast<uint32_t>(bank.first_pfn + (index - bank.first_index));
        }
    }
    return 0;  // not reached: every bitmap bit belongs to a bank
}

bool BalloonDevice::is_ballooned(uint32_t pfn) const {
    uint64_t index = 0;
    return page_index(pfn, index) && ((ballooned_[index / 64] >> (index % 64)) & 1) != 0;
}

void BalloonDevice::request_stats() {
    return_stats_buffer();
}

void BalloonDevice::set_stats_poll_interval(const sc_core::sc_time& interval) {
    params_.stats_poll_interval = interval;
    poll_changed_event_.notify(sc_core::SC_ZERO_TIME);
}

// ---- VirtioDevice ---------------------------------------------------------------

bool BalloonDevice::accept_features(uint64_t features, std::string& why_not) const {
    const uint64_t must_tell_host = bit(balloon::kFeatureMustTellHost);
    if ((params_.offered_features & must_tell_host) != 0 && (features & must_tell_host) == 0) {
        why_not = "the device offered MUST_TELL_HOST and the driver did not accept it";
        return false;
    }
    return true;
}

uint32_t BalloonDevice::queue_num_max(unsigned int index, uint64_t features) const {
    // Queues are numbered consecutively from the negotiated features (spec/virtio.h).
    int count = 0;
    for (unsigned int queue = 0; queue < balloon::kMaxQueues; ++queue) {
        count =
            std::max(count, balloon::queue_index(static_cast<balloon::Queue>(queue), features) + 1);
    }
    return static_cast<int>(index) < count ? params_.queue_num_max : 0;
}

uint32_t BalloonDevice::config_word(uint32_t field_offset) const {
    switch (field_offset) {
        case balloon::kConfigNumPages:
            return num_pages_;
        case balloon::kConfigActual:
            return actual_staged_;  // what the driver wrote, even half-way through
        case balloon::kConfigPoisonVal:
            return poison_val_;
        case balloon::kConfigFreePageHintCmdId:
            return hint_cmd_id_;
        default:
            return 0;
    }
}

bool BalloonDevice::check_config_access(uint32_t offset, unsigned int width, const char* verb) {
    if (offset >= balloon::kConfigSize || width > balloon::kConfigSize - offset) {
        return false;
    }
    // Every field is a le32. Legacy drivers may use any width (Linux 6.1 reads and writes
    // legacy config one byte at a time); virtio 1.x asks for the field's own width, but QEMU
    // serves narrower accesses all the same, so do we, as a counted guest error.
    if (transport_ != nullptr && !transport_->is_legacy() && width != 4) {
        transport_->guest_error("config-width", std::to_string(width) + "-byte config " + verb +
                                                    " at offset " + std::to_string(offset) +
                                                    " of a le32 field");
    }
    return true;
}

bool BalloonDevice::read_config(uint32_t offset, unsigned int width, uint32_t& value) {
    if (!check_config_access(offset, width, "read")) {
        return false;
    }
    value = 0;
    for (unsigned int i = 0; i < width; ++i) {
        const uint32_t at = offset + i;
        const uint32_t field = at & ~3u;
        const uint32_t byte = (config_word(field) >> (8 * (at - field))) & 0xff;
        value |= byte << (8 * i);
    }
    return true;
}

bool BalloonDevice::write_config(uint32_t offset, unsigned int width, uint32_t value) {
    if (!check_config_access(offset, width, "write")) {
        return false;
    }
    const uint32_t field = offset & ~3u;  // aligned accesses of <= 4 bytes stay in one field
    const bool poison_negotiated = transport_ != nullptr && (transport_->negotiated_features() &
                                                             bit(balloon::kFeaturePagePoison)) != 0;
    if (field == balloon::kConfigPoisonVal && poison_negotiated) {
        // The value the guest's freed pages hold; QEMU keeps reported pages while it is
        // not zero, since a discarded page comes back zero-filled.
        const unsigned int shift = 8 * (offset - field);
        const uint32_t mask = width == 4 ? 0xffffffffu : ((1u << (8 * width)) - 1) << shift;
        poison_val_ = (poison_val_ & ~mask) | ((value << shift) & mask);
        return true;
    }
    if (field != balloon::kConfigActual) {
        // num_pages belongs to the host, poison_val needs PAGE_POISON, free_page_hint_cmd_id
        // is the device's: QEMU ignores such writes too.
        if (transport_ != nullptr) {
            transport_->guest_error("config-read-only",
                                    "driver write to read-only config field at offset " +
                                        std::to_string(offset) + " ignored");
        }
        return true;
    }
    const unsigned int shift = 8 * (offset - field);
    const uint32_t mask = width == 4 ? 0xffffffffu : ((1u << (8 * width)) - 1) << shift;
    actual_staged_ = (actual_staged_ & ~mask) | ((value << shift) & mask);
    // A legacy Linux driver writes `actual` one byte at a time, lowest first, so the device
    // sees torn values in between. QEMU calls set_config on every byte and so publishes them
    // (BALLOON_CHANGE events with a torn value); we take the field as written when its last
    // (most significant) byte is, so the host only ever sees whole values.
    const bool completes_field = offset + width == field + 4;
    if (completes_field && actual_staged_ != actual_) {
        actual_ = actual_staged_;
        for (BalloonObserver* observer : observers_) {
            observer->actual_changed(actual_, transport_ != nullptr ? transport_->access_time()
                                                                    : models::current_time());
        }
    }
    return true;
}

void BalloonDevice::queue_notify(unsigned int index, const sc_core::sc_time& delay) {
    if (index >= 32) {
        return;
    }
    pending_queues_ |= 1u << index;
    // The kick happened at the driver's local time, `delay` ahead of the kernel's.
    const sc_core::sc_time now = models::current_time();
    const sc_core::sc_time at = now + delay;
    if (kicks_notified_in_step_) {
        work_notification_owed_ = true;  // by the guest's thread before SystemC goes on
    } else {
        notify_worker(at);
    }
    // work_event_'s pending notification, as SystemC keeps it: an earlier one stays.
    if (work_notified_at_ == now) {
        woken_now_at_ = now;  // that wake-up fired at this instant: the worker may not have run
    }
    work_notified_at_ = work_notified_at_ > now ? std::min(work_notified_at_, at) : at;
}

void BalloonDevice::notify_worker(const sc_core::sc_time& at) {
    const sc_core::sc_time now = models::current_time();
    work_event_.notify(at - now);
    ++counters_.worker_notifications;
    if (work_event_due_ <= now || at < work_event_due_) {
        work_event_due_ = at;  // SystemC keeps the earlier of two pending notifications
    }
}

void BalloonDevice::queue_reset(unsigned int index) {
    pending_queues_ &= ~(1u << index);
    ++queue_epoch_[index % queue_epoch_.size()];
    if (static_cast<int>(index) == 2) {
        stats_buffer_held_ = false;
    }
}

void BalloonDevice::reset() {
    // A buffer held for a guest running ahead goes to the worker, which drops it at its time
    // (its queue's epoch is gone below) and is then idle again.
    release_held_work();
    // The guest forgets its balloon on reset: every page the host held will be
    // faulted back in, so it counts as deflated. The host's target stays.
    // An empty balloon (every reset at start-up) skips the scan: it would touch, and so map,
    // the whole bitmap.
    std::vector<uint32_t> released;
    for (uint64_t word = 0; ballooned_count_ != 0 && word < ballooned_.size(); ++word) {
        uint64_t& bits = ballooned_[word];
        while (bits != 0) {
            const unsigned int bit_index = static_cast<unsigned int>(__builtin_ctzll(bits));
            bits &= bits - 1;
            released.push_back(pfn_of_index(word * 64 + bit_index));
        }
    }
    ballooned_count_ = 0;
    actual_ = 0;
    actual_staged_ = 0;
    poison_val_ = 0;
    hint_status_ = HintStatus::kIdle;
    hint_cmd_id_ = 0;
    stats_buffer_held_ = false;
    first_stats_buffer_ = true;
    pending_queues_ = 0;
    for (uint64_t& epoch : queue_epoch_) {
        ++epoch;
    }
    for (BalloonObserver* observer : observers_) {
        if (!released.empty()) {
            observer->pages_deflated(released.data(), released.size(), models::current_time());
        }
        observer->device_reset();
    }
}

// ---- queue processing -----------------------------------------------------------

void BalloonDevice::worker() {
    while (true) {
        // While a handed-over buffer is in the host's hands, the worker is busy as it would
        // be in its own wait for that work: kicks meanwhile only wake it for nothing.
        if (handed_over_ || pending_queues_ == 0) {
            worker_idle_ = true;
            wait(work_event_);
            worker_idle_ = false;
            woken_now_at_ = sc_core::sc_max_time();
            // A kick's wake-up lands on the time the driver annotated, where the driver itself
            // often synchronises too: the driver goes first (a delta cycle), whatever the
            // order SystemC's queue would give two processes at one instant.
            wait(sc_core::SC_ZERO_TIME);
            continue;
        }
        work_next_queue();
    }
}

void BalloonDevice::handover_worker() {
    while (true) {
        wait(handover_event_);
        // A buffer a guest's run-ahead took: the host's work on it ends now. From here this
        // thread goes on as the worker would after that wait, until nothing is pending.
        const PageBuffer buffer = handover_;
        if (finish_page_buffer(buffer)) {
            drain_page_queue(buffer.index, buffer.kind);
        }
        draining_ = false;
        while (pending_queues_ != 0) {
            work_next_queue();
        }
        handed_over_ = false;
    }
}

void BalloonDevice::work_next_queue() {
    const unsigned int index = static_cast<unsigned int>(__builtin_ctz(pending_queues_));
    pending_queues_ &= ~(1u << index);
    draining_ = true;
    if (index == balloon::kInflateQueue) {
        drain_page_queue(index, PageQueue::kInflate);
    } else if (index == balloon::kDeflateQueue) {
        drain_page_queue(index, PageQueue::kDeflate);
    } else if (static_cast<int>(index) == stats_queue()) {
        drain_stats_queue(index);
    } else if (static_cast<int>(index) == reporting_queue()) {
        drain_reporting_queue(index);
    } else if (static_cast<int>(index) == free_page_queue()) {
        drain_free_page_queue(index);
    }
    draining_ = false;
}

BalloonDevice::Take BalloonDevice::take_readable_chain(unsigned int index, const char* queue_name,
                                                       const char* expected, DescriptorChain& chain,
                                                       SplitVirtqueue*& queue,
                                                       sc_core::sc_time& delay) {
    const Take take = take_chain(index, queue_name, chain, queue, delay);
    if (take != Take::kChain) {
        return take;
    }
    // The traditional queues carry data to the device only.
    if (chain.writable_bytes() != 0) {
        device_needs_reset(std::string(queue_name) + ": buffer is device-writable, expected " +
                           expected);
        return Take::kFailed;
    }
    return Take::kChain;
}

BalloonDevice::Take BalloonDevice::take_chain(unsigned int index, const char* queue_name,
                                              DescriptorChain& chain, SplitVirtqueue*& queue,
                                              sc_core::sc_time& delay) {
    queue = transport_->queue(index);
    if (queue == nullptr) {
        return Take::kNone;
    }
    const SplitVirtqueue::Fetch fetch = queue->next_chain(chain, delay);
    if (fetch == SplitVirtqueue::Fetch::kEmpty) {
        return Take::kNone;
    }
    if (fetch == SplitVirtqueue::Fetch::kBroken) {
        device_needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
        return Take::kFailed;
    }
    return Take::kChain;
}

bool BalloonDevice::drain_page_queue(unsigned int index, PageQueue kind) {
    while (true) {
        PageBuffer buffer;
        const Take take = take_page_buffer(index, kind, buffer);
        if (take != Take::kChain) {
            return take == Take::kNone;
        }
        if (ahead_ && buffer.done_at > ahead_limit_) {
            // The guest has something to do first; the buffer waits for it (work_ahead()).
            held_buffer_ = buffer;
            held_ = true;
            return true;
        }
        if (ahead_ && buffer.done_at == ahead_limit_) {
            // The guest acts at the very instant the buffer ends: the worker finishes it at
            // its time, so SystemC orders the two as it would without lookahead.
            hand_over(buffer);
            return true;
        }
        spend(buffer.done_at - device_time());
        if (!finish_page_buffer(buffer)) {
            return false;
        }
        if (ahead_) {
            // Its interrupt may wake the guest: what the device does from then on, the guest
            // must not see before it would.
            ahead_limit_ = std::min(ahead_limit_, transport_->interrupt_rise_due());
        }
    }
}

BalloonDevice::Take BalloonDevice::take_page_buffer(unsigned int index, PageQueue kind,
                                                    PageBuffer& buffer) {
    const char* queue_name = kind == PageQueue::kInflate ? "inflateq" : "deflateq";
    DescriptorChain& chain = page_chain_;  // a member: next_chain() reuses its storage
    SplitVirtqueue* queue = nullptr;
    sc_core::sc_time delay = device_time() - models::current_time();
    const Take take =
        take_readable_chain(index, queue_name, "device-readable PFNs", chain, queue, delay);
    if (take != Take::kChain) {
        return take;
    }
    buffer.index = index;
    buffer.kind = kind;
    buffer.epoch = queue_epoch_[index];
    buffer.taken_at = models::current_time() + delay;
    const uint64_t bytes = chain.readable_bytes();
    counters_.truncated_pfn_bytes += bytes % 4;
    buffer.total = bytes / 4;
    if (buffer.total > kMaxPfnsPerBuffer) {
        device_needs_reset(std::string(queue_name) + ": buffer of " + std::to_string(buffer.total) +
                           " PFNs, more than the " + std::to_string(kMaxPfnsPerBuffer) +
                           " the device takes");
        return Take::kFailed;
    }
    const size_t count = static_cast<size_t>(buffer.total);
    if (pfns_.size() < count) {
        pfns_.resize(count);
    }
    const BalloonDeviceParams::BufferCosts& costs =
        kind == PageQueue::kInflate ? params_.inflate_costs : params_.deflate_costs;
    delay += costs.transport + costs.host_per_buffer;

    // Read the whole buffer, take the time, then apply: the pages change hands only
    // once the host has done the work, and not at all if a DMA error (like QEMU, which
    // maps the whole buffer before it looks at a PFN) or a reset overtook it.
    // Read as raw le32 bytes and decoded in place: one scratch array, not three, is what a
    // buffer costs in cache with a thousand guests.
    uint8_t* const raw = reinterpret_cast<uint8_t*>(pfns_.data());
    if (queue->read_chain(chain, 0, raw, count * 4, delay) != static_cast<int64_t>(count * 4)) {
        device_needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
        return Take::kFailed;
    }
    for (size_t i = 0; i < count; ++i) {
        pfns_[i] = load_le32(raw + i * 4);
    }
    delay += costs.host_per_page * static_cast<double>(count);
    buffer.done_at = models::current_time() + delay;
    return Take::kChain;
}

bool BalloonDevice::finish_page_buffer(const PageBuffer& buffer) {
    const char* queue_name = buffer.kind == PageQueue::kInflate ? "inflateq" : "deflateq";
    if (queue_epoch_[buffer.index] != buffer.epoch) {
        return false;
    }
    const sc_core::sc_time now = device_time();
    apply_pages(buffer.kind, pfns_.data(), static_cast<size_t>(buffer.total), now);
    SplitVirtqueue* queue = transport_->queue(buffer.index);
    if (queue == nullptr || queue_epoch_[buffer.index] != buffer.epoch) {
        return false;
    }
    if (buffer.kind == PageQueue::kInflate) {
        ++counters_.inflate_buffers;
        ++counters_.inflate_pfns_per_buffer[buffer.total];
    } else {
        ++counters_.deflate_buffers;
        ++counters_.deflate_pfns_per_buffer[buffer.total];
    }
    const sc_core::sc_time ahead = now - models::current_time();
    sc_core::sc_time delay = ahead;
    if (!queue->push_used(page_chain_.head, 0, delay)) {
        device_needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
        return false;
    }
    transport_->used_buffers(buffer.index, ahead);
    for (BalloonObserver* observer : observers_) {
        observer->buffer_handled(buffer.index, buffer.total, buffer.taken_at,
                                 models::current_time() + delay);
    }
    return true;
}

void BalloonDevice::device_needs_reset(const std::string& reason) {
    transport_->needs_reset(reason, device_time() - models::current_time());
}

sc_core::sc_time BalloonDevice::device_time() const {
    return ahead_ ? ahead_time_ : models::current_time();
}

void BalloonDevice::spend(const sc_core::sc_time& time) {
    if (ahead_) {
        ahead_time_ += time;
    } else {
        wait(time);
    }
}

bool BalloonDevice::work_ahead(const sc_core::sc_time& limit) {
    // Only kicked inflate/deflate queues, the worker asleep and not yet woken by the kick
    // (it is due later than now), and the guest's run-ahead covering the kick's time.
    constexpr uint32_t kPageQueues =
        (1u << balloon::kInflateQueue) | (1u << balloon::kDeflateQueue);
    if (held_) {
        return resume_held_work(limit);
    }
    const sc_core::sc_time now = models::current_time();
    if (pending_queues_ == 0 || (pending_queues_ & ~kPageQueues) != 0 || !worker_idle_ ||
        draining_ || handed_over_ || work_notified_at_ <= now || work_notified_at_ >= limit ||
        woken_now_at_ == now) {
        return false;
    }
    if (work_event_due_ > now) {
        work_event_.cancel();
        work_event_due_ = sc_core::SC_ZERO_TIME;
    }
    work_notification_owed_ = false;
    ahead_ = true;
    ahead_time_ = work_notified_at_;  // when the worker would wake
    ahead_limit_ = limit;
    work_notified_at_ = sc_core::SC_ZERO_TIME;  // cancelled
    drain_pending_ahead();
    ahead_ = false;
    ++counters_.work_ahead_runs;
    return true;
}

bool BalloonDevice::resume_held_work(const sc_core::sc_time& limit) {
    const PageBuffer buffer = held_buffer_;
    if (buffer.done_at > limit) {
        return false;  // the guest acts again before the buffer ends
    }
    held_ = false;
    if (buffer.done_at == limit) {
        hand_over(buffer);
        return false;
    }
    ahead_ = true;
    ahead_time_ = buffer.done_at;
    ahead_limit_ = limit;
    // As drain_page_queue() would have gone on from this buffer, then the other queues.
    if (finish_page_buffer(buffer)) {
        ahead_limit_ = std::min(ahead_limit_, transport_->interrupt_rise_due());
        drain_page_queue(buffer.index, buffer.kind);
    }
    drain_pending_ahead();
    ahead_ = false;
    return true;
}

void BalloonDevice::drain_pending_ahead() {
    // In the worker's order: lowest queue first, each drained.
    while (pending_queues_ != 0 && !handed_over_ && !held_) {
        const unsigned int index = static_cast<unsigned int>(__builtin_ctz(pending_queues_));
        pending_queues_ &= ~(1u << index);
        drain_page_queue(
            index, index == balloon::kInflateQueue ? PageQueue::kInflate : PageQueue::kDeflate);
    }
}

void BalloonDevice::hand_over(const PageBuffer& buffer) {
    handover_ = buffer;
    handed_over_ = true;
    draining_ = true;
    handover_event_.notify(buffer.done_at - models::current_time());
}

sc_core::sc_time BalloonDevice::quiet_until() const {
    if (held_) {
        return held_buffer_.done_at;
    }
    if (!busy()) {
        return max_time();
    }
    const sc_core::sc_time now = models::current_time();
    // A wake-up that fired now (for an earlier kick) has the worker run now, before the
    // wake-up of a later kick.
    if (pending_queues_ != 0 && worker_idle_ && !draining_ && work_notified_at_ > now &&
        woken_now_at_ != now) {
        return work_notified_at_ + sc_core::sc_get_time_resolution();
    }
    return now;
}

void BalloonDevice::release_held_work() {
    if (work_notification_owed_) {
        work_notification_owed_ = false;
        notify_worker(std::max(work_notified_at_, models::current_time()));
    }
    if (held_) {
        held_ = false;
        hand_over(held_buffer_);
    }
}

void BalloonDevice::apply_pages(PageQueue kind, uint32_t* pfns, size_t count,
                                const sc_core::sc_time& at) {
    // The PFN range check and bitmap update inline, the PFNs applied written over those read
    // (this runs for every page moved).
    const bool inflate = kind == PageQueue::kInflate;
    uint32_t* const applied = pfns;
    uint64_t out_of_range = 0;
    uint32_t first_bad = 0;
    size_t applied_count = 0;
    if (banks_.size() == 1) {  // one window: runs of consecutive PFNs
        const RamBank bank = banks_.front();
        applied_count =
            inflate ? flip_pfn_runs<true>(pfns, count, bank.first_pfn, bank.pages,
                                          ballooned_.data(), applied, out_of_range, first_bad)
                    : flip_pfn_runs<false>(pfns, count, bank.first_pfn, bank.pages,
                                           ballooned_.data(), applied, out_of_range, first_bad);
    } else {
        const auto index_of = [this](uint32_t pfn, uint64_t& index) {
            return page_index(pfn, index);
        };
        applied_count = inflate ? flip_pfns<true>(pfns, count, index_of, ballooned_.data(), applied,
                                                  out_of_range, first_bad)
                                : flip_pfns<false>(pfns, count, index_of, ballooned_.data(),
                                                   applied, out_of_range, first_bad);
    }
    if (out_of_range != 0) {
        report_out_of_range(kind, first_bad, out_of_range, count);
    }
    const uint64_t skipped = count - out_of_range - applied_count;
    counters_.pfns_out_of_range += out_of_range;
    (inflate ? counters_.pfns_already_ballooned : counters_.pfns_not_ballooned) += skipped;
    if (inflate) {
        ballooned_count_ += applied_count;
        counters_.pages_inflated += applied_count;
    } else {
        ballooned_count_ -= applied_count;
        counters_.pages_deflated += applied_count;
    }
    if (applied_count == 0) {
        return;
    }
    for (BalloonObserver* observer : observers_) {
        if (inflate) {
            observer->pages_inflated(applied, applied_count, at);
        } else {
            observer->pages_deflated(applied, applied_count, at);
        }
    }
}

void BalloonDevice::report_out_of_range(PageQueue kind, uint32_t first_bad, uint64_t bad,
                                        size_t count) {
    // The guest believes it gave these pages away; the host cannot take what is not RAM. The
    // buffer is still returned (the spec has no way to refuse one PFN).
    ++counters_.buffers_out_of_range;
    if (transport_ == nullptr) {
        return;
    }
    std::ostringstream what;
    what << (kind == PageQueue::kInflate ? "inflateq" : "deflateq") << ": PFN 0x" << std::hex
         << first_bad << " (address 0x" << (uint64_t{first_bad} << balloon::kPfnShift)
         << ") is outside every guest RAM range; " << std::dec << bad << " of " << count
         << " PFNs of the buffer ignored";
    transport_->guest_error("pfn-outside-ram", what.str());
}

bool BalloonDevice::drain_stats_queue(unsigned int index) {
    const uint64_t epoch = queue_epoch_[index];
    while (true) {
        SplitVirtqueue* queue = nullptr;
        DescriptorChain chain;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const Take take =
            take_readable_chain(index, "statsq", "stats entries", chain, queue, delay);
        if (take != Take::kChain) {
            return take == Take::kNone;
        }
        if (stats_buffer_held_) {
            // Only one stats buffer may be outstanding; like QEMU, give the older back.
            ++counters_.extra_stats_buffers;
            return_stats_buffer();
            queue = transport_->queue(index);
            if (queue == nullptr) {
                return false;
            }
        }
        std::vector<uint8_t> bytes(
            static_cast<size_t>(std::min(chain.readable_bytes(), kMaxStatsBytes)));
        if (queue->read_chain(chain, 0, bytes.data(), bytes.size(), delay) !=
            static_cast<int64_t>(bytes.size())) {
            device_needs_reset("statsq: " + queue->broken_reason());
            return false;
        }
        wait(delay);
        if (queue_epoch_[index] != epoch) {
            return false;
        }
        // Legacy drivers primed the queue with an uninitialised buffer: ignore it.
        if (!(transport_->is_legacy() && first_stats_buffer_)) {
            parse_stats(bytes);
        }
        first_stats_buffer_ = false;
        stats_buffer_held_ = true;
        stats_head_ = chain.head;
    }
}

void BalloonDevice::parse_stats(const std::vector<uint8_t>& bytes) {
    stats_.valid = true;
    stats_.timestamp = models::current_time();
    stats_.entries.clear();
    for (size_t offset = 0; offset + balloon::kStatEntrySize <= bytes.size();
         offset += balloon::kStatEntrySize) {
        stats_.entries.emplace_back(load_le16(&bytes[offset]), load_le64(&bytes[offset + 2]));
    }
    ++counters_.stats_buffers;
    for (BalloonObserver* observer : observers_) {
        observer->stats_received(stats_);
    }
}

void BalloonDevice::return_stats_buffer() {
    const int index = stats_queue();
    if (!stats_buffer_held_ || index < 0) {
        return;
    }
    SplitVirtqueue* queue = transport_->queue(static_cast<unsigned int>(index));
    if (queue == nullptr) {
        return;
    }
    stats_buffer_held_ = false;
    ++counters_.stats_requests;
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    if (!queue->push_used(stats_head_, 0, delay)) {
        device_needs_reset("statsq: " + queue->broken_reason());
        return;
    }
    transport_->used_buffers(static_cast<unsigned int>(index), sc_core::SC_ZERO_TIME);
}

void BalloonDevice::stats_poller() {
    while (true) {
        const sc_core::sc_time interval = params_.stats_poll_interval;
        if (interval == sc_core::SC_ZERO_TIME) {
            wait(poll_changed_event_);
            continue;
        }
        const sc_core::sc_time deadline = models::current_time() + interval;
        next_stats_request_ = deadline;
        wait(interval, poll_changed_event_);
        if (models::current_time() >= deadline) {
            // The driver at this instant goes first (a delta cycle), as for kicks, whatever
            // the order SystemC's queue would give: a guest running ahead syncs here too.
            wait(sc_core::SC_ZERO_TIME);
            next_stats_request_ = sc_core::sc_max_time();
            request_stats();
        } else {
            next_stats_request_ = sc_core::sc_max_time();
        }
    }
}

// ---- free page reporting and hinting ---------------------------------------------

bool BalloonDevice::is_ram_pages(uint64_t address, uint64_t bytes) const {
    return bytes != 0 && (address | bytes) % balloon::kPageSize == 0 &&
           address >= params_.guest_ram_base &&
           address - params_.guest_ram_base <= params_.guest_ram_bytes &&
           bytes <= params_.guest_ram_bytes - (address - params_.guest_ram_base);
}

bool BalloonDevice::drain_reporting_queue(unsigned int index) {
    const uint64_t epoch = queue_epoch_[index % queue_epoch_.size()];
    DescriptorChain chain;
    while (true) {
        SplitVirtqueue* queue = nullptr;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const Take take = take_chain(index, "reporting_vq", chain, queue, delay);
        if (take != Take::kChain) {
            return take == Take::kNone;
        }
        const sc_core::sc_time taken_at = models::current_time() + delay;
        // Linux adds its free blocks as device-writable buffers (the host may zero them);
        // QEMU looks at the writable part only, and so do we, counting the oddity.
        if (chain.readable_bytes() != 0) {
            transport_->guest_error("reporting-readable",
                                    "reporting_vq buffer with " +
                                        std::to_string(chain.readable_bytes()) +
                                        " device-readable bytes: ignored");
        }
        uint64_t pages = 0;
        uint64_t blocks = 0;
        for (const VirtqueueBuffer& buffer : chain.buffers) {
            if (!buffer.device_writable) {
                continue;
            }
            ++blocks;
            if (!is_ram_pages(buffer.address, buffer.length)) {
                // QEMU ignores unaligned blocks and blocks outside RAM (bad_addr trace).
                ++counters_.report_entries_rejected;
                transport_->guest_error("reporting-bad-block",
                                        "reported block at " + std::to_string(buffer.address) +
                                            " of " + std::to_string(buffer.length) +
                                            " bytes is not whole 4 KiB pages of RAM: ignored");
                continue;
            }
            pages += buffer.length / balloon::kPageSize;
        }
        const BalloonDeviceParams::BufferCosts& costs = params_.report_costs;
        delay += costs.transport + costs.host_per_buffer +
                 costs.host_per_page * static_cast<double>(pages);
        wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        if (queue_epoch_[index % queue_epoch_.size()] != epoch) {
            return false;
        }
        // A discarded page comes back zero-filled: with a poison value to keep, QEMU serves
        // the report without discarding anything (virtio_balloon_handle_report).
        const bool discard = poison_val_ == 0;
        for (const VirtqueueBuffer& buffer : chain.buffers) {
            if (!buffer.device_writable || !is_ram_pages(buffer.address, buffer.length)) {
                continue;
            }
            if (!discard) {
                continue;
            }
            for (BalloonObserver* observer : observers_) {
                observer->pages_reported(buffer.address, buffer.length);
            }
        }
        (discard ? counters_.pages_reported : counters_.pages_kept_for_poison) += pages;
        ++counters_.report_buffers;
        counters_.report_blocks += blocks;
        ++counters_.report_blocks_per_buffer[blocks];
        queue = transport_->queue(index);
        if (queue == nullptr) {
            return false;
        }
        if (!queue->push_used(chain.head, 0, delay)) {
            device_needs_reset("reporting_vq: " + queue->broken_reason());
            return false;
        }
        transport_->used_buffers(index, sc_core::SC_ZERO_TIME);
        for (BalloonObserver* observer : observers_) {
            observer->report_handled(index, blocks, pages, taken_at,
                                     models::current_time() + delay);
        }
    }
}

bool BalloonDevice::drain_free_page_queue(unsigned int index) {
    const uint64_t epoch = queue_epoch_[index % queue_epoch_.size()];
    DescriptorChain chain;
    while (true) {
        SplitVirtqueue* queue = nullptr;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const Take take = take_chain(index, "free_page_vq", chain, queue, delay);
        if (take != Take::kChain) {
            return take == Take::kNone;
        }
        // A device-readable part is a command id: exactly one le32 (QEMU: "received an
        // incorrect cmd id" and the device is broken).
        const uint64_t readable = chain.readable_bytes();
        bool has_id = false;
        uint32_t id = 0;
        if (readable != 0) {
            if (readable != 4) {
                device_needs_reset("free_page_vq: command id buffer of " +
                                   std::to_string(readable) + " bytes, expected 4");
                return false;
            }
            uint8_t bytes[4] = {};
            if (queue->read_chain(chain, 0, bytes, 4, delay) != 4) {
                device_needs_reset("free_page_vq: " + queue->broken_reason());
                return false;
            }
            id = load_le32(bytes);
            has_id = true;
        }
        uint64_t pages = 0;
        for (const VirtqueueBuffer& buffer : chain.buffers) {
            if (buffer.device_writable && is_ram_pages(buffer.address, buffer.length)) {
                pages += buffer.length / balloon::kPageSize;
            } else if (buffer.device_writable) {
                transport_->guest_error(
                    "hint-bad-block", "hinted block at " + std::to_string(buffer.address) + " of " +
                                          std::to_string(buffer.length) +
                                          " bytes is not whole 4 KiB pages of RAM: ignored");
            }
        }
        const BalloonDeviceParams::BufferCosts& costs = params_.hint_costs;
        delay += costs.transport + costs.host_per_buffer +
                 costs.host_per_page * static_cast<double>(pages);
        wait(delay);
        delay = sc_core::SC_ZERO_TIME;
        if (queue_epoch_[index % queue_epoch_.size()] != epoch) {
            return false;
        }
        if (has_id) {
            hint_cmd_id_received(id);
        }
        if (chain.writable_bytes() != 0) {
            ++counters_.hint_buffers;
            // Hints count only inside a started round (QEMU: FREE_PAGE_HINT_S_START).
            if (hint_status_ == HintStatus::kStarted && !hint_rounds_.empty()) {
                counters_.hinted_pages += pages;
                ++hint_rounds_.back().hint_buffers;
                hint_rounds_.back().hinted_pages += pages;
            } else {
                counters_.hint_pages_outside_round += pages;
            }
        }
        queue = transport_->queue(index);
        if (queue == nullptr) {
            return false;
        }
        if (!queue->push_used(chain.head, 0, delay)) {
            device_needs_reset("free_page_vq: " + queue->broken_reason());
            return false;
        }
        transport_->used_buffers(index, sc_core::SC_ZERO_TIME);
    }
}

void BalloonDevice::hint_cmd_id_received(uint32_t id) {
    if (hint_status_ == HintStatus::kRequested && id == hint_cmd_id_ && !hint_rounds_.empty()) {
        hint_status_ = HintStatus::kStarted;
        hint_rounds_.back().started = true;
        hint_rounds_.back().started_at = models::current_time();
    } else if (hint_status_ == HintStatus::kStarted) {
        // The guest's stop id (or any other id) ends a started round; a stale one before the
        // start does not (QEMU).
        hint_status_ = HintStatus::kStopped;
        if (!hint_rounds_.back().stopped) {
            hint_rounds_.back().stopped = true;
            hint_rounds_.back().stopped_at = models::current_time();
        }
    }
}

void BalloonDevice::set_hint_status(uint32_t cmd_id_in_config) {
    hint_cmd_id_ = cmd_id_in_config;
    if (transport_ != nullptr) {
        transport_->config_changed();
    }
}

bool BalloonDevice::start_free_page_hint() {
    if (transport_ == nullptr || free_page_queue() < 0) {
        return false;
    }
    if (!hint_rounds_.empty() && !hint_rounds_.back().stopped) {
        hint_rounds_.back().stopped = true;
        hint_rounds_.back().stopped_at = models::current_time();
    }
    FreePageHintRound round;
    round.cmd_id = next_hint_cmd_id_;
    round.requested_at = models::current_time();
    hint_rounds_.push_back(round);
    // Ids run from kHintCmdIdMin upwards and skip STOP and DONE when they wrap.
    next_hint_cmd_id_ =
        next_hint_cmd_id_ == UINT32_MAX ? balloon::kHintCmdIdMin : next_hint_cmd_id_ + 1;
    hint_status_ = HintStatus::kRequested;
    set_hint_status(round.cmd_id);
    return true;
}

bool BalloonDevice::stop_free_page_hint() {
    if (transport_ == nullptr || free_page_queue() < 0) {
        return false;
    }
    if (!hint_rounds_.empty() && !hint_rounds_.back().stopped) {
        hint_rounds_.back().stopped = true;
        hint_rounds_.back().stopped_at = models::current_time();
    }
    hint_status_ = HintStatus::kStopped;
    set_hint_status(balloon::kHintCmdIdStop);
    return true;
}

bool BalloonDevice::finish_free_page_hint() {
    if (transport_ == nullptr || free_page_queue() < 0) {
        return false;
    }
    if (!hint_rounds_.empty() && !hint_rounds_.back().stopped) {
        hint_rounds_.back().stopped = true;
        hint_rounds_.back().stopped_at = models::current_time();
    }
    hint_status_ = HintStatus::kDone;
    set_hint_status(balloon::kHintCmdIdDone);
    return true;
}

}  // namespace vbsim::models
