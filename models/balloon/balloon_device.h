#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <systemc>

#include "models/memory/zeroed_words.h"
#include "models/timing/current_time.h"
#include "models/timing/max_time.h"
#include "models/virtio/virtio_device.h"
#include "spec/virtio.h"

namespace vbsim::models {

// One bank of guest RAM, guest-physical.
struct GuestRamRange {
    uint64_t base = 0;
    uint64_t bytes = 0;
};

struct BalloonDeviceParams {
    // Device-type features offered to the driver.
    uint64_t offered_features = spec::feature::bit(spec::balloon::kFeatureMustTellHost) |
                                spec::feature::bit(spec::balloon::kFeatureStatsVq) |
                                spec::feature::bit(spec::balloon::kFeatureDeflateOnOom);
    // Guest RAM the PFNs must fall in (guest-physical): the banks the platform describes, or,
    // when there are none, the one window guest_ram_base/guest_ram_bytes.
    std::vector<GuestRamRange> guest_ram_ranges;
    uint64_t guest_ram_base = 0x80000000;
    uint64_t guest_ram_bytes = uint64_t{1} << 30;
    // The banks in effect: guest_ram_ranges, or the single window.
    std::vector<GuestRamRange> ram_ranges() const {
        return guest_ram_ranges.empty()
                   ? std::vector<GuestRamRange>{{guest_ram_base, guest_ram_bytes}}
                   : guest_ram_ranges;
    }
    uint32_t queue_num_max = 128;  // QEMU sizes its balloon queues at 128
    // Host-side time per PFN buffer of one direction (sources: docs/timing-defaults.md).
    struct BufferCosts {
        sc_core::sc_time transport;        // exit, ring, notify, host pop, used return
        sc_core::sc_time host_per_buffer;  // host work per buffer beyond the transport
        sc_core::sc_time host_per_page;    // host work per 4 KiB page (inflate: madvise)
    };
    BufferCosts inflate_costs{sc_core::sc_time(385, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                              sc_core::sc_time(430, sc_core::SC_NS)};
    BufferCosts deflate_costs{sc_core::sc_time(78, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                              sc_core::sc_time(20, sc_core::SC_NS)};
    // reporting_vq: the host discards what the guest reports, as inflate's madvise does.
    BufferCosts report_costs{sc_core::sc_time(385, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                             sc_core::sc_time(430, sc_core::SC_NS)};
    // free_page_vq: the host only clears the hinted pages from its dirty bitmap.
    BufferCosts hint_costs{sc_core::sc_time(78, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                           sc_core::sc_time(20, sc_core::SC_NS)};
    // How often the held stats buffer is returned to ask for fresh stats; 0 = never.
    sc_core::sc_time stats_poll_interval = sc_core::SC_ZERO_TIME;
};

struct BalloonStats {
    bool valid = false;
    sc_core::sc_time timestamp = sc_core::SC_ZERO_TIME;
    // In the order the driver sent them; unknown tags are kept.
    std::vector<std::pair<uint16_t, uint64_t>> entries;

    // The value of `tag`, or `fallback` when the driver did not send it.
    uint64_t value(uint16_t tag, uint64_t fallback = 0) const;
};

struct BalloonCounters {
    uint64_t inflate_buffers = 0;
    uint64_t deflate_buffers = 0;
    uint64_t pages_inflated = 0;
    uint64_t pages_deflated = 0;
    uint64_t pfns_out_of_range = 0;       // outside every RAM bank: ignored, a guest error
    uint64_t buffers_out_of_range = 0;    // buffers holding such PFNs (one report each)
    uint64_t pfns_already_ballooned = 0;  // inflate of a page the host already holds
    uint64_t pfns_not_ballooned = 0;      // deflate of a page the host does not hold
    uint64_t truncated_pfn_bytes = 0;     // buffer lengths not a multiple of 4
    uint64_t stats_buffers = 0;
    uint64_t stats_requests = 0;
    uint64_t extra_stats_buffers = 0;  // the driver posted a second one
    // Buffers by the number of PFNs they carried (PFNs -> buffers), per queue.
    std::map<uint64_t, uint64_t> inflate_pfns_per_buffer;
    std::map<uint64_t, uint64_t> deflate_pfns_per_buffer;
    // reporting_vq (PAGE_REPORTING): free blocks the guest handed over. Reported pages are not
    // ballooned: the guest may reuse them at any time (the host faults them back in).
    uint64_t report_buffers = 0;
    uint64_t pages_reported = 0;           // 4 KiB pages discarded by the host
    uint64_t report_blocks = 0;            // entries (free blocks) in those buffers
    uint64_t pages_kept_for_poison = 0;    // reported while poison_val != 0: not discarded
    uint64_t report_entries_rejected = 0;  // unaligned or outside guest RAM: ignored
    std::map<uint64_t, uint64_t> report_blocks_per_buffer;
    // free_page_vq (FREE_PAGE_HINT)
    uint64_t hint_buffers = 0;              // buffers of hinted pages, in or out of a round
    uint64_t hinted_pages = 0;              // 4 KiB pages hinted during a started round
    uint64_t hint_pages_outside_round = 0;  // hints that came when no round had started
    // Kicks whose page buffers were handled in a guest's run-ahead (work_ahead()).
    uint64_t work_ahead_runs = 0;
    // Wake-ups of the worker given to SystemC (work_event_ notifications).
    uint64_t worker_notifications = 0;
};

// One free page hinting round: the host's command id, and what the guest hinted under it.
struct FreePageHintRound {
    uint32_t cmd_id = 0;
    sc_core::sc_time requested_at = sc_core::SC_ZERO_TIME;  // the host wrote the id
    bool started = false;                                   // the guest answered with the id
    sc_core::sc_time started_at = sc_core::SC_ZERO_TIME;
    bool stopped = false;  // the host wrote STOP or DONE, or the guest sent its stop id
    sc_core::sc_time stopped_at = sc_core::SC_ZERO_TIME;
    uint64_t hint_buffers = 0;
    uint64_t hinted_pages = 0;  // 4 KiB pages
};

// What the balloon tells the host side as it happens (QEMU's balloon events).
class BalloonObserver {
  public:
    virtual ~BalloonObserver() = default;
    virtual void target_changed(uint32_t /*pages*/) {}
    // The driver's write completing `actual`, at the write's time (its kernel time; see
    // VirtioTransport::access_time).
    virtual void actual_changed(uint32_t /*pages*/, const sc_core::sc_time& /*at*/) {}
    // Pages the host took (inflate) or gave back (deflate), as 4 KiB PFNs, at `at` (SystemC's
    // time, or later when the device works ahead of it for a guest running ahead).
    virtual void pages_inflated(const uint32_t* /*pfns*/, size_t /*count*/,
                                const sc_core::sc_time& /*at*/) {}
    virtual void pages_deflated(const uint32_t* /*pfns*/, size_t /*count*/,
                                const sc_core::sc_time& /*at*/) {}
    virtual void stats_received(const BalloonStats& /*stats*/) {}
    // The host discarded a reported free block of `bytes` at guest-physical `address`.
    virtual void pages_reported(uint64_t /*address*/, uint64_t /*bytes*/) {}
    // The device finished a PFN buffer of `queue` (inflateq 0, deflateq 1) holding `pfns`
    // PFNs: taken at `taken_at`, returned after the host's work at `returned_at`.
    virtual void buffer_handled(unsigned int /*queue*/, uint64_t /*pfns*/,
                                const sc_core::sc_time& /*taken_at*/,
                                const sc_core::sc_time& /*returned_at*/) {}
    // The device finished a reporting_vq buffer of `blocks` free blocks, `pages` 4 KiB pages.
    virtual void report_handled(unsigned int /*queue*/, uint64_t /*blocks*/, uint64_t /*pages*/,
                                const sc_core::sc_time& /*taken_at*/,
                                const sc_core::sc_time& /*returned_at*/) {}
    virtual void device_reset() {}
};

// The traditional virtio memory balloon (device ID 5): inflateq and deflateq carry
// le32 PFNs of 4 KiB pages, statsq carries {le16 tag, le64 value} entries; config
// holds num_pages (the host's target) and actual (what the driver says it holds).
class BalloonDevice : public sc_core::sc_module, public VirtioDevice {
  public:
    BalloonDevice(const sc_core::sc_module_name& name, const BalloonDeviceParams& params);

    // Host-facing API (QEMU's `balloon`, `query-balloon`, `guest-stats`).
    void set_target_pages(uint32_t pages);
    uint32_t target_pages() const { return num_pages_; }
    uint32_t actual_pages() const { return actual_; }
    uint64_t ballooned_pages() const { return ballooned_count_; }
    // Bytes of guest RAM over every bank.
    uint64_t guest_ram_total_bytes() const { return ram_pages_ << spec::balloon::kPfnShift; }
    bool is_ballooned(uint32_t pfn) const;
    const BalloonStats& last_stats() const { return stats_; }
    // Returns the held stats buffer now, asking the driver for fresh stats.
    void request_stats();
    void set_stats_poll_interval(const sc_core::sc_time& interval);
    // For a guest's lookahead: queues notified and not yet done (the device will act on the
    // guest soon), and when the stats poller next asks for stats (sc_max_time(): never).
    bool busy() const { return pending_queues_ != 0 || draining_ || held_; }
    // For a guest running ahead that is about to idle, whose next own activity (a timer) or
    // outside observation is at `limit`: the device handles the inflate/deflate buffers the
    // guest kicked now, in the caller's thread, at the times its worker would (from the kick's
    // time on; nothing of the guest runs in between). A buffer whose host work ends after
    // `limit` is held (held_until()): the guest may run on to just before that end, and a later
    // call, with a later limit, goes on with it. One ending exactly at `limit` is left to the
    // worker, at its time. False (nothing done) unless only page queues were kicked, the worker
    // sleeps, and the kick is due after now and before `limit`, or a held buffer ends before it.
    bool work_ahead(const sc_core::sc_time& limit);
    // When a held buffer's host work ends: the device does nothing else before then (nothing
    // reaches it but its guest); sc_max_time() when none is held.
    const sc_core::sc_time& held_until() const { return held_ ? held_buffer_.done_at : max_time(); }
    // For a guest's lookahead: the guest may run up to, not including, this time without the
    // device acting on it or on anything else: sc_max_time() when idle; the end of a held
    // buffer's host work; just after the wake-up of its sleeping worker for a kick (the worker
    // yields a delta cycle there, so the guest at that instant goes first, as in step); now
    // while the device works in SystemC's time.
    sc_core::sc_time quiet_until() const;
    // Gives a held buffer to the worker, which finishes it at its time. The guest calls this
    // before anything else may run or reach the device: before it waits in SystemC or makes a
    // bus access in SystemC's time.
    void release_held_work();
    // The guest's CPU calls release_held_work() whenever it lets SystemC go on: from then on a
    // kick's wake-up of the worker is notified there, not at the kick. work_ahead() mostly takes
    // the kicked work first, and a cancelled notification stays in SystemC's timed-event queue
    // until its time (most of that queue's traffic with many guests).
    void notify_kicks_before_in_step() { kicks_notified_in_step_ = true; }
    // Whether a kick made now from ahead of SystemC's time would reach the worker as it would
    // in step: the device is idle, and no earlier kick's wake-up of the worker is still to come
    // or due now (a worker woken now but not yet run would see the kick early).
    bool kick_may_go_ahead() const {
        return !busy() && work_notified_at_ < models::current_time() &&
               woken_now_at_ != models::current_time();
    }
    const sc_core::sc_time& next_stats_request() const { return next_stats_request_; }
    void add_observer(BalloonObserver& observer) { observers_.push_back(&observer); }

    const BalloonDeviceParams& params() const { return params_; }
    const BalloonCounters& counters() const { return counters_; }
    // Queue indices under the negotiated features; -1 when absent.
    int inflate_queue() const { return 0; }
    int deflate_queue() const { return 1; }
    int stats_queue() const;
    int free_page_queue() const;
    int reporting_queue() const;

    // Free page hinting (FREE_PAGE_HINT), as QEMU drives it around a migration: start writes
    // a new command id and raises a config interrupt; stop writes STOP (no more hints wanted);
    // done writes DONE (the guest may reuse the hinted pages). Each returns false (and does
    // nothing) when the feature was not negotiated.
    bool start_free_page_hint();
    bool stop_free_page_hint();
    bool finish_free_page_hint();
    const std::vector<FreePageHintRound>& hint_rounds() const { return hint_rounds_; }
    // The value freed pages hold, as the driver wrote it (PAGE_POISON); 0 otherwise.
    uint32_t poison_val() const { return poison_val_; }

    // VirtioDevice
    void attach(VirtioTransport& transport) override { transport_ = &transport; }
    uint32_t device_id() const override { return spec::balloon::kDeviceId; }
    uint64_t device_features() const override { return params_.offered_features; }
    bool accept_features(uint64_t features, std::string& why_not) const override;
    uint32_t queue_num_max(unsigned int index, uint64_t features) const override;
    uint32_t config_size() const override { return spec::balloon::kConfigSize; }
    bool read_config(uint32_t offset, unsigned int width, uint32_t& value) override;
    bool write_config(uint32_t offset, unsigned int width, uint32_t value) override;
    void driver_ok() override {}
    void queue_notify(unsigned int index, const sc_core::sc_time& delay) override;
    void queue_reset(unsigned int index) override;
    void reset() override;

  private:
    enum class PageQueue { kInflate, kDeflate };

    void worker();
    // Wakes the worker at `at` (not before now) through work_event_.
    void notify_worker(const sc_core::sc_time& at);
    // Finishes a buffer handed over by work_ahead() at its time, then works like the worker
    // until nothing is pending (the worker meanwhile counts as busy).
    void handover_worker();
    // One pending queue, lowest first, drained.
    void work_next_queue();
    void stats_poller();
    // Handles every available buffer of an inflate/deflate queue; false when a reset
    // overtook the work.
    bool drain_page_queue(unsigned int index, PageQueue kind);
    // One buffer of an inflate/deflate queue: taken and read at device_time() (done_at: when
    // the host's work on it ends), then applied and returned at device_time().
    struct PageBuffer {
        unsigned int index = 0;
        PageQueue kind = PageQueue::kInflate;
        uint64_t epoch = 0;
        uint64_t total = 0;  // PFNs
        sc_core::sc_time taken_at = sc_core::SC_ZERO_TIME;
        sc_core::sc_time done_at = sc_core::SC_ZERO_TIME;
    };
    bool drain_stats_queue(unsigned int index);
    // reporting_vq / free_page_vq: every available buffer; false when a reset overtook the work
    // or the device now needs a reset.
    bool drain_reporting_queue(unsigned int index);
    bool drain_free_page_queue(unsigned int index);
    // A guest-physical range of whole 4 KiB pages inside guest RAM.
    bool is_ram_pages(uint64_t address, uint64_t bytes) const;
    // Applies a free page hinting command id the guest sent (QEMU's state machine).
    void hint_cmd_id_received(uint32_t id);
    void set_hint_status(uint32_t cmd_id_in_config);
    // Takes the next available chain of queue `index` and checks it is device-readable
    // only. kNone: nothing to do; kFailed: the device now needs a reset.
    enum class Take { kNone, kFailed, kChain };
    Take take_readable_chain(unsigned int index, const char* queue_name, const char* expected,
                             DescriptorChain& chain, SplitVirtqueue*& queue,
                             sc_core::sc_time& delay);
    // Takes the next chain of `index` whatever its direction (kFailed: broken ring).
    Take take_chain(unsigned int index, const char* queue_name, DescriptorChain& chain,
                    SplitVirtqueue*& queue, sc_core::sc_time& delay);
    Take take_page_buffer(unsigned int index, PageQueue kind, PageBuffer& buffer);
    // work_ahead() for a held buffer: finished if it ends before `limit`, then the rest.
    bool resume_held_work(const sc_core::sc_time& limit);
    // While working ahead: every pending page queue, lowest first, until one buffer is held or
    // handed over.
    void drain_pending_ahead();
    // Gives `buffer` to handover_worker(), which finishes it at its done_at.
    void hand_over(const PageBuffer& buffer);
    bool finish_page_buffer(const PageBuffer& buffer);
    // The device's time: SystemC's in the worker, its own while working ahead (spend() waits
    // in the one, advances the other).
    sc_core::sc_time device_time() const;
    void device_needs_reset(const std::string& reason);
    void spend(const sc_core::sc_time& time);
    // Leaves the PFNs it applied at the front of `pfns`, in order.
    void apply_pages(PageQueue kind, uint32_t* pfns, size_t count, const sc_core::sc_time& at);
    void parse_stats(const std::vector<uint8_t>& bytes);
    void return_stats_buffer();
    bool page_index(uint32_t pfn, uint64_t& index) const;
    uint32_t pfn_of_index(uint64_t index) const;
    void report_out_of_range(PageQueue kind, uint32_t first_bad, uint64_t bad, size_t count);
    uint32_t config_word(uint32_t field_offset) const;
    // False outside the config space; counts a guest error for a modern narrow access.
    bool check_config_access(uint32_t offset, unsigned int width, const char* verb);

    BalloonDeviceParams params_;
    VirtioTransport* transport_ = nullptr;
    BalloonCounters counters_;
    std::vector<BalloonObserver*> observers_;

    uint32_t num_pages_ = 0;      // config: the host's target
    uint32_t actual_ = 0;         // config: the driver's last complete write
    uint32_t actual_staged_ = 0;  // config bytes as written, possibly half-way through
    uint32_t poison_val_ = 0;
    // Free page hinting: the id in config and whether the guest is inside the round.
    enum class HintStatus { kIdle, kRequested, kStarted, kStopped, kDone };
    HintStatus hint_status_ = HintStatus::kIdle;
    uint32_t hint_cmd_id_ = 0;  // what config's free_page_hint_cmd_id reads
    uint32_t next_hint_cmd_id_ = spec::balloon::kHintCmdIdMin;
    std::vector<FreePageHintRound> hint_rounds_;
    // A RAM bank in PFNs; its pages take bitmap bits from first_index on, banks in address order.
    struct RamBank {
        uint64_t first_pfn;
        uint64_t pages;
        uint64_t first_index;
    };
    std::vector<RamBank> banks_;
    uint64_t ram_pages_ = 0;
    ZeroedWords ballooned_;  // one bit per 4 KiB page of guest RAM
    uint64_t ballooned_count_ = 0;
    DescriptorChain page_chain_;  // the inflate/deflate buffer being handled
    // Scratch for one buffer of PFNs, grown as needed: raw le32 bytes, then decoded, then the
    // ones applied.
    std::vector<uint32_t> pfns_;

    BalloonStats stats_;
    bool stats_buffer_held_ = false;
    uint16_t stats_head_ = 0;
    bool first_stats_buffer_ = true;  // legacy devices ignore its contents

    uint32_t pending_queues_ = 0;  // bit per queue notified and not yet drained
    bool draining_ = false;        // the worker is inside a queue's processing
    bool worker_idle_ = false;     // the worker waits for work_event_
    // When work_event_'s pending notification wakes the worker (not after now: none).
    sc_core::sc_time work_notified_at_ = sc_core::SC_ZERO_TIME;
    // notify_kicks_before_in_step(): work_event_ is still to be notified for work_notified_at_;
    // and when its notification given to SystemC wakes the worker (not after now: none).
    bool kicks_notified_in_step_ = false;
    bool work_notification_owed_ = false;
    sc_core::sc_time work_event_due_ = sc_core::SC_ZERO_TIME;
    // A wake-up of the worker that fired at this time, which it may not have run yet.
    sc_core::sc_time woken_now_at_ = sc_core::sc_max_time();
    // Working ahead (work_ahead()): the device's own time and how far it may go.
    bool ahead_ = false;
    sc_core::sc_time ahead_time_ = sc_core::SC_ZERO_TIME;
    sc_core::sc_time ahead_limit_ = sc_core::SC_ZERO_TIME;
    // A buffer taken ahead whose host work ends at the limit: the worker finishes it.
    bool handed_over_ = false;
    PageBuffer handover_;
    // A buffer taken ahead whose host work ends after the limit, waiting for the next
    // work_ahead() or release_held_work(); queues kicked with it stay in pending_queues_.
    bool held_ = false;
    PageBuffer held_buffer_;
    sc_core::sc_event handover_event_;
    sc_core::sc_time next_stats_request_ = sc_core::sc_max_time();
    // Bumped when a queue (or the device) is reset: work begun before is dropped.
    std::array<uint64_t, spec::balloon::kMaxQueues> queue_epoch_{};
    sc_core::sc_event work_event_;
    sc_core::sc_event poll_changed_event_;
};

}  // namespace vbsim::models
