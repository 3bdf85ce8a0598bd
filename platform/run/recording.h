#pragma once

// What a run records: periodic samples of every guest and the host, the events
// that happened, and the end-of-run summary with check results. Writers in
// platform/report/output_*.h turn it into files; nothing here depends on wall-clock time,
// so the same scenario and seed give byte-identical outputs.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <systemc>

namespace vbsim::platform {

struct GuestSample {
    uint64_t target_pages = 0;     // num_pages in the device config (4 KiB)
    uint64_t actual_pages = 0;     // what the driver last wrote into `actual`
    uint64_t ballooned_pages = 0;  // what the device actually holds
    uint64_t free_bytes = 0;       // guest MemFree
    uint64_t available_bytes = 0;  // guest MemAvailable
    uint64_t total_bytes = 0;      // guest MemTotal (drops with the balloon without DEFLATE_ON_OOM)
    uint64_t demand_bytes = 0;     // what the workload is heading for
    uint64_t workload_bytes = 0;   // what the workload holds
    uint64_t resident_bytes = 0;   // host memory backing this guest
    uint64_t oom_kills = 0;        // cumulative
    uint64_t oom_deferred = 0;     // cumulative: OOMs a balloon deflate rescued
    uint64_t alloc_stalls = 0;     // cumulative
    uint64_t interrupts = 0;       // cumulative, taken by the guest CPU
    uint64_t notifies = 0;         // cumulative QueueNotify writes
    uint64_t dma_bytes = 0;        // cumulative device DMA
    uint64_t bus_transactions = 0;  // cumulative, on this guest's bus
    // Written only when Recording::free_page_columns (a device offering FREE_PAGE_HINT,
    // PAGE_POISON or PAGE_REPORTING).
    uint64_t reported_bytes = 0;                 // free guest memory in reported blocks
    uint64_t hinted_bytes = 0;                   // guest memory held by free page hinting
    uint64_t host_freed_by_reporting_bytes = 0;  // cumulative host memory reporting returned
    uint64_t host_freed_by_balloon_bytes = 0;    // cumulative host memory inflates returned
    // Host swap (written only when the host has swap): cumulative.
    uint64_t swap_in_bytes = 0;
    uint64_t swap_out_bytes = 0;
    uint64_t swap_stall_ns = 0;
    uint64_t host_killed = 0;  // 1 once the host's OOM killer killed the guest
};

struct Sample {
    sc_core::sc_time time = sc_core::SC_ZERO_TIME;
    int64_t host_free_bytes = 0;  // negative when the host is overcommitted and short
    uint64_t host_swap_used_bytes = 0;
    uint64_t host_oom_kills = 0;      // cumulative
    std::vector<GuestSample> guests;  // same order as Recording::guest_names

    Sample() = default;
    Sample(const Sample&) = default;
    Sample& operator=(const Sample&) = default;
    // sc_time's move is not noexcept: without these a growing sample list would copy every
    // sample's guest list (for 1,000 guests, the whole recording twice over at each growth).
    Sample(Sample&&) noexcept = default;
    Sample& operator=(Sample&&) noexcept = default;
};

struct EventRecord {
    sc_core::sc_time time = sc_core::SC_ZERO_TIME;
    std::string guest;  // empty for host-wide events
    std::string what;   // e.g. "set target 131072 pages", "freeze", "auto policy: 1000 -> 2000"
};

struct Recording {
    bool host_swap = false;  // the host has swap: timeseries.csv carries its columns
    std::vector<std::string> guest_names;
    std::vector<uint64_t> guest_ram_bytes;
    bool free_page_columns = false;  // some guest's device offers the newer balloon features
    uint64_t host_ram_bytes = 0;
    std::vector<Sample> samples;
    std::vector<EventRecord> events;
};

// Simulated time by where it went (platform/run/time_split.h; docs/timing-defaults.md).
struct TimeSplit {
    sc_core::sc_time allocation = sc_core::SC_ZERO_TIME;   // guest alloc (inflate), free (deflate)
    sc_core::sc_time translation = sc_core::SC_ZERO_TIME;  // PFN bookkeeping, address translation
    sc_core::sc_time sending = sc_core::SC_ZERO_TIME;      // transport: exit, ring, notify, pop
    sc_core::sc_time host_work = sc_core::SC_ZERO_TIME;    // host per-buffer and per-page madvise
    sc_core::sc_time retry_wait = sc_core::SC_ZERO_TIME;   // allocation retry delays
    sc_core::sc_time interrupt_wait = sc_core::SC_ZERO_TIME;  // interrupt latency and entry
    sc_core::sc_time other = sc_core::SC_ZERO_TIME;  // the rest: per-round work, registers, idle

