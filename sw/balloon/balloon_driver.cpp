#include "sw/balloon/balloon_driver.h"

#include "spec/little_endian.h"
#include "sw/bits/bits.h"

namespace vbsim::sw::balloon {

namespace sb = spec::balloon;
using spec::store_le16;
using spec::store_le32;
using spec::store_le64;
using virtio::Result;
using virtio::VirtioMmioDevice;
using virtio::Virtqueue;

namespace {

constexpr uint64_t kRegionAlign = VirtioMmioDevice::kGuestPageSize;  // legacy QueuePFN needs it
constexpr uint64_t kPfnBufferBytes = uint64_t{sb::kMaxPfnsPerBuffer} * 4;
constexpr uint64_t kStatsBufferBytes = uint64_t{sb::kStatTagCount} * sb::kStatEntrySize;
constexpr uint64_t kCmdIdBytes = 16;  // two le32 command ids, kept 8-byte apart
constexpr uint64_t kHintFeature = spec::feature::bit(sb::kFeatureFreePageHint);
constexpr uint64_t kReportingFeature = spec::feature::bit(sb::kFeaturePageReporting);
constexpr uint64_t kPoisonFeature = spec::feature::bit(sb::kFeaturePagePoison);

// Where a queue's ring and slots are kept: by its kind, whatever index it gets.
constexpr size_t slot_of(sb::Queue queue) {
    return static_cast<size_t>(queue);
}
uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}
// Ring space for one queue of `size` entries, whatever the transport version, kept aligned.
uint64_t ring_slot_bytes(uint32_t size) {
    const uint64_t legacy = VirtioMmioDevice::ring_bytes(size, spec::mmio::kVersionLegacy);
    const uint64_t modern = VirtioMmioDevice::ring_bytes(size, spec::mmio::kVersionModern);
    return spec::align_up(legacy > modern ? legacy : modern, kRegionAlign);
}
uint32_t effective_queue_size(uint32_t requested) {
    const uint32_t capped =
        requested < BalloonDriver::kMaxQueueSize ? requested : BalloonDriver::kMaxQueueSize;
    return bits::round_down_to_power_of_two(capped);
}

}  // namespace

const char* round_kind_name(RoundKind kind) {
    switch (kind) {
        case RoundKind::kFill:
            return "fill";
        case RoundKind::kLeak:
            return "leak";
        case RoundKind::kOomRelease:
            return "oom release";
        case RoundKind::kDrain:
            return "drain";
    }
    return "round";
}

const char* state_name(BalloonState state) {
    switch (state) {
        case BalloonState::kUnprobed:
            return "unprobed";
        case BalloonState::kRunning:
            return "running";
        case BalloonState::kFreezing:
            return "freezing";
        case BalloonState::kFrozen:
            return "frozen";
        case BalloonState::kRemoving:
            return "removing";
        case BalloonState::kRemoved:
            return "removed";
        case BalloonState::kFailed:
            return "failed";
    }
    return "unknown";
}

size_t BalloonDriver::storage_words_for(uint64_t guest_pages) {
    // The ballooned-page bitmap, then the reported-block flags and the hinted-block flags
    // (sized for the smallest block order).
    const uint64_t words = guest::HierarchicalBitmap::words_for(guest_pages) +
                           2 * guest::GuestMemory::reporting_storage_words_for(
                                   guest_pages, guest::GuestMemory::kMinBlockOrder);
    // A 32-bit target cannot address the storage for a huge guest: ask for the impossible.
    if (static_cast<uint64_t>(static_cast<size_t>(words)) != words) {
        return static_cast<size_t>(-1);
    }
    return static_cast<size_t>(words);
}

uint64_t BalloonDriver::dma_region_bytes_for(uint32_t queue_size, uint64_t driver_features) {
    const uint32_t size = effective_queue_size(queue_size);
    if (size == 0) {
        return 0;
    }
    // Room to align the base, three rings, two PFN buffers and the stats buffer; then, when
    // asked for, the command ids and free_page_vq's ring, and reporting_vq's ring.
    uint64_t bytes =
        kRegionAlign + 3 * ring_slot_bytes(size) + 2 * kPfnBufferBytes + kStatsBufferBytes;
    if ((driver_features & (kHintFeature | kReportingFeature)) != 0) {
        bytes = spec::align_up(bytes + kCmdIdBytes, kRegionAlign);
    }
    bytes += (driver_features & kHintFeature) != 0 ? ring_slot_bytes(size) : 0;
    bytes += (driver_features & kReportingFeature) != 0 ? ring_slot_bytes(size) : 0;
    return bytes;
}

