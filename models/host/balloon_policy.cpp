#include "models/host/balloon_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <utility>

#include "models/timing/current_time.h"
#include "spec/virtio.h"

namespace vbsim::models {

namespace {

constexpr const char* kReportType = "vbsim/balloon_policy";
constexpr double kPageBytes = static_cast<double>(spec::balloon::kPageSize);

std::string percent(double fraction) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f%%", fraction * 100.0);
    return text;
}

uint64_t to_bytes(double value) {
    return value <= 0.0 ? 0 : static_cast<uint64_t>(std::llround(value));
}

}  // namespace

const char* to_string(PolicyAction action) {
    switch (action) {
        case PolicyAction::kTimeline:
            return "timeline";
        case PolicyAction::kShrink:
            return "shrink";
        case PolicyAction::kGrow:
            return "grow";
    }
    return "?";
}

// ---- BalloonPolicy --------------------------------------------------------------------

BalloonPolicy::BalloonPolicy(const sc_core::sc_module_name& name, std::vector<PolicyGuest*> guests)
    : sc_core::sc_module(name), guests_(std::move(guests)) {
    for (const PolicyGuest* guest : guests_) {
        if (guest == nullptr) {
            SC_REPORT_ERROR(kReportType, "a policy guest must not be null");
        }
    }
}

void BalloonPolicy::use_observation_clock(ObservationClock& clock, unsigned int rank) {
    clock_ = &clock;
    clock_id_ = clock.add_observer(rank);
}

void BalloonPolicy::wait_until(const sc_core::sc_time& at) {
    if (clock_ != nullptr) {
        clock_->wait_until(clock_id_, at);
    } else if (at > models::current_time()) {
        wait(at - models::current_time());
    }
}

void BalloonPolicy::apply(PolicyGuest& guest, PolicyDecision decision) {
    decision.time = models::current_time();
    decision.guest = guest.name();
    decision.old_target_pages = guest.target_pages();
    guest.set_target_pages(decision.new_target_pages);
    decisions_.push_back(std::move(decision));
    for (const DecisionListener& listener : listeners_) {
        listener(decisions_.back());
    }
}

// ---- TimelinePolicy -------------------------------------------------------------------

TimelinePolicy::TimelinePolicy(const sc_core::sc_module_name& name,
                               std::vector<PolicyGuest*> guests,
                               std::vector<TimelineTarget> timeline)
    : BalloonPolicy(name, std::move(guests)), timeline_(std::move(timeline)) {
    // Stable, so that entries at the same time keep the order they were written in.
    std::stable_sort(timeline_.begin(), timeline_.end(),
                     [](const TimelineTarget& a, const TimelineTarget& b) { return a.at < b.at; });
    targets_.reserve(timeline_.size());
    for (const TimelineTarget& entry : timeline_) {
        const auto found = std::find_if(
            this->guests().begin(), this->guests().end(),
            [&entry](const PolicyGuest* guest) { return guest->name() == entry.guest; });
        if (found == this->guests().end()) {
            SC_REPORT_ERROR(kReportType,
                            ("timeline names unknown guest '" + entry.guest + "'").c_str());
            return;
        }
        targets_.push_back(*found);
    }
    SC_HAS_PROCESS(TimelinePolicy);
    SC_THREAD(run);
}

void TimelinePolicy::run() {
    bool resumed = false;
    for (; next_ < timeline_.size(); ++next_) {
        const TimelineTarget& entry = timeline_[next_];
        // Entries at the instant already reached are applied together, in the given order.
        if (!resumed || entry.at > models::current_time()) {
            wait_until(entry.at);
            resumed = true;
        }
        PolicyDecision decision;
        decision.new_target_pages = entry.target_pages;
        decision.action = PolicyAction::kTimeline;
        decision.reason = "timeline";
        apply(*targets_[next_], std::move(decision));
    }
}

// ---- AutoBalloonPolicy ----------------------------------------------------------------

AutoBalloonPolicy::AutoBalloonPolicy(const sc_core::sc_module_name& name,
                                     const AutoBalloonPolicyParams& params, HostFreeSource host,
                                     std::vector<PolicyGuest*> guests)
    : BalloonPolicy(name, std::move(guests)), params_(params), host_(std::move(host)) {
    const auto fraction_ok = [](double value) { return value >= 0.0 && value <= 1.0; };
    if (params_.interval == sc_core::SC_ZERO_TIME) {
        SC_REPORT_ERROR(kReportType, "auto policy interval must not be zero");
    } else if (params_.samples_per_interval == 0 || params_.averaged_samples == 0) {
        SC_REPORT_ERROR(kReportType, "auto policy needs at least one host free sample");
    } else if (!host_.free_bytes || host_.ram_bytes == 0) {
        SC_REPORT_ERROR(kReportType, "auto policy needs a host free source and host RAM size");
    } else if (!fraction_ok(params_.pressure_threshold) ||
               !fraction_ok(params_.min_guest_free_percent) ||
               !fraction_ok(params_.max_balloon_change_percent) ||
               !fraction_ok(params_.min_balloon_change_percent)) {
        SC_REPORT_ERROR(kReportType, "auto policy fractions must lie in [0, 1]");
    }
    SC_HAS_PROCESS(AutoBalloonPolicy);
    SC_THREAD(run);
}

