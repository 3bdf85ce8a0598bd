#include "platform/scenario_run.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "platform/feature_names.h"
#include "platform/scenario_loader.h"
#include "platform/terminal_text.h"
#include "platform/vcd_sink.h"

namespace vbsim::platform {

namespace {

constexpr const char* kReportType = "vbsim/scenario";

std::string format_seconds(const sc_core::sc_time& time) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g s", time.to_seconds());
    return text;
}

// A bound as written: whole numbers exactly (1000 stays 1000, 134217728 is not 1.34218e+08),
// others with the digits they need.
std::string format_number(double value) {
    if (std::nearbyint(value) == value && std::fabs(value) < 9.2e18) {
        return std::to_string(static_cast<int64_t>(value));
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

// A rate, in whole units per second.
std::string format_rate(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
}

}  // namespace

const char* check_kind_name(CheckKind kind) {
    switch (kind) {
        case CheckKind::kActualReachesTargetBy:
            return "actual_reaches_target_by";
        case CheckKind::kNoOomKills:
            return "no_oom_kills";
        case CheckKind::kMaxOomKills:
            return "max_oom_kills";
        case CheckKind::kTimeToTargetBelow:
            return "time_to_target_below";
        case CheckKind::kTimeToTargetAbove:
            return "time_to_target_above";
        case CheckKind::kHostFreeNeverBelow:
            return "host_free_never_below";
        case CheckKind::kInflateRateAbove:
            return "inflate_rate_above";
        case CheckKind::kBallooned:
            return "ballooned";
        case CheckKind::kCounterAtLeast:
            return "counter_at_least";
        case CheckKind::kCounterAtMost:
            return "counter_at_most";
    }
    return "check";
}

// Follows one guest's target changes, when `actual` catches up with them, and every value
// `actual` takes, so that checks can ask what it was at any time.
class TargetTracker : public models::BalloonObserver {
  public:
    // A guest with pages larger than 4 KiB balloons whole pages: the driver aligns the
    // target up, so that is what `actual` reaches.
    TargetTracker(const models::BalloonDevice& device, uint64_t pfns_per_page)
        : device_(device), pfns_per_page_(pfns_per_page) {}

    void target_changed(uint32_t pages) override {
        TargetEpisode episode;
        episode.set_at = sc_core::sc_time_stamp();
        episode.from_pages = device_.actual_pages();
        episode.to_pages = pages;
        episode.reached = device_.actual_pages() == aligned(pages);
        episode.reached_at = episode.set_at;
        episodes_.push_back(episode);
    }

    void actual_changed(uint32_t pages) override {
        actual_history_.push_back({sc_core::sc_time_stamp(), pages});
        if (!episodes_.empty() && !episodes_.back().reached &&
            aligned(episodes_.back().to_pages) == pages) {
            episodes_.back().reached = true;
            episodes_.back().reached_at = sc_core::sc_time_stamp();
        }
    }

    const std::vector<TargetEpisode>& episodes() const { return episodes_; }

    // What the driver had written into `actual` at `time` (0 before its first write).
    uint64_t actual_at(const sc_core::sc_time& time) const {
        const auto after = std::upper_bound(
            actual_history_.begin(), actual_history_.end(), time,
            [](const sc_core::sc_time& t, const ActualChange& change) { return t < change.at; });
        return after == actual_history_.begin() ? 0 : std::prev(after)->pages;
    }

    uint64_t aligned(uint64_t pages) const {
        return (pages + pfns_per_page_ - 1) / pfns_per_page_ * pfns_per_page_;
    }

  private:
    struct ActualChange {
        sc_core::sc_time at;
        uint32_t pages;
    };

    const models::BalloonDevice& device_;
    uint64_t pfns_per_page_;
    std::vector<TargetEpisode> episodes_;
    std::vector<ActualChange> actual_history_;  // in time order
};

ScenarioRun::ScenarioRun(const sc_core::sc_module_name& name, const ScenarioConfig& config)
    : sc_core::sc_module(name),
      config_(config),
      host_(models::HostMemoryParams{config.host.ram_bytes, config.host.reserved_bytes}) {
    recording_.host_ram_bytes = config.host.ram_bytes;
    std::vector<models::PolicyGuest*> policy_view;
    for (const GuestConfig& guest : config_.guests) {
        guests_.push_back(
            std::make_unique<GuestNode>(guest.name.c_str(), guest, config_.platform, host_));
        GuestNode& node = *guests_.back();
        trackers_.push_back(std::make_unique<TargetTracker>(
            node.balloon(), std::max<uint64_t>(1, guest.page_size / spec::balloon::kPageSize)));
        node.balloon().add_observer(*trackers_.back());
        policy_guests_.push_back(
            std::make_unique<models::BalloonDeviceGuest>(guest.name, node.balloon()));
        policy_view.push_back(policy_guests_.back().get());
        recording_.guest_names.push_back(guest.name);
        recording_.guest_ram_bytes.push_back(guest.ram_bytes);
        recording_.free_page_columns |= node.uses_free_page_features();
    }

    if (config_.host.policy == PolicyKind::kTimeline) {
        std::vector<models::TimelineTarget> timeline;
        for (const TimelineEntry& entry : config_.host.timeline) {
            const GuestConfig& guest = config_.guests[guest_index(entry.guest)];
            timeline.push_back(
                {entry.at, entry.guest,
                 static_cast<uint32_t>(target_pages(entry.target, guest.ram_bytes))});
        }
        policy_ = std::make_unique<models::TimelinePolicy>("timeline_policy", policy_view,
                                                           std::move(timeline));
    } else if (config_.host.policy == PolicyKind::kAuto) {
        models::AutoBalloonPolicyParams params;
        params.interval = config_.host.auto_policy.interval;
        params.pressure_threshold = config_.host.auto_policy.pressure_threshold;
        params.min_guest_free_percent = config_.host.auto_policy.min_guest_free_percent;
        params.max_balloon_change_percent = config_.host.auto_policy.max_balloon_change_percent;
        params.min_balloon_change_percent = config_.host.auto_policy.min_balloon_change_percent;
        policy_ = std::make_unique<models::AutoBalloonPolicy>(
            "auto_policy", params, models::HostFreeSource::of(host_), policy_view);
    }
    if (policy_) {
        policy_->on_decision([this](const models::PolicyDecision& decision) {
            std::ostringstream what;
            what << models::to_string(decision.action) << ": target " << decision.old_target_pages
                 << " -> " << decision.new_target_pages << " pages";
            if (!decision.reason.empty()) {
                what << " (" << decision.reason << ")";
            }
            note(decision.guest, what.str());
        });
    }

    if (config_.output.trace) {
        for (auto& node : guests_) {
            node->enable_trace();
        }
    }
    if (config_.output.trace_vcd) {
        vcd_sink_ = std::make_unique<VcdSink>(config_.output.directory);
        trace_file_ = sc_core::sc_create_vcd_trace_file(vcd_sink_->systemc_name().c_str());
        trace_file_->set_time_unit(1, sc_core::SC_PS);
        sc_core::sc_trace(trace_file_, host_free_signal_, "host.free_bytes");
        for (auto& node : guests_) {
            trace_signals_.push_back(std::make_unique<TraceSignals>());
            TraceSignals& signals = *trace_signals_.back();
            const std::string prefix = node->guest_name() + ".";
            // Every raise and clear, as the driver sees them (see VirtioMmio::irq_for_trace).
            sc_core::sc_trace(trace_file_, node->transport().irq_for_trace(), prefix + "irq");
            sc_core::sc_trace(trace_file_, signals.target_pages, prefix + "target_pages");
            sc_core::sc_trace(trace_file_, signals.actual_pages, prefix + "actual_pages");
            sc_core::sc_trace(trace_file_, signals.ballooned_pages, prefix + "ballooned_pages");
            sc_core::sc_trace(trace_file_, signals.free_pages, prefix + "free_pages");
        }
    }

    events_ = config_.events;
    std::stable_sort(events_.begin(), events_.end(),
                     [](const EventConfig& a, const EventConfig& b) { return a.at < b.at; });

    SC_HAS_PROCESS(ScenarioRun);
    SC_THREAD(event_thread);
    SC_THREAD(sampler_thread);
    SC_THREAD(progress_thread);
}

ScenarioRun::~ScenarioRun() {
    // The sink waits for SystemC to close its end of the pipe.
    if (trace_file_ != nullptr) {
        sc_core::sc_close_vcd_trace_file(trace_file_);
    }
}

size_t ScenarioRun::guest_index(const std::string& name) const {
    for (size_t i = 0; i < config_.guests.size(); ++i) {
        if (config_.guests[i].name == name) {
            return i;
        }
    }
    SC_REPORT_ERROR(kReportType, ("no guest named '" + name + "'").c_str());
    return 0;
}

void ScenarioRun::note(const std::string& guest, const std::string& what) {
    recording_.events.push_back({sc_core::sc_time_stamp(), guest, what});
}

void ScenarioRun::apply(const EventConfig& event) {
    GuestNode& node = *guests_[guest_index(event.guest)];
    switch (event.kind) {
        case EventKind::kSetTarget: {
            const uint64_t pages = target_pages(event.target, node.config().ram_bytes);
            node.balloon().set_target_pages(static_cast<uint32_t>(pages));
            note(event.guest, "set target " + std::to_string(pages) + " pages");
            break;
        }
        case EventKind::kWorkload:
            node.replace_workload(event.phases);
            note(event.guest,
                 "workload replaced (" + std::to_string(event.phases.size()) + " phases)");
            break;
        case EventKind::kStatsRequest:
            node.balloon().request_stats();
            note(event.guest, "stats request");
            break;
        case EventKind::kFreeze:
            node.freeze();
            note(event.guest, "freeze");
            break;
        case EventKind::kRestore:
            node.restore();
            note(event.guest, "restore");
            break;
        case EventKind::kRemove:
            node.remove();
            note(event.guest, "remove");
            break;
        case EventKind::kDeviceReset:
            node.reset_device();
            note(event.guest, "device reset");
            break;
        case EventKind::kFreePageHintStart:
            node.start_free_page_hint();
            note(event.guest, "free page hint start");
            break;
        case EventKind::kFreePageHintStop:
            node.stop_free_page_hint();
            note(event.guest, "free page hint stop");
            break;
        case EventKind::kFreePageHintDone:
            node.finish_free_page_hint();
            note(event.guest, "free page hint done");
            break;
    }
}

void ScenarioRun::event_thread() {
    for (const EventConfig& event : events_) {
        if (event.at > sc_core::sc_time_stamp()) {
            wait(event.at - sc_core::sc_time_stamp());
        }
        apply(event);
    }
}

void ScenarioRun::take_sample() {
    Sample sample;
    sample.time = sc_core::sc_time_stamp();
    sample.host_free_bytes = host_.host_free_bytes();
    for (auto& node : guests_) {
        GuestSample guest;
        const uint64_t page = node->config().page_size;
        const sw::guest::GuestMemory& memory = node->memory();
        guest.target_pages = node->balloon().target_pages();
        guest.actual_pages = node->balloon().actual_pages();
        guest.ballooned_pages = node->balloon().ballooned_pages();
        guest.free_bytes = memory.free_pages() * page;
        guest.available_bytes = memory.available_pages() * page;
        guest.total_bytes = memory.managed_pages() * page;
        guest.demand_bytes = node->workload().demand_bytes();
        guest.workload_bytes = node->workload().anon_bytes();
        guest.resident_bytes = host_.guest_resident_bytes(node->host_id());
        guest.oom_kills = memory.counters().oom_kills;
        guest.oom_deferred = memory.counters().oom_deferred;
        guest.alloc_stalls = memory.counters().alloc_stalls;
        guest.interrupts = node->cpu().counters().interrupts_taken;
        guest.notifies = node->transport().counters().notifies;
        guest.dma_bytes = node->transport().counters().dma_bytes;
        uint64_t transactions = 0;
        for (const models::RouterRegionCounters& region : node->bus().counters()) {
            transactions += region.transactions;
        }
        guest.bus_transactions = transactions;
        if (recording_.free_page_columns) {
            const uint64_t by_reporting = node->host_link().pages_freed_by_reporting();
            guest.reported_bytes = memory.reported_pages() * page;
            guest.hinted_bytes = memory.hinted_pages() * page;
            guest.host_freed_by_reporting_bytes = by_reporting * models::HostMemory::kPageSize;
            guest.host_freed_by_balloon_bytes =
                (host_.guest_counters(node->host_id()).pages_freed - by_reporting) *
                models::HostMemory::kPageSize;
        }
        if (trace_file_ != nullptr) {
            TraceSignals& signals = *trace_signals_[sample.guests.size()];
            signals.target_pages.write(guest.target_pages);
            signals.actual_pages.write(guest.actual_pages);
            signals.ballooned_pages.write(guest.ballooned_pages);
            signals.free_pages.write(memory.free_pages());
        }
        sample.guests.push_back(guest);
    }
    host_free_signal_.write(sample.host_free_bytes);
    recording_.samples.push_back(std::move(sample));
}

void ScenarioRun::sampler_thread() {
    const sc_core::sc_time interval = config_.output.sample_interval;
    while (true) {
        take_sample();
        if (sc_core::sc_time_stamp() + interval > config_.duration) {
            return;
        }
        wait(interval);
    }
}

void ScenarioRun::progress_thread() {
    if (!progress_) {
        return;
    }
    const auto start = std::chrono::steady_clock::now();
    auto last_print = start;
    const sc_core::sc_time step = config_.duration / 200.0;
    while (sc_core::sc_time_stamp() + step <= config_.duration) {
        wait(step);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_print < std::chrono::milliseconds(500)) {
            continue;
        }
        last_print = now;
        uint64_t moved = 0;
        for (auto& node : guests_) {
            moved += node->balloon().counters().pages_inflated +
                     node->balloon().counters().pages_deflated;
        }
        std::fprintf(stderr, "\r%s: simulated %.3f s of %.3f s, wall %.1f s, pages moved %llu   ",
                     printable(config_.name).c_str(), sc_core::sc_time_stamp().to_seconds(),
                     config_.duration.to_seconds(),
                     std::chrono::duration<double>(now - start).count(),
                     static_cast<unsigned long long>(moved));
    }
}

void ScenarioRun::run(bool progress) {
    progress_ = progress;
    sc_core::sc_start(config_.duration);
    if (progress_) {
        std::fprintf(stderr, "\r%80s\r", "");
    }
}

std::string ScenarioRun::finish() {
    if (trace_file_ == nullptr) {
        return {};
    }
    sc_core::sc_close_vcd_trace_file(trace_file_);
    trace_file_ = nullptr;
    return vcd_sink_->finish();
}

std::string ScenarioRun::mmio_trace_file_name(size_t index) const {
    if (guests_.size() == 1) {
        return "mmio.csv";
    }
    // A guest name is free text: keep it to characters that are safe in a file name.
    std::string name = guests_[index]->guest_name();
    for (char& c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_' && c != '.') {
            c = '_';
        }
    }
    return "mmio-" + name + ".csv";
}

