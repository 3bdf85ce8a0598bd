#pragma once

// The traditional virtio memory balloon driver (device ID 5), with the behaviour of Linux's
// drivers/virtio/virtio_balloon.c and the regressions in its history, written as handlers for
// the guest kernel's event loop (interrupt, work, timer) instead of a kernel thread.
// Bare-metal: <stdint.h>/<stddef.h> only, no exceptions, no allocation; the bitmap of
// ballooned pages lives in storage the caller hands in (size it with storage_words_for()).

#include <stddef.h>
#include <stdint.h>

#include "spec/virtio.h"
#include "sw/balloon/balloon_driver_observer.h"
#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"
#include "sw/guest/page_reporting.h"
#include "sw/virtio/virtio_mmio_device.h"
#include "sw/virtio/virtqueue.h"

namespace vbsim::sw::balloon {

// What the guest's page allocator writes into freed pages (Linux: page_poison=1 fills them with
// 0xaa, init_on_free=1 zeroes them). The balloon tells the host through PAGE_POISON.
enum class FreePageInit : uint8_t { kNone, kPoison, kInitOnFree };

struct BalloonDriverParams {
    uint64_t mmio_base = 0;     // the virtio-mmio register window
    unsigned int irq_line = 0;  // its interrupt line on guest::Kernel
    // The driver's feature table (device-type bits); negotiated = table ∩ device. Only the
    // bits this driver implements are offered: MUST_TELL_HOST, STATS_VQ, DEFLATE_ON_OOM.
    uint64_t driver_features = spec::feature::bit(spec::balloon::kFeatureMustTellHost) |
                               spec::feature::bit(spec::balloon::kFeatureStatsVq) |
                               spec::feature::bit(spec::balloon::kFeatureDeflateOnOom);
    bool use_event_idx = true;  // offer RING_EVENT_IDX
    uint32_t queue_size = 128;  // requested entries per queue (QEMU: 128), <= kMaxQueueSize
    // 4 KiB PFNs per inflate/deflate buffer: 1..256 (Linux VIRTIO_BALLOON_ARRAY_PFNS_MAX).
    // A round moves at least one guest page.
    uint32_t pfns_per_round = spec::balloon::kMaxPfnsPerBuffer;
    uint64_t retry_delay_ns = 200'000'000;  // after a failed balloon allocation (Linux 200 ms)
    uint64_t oom_release_pages = 256;       // 4 KiB pages per OOM notification (Linux 256)
    // Guest-physical RAM for the driver's rings (3 queues), one PFN buffer per queue and the
    // stats buffer; not managed by GuestMemory. Needs dma_region_bytes_for(queue_size).
    uint64_t dma_region_base = 0;
    uint64_t dma_region_bytes = 0;
    // Guest work per page (sources: docs/timing-defaults.md): allocating one for the balloon,
    // freeing one from it, and the PFN bookkeeping and address translation of either.
    uint64_t alloc_cost_per_page_ns = 145;
    uint64_t free_cost_per_page_ns = 50;
    uint64_t translate_cost_per_page_ns = 133;
    uint64_t cpu_cost_per_round_ns = 2000;  // guest work per inflate/deflate round
    // Stats tags reported, 0..stats_tags-1 (16 = Linux 6.12+, 10 = Linux 4.x-6.11).
    uint32_t stats_tags = spec::balloon::kStatTagCount;
    // With DEFLATE_ON_OOM negotiated, register oom_notifier() as GuestMemory's OOM notifier
    // at probe (Linux registers its notifier in probe).
    bool register_oom_notifier = true;
    // PAGE_REPORTING: the reporting order in guest pages (Linux: pageblock_order, 9 on x86 =
    // 2 MiB; the balloon uses 2 MiB on arm64 64 KiB pages too), at least
    // GuestMemory::kMinBlockOrder; the pass delay and batch size are Linux's.
    guest::PageReportingParams reporting;
    // FREE_PAGE_HINT: hinted blocks are of this order (Linux: MAX_ORDER - 1 = 10, 4 MiB).
    unsigned hint_order = 10;
    // kNone: PAGE_POISON is dropped at validation (as Linux without page poisoning). Otherwise
    // PAGE_POISON is kept and poison_val written; without it PAGE_REPORTING is dropped.
    FreePageInit free_page_init = FreePageInit::kNone;
};

enum class BalloonState : uint8_t {
    kUnprobed,
    kRunning,
    kFreezing,  // leaking everything before the device reset (S4)
    kFrozen,    // device reset, queues gone; restore() brings it back
    kRemoving,  // leaking everything before the device reset (driver unbind)
    kRemoved,
    kFailed,  // probe/restore failed, DEVICE_NEEDS_RESET or a broken queue: nothing more runs
};

const char* state_name(BalloonState state);

struct BalloonDriverCounters {
    uint64_t inflate_rounds = 0;  // buffers sent on inflateq
    uint64_t deflate_rounds = 0;  // buffers sent on deflateq
    uint64_t pfns_inflated = 0;   // 4 KiB PFNs sent on inflateq
    uint64_t pfns_deflated = 0;   // 4 KiB PFNs sent on deflateq
    uint64_t inflate_acks = 0;
    uint64_t deflate_acks = 0;
    uint64_t alloc_failures = 0;  // rounds stopped short by the allocator
    uint64_t retries = 0;         // retry timer expiries
    uint64_t stats_updates = 0;   // stats buffers posted, the initial one included
    uint64_t oom_notifications = 0;
    uint64_t oom_deflations = 0;      // notifications that promised pages
    uint64_t oom_pages_promised = 0;  // 4 KiB pages
    uint64_t interrupts = 0;
    uint64_t config_changes = 0;
    uint64_t actual_writes = 0;
    uint64_t kicks = 0;   // QueueNotify writes
    uint64_t errors = 0;  // device failures, broken queues, accounting refusals
    uint64_t wrong_state_calls = 0;
    // PAGE_REPORTING: batches of free blocks sent on reporting_vq, and acknowledged.
    uint64_t report_requests = 0;
    uint64_t report_acks = 0;
    // FREE_PAGE_HINT: rounds answered, hint blocks sent and their 4 KiB pages, stop ids sent,
    // pages given back on DONE, and times the queue was full (the driver waits for the device).
    uint64_t hint_rounds = 0;
    uint64_t hint_blocks = 0;
    uint64_t hint_pfns = 0;
    uint64_t hint_stops = 0;
    uint64_t hint_pfns_returned = 0;
    uint64_t hint_queue_full_waits = 0;
};

class BalloonDriver {
  public:
    static constexpr uint16_t kInflateQueue = spec::balloon::kInflateQueue;
    static constexpr uint16_t kDeflateQueue = spec::balloon::kDeflateQueue;
    static constexpr uint16_t kStatsQueue = spec::balloon::kStatsQueue;  // only with STATS_VQ
    static constexpr uint32_t kMaxQueueSize = 256;
    static constexpr uint32_t kQueues = spec::balloon::kMaxQueues;
    static constexpr uint64_t kSupportedFeatures =
        spec::feature::bit(spec::balloon::kFeatureMustTellHost) |
        spec::feature::bit(spec::balloon::kFeatureStatsVq) |
        spec::feature::bit(spec::balloon::kFeatureDeflateOnOom) |
        spec::feature::bit(spec::balloon::kFeatureFreePageHint) |
        spec::feature::bit(spec::balloon::kFeaturePagePoison) |
        spec::feature::bit(spec::balloon::kFeaturePageReporting);
    // Linux's poison byte (PAGE_POISON), four times over in poison_val.
    static constexpr uint32_t kPoisonValue = 0xaaaaaaaa;
    // Features Linux 6.1 knows and offers first, then may drop before the final write: ring
    // bits the balloon does not use (INDIRECT_DESC, ACCESS_PLATFORM), and the newer balloon
    // features when the scenario's driver does not take them (PAGE_POISON also without page
    // poisoning, as in a default Linux).
    static constexpr uint64_t kKnownUnusedFeatures =
        spec::feature::bit(spec::balloon::kFeatureFreePageHint) |
        spec::feature::bit(spec::balloon::kFeaturePagePoison) |
        spec::feature::bit(spec::balloon::kFeaturePageReporting) |
        spec::feature::bit(spec::feature::kRingIndirectDesc) |
        spec::feature::bit(spec::feature::kAccessPlatform);