void AutoBalloonPolicy::run() {
    const unsigned per_interval = params_.samples_per_interval;
    sc_core::sc_time round_start = models::current_time();
    for (;;) {
        for (unsigned i = 1; i <= per_interval; ++i) {
            // From the round's start, so rounds land exactly on multiples of the interval.
            const sc_core::sc_time at =
                round_start + (i == per_interval
                                   ? params_.interval
                                   : params_.interval * (static_cast<double>(i) / per_interval));
            wait_until(at);
            sample();
        }
        round_start += params_.interval;
        evaluate(sample_mean());
    }
}

void AutoBalloonPolicy::sample() {
    samples_.push_back(static_cast<double>(host_.free_bytes()) /
                       static_cast<double>(host_.ram_bytes));
    while (samples_.size() > params_.averaged_samples) {
        samples_.pop_front();
    }
}

double AutoBalloonPolicy::sample_mean() const {
    return std::accumulate(samples_.begin(), samples_.end(), 0.0) /
           static_cast<double>(samples_.size());
}

void AutoBalloonPolicy::evaluate(double host_free_fraction) {
    ++counters_.rounds;
    last_fraction_ = host_free_fraction;
    const bool pressure = host_free_fraction < params_.pressure_threshold;
    if (pressure) {
        ++counters_.pressure_rounds;
    }

    const uint16_t tag = params_.guest_free_stat == GuestFreeStat::kMemFree
                             ? spec::balloon::kStatMemFree
                             : spec::balloon::kStatAvailable;
    constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();
    std::vector<Candidate> candidates;
    for (PolicyGuest* guest : guests()) {
        const BalloonStats& stats = guest->stats();
        const uint64_t unused = stats.valid ? stats.value(tag, kMissing) : kMissing;
        if (unused == kMissing) {
            ++counters_.skipped_no_stats;
            continue;
        }
        candidates.push_back({guest, static_cast<double>(unused)});
    }
    // Stable: equal free memory keeps the guests' registration order.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [pressure](const Candidate& a, const Candidate& b) {
                         return pressure ? a.unused > b.unused : a.unused < b.unused;
                     });

    // What the host lacks to get back to the threshold; only used with reclaim_only_deficit.
    const double deficit =
        (params_.pressure_threshold - host_free_fraction) * static_cast<double>(host_.ram_bytes);
    double planned = 0.0;
    for (const Candidate& candidate : candidates) {
        if (pressure && params_.reclaim_only_deficit && planned >= deficit) {
            ++counters_.skipped_relieved;
            continue;
        }
        planned += adjust(*candidate.guest, candidate.unused, pressure, host_free_fraction);
    }
}

double AutoBalloonPolicy::adjust(PolicyGuest& guest, double unused, bool pressure,
                                 double fraction) {
    const uint64_t ram_bytes = guest.ram_bytes();
    const double ram = static_cast<double>(ram_bytes);
    const uint64_t balloon_bytes =
        std::min<uint64_t>(uint64_t{guest.actual_pages()} * spec::balloon::kPageSize, ram_bytes);
    const double visible = static_cast<double>(ram_bytes - balloon_bytes);
    // Stats may predate the last inflate, so free can exceed what is left visible.
    const double used = std::max(0.0, visible - unused);
    const double floor = used + params_.min_guest_free_percent * visible;

    std::string reason = "host free " + percent(fraction) + (pressure ? " < " : " >= ") +
                         percent(params_.pressure_threshold) + ": ";
    double wanted = 0.0;
    if (pressure) {
        const double step = visible * (1.0 - params_.max_balloon_change_percent);
        wanted = std::max(step, floor);
        if (wanted > visible) {
            // MOM never grows a guest under pressure: it is already short of free memory.
            ++counters_.skipped_no_room;
            return 0.0;
        }
        reason += wanted == step
                      ? "shrink by " + percent(params_.max_balloon_change_percent)
                      : "shrink to used + " + percent(params_.min_guest_free_percent) + " free";
    } else {
        const double step = visible * (1.0 + params_.max_balloon_change_percent);
        wanted = std::max(step, floor);
        if (wanted >= ram) {
            wanted = ram;
            reason += "grow to full RAM";
        } else {
            reason += wanted == step
                          ? "grow by " + percent(params_.max_balloon_change_percent)
                          : "grow to used + " + percent(params_.min_guest_free_percent) + " free";
        }
    }
    if (std::fabs(wanted - visible) <= params_.min_balloon_change_percent * visible) {
        ++counters_.skipped_small_change;
        return 0.0;
    }

    // Rounding the balloon down keeps at least `wanted` visible; the slack absorbs the
    // rounding error of the percentages (0.95 is not exact in binary) so that a whole
    // number of pages is not taken for one page less.
    const double max_pages = std::min(std::floor(ram / kPageBytes),
                                      static_cast<double>(std::numeric_limits<uint32_t>::max()));
    const double pages = std::clamp(std::floor((ram - wanted) / kPageBytes + 1e-6), 0.0, max_pages);
    const auto new_target = static_cast<uint32_t>(pages);
    if (new_target == guest.target_pages()) {
        return 0.0;
    }
    const double new_visible = ram - pages * kPageBytes;

    // MOM decides on old news: host free averaged over the last samples, guest memory from
    // the last stats. Say how old, so a report shows why a growing guest is shrunk.
    if (!samples_.empty()) {
        char lag[96];
        std::snprintf(lag, sizeof lag, " (host free over the last %.3g s, guest stats %.3g s old)",
                      (params_.interval *
                       (static_cast<double>(samples_.size()) / params_.samples_per_interval))
                          .to_seconds(),
                      (models::current_time() - guest.stats().timestamp).to_seconds());
        reason += lag;
    }
    PolicyDecision decision;
    decision.new_target_pages = new_target;
    decision.action = pressure ? PolicyAction::kShrink : PolicyAction::kGrow;
    decision.reason = std::move(reason);
    decision.host_free_fraction = fraction;
    decision.visible_bytes = to_bytes(visible);
    decision.used_bytes = to_bytes(used);
    decision.new_visible_bytes = to_bytes(new_visible);
    apply(guest, std::move(decision));
    ++counters_.targets_changed;
    return std::max(0.0, visible - new_visible);
}