void ScenarioRun::write_mmio_trace(size_t index, std::ostream& out) const {
    if (const GuestTrace* trace = guests_[index]->guest_trace()) {
        trace->write_mmio_csv(out);
    }
}

void ScenarioRun::write_timeline(std::ostream& out) const {
    std::vector<const GuestTrace*> traces;
    std::vector<std::string> names;
    for (const auto& node : guests_) {
        if (node->guest_trace() != nullptr) {
            traces.push_back(node->guest_trace());
            names.push_back(node->guest_name());
        }
    }
    std::vector<HostTimelineEvent> host_events;
    for (const EventRecord& event : recording_.events) {
        host_events.push_back({static_cast<uint64_t>(event.time.value() /
                                                     sc_core::sc_time(1, sc_core::SC_PS).value()),
                               event.guest, event.what});
    }
    write_timeline_json(names, traces, host_events, out);
}

GuestSummary ScenarioRun::summarize_guest(size_t index) const {
    const GuestNode& node = *guests_[index];
    auto& mutable_node = const_cast<GuestNode&>(node);
    const models::BalloonDevice& balloon = mutable_node.balloon();
    const sw::balloon::BalloonDriver& driver = mutable_node.driver();
    const sw::guest::GuestMemory& memory = mutable_node.memory();
    GuestSummary summary;
    summary.name = node.config().name;
    summary.ram_bytes = node.config().ram_bytes;
    summary.page_size = node.config().page_size;
    summary.transport_version = node.config().balloon.transport_version;
    // Features count as negotiated once the device took FEATURES_OK (legacy devices have no
    // such step: what the driver wrote stands); a refused negotiation negotiated nothing.
    const models::VirtioMmio& mmio = mutable_node.transport();
    const bool features_accepted =
        mmio.is_legacy() || (mmio.status() & spec::status::kFeaturesOk) != 0;
    summary.negotiated_features =
        features_accepted ? describe_features(mmio.negotiated_features()) : "";
    summary.final_target_pages = balloon.target_pages();
    summary.final_actual_pages = balloon.actual_pages();
    summary.final_ballooned_pages = balloon.ballooned_pages();
    summary.pages_inflated = balloon.counters().pages_inflated;
    summary.pages_deflated = balloon.counters().pages_deflated;
    summary.inflate_buffers = balloon.counters().inflate_buffers;
    summary.deflate_buffers = balloon.counters().deflate_buffers;
    summary.episodes = trackers_[index]->episodes();

    summary.inflate_rate_pages_per_s = node.rates().inflate_rate();
    summary.deflate_rate_pages_per_s = node.rates().deflate_rate();

    summary.notifies = mutable_node.transport().counters().notifies;
    summary.interrupts = mutable_node.cpu().counters().interrupts_taken;
    summary.config_changes = driver.counters().config_changes;
    sc_core::sc_time busy = sc_core::SC_ZERO_TIME;
    for (const models::RouterRegionCounters& region : mutable_node.bus().counters()) {
        summary.bus_transactions += region.transactions;
    }
    busy = mutable_node.bus().counters("ram").busy_time;
    const double simulated = sc_core::sc_time_stamp().to_seconds();
    summary.bus_utilisation = simulated > 0 ? busy.to_seconds() / simulated : 0;
    summary.dma_bytes = mutable_node.transport().counters().dma_bytes;
    summary.oom_kills = memory.counters().oom_kills;
    summary.oom_deferred = memory.counters().oom_deferred;
    summary.oom_deflations = driver.counters().oom_deflations;
    summary.alloc_stalls = memory.counters().alloc_stalls;
    summary.balloon_alloc_failures = memory.counters().balloon_alloc_failures;
    summary.retries = driver.counters().retries;
    summary.stats_updates = driver.counters().stats_updates;
    summary.actual_writes = driver.counters().actual_writes;
    summary.rounds = driver.counters().inflate_rounds + driver.counters().deflate_rounds;
    summary.invalid_pfns = balloon.counters().pfns_out_of_range +
                           balloon.counters().pfns_already_ballooned +
                           balloon.counters().pfns_not_ballooned;
    summary.needs_reset_events = mutable_node.transport().counters().needs_reset_events;
    const models::VirtioMmioCounters& transport = mutable_node.transport().counters();
    summary.inflate_notifies =
        transport.queue_notifies[static_cast<size_t>(balloon.inflate_queue())];
    summary.deflate_notifies =
        transport.queue_notifies[static_cast<size_t>(balloon.deflate_queue())];
    summary.stats_notifies = transport.queue_notifies[2];  // statsq, when STATS_VQ was taken
    summary.used_buffer_interrupts = transport.used_buffer_interrupts;
    summary.config_interrupts = transport.config_interrupts;
    summary.inflate_pfns_per_buffer = balloon.counters().inflate_pfns_per_buffer;
    summary.deflate_pfns_per_buffer = balloon.counters().deflate_pfns_per_buffer;
    summary.guest_errors = transport.guest_errors;
    summary.early_notifies = transport.early_notifies;
    summary.driver_state = sw::balloon::state_name(driver.state());
    summary.free_page_features = node.uses_free_page_features();
    if (summary.free_page_features) {
        const models::BalloonCounters& counters = balloon.counters();
        summary.report_buffers = counters.report_buffers;
        summary.pages_reported = counters.pages_reported;
        summary.pages_kept_for_poison = counters.pages_kept_for_poison;
        summary.reported_pages_final = memory.reported_pages() * memory.pfns_per_page();
        summary.reported_blocks_reused = memory.counters().reported_blocks_reused;
        summary.hint_rounds = balloon.hint_rounds().size();
        summary.hinted_pages = counters.hinted_pages;
        summary.host_pages_freed_by_reporting = node.host_link().pages_freed_by_reporting();
        summary.host_pages_freed_by_balloon = host_.guest_counters(node.host_id()).pages_freed -
                                              summary.host_pages_freed_by_reporting;
        summary.poison_val = balloon.poison_val();
    }
    return summary;
}

