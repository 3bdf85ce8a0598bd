#pragma once

// Host-side balloon policies: who decides the balloon targets of the guests. They see
// guests through PolicyGuest and the host through HostFreeSource, so they know nothing
// of scenarios or the platform and can be tested with fakes.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/host/host_memory.h"
#include "models/timing/observation_clock.h"

namespace vbsim::models {

// What a policy may know of and do to one guest.
class PolicyGuest {
  public:
    virtual ~PolicyGuest() = default;
    virtual const std::string& name() const = 0;
    virtual uint64_t ram_bytes() const = 0;
    // Balloon sizes in 4 KiB pages: the host's request and what the driver reports.
    virtual uint32_t target_pages() const = 0;
    virtual uint32_t actual_pages() const = 0;
    // The last statistics the driver sent (values in bytes); valid == false until then.
    virtual const BalloonStats& stats() const = 0;
    virtual void set_target_pages(uint32_t pages) = 0;
};

// The usual PolicyGuest: a balloon device; guest RAM is what the device covers.
class BalloonDeviceGuest : public PolicyGuest {
  public:
    BalloonDeviceGuest(std::string name, BalloonDevice& device)
        : name_(std::move(name)), device_(device) {}

    const std::string& name() const override { return name_; }
    uint64_t ram_bytes() const override { return device_.guest_ram_total_bytes(); }
    uint32_t target_pages() const override { return device_.target_pages(); }
    uint32_t actual_pages() const override { return device_.actual_pages(); }
    const BalloonStats& stats() const override { return device_.last_stats(); }
    void set_target_pages(uint32_t pages) override { device_.set_target_pages(pages); }

  private:
    std::string name_;
    BalloonDevice& device_;
};

// Host free memory as the auto policy samples it. Free may be negative (overcommitted).
struct HostFreeSource {
    std::function<int64_t()> free_bytes;
    uint64_t ram_bytes = 0;  // the fraction's denominator; must not be zero

    static HostFreeSource of(const HostMemory& host) {
        return {[&host] { return host.host_free_bytes(); }, host.host_ram_bytes()};
    }
};

enum class PolicyAction { kTimeline, kShrink, kGrow };
const char* to_string(PolicyAction action);

// One target change a policy made, for reports.
struct PolicyDecision {
    sc_core::sc_time time = sc_core::SC_ZERO_TIME;
    std::string guest;
    uint32_t old_target_pages = 0;
    uint32_t new_target_pages = 0;
    PolicyAction action = PolicyAction::kTimeline;
    std::string reason;
    std::optional<double> host_free_fraction;  // the value decided on; none for the timeline
    // Auto policy only: the guest's memory as the rule saw it, in bytes.
    uint64_t visible_bytes = 0;      // RAM minus the balloon (actual)
    uint64_t used_bytes = 0;         // visible minus the guest's free memory
    uint64_t new_visible_bytes = 0;  // RAM minus the new target
};

// Common part: the guests, applying a target, and the decision log.
class BalloonPolicy : public sc_core::sc_module {
  public:
    using DecisionListener = std::function<void(const PolicyDecision&)>;

    const std::vector<PolicyGuest*>& guests() const { return guests_; }
    const std::vector<PolicyDecision>& decisions() const { return decisions_; }
    // Called after each decision is applied, e.g. for a live log.
    void on_decision(DecisionListener listener) { listeners_.push_back(std::move(listener)); }
    // Before the simulation starts: the policy's wake-ups then wait through `clock`, so they
    // run after everything else at their instant (in `rank` order with other observers).
    void use_observation_clock(ObservationClock& clock, unsigned int rank);

  protected:
    // Guests are not owned and must outlive the policy; none may be null.
    BalloonPolicy(const sc_core::sc_module_name& name, std::vector<PolicyGuest*> guests);

    // Sets the guest's target and records the decision.
    void apply(PolicyGuest& guest, PolicyDecision decision);
    // Returns at `at` (or at once, when it has passed): through the observation clock when
    // one is set, else a plain timed wait.
    void wait_until(const sc_core::sc_time& at);