// ---- BalanceAvailablePolicy ------------------------------------------------------------

BalanceAvailablePolicy::BalanceAvailablePolicy(const sc_core::sc_module_name& name,
                                               const BalanceAvailablePolicyParams& params,
                                               HostFreeSource host,
                                               std::vector<PolicyGuest*> guests)
    : BalloonPolicy(name, std::move(guests)), params_(params), host_(std::move(host)) {
    if (params_.interval == sc_core::SC_ZERO_TIME) {
        SC_REPORT_ERROR(kReportType, "balance_available policy interval must not be zero");
    } else if (!host_.free_bytes || host_.ram_bytes == 0) {
        SC_REPORT_ERROR(kReportType,
                        "balance_available policy needs a host free source and host RAM size");
    }
    SC_HAS_PROCESS(BalanceAvailablePolicy);
    SC_THREAD(run);
}

void BalanceAvailablePolicy::run() {
    for (;;) {
        wait_until(models::current_time() + params_.interval);
        evaluate();
    }
}

void BalanceAvailablePolicy::evaluate() {
    ++counters_.rounds;
    const double mib = 1024.0 * 1024.0;
    double host_above = static_cast<double>(host_.free_bytes()) -
                        params_.host_critical_fraction * static_cast<double>(host_.ram_bytes);
    for (PolicyGuest* guest : guests()) {
        const BalloonStats& stats = guest->stats();
        constexpr uint64_t kMissing = std::numeric_limits<uint64_t>::max();
        const uint64_t available =
            stats.valid ? stats.value(spec::balloon::kStatAvailable, kMissing) : kMissing;
        if (available == kMissing) {
            ++counters_.skipped_no_stats;
            continue;
        }
        const double ram = static_cast<double>(guest->ram_bytes());
        const double guest_above =
            static_cast<double>(available) - static_cast<double>(params_.guest_critical_bytes);
        const double delta = (guest_above - host_above) / 2.0;
        const double balloon = std::min(
            static_cast<double>(uint64_t{guest->actual_pages()} * spec::balloon::kPageSize), ram);
        const double wanted = std::clamp(balloon + delta, 0.0, params_.max_balloon_fraction * ram);
        const double move = wanted - balloon;
        if (std::fabs(move) <= static_cast<double>(params_.margin_bytes) ||
            std::fabs(move) <= params_.min_change_fraction * ram) {
            ++counters_.skipped_small_change;
            continue;
        }
        const auto new_target = static_cast<uint32_t>(std::floor(wanted / kPageBytes));
        if (new_target == guest->target_pages()) {
            continue;
        }
        char reason[192];
        std::snprintf(reason, sizeof reason,
                      "guest available above critical %.0f MiB, host free above critical "
                      "%.0f MiB: %s %.0f MiB",
                      guest_above / mib, host_above / mib, move > 0 ? "inflate" : "deflate",
                      std::fabs(move) / mib);
        PolicyDecision decision;
        decision.new_target_pages = new_target;
        decision.action = move > 0 ? PolicyAction::kShrink : PolicyAction::kGrow;
        decision.reason = reason;
        decision.host_free_fraction =
            static_cast<double>(host_.free_bytes()) / static_cast<double>(host_.ram_bytes);
        decision.visible_bytes = to_bytes(ram - balloon);
        decision.new_visible_bytes = to_bytes(ram - new_target * kPageBytes);
        apply(*guest, std::move(decision));
        ++counters_.targets_changed;
        // What this guest gives (or takes) is the host's for the guests after it.
        host_above += move;
    }
}

}  // namespace vbsim::models