RunSummary ScenarioRun::summarize() const {
    RunSummary summary;
    summary.scenario = config_.name;
    summary.description = config_.description;
    summary.seed = config_.seed;
    summary.simulated_time = sc_core::sc_time_stamp();
    summary.host_ram_bytes = config_.host.ram_bytes;
    summary.host_free_min_bytes = host_.min_host_free_bytes();
    summary.host_free_min_at = host_.min_host_free_time();
    summary.host_free_final_bytes = host_.host_free_bytes();
    summary.overcommit_ratio = host_.overcommit_ratio();
    for (size_t i = 0; i < guests_.size(); ++i) {
        summary.guests.push_back(summarize_guest(i));
    }
    summary.checks = evaluate_checks(summary);
    return summary;
}

namespace {

// The summary counters a counter_at_least / counter_at_most check may name.
struct CounterField {
    const char* name;
    uint64_t GuestSummary::*field;
};

constexpr CounterField kCounterFields[] = {
    {"pages_inflated", &GuestSummary::pages_inflated},
    {"pages_deflated", &GuestSummary::pages_deflated},
    {"inflate_buffers", &GuestSummary::inflate_buffers},
    {"deflate_buffers", &GuestSummary::deflate_buffers},
    {"notifies", &GuestSummary::notifies},
    {"interrupts", &GuestSummary::interrupts},
    {"config_changes", &GuestSummary::config_changes},
    {"bus_transactions", &GuestSummary::bus_transactions},
    {"dma_bytes", &GuestSummary::dma_bytes},
    {"oom_kills", &GuestSummary::oom_kills},
    {"oom_deferred", &GuestSummary::oom_deferred},
    {"oom_deflations", &GuestSummary::oom_deflations},
    {"alloc_stalls", &GuestSummary::alloc_stalls},
    {"balloon_alloc_failures", &GuestSummary::balloon_alloc_failures},
    {"retries", &GuestSummary::retries},
    {"stats_updates", &GuestSummary::stats_updates},
    {"actual_writes", &GuestSummary::actual_writes},
    {"rounds", &GuestSummary::rounds},
    {"invalid_pfns", &GuestSummary::invalid_pfns},
    {"needs_reset_events", &GuestSummary::needs_reset_events},
    {"final_target_pages", &GuestSummary::final_target_pages},
    {"final_actual_pages", &GuestSummary::final_actual_pages},
    {"final_ballooned_pages", &GuestSummary::final_ballooned_pages},
    {"report_buffers", &GuestSummary::report_buffers},
    {"pages_reported", &GuestSummary::pages_reported},
    {"pages_kept_for_poison", &GuestSummary::pages_kept_for_poison},
    {"reported_pages_final", &GuestSummary::reported_pages_final},
    {"reported_blocks_reused", &GuestSummary::reported_blocks_reused},
    {"hint_rounds", &GuestSummary::hint_rounds},
    {"hinted_pages", &GuestSummary::hinted_pages},
    {"host_pages_freed_by_reporting", &GuestSummary::host_pages_freed_by_reporting},
    {"host_pages_freed_by_balloon", &GuestSummary::host_pages_freed_by_balloon},
};

bool counter_value(const GuestSummary& guest, const std::string& name, uint64_t& value) {
    for (const CounterField& counter : kCounterFields) {
        if (name == counter.name) {
            value = guest.*counter.field;
            return true;
        }
    }
    return false;
}

}  // namespace