    // Words of bitmap storage for a guest of `guest_pages` pages.
    static size_t storage_words_for(uint64_t guest_pages);
    // Bytes of DMA region needed for queues of `queue_size` entries (any transport version),
    // for a driver taking `driver_features` (free_page_vq and reporting_vq need room only when
    // asked for).
    static uint64_t dma_region_bytes_for(uint32_t queue_size, uint64_t driver_features = 0);

    BalloonDriver(guest::Kernel& kernel, guest::GuestMemory& memory,
                  const BalloonDriverParams& params, uint64_t* bitmap_storage,
                  size_t storage_words);
    BalloonDriver(const BalloonDriver&) = delete;
    BalloonDriver& operator=(const BalloonDriver&) = delete;

    // Binds to the device: handshake, queues, interrupt handler, first stats buffer, and the
    // resize work when the host already wants pages.
    virtio::Result probe();
    // DEFLATE_ON_OOM only (else 0): starts an urgent leak of up to oom_release_pages 4 KiB
    // pages, told to the host first; the pages return to GuestMemory on the host's ack (at
    // once when the device already acked). Returns the 4 KiB pages promised by this call: 0
    // while an earlier OOM release is still outstanding. The host's target is unchanged, so
    // the balloon refills afterwards ("balloon thrashing").
    uint64_t oom_notify();
    // Suspend to disk: leak everything (in rounds, host told first), then reset the device and
    // drop the queues; state() is kFrozen once done (at once when the balloon is empty).
    void freeze();
    // From kFrozen: the same queue set-up as probe, DRIVER_OK, refill towards the target.
    void restore();
    // Unbind: deflate everything, then reset; state() is kRemoved once done. From kFailed the
    // device is reset at once and the pages it holds stay lost.
    void remove();

