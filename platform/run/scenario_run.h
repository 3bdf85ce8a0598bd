#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>

#include "models/host/balloon_policy.h"
#include "models/host/host_memory.h"
#include "models/timing/observation_clock.h"
#include "models/tracing/watched_signal.h"
#include "platform/assembly/guest_node.h"
#include "platform/config/scenario.h"
#include "platform/run/recording.h"

namespace vbsim::platform {

class TargetTracker;
class VcdSink;
class VcdWriter;

// A whole scenario, elaborated: the host pool, every guest node, the host's balloon
// policy, the scenario's event timeline and the sampler that records what happens.
// One per process (SystemC elaborates once).
class ScenarioRun : public sc_core::sc_module {
  public:
    ScenarioRun(const sc_core::sc_module_name& name, const ScenarioConfig& config);
    ~ScenarioRun() override;

    // Simulates config.duration. `progress` prints a status line to stderr now and then.
    void run(bool progress);
    // Closes the VCD trace (with a fixed date line, so reruns are byte-identical). Returns an
    // empty string, or why trace.vcd could not be written completely.
    std::string finish();

    const ScenarioConfig& config() const { return config_; }
    const Recording& recording() const { return recording_; }
    // With output.trace: guest `index`'s mmio trace ("mmio.csv", or "mmio-<guest>.csv" when
    // there are several guests) and the timeline of every guest and the host.
    std::string mmio_trace_file_name(size_t index) const;
    void write_mmio_trace(size_t index, std::ostream& out) const;
    void write_timeline(std::ostream& out) const;
    // Summary of the finished run (its checks are the evaluate stage's:
    // platform/evaluate/check_evaluation.h).
    RunSummary summarize() const;

    models::HostMemory& host() { return host_; }
    GuestNode& guest(size_t index) { return *guests_[index]; }
    size_t guest_count() const { return guests_.size(); }
    const LookaheadGate& lookahead_gate() const { return lookahead_gate_; }

  private:
    void event_thread();
    void sampler_thread();
    void progress_thread();
    // Waits for the end of the run through the clock, so that no guest runs ahead past it.
    void end_thread();
    void apply(const EventConfig& event);
    size_t guest_index(const std::string& name) const;
    void take_sample();
    // The guest's columns of a sample, as it is now.
    GuestSample sample_guest(const GuestNode& node) const;
    // The sample times after `time` (sc_max_time(): none): every output.sample_interval
    // from 0 up to the duration.
    sc_core::sc_time next_sample_after(const sc_core::sc_time& time) const;
    void note(const std::string& guest, const std::string& what);
    // The host's OOM killer killed guest `id`: its CPU halts, the event list says so.
    void host_killed(models::GuestId id);
    // Adds the guests' OOM kills to the event list (report, timeline.json), in time order.
    void record_oom_kills();
    GuestSummary summarize_guest(size_t index) const;

    ScenarioConfig config_;
    // Before everything that waits through it: scenario events, the policy and the sampler
    // run at the end of their instant, in that order (see models::ObservationClock).
    models::ObservationClock observation_clock_;
    models::ObservationClock::ObserverId event_observer_ = 0;
    models::ObservationClock::ObserverId sampler_observer_ = 0;
    models::ObservationClock::ObserverId end_observer_ = 0;
    models::HostMemory host_;
    LookaheadGate lookahead_gate_;
    std::vector<std::unique_ptr<GuestNode>> guests_;
    // Per guest: its columns as it passed each sample time running ahead (in time order),
    // taken by the sampler at that time instead of the guest's state then.
    struct PassedSample {
        sc_core::sc_time time;
        GuestSample columns;
        uint64_t swap_used_bytes = 0;  // the guest's pages in the host's swap then
    };
    // A queue that keeps its storage: records come and go ten times a simulated second per
    // guest, and a deque would allocate and free a block for every couple of them.
    struct PassedSamples {
        std::vector<PassedSample> records;
        size_t first = 0;  // records before it were taken

        bool empty() const { return first == records.size(); }
        const PassedSample& front() const { return records[first]; }
        void pop_front() {
            if (++first == records.size()) {
                records.clear();
                first = 0;
            }
        }
    };
    std::vector<PassedSamples> passed_samples_;
    std::vector<std::unique_ptr<TargetTracker>> trackers_;
    std::vector<std::unique_ptr<models::BalloonDeviceGuest>> policy_guests_;
    std::unique_ptr<models::BalloonPolicy> policy_;
    std::vector<EventConfig> events_;  // sorted by time, file order kept for ties

    // Traced in trace.vcd alongside each guest's interrupt line.
    struct TraceSignals {
        models::WatchedSignal<uint64_t> target_pages;
        models::WatchedSignal<uint64_t> actual_pages;
        models::WatchedSignal<uint64_t> ballooned_pages;
        models::WatchedSignal<uint64_t> free_pages;
    };
    std::vector<std::unique_ptr<TraceSignals>> trace_signals_;
    models::WatchedSignal<int64_t> host_free_signal_;
    std::unique_ptr<VcdSink> vcd_sink_;  // before vcd_writer_: outlives the writing end
    std::unique_ptr<VcdWriter> vcd_writer_;
    Recording recording_;
    bool progress_ = false;
};

}  // namespace vbsim::platform