BalloonDriver::BalloonDriver(guest::Kernel& kernel, guest::GuestMemory& memory,
                             const BalloonDriverParams& params, uint64_t* bitmap_storage,
                             size_t storage_words)
    : kernel_(kernel),
      memory_(memory),
      hal_(kernel.hal()),
      params_(params),
      device_(kernel.hal(), params.mmio_base),
      resize_work_(&BalloonDriver::resize_work_function, this),
      used_work_(&BalloonDriver::used_work_function, this),
      stats_work_(&BalloonDriver::stats_work_function, this),
      retry_timer_(&BalloonDriver::retry_timer_function, this),
      hint_work_(&BalloonDriver::hint_work_function, this),
      reporting_(kernel, memory) {
    queue_size_ = effective_queue_size(params.queue_size);
    const uint32_t tags = params.stats_tags;
    constexpr uint32_t kMaxTags = sb::kStatTagCount;
    stats_tags_ = tags == 0 ? 1 : (tags > kMaxTags ? kMaxTags : tags);
    if (!memory.valid() || queue_size_ == 0) {
        return;
    }
    pfns_per_page_ = memory.pfns_per_page();
    uint32_t pfns = params.pfns_per_round;
    pfns = pfns == 0 ? 1 : (pfns > sb::kMaxPfnsPerBuffer ? sb::kMaxPfnsPerBuffer : pfns);
    const uint64_t pages = pfns / pfns_per_page_;
    pages_per_round_ = pages == 0 ? 1 : static_cast<uint32_t>(pages);
    // Buffers carry le32 PFNs: RAM must end below 16 TiB.
    const uint64_t last_pfn =
        guest::GuestMemory::pfn_of(memory.page_address(memory.total_pages() - 1)) + pfns_per_page_ -
        1;
    if (last_pfn > UINT32_MAX ||
        !in_guest_.init(memory.total_pages(), bitmap_storage, storage_words, true)) {
        return;
    }
    // What is left of the storage holds the reporting and hinting flags; with too little,
    // those features stay off (storage_words_for() gives enough).
    const uint64_t used = guest::HierarchicalBitmap::words_for(memory.total_pages());
    const size_t flag_words = guest::GuestMemory::reporting_storage_words_for(
        memory.total_pages(), guest::GuestMemory::kMinBlockOrder);
    if (storage_words >= used + 2 * flag_words) {
        reporting_storage_ = bitmap_storage + used;
        reporting_storage_words_ = flag_words;
        hinted_blocks_ = bitmap_storage + used + flag_words;
        hinted_block_words_ = flag_words;
    }
    configured_ = true;
}

// ---- binding and the queue set-up shared by probe and restore ---------------------------

bool BalloonDriver::layout_dma_region() {
    const uint64_t base = params_.dma_region_base;
    const uint64_t bytes = params_.dma_region_bytes;
    if (base > UINT64_MAX - bytes) {
        return false;
    }
    const uint64_t end = base + bytes;
    uint64_t cursor = spec::align_up(base, kRegionAlign);
    if (cursor < base) {
        return false;
    }
    ring_bytes_ = ring_slot_bytes(queue_size_);
    for (size_t i = slot_of(sb::Queue::kInflate); i <= slot_of(sb::Queue::kStats); ++i) {
        ring_base_[i] = cursor;
        cursor += ring_bytes_;
    }
    pfn_buffer_[0] = cursor;
    pfn_buffer_[1] = cursor + kPfnBufferBytes;
    stats_buffer_ = cursor + 2 * kPfnBufferBytes;
    cursor = stats_buffer_ + kStatsBufferBytes;
    // The newer queues after everything the traditional balloon uses, so its layout does not
    // move when they are not asked for.
    const uint64_t wanted = params_.driver_features & kSupportedFeatures;
    if ((wanted & (kHintFeature | kReportingFeature)) != 0) {
        cmd_id_active_buffer_ = cursor;
        cmd_id_stop_buffer_ = cursor + 8;
        cursor = spec::align_up(cursor + kCmdIdBytes, kRegionAlign);
    }
    if ((wanted & kHintFeature) != 0) {
        ring_base_[slot_of(sb::Queue::kFreePage)] = cursor;
        cursor += ring_bytes_;
    }
    if ((wanted & kReportingFeature) != 0) {
        ring_base_[slot_of(sb::Queue::kReporting)] = cursor;
        cursor += ring_bytes_;
    }
    return cursor <= end && stats_buffer_ + kStatsBufferBytes <= end && pfn_buffer_[0] >= base;
}

Result BalloonDriver::probe() {
    if (state_ != BalloonState::kUnprobed) {
        ++counters_.wrong_state_calls;
        return Result::kBadState;
    }
    Result result = configured_ ? device_.probe(sb::kDeviceId) : Result::kBadArgument;
    if (result == Result::kOk && !layout_dma_region()) {
        result = Result::kBadRegion;
    }
    if (result == Result::kOk &&
        !kernel_.register_interrupt(params_.irq_line, &BalloonDriver::interrupt_handler, this)) {
        result = Result::kBadArgument;
    }
    if (result == Result::kOk) {
        result = init_vqs(false);
    }
    if (result == Result::kOk && !start_free_page_features(false)) {
        // Linux fails the probe when reporting_vq is smaller than a report (-ENOSPC).
        device_.fail();
        drop_queues();
        result = Result::kBadArgument;
    }
    if (result == Result::kOk) {
        result = device_.driver_ok();
    }
    if (result != Result::kOk) {
        last_error_ = result;
        state_ = BalloonState::kFailed;
        ++counters_.errors;
        return result;
    }
    const bool deflate_on_oom = has_feature(sb::kFeatureDeflateOnOom);
    // Ballooned pages leave MemTotal only when the host cannot take them back on OOM.
    memory_.set_deflate_on_oom_accounting(deflate_on_oom);
    if (deflate_on_oom && params_.register_oom_notifier) {
        memory_.set_oom_notifier(&BalloonDriver::oom_notifier, this);
        oom_notifier_registered_ = true;
    }
    state_ = BalloonState::kRunning;
    if (towards_target() != 0) {
        kernel_.schedule(resize_work_);
    }
    return Result::kOk;
}