    // Reports rounds, stats and OOM releases to `observer` (null: nobody).
    void set_observer(BalloonDriverObserver* observer) { observer_ = observer; }

    // GuestMemory OOM notifier (context = the driver): oom_notify(), then returns the 4 KiB
    // pages promised to the OOM path and not yet freed.
    static uint64_t oom_notifier(void* context);

    // ---- queries ------------------------------------------------------------------------
    BalloonState state() const { return state_; }
    // 4 KiB pages in the balloon (inflates the host acknowledged, deflates it did not yet).
    uint64_t num_pages() const { return num_pages_; }
    // The host's target as last read, aligned up to whole guest pages (4 KiB pages).
    uint64_t target_pages() const { return target_pages_; }
    // target - num_pages, signed: negative when deflating. Reads the config space.
    int64_t towards_target();
    uint64_t negotiated_features() const { return features_; }
    bool has_feature(unsigned feature_bit) const {
        return feature_bit < 64 && (features_ & spec::feature::bit(feature_bit)) != 0;
    }
    uint64_t pfns_per_page() const { return pfns_per_page_; }
    bool stats_requested() const { return stats_requested_; }
    bool inflate_in_flight() const { return inflate_count_ != 0; }
    bool deflate_in_flight() const { return deflate_count_ != 0; }
    // 4 KiB pages promised to the OOM path: not yet sent to the host / sent, not yet acked.
    uint64_t oom_pages_pending() const { return oom_debt_pfns_; }
    uint64_t oom_pages_in_flight() const {
        return oom_deflate_in_flight_ ? uint64_t{deflate_count_} * pfns_per_page_ : 0;
    }
    bool retry_pending() const { return retry_timer_.armed(); }
    uint64_t retry_deadline_ns() const { return retry_timer_.deadline_ns(); }
    const BalloonDriverCounters& counters() const { return counters_; }
    const virtio::VirtioMmioDevice& device() const { return device_; }
    // Why the last probe/restore failed (kOk otherwise).
    virtio::Result last_error() const { return last_error_; }
    // PAGE_REPORTING: the reporting engine (registered while the driver runs with it).
    const guest::PageReporting& page_reporting() const { return reporting_; }
    // FREE_PAGE_HINT: the command id being answered (STOP when none), 4 KiB pages held.
    uint32_t hint_cmd_id_active() const { return cmd_id_active_; }
    uint64_t hinted_pfns_held() const { return hinted_blocks_held_ * hint_block_pfns(); }
    bool hint_sending() const { return hint_sending_; }

