#pragma once

// The typed form of a scenario file (YAML keys map onto these names one to one; see
// docs/scenario-reference.md). Every field has the documented default, so a scenario
// writes only what it changes. Sizes are bytes, times sc_time, rates per second.

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>

namespace vbsim::platform {

// ---- platform: the hardware every guest gets -------------------------------------

struct BusConfig {
    sc_core::sc_time hop_latency = sc_core::sc_time(5, sc_core::SC_NS);
};

struct MemoryTimingConfig {
    sc_core::sc_time read_latency = sc_core::sc_time(20, sc_core::SC_NS);
    sc_core::sc_time write_latency = sc_core::sc_time(20, sc_core::SC_NS);
    double bandwidth_bytes_per_ns = 16.0;  // YAML: bandwidth: 16GB/s style or bytes_per_ns
    bool dmi = true;
};

struct CpuConfig {
    sc_core::sc_time quantum = sc_core::sc_time(10, sc_core::SC_US);
    sc_core::sc_time interrupt_entry_cost = sc_core::sc_time(1, sc_core::SC_US);
};

struct BalloonDeviceConfig {
    uint64_t mmio_base = 0x10001000;
    uint32_t transport_version = 2;  // 1 legacy, 2 modern
    // Feature names: must_tell_host, stats_vq, deflate_on_oom, free_page_hint, page_poison,
    // page_reporting.
    std::vector<std::string> offered_features = {"must_tell_host", "stats_vq", "deflate_on_oom"};
    uint32_t queue_num_max = 128;
    // Host-side time per PFN buffer, per direction (sources: docs/timing-defaults.md).
    struct BufferCosts {
        sc_core::sc_time transport_cost;
        sc_core::sc_time host_per_buffer_cost;
        sc_core::sc_time host_per_page_cost;
    };
    BufferCosts inflate{sc_core::sc_time(385, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                        sc_core::sc_time(430, sc_core::SC_NS)};
    BufferCosts deflate{sc_core::sc_time(78, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                        sc_core::sc_time(20, sc_core::SC_NS)};
    // reporting_vq (the host discards what is reported, as inflate's madvise) and
    // free_page_vq (the host only notes the hints).
    BufferCosts report{sc_core::sc_time(385, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                       sc_core::sc_time(430, sc_core::SC_NS)};
    BufferCosts hint{sc_core::sc_time(78, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                     sc_core::sc_time(20, sc_core::SC_NS)};
    sc_core::sc_time stats_poll_interval = sc_core::sc_time(1, sc_core::SC_SEC);  // 0 = off
    sc_core::sc_time interrupt_latency = sc_core::sc_time(1, sc_core::SC_US);
    sc_core::sc_time register_latency = sc_core::sc_time(50, sc_core::SC_NS);
};

struct PlatformSection {
    BusConfig bus;
    MemoryTimingConfig memory;
    CpuConfig cpu;
    BalloonDeviceConfig balloon;  // default for every guest; a guest may override it
};

// ---- guests -----------------------------------------------------------------------

struct WatermarkConfig {  // 0 = derive as Linux does
    uint64_t min_bytes = 0;
    uint64_t low_bytes = 0;
    uint64_t high_bytes = 0;
};

struct DriverConfig {
    std::vector<std::string> features = {"must_tell_host", "stats_vq", "deflate_on_oom"};
    bool event_idx = true;
    uint32_t queue_size = 128;
    uint32_t pfns_per_round = 256;
    sc_core::sc_time retry_delay = sc_core::sc_time(200, sc_core::SC_MS);
    uint32_t oom_release_pages = 256;  // 4 KiB pages per OOM notification
    // Guest CPU time per page (sources: docs/timing-defaults.md).
    sc_core::sc_time alloc_cost_per_page = sc_core::sc_time(145, sc_core::SC_NS);
    sc_core::sc_time free_cost_per_page = sc_core::sc_time(50, sc_core::SC_NS);
    sc_core::sc_time translate_cost_per_page = sc_core::sc_time(133, sc_core::SC_NS);
    sc_core::sc_time cpu_cost_per_round = sc_core::sc_time(2, sc_core::SC_US);
    // What freed pages hold: none, poison (Linux page_poison=1, 0xaa) or init_on_free (zero).
    std::string free_page_init = "none";
    // PAGE_REPORTING: block size reported (Linux: 2 MiB) and the delay before a pass (2 s).
    uint64_t reporting_block_bytes = uint64_t{2} << 20;
    sc_core::sc_time reporting_delay = sc_core::sc_time(2, sc_core::SC_SEC);
    // FREE_PAGE_HINT: block size hinted (Linux: 4 MiB, MAX_ORDER - 1).
    uint64_t hint_block_bytes = uint64_t{4} << 20;
};

enum class PhaseKind { kAllocate, kFree, kHold, kCache, kTouch };

struct WorkloadPhaseConfig {
    PhaseKind kind = PhaseKind::kHold;
    double rate_bytes_per_second = 0.0;
    uint64_t level_bytes = 0;
    sc_core::sc_time duration = sc_core::SC_ZERO_TIME;  // 0 = until the level is reached
};

struct WorkloadConfig {
    sc_core::sc_time tick = sc_core::sc_time(1, sc_core::SC_MS);
    sc_core::sc_time cpu_cost_per_page = sc_core::sc_time(250, sc_core::SC_NS);
    bool repeat = false;
    std::vector<WorkloadPhaseConfig> phases;
};

struct GuestConfig {
    std::string name;
    uint64_t ram_bytes = 0;  // required
    uint64_t ram_base = 0x80000000;
    uint32_t page_size = 4096;  // 4, 16 or 64 KiB
    // Guest RAM the host has already backed at start (a booted guest has touched some).
    uint64_t resident_at_start_bytes = 0;
    WatermarkConfig watermarks;
    DriverConfig driver;
    WorkloadConfig workload;
    bool has_balloon_override = false;
    BalloonDeviceConfig balloon;  // the platform's, with this guest's overrides applied
};

// ---- host ---------------------------------------------------------------------------

enum class PolicyKind { kNone, kTimeline, kAuto };

// A target the host sets at a time. Exactly one of the three forms is used.
struct TargetSpec {
    enum class Form { kBalloonPages, kBalloonBytes, kGuestRamBytes } form = Form::kBalloonPages;
    uint64_t value = 0;
};

struct TimelineEntry {
    sc_core::sc_time at = sc_core::SC_ZERO_TIME;
    std::string guest;  // name
    TargetSpec target;
};

// oVirt MOM's balloon rules; defaults are MOM's (see memory-pressure-facts.md).
struct AutoPolicyConfig {
    sc_core::sc_time interval = sc_core::sc_time(10, sc_core::SC_SEC);
    double pressure_threshold = 0.20;  // host free fraction below which guests shrink
    double min_guest_free_percent = 0.20;
    double max_balloon_change_percent = 0.05;
    double min_balloon_change_percent = 0.0025;
};

struct HostConfig {
    uint64_t ram_bytes = 0;  // required
    uint64_t reserved_bytes = 0;
    PolicyKind policy = PolicyKind::kNone;
    std::vector<TimelineEntry> timeline;
    AutoPolicyConfig auto_policy;
};

// ---- events and checks --------------------------------------------------------------

enum class EventKind {
    kSetTarget,
    kWorkload,  // replace a guest's workload phases
    kStatsRequest,
    kFreeze,
    kRestore,
    kRemove,
    kDeviceReset,
    // FREE_PAGE_HINT, as QEMU around a migration: a new command id (start), STOP, DONE.
    kFreePageHintStart,
    kFreePageHintStop,
    kFreePageHintDone,
};

struct EventConfig {
    sc_core::sc_time at = sc_core::SC_ZERO_TIME;
    EventKind kind = EventKind::kSetTarget;
    std::string guest;
    TargetSpec target;                        // kSetTarget
    std::vector<WorkloadPhaseConfig> phases;  // kWorkload
};

enum class CheckKind {
    kActualReachesTargetBy,  // guest's actual == target by `at`
    kNoOomKills,             // guest (or every guest) had no OOM kill
    kMaxOomKills,            // at most `bound` OOM kills
    kTimeToTargetBelow,      // every target change settled within `bound_time`
    kTimeToTargetAbove,      // every target change reached took at least `bound_time`
    kHostFreeNeverBelow,     // host free memory stayed >= bound bytes
    kInflateRateAbove,       // pages/s of simulated time, while inflating
    kBallooned,              // ballooned pages at `at` (or end) equal `bound`
    kCounterAtLeast,         // a named summary counter >= bound
    kCounterAtMost,          // a named summary counter <= bound
};

struct CheckConfig {
    std::string name;  // shown when it fails; defaults to kind + guest
    CheckKind kind = CheckKind::kNoOomKills;
    std::string guest;    // empty = every guest
    std::string counter;  // for kCounterAtLeast/AtMost
    double bound = 0.0;
    sc_core::sc_time bound_time = sc_core::SC_ZERO_TIME;
    sc_core::sc_time at = sc_core::SC_ZERO_TIME;  // 0 = end of run
};

struct OutputConfig {
    std::string directory;  // empty: vbsim-out/<the scenario name as a folder name>
    sc_core::sc_time sample_interval = sc_core::sc_time(1, sc_core::SC_MS);
    bool timeseries_csv = true;
    bool summary_json = true;
    bool trace_vcd = true;
    bool report_html = true;
    // The register and transaction trace: mmio.csv per guest and timeline.json (off: untraced
    // runs install no observer).
    bool trace = false;
};

struct ScenarioConfig {
    std::string source;  // file it came from
    std::string name;
    std::string description;
    uint64_t seed = 1;
    sc_core::sc_time duration = sc_core::sc_time(1, sc_core::SC_SEC);
    PlatformSection platform;
    std::vector<GuestConfig> guests;
    HostConfig host;
    std::vector<EventConfig> events;
    std::vector<CheckConfig> checks;
    OutputConfig output;
};

}  // namespace vbsim::platform