Result BalloonDriver::init_vqs(bool restoring) {
    uint64_t used = params_.driver_features & kSupportedFeatures;
    if (params_.use_event_idx) {
        used |= spec::feature::bit(spec::feature::kRingEventIdx);
    }
    // At probe Linux first writes everything it knows of the offered set, then the set left
    // after validation; on restore it writes that finalised set once.
    const uint64_t known = restoring ? used : used | kKnownUnusedFeatures;
    Result result = device_.begin_init(known, used, &BalloonDriver::validate_features, this);
    if (result != Result::kOk) {
        return result;
    }
    features_ = device_.negotiated_features();
    // Queues are numbered consecutively from the negotiated features, as Linux and QEMU do.
    result = inflate_vq_.setup(device_, kInflateQueue, queue_size_,
                               ring_base_[slot_of(sb::Queue::kInflate)], ring_bytes_,
                               slots_[slot_of(sb::Queue::kInflate)], kMaxQueueSize);
    if (result == Result::kOk) {
        result = deflate_vq_.setup(device_, kDeflateQueue, queue_size_,
                                   ring_base_[slot_of(sb::Queue::kDeflate)], ring_bytes_,
                                   slots_[slot_of(sb::Queue::kDeflate)], kMaxQueueSize);
    }
    const int stats_index = sb::queue_index(sb::Queue::kStats, features_);
    const int free_page_index = sb::queue_index(sb::Queue::kFreePage, features_);
    const int reporting_index = sb::queue_index(sb::Queue::kReporting, features_);
    if (result == Result::kOk && stats_index >= 0) {
        result = stats_vq_.setup(device_, static_cast<uint16_t>(stats_index), queue_size_,
                                 ring_base_[slot_of(sb::Queue::kStats)], ring_bytes_,
                                 slots_[slot_of(sb::Queue::kStats)], kMaxQueueSize);
    }
    // Linux's find_vqs sets up every queue before the stats buffer goes in.
    if (result == Result::kOk && free_page_index >= 0) {
        result = free_page_vq_.setup(device_, static_cast<uint16_t>(free_page_index), queue_size_,
                                     ring_base_[slot_of(sb::Queue::kFreePage)], ring_bytes_,
                                     slots_[slot_of(sb::Queue::kFreePage)], kMaxQueueSize);
    }
    if (result == Result::kOk && reporting_index >= 0) {
        result = reporting_vq_.setup(device_, static_cast<uint16_t>(reporting_index), queue_size_,
                                     ring_base_[slot_of(sb::Queue::kReporting)], ring_bytes_,
                                     slots_[slot_of(sb::Queue::kReporting)], kMaxQueueSize);
    }
    if (result == Result::kOk && stats_index >= 0) {
        // Prime the queue with real stats so the device can ask for fresh ones later by
        // returning the buffer, and kick it before DRIVER_OK, as Linux does: the device holds
        // the notification until DRIVER_OK.
        if (result == Result::kOk && !post_stats()) {
            result = Result::kBadState;
        }
        if (result == Result::kOk) {
            kick(stats_vq_);
        }
    }
    if (result != Result::kOk) {
        device_.fail();
        drop_queues();
    }
    return result;
}

void BalloonDriver::drop_queues() {
    Virtqueue* const queues[] = {&inflate_vq_, &deflate_vq_, &stats_vq_, &free_page_vq_,
                                 &reporting_vq_};
    for (Virtqueue* queue : queues) {
        if (!queue->ready()) {
            continue;
        }
        uint64_t token = 0;
        while (queue->detach_unused(&token)) {
        }
        queue->teardown();
    }
    inflate_count_ = 0;
    inflate_word_count_ = 0;
    deflate_count_ = 0;
    deflate_word_count_ = 0;
    resize_requested_ = false;
    round_left_pfns_ = 0;
    for (bool& announced : used_announced_) {
        announced = false;
    }
}

// ---- interrupt, work and timer entry points ------------------------------------------

void BalloonDriver::interrupt_handler(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    const BalloonState state = self->state_;
    if (state == BalloonState::kUnprobed || state == BalloonState::kFrozen ||
        state == BalloonState::kRemoved) {
        return;  // the device is reset: not ours to touch
    }
    ++self->counters_.interrupts;
    // Interrupt context: acknowledge and schedule, nothing heavier (stats collection may
    // sleep in Linux: 1f34c71a).
    const uint32_t pending = self->device_.ack_interrupt();
    if (state == BalloonState::kFailed) {
        return;
    }
    if ((pending & spec::mmio::kInterruptConfigChange) != 0) {
        ++self->counters_.config_changes;
        // A device that needs a reset says so with a config-change interrupt.
        if (self->device_.needs_reset()) {
            self->fail();
            return;
        }
        self->kernel_.schedule(self->resize_work_);
        // Linux's virtio_balloon_queue_free_page_work: re-read the command id in work context.
        if (self->has_feature(sb::kFeatureFreePageHint) && !self->cmd_id_read_pending_) {
            self->cmd_id_read_pending_ = true;
            self->kernel_.schedule(self->hint_work_);
        }
    }
    if ((pending & spec::mmio::kInterruptUsedBuffer) != 0) {
        for (bool& announced : self->used_announced_) {
            announced = true;
        }
        self->kernel_.schedule(self->used_work_);
    }
}

void BalloonDriver::resize_work_function(void* context) {
    static_cast<BalloonDriver*>(context)->update_balloon_size();
}