  private:
    enum Token : uint64_t {
        kTokenInflate = 1,
        kTokenDeflate = 2,
        kTokenStats = 3,
        kTokenReport = 4,
        kTokenHintCmdId = 5,
        kTokenHintBlock = 6,
    };

    static void interrupt_handler(void* context);
    static void resize_work_function(void* context);
    static void used_work_function(void* context);
    static void stats_work_function(void* context);
    static void retry_timer_function(void* context);
    static void hint_work_function(void* context);
    // Linux's virtballoon_validate: PAGE_POISON only with page poisoning or init_on_free;
    // without it, no PAGE_REPORTING (the host could change a free page's content).
    static uint64_t validate_features(void* context, uint64_t features);
    // PAGE_REPORTING's report function: one chain of device-writable blocks on reporting_vq.
    static bool report_blocks(void* context, const guest::ReportedBlock* blocks, uint32_t count);

    bool layout_dma_region();
    // Handshake, queues, the first stats buffer posted and kicked (before DRIVER_OK).
    // `restoring`: the features are written once, already finalised.
    virtio::Result init_vqs(bool restoring);
    void update_balloon_size();
    // One round each; they return the 4 KiB PFNs sent to the host (0: none).
    uint64_t fill_balloon(uint64_t pfns);
    uint64_t leak_balloon(uint64_t pfns, bool for_oom);
    // At a round's ack: the next resize round, when one is due.
    void resize_after_round();
    // Writes the le32 PFNs of the pages in `count` bitmap words into pfn_bytes_; returns how
    // many PFNs.
    uint32_t encode_pfns(const guest::PageWord* words, size_t count);
    void reclaim_used(virtio::Virtqueue& queue);
    void inflate_acked();
    void deflate_acked();
    bool post_stats();  // false when the queue refused the buffer
    void write_actual();
    void kick(virtio::Virtqueue& queue);
    void start_drain(BalloonState draining_state);
    void finish_drain();
    void drop_queues();
    void fail();
    // PAGE_POISON, FREE_PAGE_HINT and PAGE_REPORTING set-up after the queues (probe, restore)
    // and tear-down (drain, failure).
    bool start_free_page_features(bool restoring);
    void stop_free_page_features();
    // FREE_PAGE_HINT (Linux's report_free_page_func and helpers).
    uint32_t cmd_id_received();
    void send_hints();
    bool send_cmd_id(uint64_t buffer, uint32_t id);
    void return_hinted_blocks();
    uint64_t hint_block_pfns() const {
        return (uint64_t{1} << params_.hint_order) * pfns_per_page_;
    }
    bool draining() const {
        return state_ == BalloonState::kFreezing || state_ == BalloonState::kRemoving;
    }
    bool active() const { return state_ == BalloonState::kRunning || draining(); }
    uint64_t round_up_to_page(uint64_t pfns) const {
        return spec::align_up(pfns, pfns_per_page_);  // pfns_per_page_ is a power of two
    }

    guest::Kernel& kernel_;
    guest::GuestMemory& memory_;
    hal::Hal& hal_;
    BalloonDriverParams params_;
    virtio::VirtioMmioDevice device_;
    BalloonState state_ = BalloonState::kUnprobed;
    virtio::Result last_error_ = virtio::Result::kOk;
    bool configured_ = false;  // constructor arguments were usable
    uint64_t features_ = 0;
    uint64_t pfns_per_page_ = 1;
    uint32_t pages_per_round_ = 1;
    uint32_t queue_size_ = 0;
    uint32_t stats_tags_ = 0;
    bool oom_notifier_registered_ = false;

