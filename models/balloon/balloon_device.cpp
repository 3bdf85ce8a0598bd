#include "models/balloon/balloon_device.h"

#include <algorithm>
#include <sstream>

namespace vbsim::models {

namespace {

namespace balloon = spec::balloon;
using spec::feature::bit;

constexpr const char* kReportType = "vbsim/balloon";
// PFNs read per DMA burst: one Linux buffer (256 PFNs) fits four times.
constexpr size_t kPfnChunk = 1024;
// Stats beyond this many bytes are not read (16 tags need 160).
constexpr uint64_t kMaxStatsBytes = 4096;

uint64_t load_le(const uint8_t* bytes, unsigned int width) {
    uint64_t value = 0;
    for (unsigned int i = 0; i < width; ++i) {
        value |= uint64_t{bytes[i]} << (8 * i);
    }
    return value;
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
    const uint64_t modelled = bit(balloon::kFeatureMustTellHost) | bit(balloon::kFeatureStatsVq) |
                              bit(balloon::kFeatureDeflateOnOom);
    if ((params_.offered_features & ~modelled) != 0) {
        std::ostringstream text;
        text << "offered features 0x" << std::hex << (params_.offered_features & ~modelled)
             << " are not modelled (MUST_TELL_HOST, STATS_VQ and DEFLATE_ON_OOM are)";
        SC_REPORT_ERROR(kReportType, text.str().c_str());
    }
    if (params_.guest_ram_bytes == 0 || params_.guest_ram_bytes % balloon::kPageSize != 0 ||
        params_.guest_ram_base % balloon::kPageSize != 0) {
        SC_REPORT_ERROR(kReportType, "guest RAM base and size must be non-zero multiples of 4 KiB");
    }
    if (params_.queue_num_max == 0 || params_.queue_num_max > spec::vring::kMaxSize) {
        SC_REPORT_ERROR(kReportType, "queue_num_max must be in 1..32768");
    }
    const uint64_t pages = params_.guest_ram_bytes / balloon::kPageSize;
    ballooned_.assign((pages + 63) / 64, 0);

    SC_HAS_PROCESS(BalloonDevice);
    SC_THREAD(worker);
    SC_THREAD(stats_poller);
}

int BalloonDevice::stats_queue() const {
    if (transport_ == nullptr ||
        (transport_->negotiated_features() & bit(balloon::kFeatureStatsVq)) == 0) {
        return -1;
    }
    return 2;
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
    const uint64_t address = uint64_t{pfn} << balloon::kPfnShift;
    if (address < params_.guest_ram_base ||
        address - params_.guest_ram_base >= params_.guest_ram_bytes) {
        return false;
    }
    index = (address - params_.guest_ram_base) >> balloon::kPfnShift;
    return true;
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
    // Queues are numbered consecutively from the negotiated features, as Linux and
    // QEMU do: inflateq, deflateq, then statsq only with STATS_VQ.
    if (index <= 1) {
        return params_.queue_num_max;
    }
    if (index == 2 && (features & bit(balloon::kFeatureStatsVq)) != 0) {
        return params_.queue_num_max;
    }
    return 0;
}

uint32_t BalloonDevice::config_word(uint32_t field_offset) const {
    switch (field_offset) {
        case balloon::kConfigNumPages:
            return num_pages_;
        case balloon::kConfigActual:
            return actual_;
        case balloon::kConfigPoisonVal:
            return poison_val_;
        default:
            return 0;  // free_page_hint_cmd_id: FREE_PAGE_HINT is not offered
    }
}

bool BalloonDevice::read_config(uint32_t offset, unsigned int width, uint32_t& value) {
    // Every balloon config field is a le32: only whole-field accesses.
    if (width != 4 || offset % 4 != 0 || offset >= balloon::kConfigSize) {
        return false;
    }
    value = config_word(offset);
    return true;
}

bool BalloonDevice::write_config(uint32_t offset, unsigned int width, uint32_t value) {
    if (width != 4 || offset % 4 != 0 || offset >= balloon::kConfigSize) {
        return false;
    }
    if (offset == balloon::kConfigActual) {
        if (value != actual_) {
            actual_ = value;
            for (BalloonObserver* observer : observers_) {
                observer->actual_changed(value);
            }
        }
        return true;
    }
    SC_REPORT_WARNING(kReportType, (std::string(name()) +
                                    ": driver write to read-only config "
                                    "field at offset " +
                                    std::to_string(offset) + " ignored")
                                       .c_str());
    return true;
}

void BalloonDevice::queue_notify(unsigned int index, const sc_core::sc_time& delay) {
    if (index >= 32) {
        return;
    }
    pending_queues_ |= 1u << index;
    // The kick happened at the driver's local time, `delay` ahead of the kernel's.
    work_event_.notify(delay);
}

void BalloonDevice::queue_reset(unsigned int index) {
    pending_queues_ &= ~(1u << index);
    ++queue_epoch_[index % queue_epoch_.size()];
    if (static_cast<int>(index) == 2) {
        stats_buffer_held_ = false;
    }
}

void BalloonDevice::reset() {
    // The guest forgets its balloon on reset: every page the host held will be
    // faulted back in, so it counts as deflated. The host's target stays.
    std::vector<uint32_t> released;
    for (uint64_t word = 0; word < ballooned_.size(); ++word) {
        uint64_t bits = ballooned_[word];
        while (bits != 0) {
            const unsigned int bit_index = static_cast<unsigned int>(__builtin_ctzll(bits));
            bits &= bits - 1;
            const uint64_t address =
                params_.guest_ram_base + ((word * 64 + bit_index) << balloon::kPfnShift);
            released.push_back(static_cast<uint32_t>(address >> balloon::kPfnShift));
        }
    }
    std::fill(ballooned_.begin(), ballooned_.end(), 0);
    ballooned_count_ = 0;
    actual_ = 0;
    poison_val_ = 0;
    stats_buffer_held_ = false;
    first_stats_buffer_ = true;
    pending_queues_ = 0;
    for (uint64_t& epoch : queue_epoch_) {
        ++epoch;
    }
    for (BalloonObserver* observer : observers_) {
        if (!released.empty()) {
            observer->pages_deflated(released.data(), released.size());
        }
        observer->device_reset();
    }
}

// ---- queue processing -----------------------------------------------------------

void BalloonDevice::worker() {
    while (true) {
        if (pending_queues_ == 0) {
            wait(work_event_);
            continue;
        }
        const unsigned int index = static_cast<unsigned int>(__builtin_ctz(pending_queues_));
        pending_queues_ &= ~(1u << index);
        if (index == 0) {
            drain_page_queue(index, PageQueue::kInflate);
        } else if (index == 1) {
            drain_page_queue(index, PageQueue::kDeflate);
        } else if (static_cast<int>(index) == stats_queue()) {
            drain_stats_queue(index);
        }
    }
}

bool BalloonDevice::drain_page_queue(unsigned int index, PageQueue kind) {
    const uint64_t epoch = queue_epoch_[index];
    const char* queue_name = kind == PageQueue::kInflate ? "inflateq" : "deflateq";
    std::vector<uint32_t> pfns;
    while (true) {
        SplitVirtqueue* queue = transport_->queue(index);
        if (queue == nullptr) {
            return true;
        }
        DescriptorChain chain;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const SplitVirtqueue::Fetch fetch = queue->next_chain(chain, delay);
        if (fetch == SplitVirtqueue::Fetch::kEmpty) {
            return true;
        }
        if (fetch == SplitVirtqueue::Fetch::kBroken) {
            transport_->needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
            return false;
        }
        if (chain.writable_bytes() != 0) {
            transport_->needs_reset(std::string(queue_name) +
                                    ": buffer is device-writable, expected device-readable PFNs");
            return false;
        }
        const uint64_t bytes = chain.readable_bytes();
        counters_.truncated_pfn_bytes += bytes % 4;
        const uint64_t total = bytes / 4;
        delay += params_.per_buffer_cost;

        // Read, take the time, then apply: the pages change hands only once the host
        // has done the work, and not at all if a reset overtook it.
        for (uint64_t done = 0; done < total;) {
            const size_t count = static_cast<size_t>(std::min<uint64_t>(kPfnChunk, total - done));
            std::vector<uint8_t> raw(count * 4);
            queue = transport_->queue(index);
            if (queue == nullptr || queue_epoch_[index] != epoch) {
                return false;
            }
            if (queue->read_chain(chain, done * 4, raw.data(), raw.size(), delay) !=
                static_cast<int64_t>(raw.size())) {
                transport_->needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
                return false;
            }
            pfns.resize(count);
            for (size_t i = 0; i < count; ++i) {
                pfns[i] = static_cast<uint32_t>(load_le(&raw[i * 4], 4));
            }
            delay += params_.per_page_cost * static_cast<double>(count);
            wait(delay);
            delay = sc_core::SC_ZERO_TIME;
            if (queue_epoch_[index] != epoch) {
                return false;
            }
            apply_pages(kind, pfns);
            done += count;
        }
        if (total == 0) {
            wait(delay);
            delay = sc_core::SC_ZERO_TIME;
        }
        queue = transport_->queue(index);
        if (queue == nullptr || queue_epoch_[index] != epoch) {
            return false;
        }
        if (kind == PageQueue::kInflate) {
            ++counters_.inflate_buffers;
        } else {
            ++counters_.deflate_buffers;
        }
        if (!queue->push_used(chain.head, 0, delay)) {
            transport_->needs_reset(std::string(queue_name) + ": " + queue->broken_reason());
            return false;
        }
        transport_->used_buffers(index);
    }
}

void BalloonDevice::apply_pages(PageQueue kind, const std::vector<uint32_t>& pfns) {
    std::vector<uint32_t> applied;
    applied.reserve(pfns.size());
    for (const uint32_t pfn : pfns) {
        uint64_t index = 0;
        if (!page_index(pfn, index)) {
            ++counters_.pfns_out_of_range;
            continue;
        }
        uint64_t& word = ballooned_[index / 64];
        const uint64_t mask = uint64_t{1} << (index % 64);
        if (kind == PageQueue::kInflate) {
            if ((word & mask) != 0) {
                ++counters_.pfns_already_ballooned;
                continue;
            }
            word |= mask;
            ++ballooned_count_;
        } else {
            if ((word & mask) == 0) {
                ++counters_.pfns_not_ballooned;
                continue;
            }
            word &= ~mask;
            --ballooned_count_;
        }
        applied.push_back(pfn);
    }
    if (kind == PageQueue::kInflate) {
        counters_.pages_inflated += applied.size();
    } else {
        counters_.pages_deflated += applied.size();
    }
    if (applied.empty()) {
        return;
    }
    for (BalloonObserver* observer : observers_) {
        if (kind == PageQueue::kInflate) {
            observer->pages_inflated(applied.data(), applied.size());
        } else {
            observer->pages_deflated(applied.data(), applied.size());
        }
    }
}

bool BalloonDevice::drain_stats_queue(unsigned int index) {
    const uint64_t epoch = queue_epoch_[index];
    while (true) {
        SplitVirtqueue* queue = transport_->queue(index);
        if (queue == nullptr) {
            return true;
        }
        DescriptorChain chain;
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        const SplitVirtqueue::Fetch fetch = queue->next_chain(chain, delay);
        if (fetch == SplitVirtqueue::Fetch::kEmpty) {
            return true;
        }
        if (fetch == SplitVirtqueue::Fetch::kBroken) {
            transport_->needs_reset("statsq: " + queue->broken_reason());
            return false;
        }
        if (chain.writable_bytes() != 0) {
            transport_->needs_reset("statsq: buffer is device-writable, expected stats entries");
            return false;
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
            transport_->needs_reset("statsq: " + queue->broken_reason());
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
    stats_.timestamp = sc_core::sc_time_stamp();
    stats_.entries.clear();
    for (size_t offset = 0; offset + balloon::kStatEntrySize <= bytes.size();
         offset += balloon::kStatEntrySize) {
        stats_.entries.emplace_back(static_cast<uint16_t>(load_le(&bytes[offset], 2)),
                                    load_le(&bytes[offset + 2], 8));
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
        transport_->needs_reset("statsq: " + queue->broken_reason());
        return;
    }
    transport_->used_buffers(static_cast<unsigned int>(index));
}

void BalloonDevice::stats_poller() {
    while (true) {
        const sc_core::sc_time interval = params_.stats_poll_interval;
        if (interval == sc_core::SC_ZERO_TIME) {
            wait(poll_changed_event_);
            continue;
        }
        const sc_core::sc_time deadline = sc_core::sc_time_stamp() + interval;
        wait(interval, poll_changed_event_);
        if (sc_core::sc_time_stamp() >= deadline) {
            request_stats();
        }
    }
}

}  // namespace vbsim::models