void BalloonDriver::used_work_function(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    Virtqueue* const queues[] = {&self->inflate_vq_, &self->deflate_vq_, &self->stats_vq_,
                                 &self->free_page_vq_, &self->reporting_vq_};
    for (Virtqueue* queue : queues) {
        if (self->active() && queue->ready() && self->used_announced_[queue->index()]) {
            self->reclaim_used(*queue);
        }
    }
}

void BalloonDriver::stats_work_function(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    if (self->state_ != BalloonState::kRunning || !self->stats_requested_ ||
        !self->stats_vq_.ready()) {
        return;
    }
    self->stats_requested_ = false;
    if (self->post_stats()) {
        self->kick(self->stats_vq_);
    } else {
        self->fail();
    }
}

void BalloonDriver::retry_timer_function(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    ++self->counters_.retries;
    if (self->active()) {
        self->kernel_.schedule(self->resize_work_);
    }
}

uint64_t BalloonDriver::oom_notifier(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    self->oom_notify();
    // GuestMemory's contract: 4 KiB pages on their way back and not yet freed, a release
    // already in flight included; pages freed at once show up as free pages instead.
    return self->oom_pages_pending() + self->oom_pages_in_flight();
}

// ---- resizing -------------------------------------------------------------------------

int64_t BalloonDriver::towards_target() {
    if (state_ != BalloonState::kUnprobed && state_ != BalloonState::kRemoved) {
        // 64-bit and signed: a u32 difference turned deflation into a huge inflation
        // (532a6086), and targets above 2^31 pages overflowed (bdc1681c).
        const uint64_t raw = device_.config_read32(sb::kConfigNumPages);
        target_pages_ = round_up_to_page(raw);
    }
    return static_cast<int64_t>(target_pages_) - static_cast<int64_t>(num_pages_);
}

void BalloonDriver::update_balloon_size() {
    if (!active()) {
        return;
    }
    if (draining()) {
        if (num_pages_ == 0 && !inflate_in_flight() && !deflate_in_flight()) {
            finish_drain();
        } else if (num_pages_ != 0 && !deflate_in_flight()) {
            leak_balloon(num_pages_, false);
        }
        return;
    }
    // Linux runs one resize round at a time (update_balloon_size_func waits for the host's
    // ack); a request while a round is in flight runs once it is acked, so the target is
    // read once per round.
    if (inflate_in_flight() || deflate_in_flight()) {
        resize_requested_ = true;
        return;
    }
    const int64_t diff = towards_target();
    round_left_pfns_ = 0;
    if (oom_debt_pfns_ != 0) {
        leak_balloon(oom_debt_pfns_, true);
    } else if (diff < 0) {
        const auto wanted = static_cast<uint64_t>(-diff);
        round_left_pfns_ = wanted - min_u64(wanted, leak_balloon(wanted, false));
    }
    // While the OOM path waits for pages, refilling would only take them again; once they are
    // back, the unchanged target refills the balloon ("balloon thrashing", as in Linux).
    if (state_ == BalloonState::kRunning && diff > 0 && oom_debt_pfns_ == 0 &&
        !oom_deflate_in_flight_ && !retry_timer_.armed()) {
        const auto wanted = static_cast<uint64_t>(diff);
        round_left_pfns_ = wanted - min_u64(wanted, fill_balloon(wanted));
        // After a failed allocation the retry timer brings the next round (Linux sleeps
        // 200 ms in the work), not the ack.
        if (retry_timer_.armed()) {
            round_left_pfns_ = 0;
        }
    }
}

void BalloonDriver::resize_after_round() {
    // Linux's update_balloon_size_func queues itself again while its diff is not done; a
    // request that came during the round runs now.
    const bool again =
        draining() || oom_debt_pfns_ != 0 || resize_requested_ || round_left_pfns_ != 0;
    resize_requested_ = false;
    round_left_pfns_ = 0;
    if (again) {
        kernel_.schedule(resize_work_);
    }
}

uint64_t BalloonDriver::fill_balloon(uint64_t pfns) {
    const uint64_t started_ns = observer_ != nullptr ? hal_.now_ns() : 0;
    const uint64_t wanted =
        min_u64((pfns + pfns_per_page_ - 1) / pfns_per_page_, uint64_t{pages_per_round_});
    // kBalloon: never below LOW, no OOM, no warning (61fb06cc).
    size_t words = 0;
    const uint64_t got =
        memory_.allocate_words(guest::AllocationClass::kBalloon, wanted, inflate_words_, words);
    hal_.cpu_cost((params_.alloc_cost_per_page_ns + params_.translate_cost_per_page_ns) * got +
                  (got != 0 ? params_.cpu_cost_per_round_ns : 0));
    if (got < wanted) {
        // Stop this round with what we got and try again later instead of spinning.
        ++counters_.alloc_failures;
        kernel_.arm(retry_timer_, params_.retry_delay_ns);
    }
    if (got == 0) {
        return 0;
    }
    const uint32_t count = encode_pfns(inflate_words_, words);
    hal_.ram_write(pfn_buffer_[0], pfn_bytes_, size_t{4} * count);
    const Virtqueue::Buffer buffer{pfn_buffer_[0], 4 * count};
    if (!inflate_vq_.add_buffer(&buffer, 1, 0, kTokenInflate)) {
        // The host never saw these pages: they are still ours.
        for (size_t i = 0; i < words; ++i) {
            for (uint64_t rest = inflate_words_[i].mask; rest != 0; rest &= rest - 1) {
                memory_.free_page(
                    memory_.page_address(inflate_words_[i].word * 64 + bits::lowest_bit(rest)));
            }
        }
        fail();
        return 0;
    }
    // The pages are the host's from here: nothing touches them until the ack.
    inflate_count_ = static_cast<uint32_t>(got);
    inflate_word_count_ = static_cast<uint32_t>(words);
    ++counters_.inflate_rounds;
    counters_.pfns_inflated += count;
    kick(inflate_vq_);
    if (observer_ != nullptr) {
        observer_->round_sent(RoundKind::kFill, count, started_ns, hal_.now_ns());
    }
    return count;
}