  private:
    std::vector<PolicyGuest*> guests_;
    std::vector<PolicyDecision> decisions_;
    std::vector<DecisionListener> listeners_;
    ObservationClock* clock_ = nullptr;
    ObservationClock::ObserverId clock_id_ = 0;
};

// ---- timeline -------------------------------------------------------------------------

struct TimelineTarget {
    sc_core::sc_time at = sc_core::SC_ZERO_TIME;
    std::string guest;  // a PolicyGuest name
    uint32_t target_pages = 0;
};

// Sets fixed targets at fixed simulated times. Entries at the same time are applied in
// the order given; an unknown guest name is an SC_REPORT_ERROR at construction.
class TimelinePolicy : public BalloonPolicy {
  public:
    TimelinePolicy(const sc_core::sc_module_name& name, std::vector<PolicyGuest*> guests,
                   std::vector<TimelineTarget> timeline);

    // Sorted by time, equal times in the given order.
    const std::vector<TimelineTarget>& timeline() const { return timeline_; }
    size_t applied_count() const { return next_; }

  private:
    void run();

    std::vector<TimelineTarget> timeline_;
    std::vector<PolicyGuest*> targets_;  // guest of each timeline_ entry
    size_t next_ = 0;
};

// ---- auto (oVirt MOM balloon rules) ----------------------------------------------------

// Which statistic counts as the guest's unused memory. MOM uses MemFree ("mem_unused");
// MemAvailable also counts reclaimable cache, so it shrinks guests harder.
enum class GuestFreeStat { kMemFree, kAvailable };

// Names and defaults as platform::AutoPolicyConfig and MOM's balloon.rules.
struct AutoBalloonPolicyParams {
    sc_core::sc_time interval = sc_core::sc_time(10, sc_core::SC_SEC);
    double pressure_threshold = 0.20;  // host free fraction below which guests shrink
    double min_guest_free_percent = 0.20;
    double max_balloon_change_percent = 0.05;
    double min_balloon_change_percent = 0.0025;
    // Host free memory is sampled this many times per interval (MOM: every 5 s of 10 s) and
    // a round decides on the mean of the last `averaged_samples` samples. MOM averages 10
    // samples (50 s) to smooth a real host's noise; the model's host is exact, so the
    // default looks at the current interval only and the policy reacts within one round.
    unsigned samples_per_interval = 2;
    unsigned averaged_samples = 2;
    GuestFreeStat guest_free_stat = GuestFreeStat::kMemFree;
    // false (MOM): under pressure every guest shrinks. true: guests shrink most-free first
    // only until the planned reductions cover the deficit to pressure_threshold.
    bool reclaim_only_deficit = false;
};

struct AutoBalloonCounters {
    uint64_t rounds = 0;
    uint64_t pressure_rounds = 0;       // host free below the threshold
    uint64_t targets_changed = 0;       // decisions applied
    uint64_t skipped_no_stats = 0;      // guest had not sent the free-memory statistic
    uint64_t skipped_small_change = 0;  // at most min_balloon_change_percent of visible
    uint64_t skipped_no_room = 0;       // under pressure, but the guest has nothing to spare
    uint64_t skipped_relieved = 0;      // reclaim_only_deficit: earlier guests were enough
};

// Every `interval`, compares host free memory with pressure_threshold, then moves each
// guest's visible memory (RAM − balloon) as MOM's balloon.rules do:
//   used = visible − unused (the guest's free-memory statistic)
//   pressure:  new = max(visible·(1 − max_change), used + min_guest_free·visible), only if
//              new <= visible (a guest short of memory is left alone, never grown)
//   otherwise: new = min(RAM, max(visible·(1 + max_change), used + min_guest_free·visible))
//   applied only if |new − visible| > min_change·visible;
//   target = floor((RAM − new) / 4 KiB), so the guest keeps at least `new`.
// "visible" uses the balloon the driver reports (actual), as MOM uses libvirt's current
// balloon, so a slow guest is not pushed further than it has gone.
// Order: under pressure guests shrink most-free first (free bytes from their stats), so the
// guests with the most to spare get their requests first and, with reclaim_only_deficit,
// are the only ones asked; when growing, least-free first, as they need memory most.
// Guests without the statistic are skipped.
class AutoBalloonPolicy : public BalloonPolicy {
  public:
    AutoBalloonPolicy(const sc_core::sc_module_name& name, const AutoBalloonPolicyParams& params,
                      HostFreeSource host, std::vector<PolicyGuest*> guests);

