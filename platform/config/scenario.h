#pragma once

// The typed form of a scenario file (YAML keys map onto these names one to one; see
// docs/scenario-reference.md): what is the scenario's own (guests, workloads, host and its
// policy, events, checks, output). The models' parameters are in
// platform/config/model_parameters.h; each guest carries their values. Every field has the
// documented default, so a scenario writes only what it changes. Sizes are bytes, times sc_time,
// rates per second.

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>

#include "platform/config/model_parameters.h"

namespace vbsim::platform {

// ---- guests -----------------------------------------------------------------------

struct WatermarkConfig {  // 0 = derive as Linux does
    uint64_t min_bytes = 0;
    uint64_t low_bytes = 0;
    uint64_t high_bytes = 0;
};

enum class PhaseKind { kAllocate, kFree, kHold, kCache, kTouch };

struct WorkloadPhaseConfig {
    PhaseKind kind = PhaseKind::kHold;
    double rate_bytes_per_second = 0.0;
    uint64_t level_bytes = 0;
    sc_core::sc_time duration = sc_core::SC_ZERO_TIME;  // 0 = until the level is reached
};

// One process of a guest's workload: the OOM killer picks among them.
struct ProcessConfig {
    std::string name;
    bool repeat = false;
    std::vector<WorkloadPhaseConfig> phases;
    // After an OOM kill the process starts over this long later; unset: it stays dead.
    bool restarts = false;
    sc_core::sc_time restart_after = sc_core::SC_ZERO_TIME;
};

struct WorkloadConfig {
    sc_core::sc_time tick = sc_core::sc_time(1, sc_core::SC_MS);
    sc_core::sc_time cpu_cost_per_page = sc_core::sc_time(250, sc_core::SC_NS);
    // The one-process form (YAML `phases`, `repeat`, `restart_after`): process "main".
    bool repeat = false;
    std::vector<WorkloadPhaseConfig> phases;
    bool restarts = false;
    sc_core::sc_time restart_after = sc_core::SC_ZERO_TIME;
    // The several-process form (YAML `processes`); when given, the fields above are unused.
    std::vector<ProcessConfig> processes;

    // The processes to run: `processes`, or the one-process form as process "main".
    std::vector<ProcessConfig> process_list() const {
        if (!processes.empty()) {
            return processes;
        }
        return {ProcessConfig{"main", repeat, phases, restarts, restart_after}};
    }
};

struct GuestConfig {
    std::string name;
    uint64_t ram_bytes = 0;  // required
    uint64_t ram_base = 0x80000000;
    uint32_t page_size = 4096;  // 4, 16 or 64 KiB
    // Guest RAM the host has already backed at start (a booted guest has touched some).
    uint64_t resident_at_start_bytes = 0;
    WatermarkConfig watermarks;
    WorkloadConfig workload;
    // The models' parameters (platform/config/model_parameters.h): the platform section's values,
    // with this guest's and the command line's presets applied.
    BusConfig bus = default_model_parameters().bus;
    MemoryTimingConfig memory = default_model_parameters().memory;
    CpuConfig cpu = default_model_parameters().cpu;
    BalloonDeviceConfig balloon = default_model_parameters().balloon;
    DriverConfig driver = default_model_parameters().driver;
    // The presets the scenario gave this guest's parameters, in the order applied.
    std::vector<ParameterPreset> parameter_presets;
};

// ---- host ---------------------------------------------------------------------------

enum class PolicyKind { kNone, kTimeline, kAuto, kBalanceAvailable };

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

// The host's swap (defaults: docs/timing-defaults.md). Size 0: no swap, so an overcommitted
// host's OOM killer kills the guest with the most resident memory.
struct HostSwapConfig {
    uint64_t size_bytes = 0;
    double swap_in_bytes_per_second = 500e6;
    double swap_out_bytes_per_second = 500e6;
    sc_core::sc_time swap_in_latency = sc_core::sc_time(100, sc_core::SC_US);
    sc_core::sc_time swap_out_latency = sc_core::sc_time(100, sc_core::SC_US);
};

// ChromeOS concierge's balance_available; defaults from memory-pressure-facts.md.
struct BalanceAvailableConfig {
    sc_core::sc_time interval = sc_core::sc_time(1, sc_core::SC_SEC);
    uint64_t guest_critical_bytes = uint64_t{400} << 20;
    double host_critical_fraction = 0.05;  // of host RAM [A]
    uint64_t margin_bytes = uint64_t{10} << 20;
};

struct HostConfig {
    uint64_t ram_bytes = 0;  // required
    uint64_t reserved_bytes = 0;
    HostSwapConfig swap;
    PolicyKind policy = PolicyKind::kNone;
    std::vector<TimelineEntry> timeline;
    AutoPolicyConfig auto_policy;
    BalanceAvailableConfig balance_available;
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
    std::vector<GuestConfig> guests;
    HostConfig host;
    std::vector<EventConfig> events;
    std::vector<CheckConfig> checks;
    OutputConfig output;
};

}  // namespace vbsim::platform