uint64_t BalloonDriver::leak_balloon(uint64_t pfns, bool for_oom) {
    const uint64_t started_ns = observer_ != nullptr ? hal_.now_ns() : 0;
    const uint64_t wanted =
        min_u64((pfns + pfns_per_page_ - 1) / pfns_per_page_, uint64_t{pages_per_round_});
    uint32_t taken = 0;
    uint32_t words = 0;
    uint64_t word_index = 0;
    while (taken < wanted && in_guest_.find_first_clear_word(word_index)) {
        // Clear bits are ballooned pages: the lowest ones, as many as still wanted.
        const uint64_t picked = bits::lowest_set_bits(~in_guest_.word(word_index), wanted - taken);
        taken += bits::popcount(picked);
        // Out of the pick set while the host is told; back to GuestMemory only on the ack.
        in_guest_.set_bits(word_index, picked);
        deflate_words_[words++] = guest::PageWord{word_index, picked};
    }
    if (taken == 0) {
        return 0;
    }
    const uint32_t count = encode_pfns(deflate_words_, words);
    hal_.cpu_cost(params_.cpu_cost_per_round_ns);
    hal_.ram_write(pfn_buffer_[1], pfn_bytes_, size_t{4} * count);
    const Virtqueue::Buffer buffer{pfn_buffer_[1], 4 * count};
    if (!deflate_vq_.add_buffer(&buffer, 1, 0, kTokenDeflate)) {
        fail();
        return 0;
    }
    // Tell the host first (bf50e69f): the pages are freed when it acknowledges.
    deflate_count_ = taken;
    deflate_word_count_ = words;
    if (for_oom) {
        oom_debt_pfns_ -= min_u64(oom_debt_pfns_, count);
        oom_deflate_in_flight_ = true;
    }
    ++counters_.deflate_rounds;
    counters_.pfns_deflated += count;
    kick(deflate_vq_);
    if (observer_ != nullptr) {
        deflate_kind_ = draining() ? RoundKind::kDrain
                        : for_oom  ? RoundKind::kOomRelease
                                   : RoundKind::kLeak;
        observer_->round_sent(deflate_kind_, count, started_ns, hal_.now_ns());
    }
    return count;
}

uint32_t BalloonDriver::encode_pfns(const guest::PageWord* words, size_t count) {
    // RAM is page-aligned, so page index i starts at PFN first + i * pfns_per_page_. Locals
    // throughout: byte stores may alias any member, which would reload them per PFN.
    const uint64_t first = guest::GuestMemory::pfn_of(memory_.ram_base());
    const uint64_t per_page = pfns_per_page_;
    uint8_t* const out = pfn_bytes_;
    uint32_t pfns = 0;
    for (size_t i = 0; i < count; ++i) {
        const uint64_t base = words[i].word * 64;
        uint64_t rest = words[i].mask;
        if (per_page == 1) {  // 4 KiB pages, the common case: no inner loop
            for (; rest != 0; rest &= rest - 1) {
                store_le32(out + 4 * pfns++,
                           static_cast<uint32_t>(first + base + bits::lowest_bit(rest)));
            }
            continue;
        }
        for (; rest != 0; rest &= rest - 1) {
            const uint64_t pfn = first + (base + bits::lowest_bit(rest)) * per_page;
            for (uint64_t j = 0; j < per_page; ++j) {
                store_le32(out + 4 * pfns++, static_cast<uint32_t>(pfn + j));
            }
        }
    }
    return pfns;
}

void BalloonDriver::reclaim_used(Virtqueue& queue) {
    const uint64_t expected = &queue == &inflate_vq_     ? kTokenInflate
                              : &queue == &deflate_vq_   ? kTokenDeflate
                              : &queue == &reporting_vq_ ? kTokenReport
                              : &queue == &free_page_vq_ ? kTokenHintBlock
                                                         : kTokenStats;
    uint64_t token = 0;
    uint32_t length = 0;
    while (active() && queue.get_used(&token, &length)) {
        const bool hint_id = expected == kTokenHintBlock && token == kTokenHintCmdId;
        if (token != expected && !hint_id) {
            fail();
            return;
        }
        if (expected == kTokenHintBlock) {
            // Linux only detaches them: the blocks stay held until the host says DONE.
            continue;
        }
        if (token == kTokenReport) {
            ++counters_.report_acks;
            reporting_.report_done(true);
        } else if (token == kTokenInflate) {
            inflate_acked();
        } else if (token == kTokenDeflate) {
            deflate_acked();
        } else {
            // The device returned the stats buffer: it wants fresh stats, collected in work
            // context.
            stats_requested_ = true;
            kernel_.schedule(stats_work_);
        }
    }
    if (queue.broken()) {
        fail();
        return;
    }
    if (&queue == &free_page_vq_ && hint_waiting_room_) {
        hint_waiting_room_ = false;
        kernel_.schedule(hint_work_);
    }
}