const std::vector<std::string>& summary_counter_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> all;
        for (const CounterField& counter : kCounterFields) {
            all.emplace_back(counter.name);
        }
        return all;
    }();
    return names;
}

std::vector<CheckResult> ScenarioRun::evaluate_checks(const RunSummary& summary) const {
    std::vector<CheckResult> results;
    for (const CheckConfig& check : config_.checks) {
        // A check without a guest applies to each guest in turn.
        std::vector<size_t> targets;
        for (size_t i = 0; i < summary.guests.size(); ++i) {
            if (check.guest.empty() || summary.guests[i].name == check.guest) {
                targets.push_back(i);
            }
        }
        if (check.kind == CheckKind::kHostFreeNeverBelow) {
            targets = {0};
        }
        for (const size_t index : targets) {
            const GuestSummary& guest = summary.guests[index];
            CheckResult result;
            result.name = check.name.empty() ? check_kind_name(check.kind) : check.name;
            if (check.kind != CheckKind::kHostFreeNeverBelow && check.guest.empty()) {
                result.name += " [" + guest.name + "]";
            }
            switch (check.kind) {
                case CheckKind::kActualReachesTargetBy: {
                    // Holds at `at`: the target in force then, and `actual` equal to it then.
                    const sc_core::sc_time by =
                        check.at == sc_core::SC_ZERO_TIME ? summary.simulated_time : check.at;
                    const TargetEpisode* last = nullptr;
                    for (const TargetEpisode& episode : guest.episodes) {
                        if (episode.set_at <= by) {
                            last = &episode;
                        }
                    }
                    result.bound = "actual == target at " + format_seconds(by);
                    if (last == nullptr) {
                        result.measured = "no target set by " + format_seconds(by);
                        break;
                    }
                    const TargetTracker& tracker = *trackers_[index];
                    const uint64_t actual = tracker.actual_at(by);
                    const uint64_t wanted = tracker.aligned(last->to_pages);
                    result.passed = actual == wanted;
                    result.measured = "actual " + std::to_string(actual) + " pages at " +
                                      format_seconds(by) + ", target " +
                                      std::to_string(last->to_pages) + " pages";
                    if (wanted != last->to_pages) {
                        result.measured += " (" + std::to_string(wanted) + " in whole guest pages)";
                    }
                    result.measured += " set at " + format_seconds(last->set_at);
                    break;
                }
                case CheckKind::kNoOomKills:
                    result.passed = guest.oom_kills == 0;
                    result.measured = std::to_string(guest.oom_kills) + " OOM kills";
                    result.bound = "0";
                    break;
                case CheckKind::kMaxOomKills:
                    result.passed = static_cast<double>(guest.oom_kills) <= check.bound;
                    result.measured = std::to_string(guest.oom_kills) + " OOM kills";
                    result.bound = "<= " + format_number(check.bound);
                    break;
                case CheckKind::kTimeToTargetBelow: {
                    // Every target is reached within the bound of being set. One replaced by
                    // the next before the bound ran out is excused; the last must be reached.
                    result.bound = "< " + format_seconds(check.bound_time);
                    if (guest.episodes.empty()) {
                        result.measured = "no target set";
                        break;
                    }
                    sc_core::sc_time worst = sc_core::SC_ZERO_TIME;
                    const TargetEpisode* missed = nullptr;
                    for (size_t e = 0; e < guest.episodes.size(); ++e) {
                        const TargetEpisode& episode = guest.episodes[e];
                        if (episode.reached) {
                            worst = std::max(worst, episode.reached_at - episode.set_at);
                            continue;
                        }
                        const bool last_one = e + 1 == guest.episodes.size();
                        const sc_core::sc_time open_for =
                            (last_one ? summary.simulated_time : guest.episodes[e + 1].set_at) -
                            episode.set_at;
                        if ((last_one || open_for >= check.bound_time) && missed == nullptr) {
                            missed = &episode;
                        }
                    }
                    if (missed != nullptr) {
                        result.measured = "target " + std::to_string(missed->to_pages) +
                                          " pages set at " + format_seconds(missed->set_at) +
                                          " was not reached";
                    } else {
                        result.passed = worst < check.bound_time;
                        result.measured = "slowest " + format_seconds(worst);
                    }
                    break;
                }
                case CheckKind::kTimeToTargetAbove: {
                    // A lower bound, for calibration: no target reached sooner than the bound.
                    // Targets never reached are time_to_target_below's business.
                    result.bound = ">= " + format_seconds(check.bound_time);
                    const TargetEpisode* fastest = nullptr;
                    for (const TargetEpisode& episode : guest.episodes) {
                        if (episode.reached &&
                            (fastest == nullptr || episode.reached_at - episode.set_at <
                                                       fastest->reached_at - fastest->set_at)) {
                            fastest = &episode;
                        }
                    }
                    if (fastest == nullptr) {
                        result.measured = "no target reached";
                        break;
                    }
                    const sc_core::sc_time took = fastest->reached_at - fastest->set_at;
                    result.passed = took >= check.bound_time;
                    result.measured = "fastest " + format_seconds(took);
                    break;
                }
                case CheckKind::kHostFreeNeverBelow:
                    result.passed = static_cast<double>(summary.host_free_min_bytes) >= check.bound;
                    result.measured = "minimum " + std::to_string(summary.host_free_min_bytes) +
                                      " bytes at " + format_seconds(summary.host_free_min_at);
                    result.bound = ">= " + format_number(check.bound) + " bytes";
                    break;
                case CheckKind::kInflateRateAbove:
                    result.passed = guest.inflate_rate_pages_per_s > check.bound;
                    result.measured = format_rate(guest.inflate_rate_pages_per_s) + " pages/s";
                    result.bound = "> " + format_number(check.bound) + " pages/s";
                    break;
                case CheckKind::kBallooned: {
                    uint64_t ballooned = guest.final_ballooned_pages;
                    sc_core::sc_time when = summary.simulated_time;
                    if (check.at != sc_core::SC_ZERO_TIME) {
                        for (const Sample& sample : recording_.samples) {
                            if (sample.time <= check.at) {
                                ballooned = sample.guests[index].ballooned_pages;
                                when = sample.time;
                            }
                        }
                    }
                    result.passed = static_cast<uint64_t>(check.bound) == ballooned;
                    result.measured =
                        std::to_string(ballooned) + " pages at " + format_seconds(when);
                    result.bound = "== " + format_number(check.bound);
                    break;
                }
                case CheckKind::kCounterAtLeast:
                case CheckKind::kCounterAtMost: {
                    uint64_t value = 0;
                    if (!counter_value(guest, check.counter, value)) {
                        result.measured = "no counter '" + check.counter + "'";
                        break;
                    }
                    // Counters are exact integers: compare them as such where the bound is
                    // whole (a double holds integers exactly only up to 2^53).
                    const bool at_least = check.kind == CheckKind::kCounterAtLeast;
                    const bool whole = std::nearbyint(check.bound) == check.bound &&
                                       check.bound >= 0 && check.bound < 1.8e19;
                    if (check.bound < 0) {
                        result.passed = at_least;
                    } else if (whole) {
                        const auto bound = static_cast<uint64_t>(check.bound);
                        result.passed = at_least ? value >= bound : value <= bound;
                    } else {
                        const auto real = static_cast<double>(value);
                        result.passed = at_least ? real >= check.bound : real <= check.bound;
                    }
                    result.measured = check.counter + " = " + std::to_string(value);
                    result.bound = (at_least ? ">= " : "<= ") + format_number(check.bound);
                    break;
                }
            }
            results.push_back(result);
        }
    }
    return results;
}

}  // namespace vbsim::platform
