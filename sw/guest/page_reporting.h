#pragma once

// Free page reporting as Linux's mm/page_reporting.c does it, for one zone: once a device
// registers, and 2 s after a free completes a free block of the reporting order (x86: order 9,
// 2 MiB), a pass walks the free blocks not yet reported, takes them out of the allocator in
// batches of at most 32, hands each batch to the device, and puts the blocks back flagged as
// reported once the device acknowledged. A pass reports about a sixteenth of the free blocks
// (plus one batch), so an idle guest is reported out in ~30 s; what is left waits for the next
// pass 2 s later. A pass is skipped while free memory is at or below LOW + 32 blocks.
// Linux's pass sleeps while the device works; here the device's acknowledgement resumes it.
// Bare-metal: <stdint.h>/<stddef.h> only, no allocation.

#include <stddef.h>
#include <stdint.h>

#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"

namespace vbsim::sw::guest {

struct PageReportingParams {
    unsigned order = 9;                 // PAGE_REPORTING_MIN_ORDER (pageblock_order on x86)
    uint32_t capacity = 32;             // PAGE_REPORTING_CAPACITY: blocks per report
    uint64_t delay_ns = 2'000'000'000;  // PAGE_REPORTING_DELAY: 2 s
    uint32_t budget_fraction = 16;      // a pass reports ~1/16 of the free blocks
};

// One free block handed to the device.
struct ReportedBlock {
    uint64_t address = 0;  // guest-physical
    uint64_t bytes = 0;
};

// The device's report function (Linux's page_reporting_dev_info.report): starts reporting
// `count` blocks and returns true, then calls PageReporting::report_done() once the device
// acknowledged; false when it cannot (the blocks go back unreported and the pass ends).
using ReportFunction = bool (*)(void* context, const ReportedBlock* blocks, uint32_t count);

struct PageReportingCounters {
    uint64_t passes = 0;                  // passes started
    uint64_t passes_below_watermark = 0;  // passes that found free <= LOW + capacity blocks
    uint64_t passes_out_of_budget = 0;    // passes that stopped with blocks left to report
    uint64_t reports = 0;                 // batches handed to the device
    uint64_t blocks_reported = 0;         // acknowledged
    uint64_t pages_reported = 0;          // guest pages in those blocks
    uint64_t reports_failed = 0;          // the device refused or failed a batch
};

class PageReporting {
  public:
    static constexpr uint32_t kMaxCapacity = 32;
    enum class State : uint8_t { kIdle, kRequested, kActive };

    PageReporting(Kernel& kernel, GuestMemory& memory);
    PageReporting(const PageReporting&) = delete;
    PageReporting& operator=(const PageReporting&) = delete;

    // Words of storage register() needs for the reported flags.
    static size_t storage_words_for(uint64_t pages, unsigned order) {
        return GuestMemory::reporting_storage_words_for(pages, order);
    }
    // Registers the device: GuestMemory starts tracking reported blocks and the first pass
    // runs after the delay (Linux's page_reporting_register). False on a bad order or capacity
    // (1..32), too little storage, or when a device is already registered.
    bool register_device(const PageReportingParams& params, uint64_t* storage, size_t storage_words,
                         ReportFunction report, void* context);
    // Stops reporting: blocks taken for a batch in flight go back unreported; GuestMemory
    // forgets which blocks were reported.
    void unregister();
    bool registered() const { return report_ != nullptr; }

    // The device finished the batch in flight: `ok` flags its blocks as reported.
    void report_done(bool ok);

    State state() const { return state_; }
    bool report_in_flight() const { return in_flight_; }
    uint64_t next_pass_ns() const { return timer_.armed() ? timer_.deadline_ns() : UINT64_MAX; }
    const PageReportingCounters& counters() const { return counters_; }
    const PageReportingParams& params() const { return params_; }

  private:
    static void free_block_notifier(void* context);
    static void timer_function(void* context);
    static void work_function(void* context);

    void request();  // Linux's __page_reporting_request
    void start_pass();
    void continue_pass();  // fills and sends batches until it must wait or the walk ends
    bool send_batch();
    void drain_batch(bool reported);
    void finish_pass();

    Kernel& kernel_;
    GuestMemory& memory_;
    PageReportingParams params_;
    ReportFunction report_ = nullptr;
    void* context_ = nullptr;
    State state_ = State::kIdle;
    Timer timer_;
    Work work_;

    // The pass in progress.
    bool pass_running_ = false;
    bool walk_done_ = false;
    bool in_flight_ = false;
    int64_t budget_ = 0;
    uint64_t start_block_ = 0;  // where this pass began (rotation: where the last one stopped)
    uint64_t scanned_ = 0;      // blocks looked at so far
    uint64_t next_start_ = 0;
    uint64_t batch_[kMaxCapacity] = {};
    ReportedBlock batch_blocks_[kMaxCapacity] = {};
    uint32_t batch_count_ = 0;
    PageReportingCounters counters_;
};

}  // namespace vbsim::sw::guest