void BalloonDriver::inflate_acked() {
    if (inflate_count_ == 0) {
        return;
    }
    // The allocator reported the pages as bitmap words: account a word at a time, in
    // GuestMemory and in our own bitmap.
    for (uint32_t i = 0; i < inflate_word_count_; ++i) {
        const guest::PageWord& taken = inflate_words_[i];
        const uint64_t marked = memory_.mark_ballooned_bits(taken.word, taken.mask);
        counters_.errors += uint64_t{bits::popcount(taken.mask)} - marked;
        in_guest_.clear_bits(taken.word, taken.mask);
    }
    inflate_word_count_ = 0;
    num_pages_ += uint64_t{inflate_count_} * pfns_per_page_;
    if (observer_ != nullptr) {
        observer_->round_acked(RoundKind::kFill,
                               static_cast<uint32_t>(inflate_count_ * pfns_per_page_),
                               hal_.now_ns());
    }
    inflate_count_ = 0;
    ++counters_.inflate_acks;
    write_actual();
    resize_after_round();
}

void BalloonDriver::deflate_acked() {
    if (deflate_count_ == 0) {
        return;
    }
    // leak_balloon() picked the pages a bitmap word at a time: give them back the same way.
    for (uint32_t i = 0; i < deflate_word_count_; ++i) {
        const guest::PageWord& picked = deflate_words_[i];
        const uint64_t released = memory_.release_ballooned_bits(picked.word, picked.mask);
        counters_.errors += uint64_t{bits::popcount(picked.mask)} - released;
    }
    deflate_word_count_ = 0;
    hal_.cpu_cost((params_.free_cost_per_page_ns + params_.translate_cost_per_page_ns) *
                  deflate_count_);
    num_pages_ -= uint64_t{deflate_count_} * pfns_per_page_;
    if (observer_ != nullptr) {
        observer_->round_acked(
            deflate_kind_, static_cast<uint32_t>(deflate_count_ * pfns_per_page_), hal_.now_ns());
    }
    deflate_count_ = 0;
    // Pages given to the OOM path leave the balloon short of the unchanged target: look at it
    // again, which refills the balloon ("balloon thrashing").
    if (oom_deflate_in_flight_) {
        resize_requested_ = true;
    }
    oom_deflate_in_flight_ = false;
    ++counters_.deflate_acks;
    write_actual();
    resize_after_round();
}

void BalloonDriver::write_actual() {
    // As Linux's update_balloon_size: after each round (legacy: a byte at a time).
    device_.config_write32(sb::kConfigActual, static_cast<uint32_t>(num_pages_));
    ++counters_.actual_writes;
}

bool BalloonDriver::post_stats() {
    guest::StatEntry entries[sb::kStatTagCount];
    const size_t count = memory_.fill_stats(entries, stats_tags_);
    for (size_t i = 0; i < count; ++i) {
        uint8_t* entry = stats_bytes_ + i * sb::kStatEntrySize;
        store_le16(entry, entries[i].tag);
        store_le64(entry + 2, entries[i].value);
    }
    const auto bytes = static_cast<uint32_t>(count * sb::kStatEntrySize);
    hal_.ram_write(stats_buffer_, stats_bytes_, bytes);
    const Virtqueue::Buffer buffer{stats_buffer_, bytes};
    if (!stats_vq_.add_buffer(&buffer, 1, 0, kTokenStats)) {
        return false;
    }
    ++counters_.stats_updates;
    if (observer_ != nullptr) {
        observer_->stats_posted(static_cast<uint32_t>(count), hal_.now_ns());
    }
    return true;
}

void BalloonDriver::kick(Virtqueue& queue) {
    // What the device returns of this buffer is taken on the used-buffer interrupt that
    // follows, as Linux's callbacks do: not by a used-ring scan an earlier interrupt asked for.
    used_announced_[queue.index()] = false;
    if (queue.kick()) {
        ++counters_.kicks;
    }
}

// ---- OOM, freeze, restore, remove ------------------------------------------------------

uint64_t BalloonDriver::oom_notify() {
    if (!has_feature(sb::kFeatureDeflateOnOom)) {
        return 0;
    }
    ++counters_.oom_notifications;
    if (state_ != BalloonState::kRunning) {
        return 0;
    }
    // Linux's notifier finishes its release before the OOM path can call it again; here the
    // release ends with the host's ack, so a call while one is outstanding promises nothing
    // more (oom_notifier() still reports the outstanding pages).
    if (oom_debt_pfns_ != 0 || oom_deflate_in_flight_) {
        return 0;
    }
    // Pages already on their way out cannot be promised again.
    const uint64_t available = num_pages_ - uint64_t{deflate_count_} * pfns_per_page_;
    const uint64_t promised = min_u64(round_up_to_page(params_.oom_release_pages), available);
    if (promised == 0) {
        return 0;
    }
    oom_debt_pfns_ = promised;
    ++counters_.oom_deflations;
    counters_.oom_pages_promised += promised;
    if (observer_ != nullptr) {
        observer_->oom_release(promised, hal_.now_ns());
    }
    if (!deflate_in_flight()) {
        leak_balloon(oom_debt_pfns_, true);
    }
    // Linux waits for the host here; a device that already acknowledged gives the pages back
    // now, so the OOM path's retry sees them.
    if (deflate_in_flight() && active()) {
        reclaim_used(deflate_vq_);
    }
    return promised;
}