    // One round at host free fraction `host_free_fraction`; the thread calls it every
    // interval with the sample mean. Public so the rules can be driven without the clock.
    void evaluate(double host_free_fraction);

    const AutoBalloonPolicyParams& params() const { return params_; }
    const AutoBalloonCounters& counters() const { return counters_; }
    // The fraction the last round decided on; none before the first round.
    std::optional<double> last_host_free_fraction() const { return last_fraction_; }

  private:
    struct Candidate {
        PolicyGuest* guest = nullptr;
        double unused = 0;
    };

    void run();
    void sample();
    double sample_mean() const;
    // Plans and applies one guest; returns the visible bytes it gives up (0 if unchanged).
    double adjust(PolicyGuest& guest, double unused, bool pressure, double fraction);

    AutoBalloonPolicyParams params_;
    HostFreeSource host_;
    AutoBalloonCounters counters_;
    std::deque<double> samples_;  // host free fractions, newest last
    std::optional<double> last_fraction_;
};

// ---- balance_available (ChromeOS concierge) --------------------------------------------

// Defaults: ChromeOS's BalanceAvailableBalloonPolicy (memory-pressure-facts.md); host_critical
// is an assumption (ChromeOS takes it from the host's low-memory margin).
struct BalanceAvailablePolicyParams {
    sc_core::sc_time interval = sc_core::sc_time(1, sc_core::SC_SEC);
    uint64_t guest_critical_bytes = uint64_t{400} << 20;  // guest MemAvailable kept free
    double host_critical_fraction = 0.05;                 // of host RAM, kept free on the host
    uint64_t margin_bytes = uint64_t{10} << 20;           // smaller moves are skipped
    double min_change_fraction = 0.01;                    // of guest RAM: smaller moves are skipped
    double max_balloon_fraction = 0.75;  // the balloon never exceeds this share of the guest
};

struct BalanceAvailableCounters {
    uint64_t rounds = 0;
    uint64_t targets_changed = 0;
    uint64_t skipped_no_stats = 0;      // no MemAvailable statistic yet
    uint64_t skipped_small_change = 0;  // within the margin or 1 % of the guest
};

// Every `interval`, for each guest in turn, balances the memory above critical between the
// guest and the host: with guest_above = MemAvailable − guest_critical and host_above =
// host free − host_critical, the balloon moves by (guest_above − host_above) / 2 (inflate
// when the guest has more to spare), between 0 and max_balloon_fraction of the guest's RAM,
// only if the move exceeds the margin and min_change_fraction of the guest. A move counts
// towards host_above for the guests after it in the same round, so several guests do not all
// answer the same shortage.
class BalanceAvailablePolicy : public BalloonPolicy {
  public:
    BalanceAvailablePolicy(const sc_core::sc_module_name& name,
                           const BalanceAvailablePolicyParams& params, HostFreeSource host,
                           std::vector<PolicyGuest*> guests);

    // One round now; the thread calls it every interval.
    void evaluate();

    const BalanceAvailablePolicyParams& params() const { return params_; }
    const BalanceAvailableCounters& counters() const { return counters_; }

  private:
    void run();

    BalanceAvailablePolicyParams params_;
    HostFreeSource host_;
    BalanceAvailableCounters counters_;
};

}  // namespace vbsim::models