    // Set = not ballooned (or on its way out), so find_first_clear_word() finds a ballooned
    // page in O(log n).
    guest::HierarchicalBitmap in_guest_;

    uint64_t num_pages_ = 0;     // 4 KiB pages
    uint64_t target_pages_ = 0;  // 4 KiB pages, aligned up to guest pages
    uint64_t oom_debt_pfns_ = 0;
    bool oom_deflate_in_flight_ = false;
    bool stats_requested_ = false;   // starts cleared (Linux 169c246a)
    bool resize_requested_ = false;  // a resize came while a round was in flight
    uint64_t round_left_pfns_ = 0;   // what the round in flight leaves of its diff
    // Per queue: a used-buffer interrupt came since its last buffer was added.
    bool used_announced_[kQueues] = {};

    guest::Work resize_work_;
    guest::Work used_work_;
    guest::Work stats_work_;
    guest::Timer retry_timer_;
    guest::Work hint_work_;

    virtio::Virtqueue inflate_vq_;
    virtio::Virtqueue deflate_vq_;
    virtio::Virtqueue stats_vq_;
    virtio::Virtqueue free_page_vq_;
    virtio::Virtqueue reporting_vq_;
    virtio::Virtqueue::Slot slots_[kQueues][kMaxQueueSize] = {};

    // Guest-physical placement inside the DMA region.
    uint64_t ring_base_[kQueues] = {};
    uint64_t ring_bytes_ = 0;
    uint64_t pfn_buffer_[2] = {};
    uint64_t stats_buffer_ = 0;
    uint64_t cmd_id_active_buffer_ = 0;  // le32 ids the driver sends on free_page_vq
    uint64_t cmd_id_stop_buffer_ = 0;

    // PAGE_REPORTING
    guest::PageReporting reporting_;
    uint64_t* reporting_storage_ = nullptr;
    size_t reporting_storage_words_ = 0;
    // FREE_PAGE_HINT: Linux's cmd_id_received_cache / cmd_id_active, the config re-read flag,
    // and the blocks held until the host says DONE (bit per block of hint_order).
    uint32_t cmd_id_received_cache_ = spec::balloon::kHintCmdIdStop;
    uint32_t cmd_id_active_ = spec::balloon::kHintCmdIdStop;
    bool cmd_id_read_pending_ = false;
    bool hint_sending_ = false;       // between the start id and the stop id
    bool hint_waiting_room_ = false;  // free_page_vq full: resume on its used interrupt
    uint64_t* hinted_blocks_ = nullptr;
    size_t hinted_block_words_ = 0;
    uint64_t hinted_blocks_held_ = 0;
    uint64_t hint_next_block_ = 0;  // where the round looks for its next free block

    // The guest pages of the buffer in flight on each queue, as GuestMemory bitmap words
    // (index = GuestMemory's page index = our bit), so the acks account for them a word at a
    // time; and how many pages.
    guest::PageWord inflate_words_[spec::balloon::kMaxPfnsPerBuffer] = {};
    uint32_t inflate_word_count_ = 0;
    uint32_t inflate_count_ = 0;
    guest::PageWord deflate_words_[spec::balloon::kMaxPfnsPerBuffer] = {};
    uint32_t deflate_word_count_ = 0;
    uint32_t deflate_count_ = 0;
    // Staging for one hal.ram_write per buffer.
    uint8_t pfn_bytes_[spec::balloon::kMaxPfnsPerBuffer * 4] = {};
    uint8_t stats_bytes_[spec::balloon::kStatTagCount * spec::balloon::kStatEntrySize] = {};

    BalloonDriverCounters counters_;
    BalloonDriverObserver* observer_ = nullptr;
    RoundKind deflate_kind_ = RoundKind::kLeak;  // for the observer: why the deflate in flight
};

}  // namespace vbsim::sw::balloon