void BalloonDriver::freeze() {
    if (state_ != BalloonState::kRunning) {
        ++counters_.wrong_state_calls;
        return;
    }
    start_drain(BalloonState::kFreezing);
}

void BalloonDriver::remove() {
    switch (state_) {
        case BalloonState::kRunning:
        case BalloonState::kFreezing:
            start_drain(BalloonState::kRemoving);
            return;
        case BalloonState::kFrozen:
            state_ = BalloonState::kRemoved;  // already reset, queues gone, balloon empty
            break;
        case BalloonState::kFailed:
            // The host cannot be told any more: reset it and leave its pages where they are.
            device_.reset();
            drop_queues();
            state_ = BalloonState::kRemoved;
            break;
        case BalloonState::kUnprobed:
        case BalloonState::kRemoving:
        case BalloonState::kRemoved:
            ++counters_.wrong_state_calls;
            return;
    }
    if (oom_notifier_registered_) {
        memory_.set_oom_notifier(nullptr, nullptr);
        oom_notifier_registered_ = false;
    }
}

void BalloonDriver::start_drain(BalloonState draining_state) {
    // Leak on freeze, refill on restore (4eb05d56): the host forgets the balloon across S4.
    state_ = draining_state;
    stop_free_page_features();
    kernel_.cancel(retry_timer_);
    oom_debt_pfns_ = 0;  // everything leaks anyway
    update_balloon_size();
}

void BalloonDriver::finish_drain() {
    // Reset first so the device stops using the rings, then drop them.
    if (device_.reset() != Result::kOk) {
        ++counters_.errors;
    }
    drop_queues();
    kernel_.cancel(resize_work_);
    kernel_.cancel(used_work_);
    kernel_.cancel(stats_work_);
    stats_requested_ = false;  // the stats buffer went with the queue
    oom_deflate_in_flight_ = false;
    if (state_ == BalloonState::kRemoving) {
        state_ = BalloonState::kRemoved;
        if (oom_notifier_registered_) {
            memory_.set_oom_notifier(nullptr, nullptr);
            oom_notifier_registered_ = false;
        }
    } else {
        state_ = BalloonState::kFrozen;
    }
}

void BalloonDriver::restore() {
    if (state_ != BalloonState::kFrozen) {
        ++counters_.wrong_state_calls;
        return;
    }
    // Linux's virtio_mmio_restore, then virtio_device_restore and the driver's restore.
    device_.restore_transport();
    Result result = init_vqs(true);
    if (result == Result::kOk && !start_free_page_features(true)) {
        device_.fail();
        drop_queues();
        result = Result::kBadArgument;
    }
    if (result == Result::kOk) {
        result = device_.driver_ok();
    }
    if (result != Result::kOk) {
        last_error_ = result;
        state_ = BalloonState::kFailed;
        ++counters_.errors;
        return;
    }
    state_ = BalloonState::kRunning;
    if (towards_target() != 0) {
        kernel_.schedule(resize_work_);
    }
}

void BalloonDriver::fail() {
    ++counters_.errors;
    if (state_ == BalloonState::kFailed) {
        return;
    }
    state_ = BalloonState::kFailed;
    kernel_.cancel(retry_timer_);
    kernel_.cancel(resize_work_);
    kernel_.cancel(used_work_);
    kernel_.cancel(stats_work_);
    stop_free_page_features();
}

// ---- PAGE_POISON, PAGE_REPORTING, FREE_PAGE_HINT ------------------------------------------

uint64_t BalloonDriver::validate_features(void* context, uint64_t features) {
    const auto* self = static_cast<const BalloonDriver*>(context);
    if (self->params_.free_page_init == FreePageInit::kNone) {
        features &= ~kPoisonFeature;
    } else if ((features & kPoisonFeature) == 0) {
        features &= ~kReportingFeature;
    }
    return features;
}

bool BalloonDriver::start_free_page_features(bool restoring) {
    if (has_feature(sb::kFeatureFreePageHint)) {
        cmd_id_received_cache_ = sb::kHintCmdIdStop;
        cmd_id_active_ = sb::kHintCmdIdStop;
        cmd_id_read_pending_ = false;
        hint_sending_ = false;
        hint_waiting_room_ = false;
    }
    // Linux writes poison_val in probe only (not again on restore).
    if (has_feature(sb::kFeaturePagePoison) && !restoring) {
        const uint32_t value =
            params_.free_page_init == FreePageInit::kPoison ? kPoisonValue : uint32_t{0};
        device_.config_write32(sb::kConfigPoisonVal, value);
    }
    if (has_feature(sb::kFeaturePageReporting)) {
        if (reporting_vq_.size() < params_.reporting.capacity) {
            return false;
        }
        if (!reporting_.register_device(params_.reporting, reporting_storage_,
                                        reporting_storage_words_, &BalloonDriver::report_blocks,
                                        this)) {
            ++counters_.errors;
        }
    }
    return true;
}

void BalloonDriver::stop_free_page_features() {
    reporting_.unregister();
    kernel_.cancel(hint_work_);
    hint_sending_ = false;
    hint_waiting_room_ = false;
    return_hinted_blocks();
}