    sc_core::sc_time explained() const {
        return allocation + translation + sending + host_work + retry_wait + interrupt_wait;
    }
    sc_core::sc_time total() const { return explained() + other; }
};

// One target change and when the guest got there (actual == target).
struct TargetEpisode {
    sc_core::sc_time set_at = sc_core::SC_ZERO_TIME;
    uint64_t from_pages = 0;
    uint64_t to_pages = 0;
    uint64_t aligned_to_pages = 0;  // to_pages in whole guest pages: what `actual` reaches
    bool reached = false;
    sc_core::sc_time reached_at = sc_core::SC_ZERO_TIME;
    // From set_at to reached_at; for an episode never reached, to the next target change or
    // the end of the run.
    TimeSplit split;
};

// A value the driver wrote into `actual`, and when.
struct ActualChange {
    sc_core::sc_time at = sc_core::SC_ZERO_TIME;
    uint64_t pages = 0;
};

// Buffers by the number of PFNs they carried: PFNs -> buffers.
using PfnsPerBuffer = std::map<uint64_t, uint64_t>;

// "256:128 12:1" (PFNs:buffers, largest first), or "-" for none.
inline std::string describe_pfns_per_buffer(const PfnsPerBuffer& histogram) {
    std::string text;
    for (auto it = histogram.rbegin(); it != histogram.rend(); ++it) {
        text += (text.empty() ? "" : " ") + std::to_string(it->first) + ":" +
                std::to_string(it->second);
    }
    return text.empty() ? "-" : text;
}

// One process of a guest's workload, for the OOM killer's outcome.
struct ProcessSummary {
    std::string name;
    uint64_t oom_killed = 0;   // times the guest's OOM killer chose it
    uint64_t freed_bytes = 0;  // freed by those kills
    uint64_t restarts = 0;
    uint64_t final_bytes = 0;  // anonymous memory held at the end
    bool alive = true;
};

struct GuestSummary {
    std::string name;
    uint64_t ram_bytes = 0;
    uint32_t page_size = 4096;
    uint32_t transport_version = 2;
    std::string negotiated_features;  // e.g. "MUST_TELL_HOST STATS_VQ DEFLATE_ON_OOM EVENT_IDX"
    uint64_t final_target_pages = 0;
    uint64_t final_actual_pages = 0;
    uint64_t final_ballooned_pages = 0;
    uint64_t pages_inflated = 0;
    uint64_t pages_deflated = 0;
    uint64_t inflate_buffers = 0;
    uint64_t deflate_buffers = 0;
    // 4 KiB pages per simulated second spent moving them: each round from the driver starting
    // it to the device's acknowledgement (platform/assembly/balloon_rate_meter.h); every deflate
    // counts, OOM releases and the drain before freeze or remove included. 0 when none moved.
    double inflate_rate_pages_per_s = 0.0;
    double deflate_rate_pages_per_s = 0.0;
    std::vector<TargetEpisode> episodes;
    std::vector<ActualChange> actual_changes;  // in time order
    uint64_t notifies = 0;
    uint64_t interrupts = 0;
    uint64_t config_changes = 0;
    uint64_t bus_transactions = 0;
    double bus_utilisation = 0.0;  // busy time / simulated time, guest RAM region
    uint64_t dma_bytes = 0;
    uint64_t oom_kills = 0;
    uint64_t oom_deferred = 0;
    uint64_t oom_deflations = 0;
    // The workload's processes; written to summary.json only when there are several or the
    // OOM killer struck (one process "main" otherwise).
    std::vector<ProcessSummary> processes;
    uint64_t alloc_stalls = 0;
    uint64_t balloon_alloc_failures = 0;
    uint64_t retries = 0;
    uint64_t stats_updates = 0;
    uint64_t actual_writes = 0;  // `actual` updates by the driver (one per round)
    uint64_t rounds = 0;         // inflate + deflate buffers the driver sent
    uint64_t invalid_pfns = 0;
    uint64_t needs_reset_events = 0;
    // What the device and transport saw (for comparison with QEMU's traces).
    uint64_t inflate_notifies = 0;  // QueueNotify per queue
    uint64_t deflate_notifies = 0;
    uint64_t stats_notifies = 0;
    uint64_t used_buffer_interrupts = 0;  // raised by the transport, by cause
    uint64_t config_interrupts = 0;
    PfnsPerBuffer inflate_pfns_per_buffer;
    PfnsPerBuffer deflate_pfns_per_buffer;
    uint64_t guest_errors = 0;    // tolerated driver misbehaviour (QEMU's -d guest_errors)
    uint64_t early_notifies = 0;  // kicks before DRIVER_OK, served at DRIVER_OK
    std::string driver_state;     // running, frozen, removed, failed
    // FREE_PAGE_HINT / PAGE_POISON / PAGE_REPORTING, shown only when the device offers one.
    bool free_page_features = false;
    uint64_t report_buffers = 0;                 // reporting_vq buffers
    uint64_t pages_reported = 0;                 // 4 KiB pages reported and discarded by the host
    uint64_t pages_kept_for_poison = 0;          // reported while poison_val != 0: kept
    uint64_t reported_pages_final = 0;           // 4 KiB pages free and reported at the end
    uint64_t reported_blocks_reused = 0;         // reported blocks the guest allocated again
    uint64_t hint_rounds = 0;                    // rounds the host started
    uint64_t hinted_pages = 0;                   // 4 KiB pages hinted inside started rounds
    uint64_t host_pages_freed_by_reporting = 0;  // resident host pages reporting returned
    uint64_t host_pages_freed_by_balloon = 0;    // resident host pages inflates returned
    uint32_t poison_val = 0;
    // The host side of memory pressure (written when the host has swap or killed a guest).
    uint64_t host_swap_in_bytes = 0;
    uint64_t host_swap_out_bytes = 0;
    sc_core::sc_time host_swap_stall = sc_core::SC_ZERO_TIME;  // guest time lost to host swap
    uint64_t host_killed = 0;  // 1 once the host's OOM killer killed the guest
};

struct CheckResult {
    std::string name;
    bool passed = false;
    std::string measured;  // human-readable, e.g. "1.84 s"
    std::string bound;     // e.g. "< 2 s"
};

struct RunSummary {
    std::string scenario;
    std::string description;
    uint64_t seed = 0;
    sc_core::sc_time simulated_time = sc_core::SC_ZERO_TIME;
    uint64_t host_ram_bytes = 0;
    int64_t host_free_min_bytes = 0;
    sc_core::sc_time host_free_min_at = sc_core::SC_ZERO_TIME;
    int64_t host_free_final_bytes = 0;
    double overcommit_ratio = 0.0;
    bool host_swap = false;
    uint64_t host_swap_max_used_bytes = 0;
    uint64_t host_oom_kills = 0;
    std::vector<GuestSummary> guests;
    std::vector<CheckResult> checks;

    // Filled only with --profile: wall-clock figures vary run to run.
    bool has_profile = false;
    double wall_seconds = 0.0;
    double pages_per_wall_second = 0.0;
    double transactions_per_wall_second = 0.0;

    bool all_checks_passed() const {
        for (const CheckResult& check : checks) {
            if (!check.passed) {
                return false;
            }
        }
        return true;
    }
};

}  // namespace vbsim::platform