bool BalloonDriver::report_blocks(void* context, const guest::ReportedBlock* blocks,
                                  uint32_t count) {
    auto* self = static_cast<BalloonDriver*>(context);
    if (!self->active() || !self->reporting_vq_.ready() ||
        count > guest::PageReporting::kMaxCapacity) {
        return false;
    }
    Virtqueue::Buffer buffers[guest::PageReporting::kMaxCapacity];
    for (uint32_t i = 0; i < count; ++i) {
        buffers[i] = Virtqueue::Buffer{blocks[i].address, static_cast<uint32_t>(blocks[i].bytes)};
    }
    // Device-writable, as Linux's virtqueue_add_inbuf: the host may discard (zero) them.
    if (!self->reporting_vq_.add_buffer(buffers, 0, count, kTokenReport)) {
        return false;
    }
    ++self->counters_.report_requests;
    self->kick(self->reporting_vq_);
    return true;
}

uint32_t BalloonDriver::cmd_id_received() {
    if (cmd_id_read_pending_) {
        cmd_id_read_pending_ = false;
        cmd_id_received_cache_ = device_.config_read32(sb::kConfigFreePageHintCmdId);
    }
    return cmd_id_received_cache_;
}

void BalloonDriver::hint_work_function(void* context) {
    auto* self = static_cast<BalloonDriver*>(context);
    if (self->state_ != BalloonState::kRunning || !self->free_page_vq_.ready()) {
        return;
    }
    if (self->hint_sending_) {
        self->send_hints();  // resumed once the device made room on the queue
        return;
    }
    const uint32_t received = self->cmd_id_received();
    if (received == sb::kHintCmdIdDone) {
        self->return_hinted_blocks();
    } else if (received != sb::kHintCmdIdStop && received != self->cmd_id_active_) {
        // A new round: answer with its id, then hint free blocks until told to stop.
        self->cmd_id_active_ = received;
        if (!self->send_cmd_id(self->cmd_id_active_buffer_, received)) {
            return;
        }
        ++self->counters_.hint_rounds;
        self->hint_sending_ = true;
        self->hint_next_block_ = 0;
        self->send_hints();
    }
}

bool BalloonDriver::send_cmd_id(uint64_t buffer, uint32_t id) {
    uint8_t bytes[4];
    store_le32(bytes, id);
    hal_.ram_write(buffer, bytes, sizeof bytes);
    const Virtqueue::Buffer out{buffer, sizeof bytes};
    if (!free_page_vq_.add_buffer(&out, 1, 0, kTokenHintCmdId)) {
        fail();
        return false;
    }
    kick(free_page_vq_);
    return true;
}

void BalloonDriver::send_hints() {
    const unsigned order = params_.hint_order;
    while (state_ == BalloonState::kRunning) {
        // The host moved on (STOP, DONE or a newer round): stop hinting.
        if (cmd_id_received() != cmd_id_active_) {
            break;
        }
        reclaim_used(free_page_vq_);
        if (state_ != BalloonState::kRunning) {
            return;
        }
        // One descriptor stays free for the stop id. Linux frees the block and spins while
        // the host (in another thread) drains the queue; here the device's used interrupt
        // resumes the round.
        if (free_page_vq_.num_free() <= 1) {
            ++counters_.hint_queue_full_waits;
            hint_waiting_room_ = true;
            return;
        }
        uint64_t block = 0;
        if (hinted_blocks_ == nullptr ||
            !memory_.find_free_block(order, hint_next_block_, false, block) ||
            block / 64 >= hinted_block_words_ ||
            !memory_.take_free_block(order, block, guest::BlockUse::kHint)) {
            break;  // no free block left (Linux: the allocation fails)
        }
        hal_.cpu_cost(params_.cpu_cost_per_round_ns);
        const uint64_t bytes = memory_.page_size() << order;
        const Virtqueue::Buffer in{memory_.page_address(block << order),
                                   static_cast<uint32_t>(bytes)};
        if (!free_page_vq_.add_buffer(&in, 0, 1, kTokenHintBlock)) {
            memory_.give_back_block(order, block, guest::BlockUse::kHint, false);
            fail();
            return;
        }
        kick(free_page_vq_);
        hint_next_block_ = block + 1;
        hinted_blocks_[block / 64] |= uint64_t{1} << (block % 64);
        ++hinted_blocks_held_;
        ++counters_.hint_blocks;
        counters_.hint_pfns += hint_block_pfns();
    }
    hint_sending_ = false;
    if (state_ == BalloonState::kRunning && send_cmd_id(cmd_id_stop_buffer_, sb::kHintCmdIdStop)) {
        ++counters_.hint_stops;
    }
}

void BalloonDriver::return_hinted_blocks() {
    if (hinted_blocks_ == nullptr || hinted_blocks_held_ == 0) {
        return;
    }
    for (size_t word = 0; word < hinted_block_words_; ++word) {
        for (uint64_t held = hinted_blocks_[word]; held != 0; held &= held - 1) {
            const uint64_t block = word * 64 + bits::lowest_bit(held);
            memory_.give_back_block(params_.hint_order, block, guest::BlockUse::kHint, false);
            counters_.hint_pfns_returned += hint_block_pfns();
        }
        hinted_blocks_[word] = 0;
    }
    hinted_blocks_held_ = 0;
}

}  // namespace vbsim::sw::balloon
