#include "platform/run/scenario_run.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

#include "models/timing/current_time.h"
#include "platform/config/feature_names.h"
#include "platform/config/scenario_loader.h"
#include "platform/config/units.h"
#include "platform/run/time_split.h"
#include "platform/run/vcd_sink.h"
#include "platform/run/vcd_writer.h"
#include "platform/text/terminal_text.h"

namespace vbsim::platform {

namespace {

constexpr const char* kReportType = "vbsim/scenario";

}  // namespace

// Follows one guest's target changes, when `actual` catches up with them, and every value
// `actual` takes, so that checks can ask what it was at any time.
class TargetTracker : public models::BalloonObserver {
  public:
    // A guest with pages larger than 4 KiB balloons whole pages: the driver aligns the
    // target up, so that is what `actual` reaches.
    // `ledger` reads the guest's cumulative time per part (platform/run/time_split.h).
    TargetTracker(const models::BalloonDevice& device, uint64_t pfns_per_page,
                  std::function<TimeSplit()> ledger)
        : device_(device), pfns_per_page_(pfns_per_page), ledger_(std::move(ledger)) {}

    void target_changed(uint32_t pages) override {
        close_open_episode();
        ledger_at_set_ = ledger_();
        TargetEpisode episode;
        episode.set_at = models::current_time();
        episode.from_pages = device_.actual_pages();
        episode.to_pages = pages;
        episode.aligned_to_pages = aligned(pages);
        episode.reached = device_.actual_pages() == episode.aligned_to_pages;
        episode.reached_at = episode.set_at;
        episodes_.push_back(episode);
    }

    void actual_changed(uint32_t pages, const sc_core::sc_time& at) override {
        actual_changes_.push_back({at, pages});
        if (!episodes_.empty() && !episodes_.back().reached &&
            episodes_.back().aligned_to_pages == pages) {
            episodes_.back().reached = true;
            episodes_.back().reached_at = at;
            split_last(episodes_.back().reached_at);
        }
    }

    // An episode still open (never reached) is split up to now: the next target change or
    // the end of the run.
    void close_open_episode() {
        if (!episodes_.empty() && !episodes_.back().reached) {
            split_last(models::current_time());
        }
    }

    const std::vector<TargetEpisode>& episodes() const { return episodes_; }
    const std::vector<ActualChange>& actual_changes() const { return actual_changes_; }

  private:
    uint64_t aligned(uint64_t pages) const {
        return (pages + pfns_per_page_ - 1) / pfns_per_page_ * pfns_per_page_;
    }

    void split_last(const sc_core::sc_time& until) {
        TargetEpisode& episode = episodes_.back();
        episode.split = episode_split(ledger_at_set_, ledger_(), until - episode.set_at);
    }

    const models::BalloonDevice& device_;
    uint64_t pfns_per_page_;
    std::function<TimeSplit()> ledger_;
    TimeSplit ledger_at_set_;
    std::vector<TargetEpisode> episodes_;
    std::vector<ActualChange> actual_changes_;  // in time order
};

namespace {

// An overcommitted host swaps while its swap has room, then OOM-kills a guest.
models::HostMemoryParams host_memory_params(const HostConfig& host) {
    models::HostMemoryParams params;
    params.host_ram_bytes = host.ram_bytes;
    params.host_reserved_bytes = host.reserved_bytes;
    params.overcommit = models::HostOvercommit::kSwapOrKill;
    params.swap_bytes = host.swap.size_bytes;
    params.swap_in_bytes_per_s = host.swap.swap_in_bytes_per_second;
    params.swap_out_bytes_per_s = host.swap.swap_out_bytes_per_second;
    params.swap_in_latency = host.swap.swap_in_latency;
    params.swap_out_latency = host.swap.swap_out_latency;
    return params;
}

}  // namespace

void ScenarioRun::host_killed(models::GuestId id) {
    for (auto& node : guests_) {
        if (node->host_id() == id) {
            node->cpu().halt();
            note(node->guest_name(), "host OOM kill: the guest is killed, its memory freed");
        }
    }
}

ScenarioRun::ScenarioRun(const sc_core::sc_module_name& name, const ScenarioConfig& config)
    : sc_core::sc_module(name),
      config_(config),
      observation_clock_("observation_clock"),
      host_(host_memory_params(config.host)),
      lookahead_gate_(host_, observation_clock_) {
    // Ranks at a shared instant: scenario events, then the policy, then the sample (which
    // so shows what both did there).
    constexpr unsigned int kEventRank = 0;
    constexpr unsigned int kPolicyRank = 1;
    constexpr unsigned int kSamplerRank = 2;
    constexpr unsigned int kEndRank = 3;
    event_observer_ = observation_clock_.add_observer(kEventRank);
    // Guests running ahead pass the sampler with a record of themselves rather than stopping.
    sampler_observer_ = observation_clock_.add_observer(kSamplerRank, false);
    end_observer_ = observation_clock_.add_observer(kEndRank);
    // Nothing before an observed instant can still change: the host's low-water mark is
    // brought up to it before anyone looks.
    observation_clock_.on_settled([this](const sc_core::sc_time& now) { host_.settle(now); });
    recording_.host_ram_bytes = config.host.ram_bytes;
    recording_.host_swap = config.host.swap.size_bytes > 0;
    host_.on_guest_killed([this](models::GuestId id) { host_killed(id); });
    std::vector<models::PolicyGuest*> policy_view;
    for (const GuestConfig& guest : config_.guests) {
        guests_.push_back(std::make_unique<GuestNode>(guest.name.c_str(), guest, host_));
        GuestNode& node = *guests_.back();
        node.enable_lookahead(observation_clock_, lookahead_gate_);
        lookahead_gate_.add_guest(node);
        const size_t index = passed_samples_.size();
        passed_samples_.emplace_back();
        node.cpu().set_passed_observations(
            sc_core::SC_ZERO_TIME,
            [this](const sc_core::sc_time& time) { return next_sample_after(time); },
            [this, index, &node](const sc_core::sc_time& time) {
                passed_samples_[index].records.push_back(
                    {time, sample_guest(node), host_.guest_swap_used_bytes(node.host_id())});
            });
        for (const EventConfig& event : config_.events) {
            if (event.kind == EventKind::kWorkload && event.guest == guest.name) {
                node.expect_workload(event.phases);
            }
        }
        trackers_.push_back(std::make_unique<TargetTracker>(
            node.balloon(), std::max<uint64_t>(1, guest.page_size / spec::balloon::kPageSize),
            [&node] { return read_time_ledger(node); }));
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
    } else if (config_.host.policy == PolicyKind::kBalanceAvailable) {
        models::BalanceAvailablePolicyParams params;
        params.interval = config_.host.balance_available.interval;
        params.guest_critical_bytes = config_.host.balance_available.guest_critical_bytes;
        params.host_critical_fraction = config_.host.balance_available.host_critical_fraction;
        params.margin_bytes = config_.host.balance_available.margin_bytes;
        policy_ = std::make_unique<models::BalanceAvailablePolicy>(
            "balance_available_policy", params, models::HostFreeSource::of(host_), policy_view);
    }
    if (policy_) {
        policy_->use_observation_clock(observation_clock_, kPolicyRank);
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
        vcd_writer_ = std::make_unique<VcdWriter>(vcd_sink_->pipe_path());
        vcd_writer_->trace(host_free_signal_, "host.free_bytes");
        for (auto& node : guests_) {
            trace_signals_.push_back(std::make_unique<TraceSignals>());
            TraceSignals& signals = *trace_signals_.back();
            const std::string prefix = node->guest_name() + ".";
            // Every raise and clear, as the driver sees them (see VirtioMmio::irq_for_trace).
            vcd_writer_->trace(node->transport().irq_for_trace(), prefix + "irq");
            vcd_writer_->trace(signals.target_pages, prefix + "target_pages");
            vcd_writer_->trace(signals.actual_pages, prefix + "actual_pages");
            vcd_writer_->trace(signals.ballooned_pages, prefix + "ballooned_pages");
            vcd_writer_->trace(signals.free_pages, prefix + "free_pages");
        }
    }

    events_ = config_.events;
    std::stable_sort(events_.begin(), events_.end(),
                     [](const EventConfig& a, const EventConfig& b) { return a.at < b.at; });

    SC_HAS_PROCESS(ScenarioRun);
    SC_THREAD(event_thread);
    SC_THREAD(sampler_thread);
    SC_THREAD(progress_thread);
    SC_THREAD(end_thread);
}

// The writer closes its end of the pipe before the sink (declared earlier) waits for it.
ScenarioRun::~ScenarioRun() = default;

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
    recording_.events.push_back({models::current_time(), guest, what});
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
    bool resumed = false;
    for (const EventConfig& event : events_) {
        // Events at the instant already reached are applied together, in file order.
        if (!resumed || event.at > models::current_time()) {
            observation_clock_.wait_until(event_observer_, event.at);
            resumed = true;
        }
        apply(event);
    }
}

GuestSample ScenarioRun::sample_guest(const GuestNode& node) const {
    GuestSample guest;
    const uint64_t page = node.config().page_size;
    const sw::guest::GuestMemory& memory = node.memory();
    guest.target_pages = node.balloon().target_pages();
    guest.actual_pages = node.balloon().actual_pages();
    guest.ballooned_pages = node.balloon().ballooned_pages();
    guest.free_bytes = memory.free_pages() * page;
    guest.available_bytes = memory.available_pages() * page;
    guest.total_bytes = memory.managed_pages() * page;
    guest.demand_bytes = node.demand_bytes();
    guest.workload_bytes = node.workload_bytes();
    guest.resident_bytes = host_.guest_resident_bytes(node.host_id());
    const models::HostGuestCounters& host_side = host_.guest_counters(node.host_id());
    guest.swap_in_bytes = host_side.pages_swapped_in * models::HostMemory::kPageSize;
    guest.swap_out_bytes = host_side.pages_swapped_out * models::HostMemory::kPageSize;
    guest.swap_stall_ns = static_cast<uint64_t>(host_side.swap_stall.value() /
                                                sc_core::sc_time(1, sc_core::SC_NS).value());
    guest.host_killed = host_side.killed ? 1 : 0;
    guest.oom_kills = memory.counters().oom_kills;
    guest.oom_deferred = memory.counters().oom_deferred;
    guest.alloc_stalls = memory.counters().alloc_stalls;
    guest.interrupts = node.cpu().counters().interrupts_taken;
    guest.notifies = node.transport().counters().notifies;
    guest.dma_bytes = node.transport().counters().dma_bytes;
    uint64_t transactions = 0;
    for (const models::RouterRegionCounters& region : node.bus().counters()) {
        transactions += region.transactions;
    }
    guest.bus_transactions = transactions;
    if (recording_.free_page_columns) {
        const uint64_t by_reporting = node.host_link().pages_freed_by_reporting();
        guest.reported_bytes = memory.reported_pages() * page;
        guest.hinted_bytes = memory.hinted_pages() * page;
        guest.host_freed_by_reporting_bytes = by_reporting * models::HostMemory::kPageSize;
        guest.host_freed_by_balloon_bytes =
            (host_side.pages_freed - by_reporting) * models::HostMemory::kPageSize;
    }
    return guest;
}

sc_core::sc_time ScenarioRun::next_sample_after(const sc_core::sc_time& time) const {
    const sc_core::sc_time next = time + config_.output.sample_interval;
    return next > config_.duration ? sc_core::sc_max_time() : next;
}

void ScenarioRun::take_sample() {
    Sample sample;
    sample.time = models::current_time();
    // The host's totals count the pages of guests that ran past this time as they are now:
    // each of those gives back what it touched, swapped in or released since.
    int64_t host_free_bytes = host_.host_free_bytes();
    uint64_t host_swap_used_bytes = host_.swap_used_bytes();
    sample.host_oom_kills = host_.host_oom_kills();
    sample.guests.reserve(guests_.size());
    for (size_t index = 0; index < guests_.size(); ++index) {
        const GuestNode& node = *guests_[index];
        PassedSamples& passed = passed_samples_[index];
        while (!passed.empty() && passed.front().time < sample.time) {
            passed.pop_front();  // made at an instant whose sample had already been taken
        }
        GuestSample guest;
        if (!passed.empty() && passed.front().time == sample.time) {
            guest = passed.front().columns;
            host_free_bytes += static_cast<int64_t>(host_.guest_resident_bytes(node.host_id())) -
                               static_cast<int64_t>(guest.resident_bytes);
            host_swap_used_bytes +=
                passed.front().swap_used_bytes - host_.guest_swap_used_bytes(node.host_id());
            passed.pop_front();
        } else {
            guest = sample_guest(node);
        }
        if (vcd_writer_ != nullptr) {
            TraceSignals& signals = *trace_signals_[index];
            signals.target_pages.write(guest.target_pages);
            signals.actual_pages.write(guest.actual_pages);
            signals.ballooned_pages.write(guest.ballooned_pages);
            signals.free_pages.write(guest.free_bytes / node.config().page_size);
        }
        sample.guests.push_back(guest);
    }
    sample.host_free_bytes = host_free_bytes;
    sample.host_swap_used_bytes = host_swap_used_bytes;
    host_free_signal_.write(sample.host_free_bytes);
    recording_.samples.push_back(std::move(sample));
}

void ScenarioRun::sampler_thread() {
    const sc_core::sc_time interval = config_.output.sample_interval;
    sc_core::sc_time next = sc_core::SC_ZERO_TIME;
    while (true) {
        observation_clock_.wait_until(sampler_observer_, next);
        take_sample();
        if (models::current_time() + interval > config_.duration) {
            return;
        }
        next = models::current_time() + interval;
    }
}

void ScenarioRun::end_thread() {
    observation_clock_.wait_until(end_observer_, config_.duration);
}

void ScenarioRun::progress_thread() {
    if (!progress_) {
        return;
    }
    const auto start = std::chrono::steady_clock::now();
    auto last_print = start;
    const sc_core::sc_time step = config_.duration / 200.0;
    while (models::current_time() + step <= config_.duration) {
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
                     printable(config_.name).c_str(), models::current_time().to_seconds(),
                     config_.duration.to_seconds(),
                     std::chrono::duration<double>(now - start).count(),
                     static_cast<unsigned long long>(moved));
    }
}

void ScenarioRun::record_oom_kills() {
    // Kills happen in guest context at the guest's own time; the event list is in time order.
    std::vector<EventRecord> kills;
    for (const auto& node : guests_) {
        for (const OomKillRecord& kill : node->oom_kill_records()) {
            kills.push_back({sc_core::sc_time(static_cast<double>(kill.time_ns), sc_core::SC_NS),
                             node->guest_name(),
                             "OOM kill: process '" + kill.process + "', " +
                                 format_size(kill.freed_bytes) + " freed"});
        }
    }
    if (kills.empty()) {
        return;
    }
    std::stable_sort(kills.begin(), kills.end(),
                     [](const EventRecord& a, const EventRecord& b) { return a.time < b.time; });
    std::vector<EventRecord> merged;
    merged.reserve(recording_.events.size() + kills.size());
    std::merge(recording_.events.begin(), recording_.events.end(), kills.begin(), kills.end(),
               std::back_inserter(merged),
               [](const EventRecord& a, const EventRecord& b) { return a.time < b.time; });
    recording_.events = std::move(merged);
}

void ScenarioRun::run(bool progress) {
    progress_ = progress;
    sc_core::sc_start(config_.duration);
    host_.settle(sc_core::sc_max_time());
    record_oom_kills();
    for (auto& tracker : trackers_) {
        tracker->close_open_episode();
    }
    if (progress_) {
        std::fprintf(stderr, "\r%80s\r", "");
    }
}

std::string ScenarioRun::finish() {
    if (vcd_writer_ == nullptr) {
        return {};
    }
    const bool written = vcd_writer_->close();
    vcd_writer_.reset();
    std::string error = vcd_sink_->finish();
    if (!written && error.empty()) {
        error = "writing to the trace pipe failed";
    }
    return error;
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
    const models::BalloonDevice& balloon = node.balloon();
    const sw::balloon::BalloonDriver& driver = node.driver();
    const sw::guest::GuestMemory& memory = node.memory();
    GuestSummary summary;
    summary.name = node.config().name;
    summary.ram_bytes = node.config().ram_bytes;
    summary.page_size = node.config().page_size;
    summary.transport_version = node.config().balloon.transport_version;
    // Features count as negotiated once the device took FEATURES_OK (legacy devices have no
    // such step: what the driver wrote stands); a refused negotiation negotiated nothing.
    const models::VirtioMmio& mmio = node.transport();
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
    summary.actual_changes = trackers_[index]->actual_changes();

    summary.inflate_rate_pages_per_s = node.rates().inflate_rate();
    summary.deflate_rate_pages_per_s = node.rates().deflate_rate();

    summary.notifies = node.transport().counters().notifies;
    summary.interrupts = node.cpu().counters().interrupts_taken;
    summary.config_changes = driver.counters().config_changes;
    sc_core::sc_time busy = sc_core::SC_ZERO_TIME;
    for (const models::RouterRegionCounters& region : node.bus().counters()) {
        summary.bus_transactions += region.transactions;
    }
    busy = node.bus().counters("ram").busy_time;
    const double simulated = models::current_time().to_seconds();
    summary.bus_utilisation = simulated > 0 ? busy.to_seconds() / simulated : 0;
    summary.dma_bytes = node.transport().counters().dma_bytes;
    summary.oom_kills = memory.counters().oom_kills;
    summary.oom_deferred = memory.counters().oom_deferred;
    summary.oom_deflations = driver.counters().oom_deflations;
    for (size_t p = 0; p < node.process_count(); ++p) {
        const sw::guest::Workload& process = node.process(p);
        ProcessSummary entry;
        entry.name = node.process_name(p);
        entry.oom_killed = process.counters().oom_killed;
        entry.freed_bytes = process.counters().oom_freed_pages * node.config().page_size;
        entry.restarts = process.counters().restarts;
        entry.final_bytes = process.anon_bytes();
        entry.alive = !process.killed();
        summary.processes.push_back(entry);
    }
    summary.alloc_stalls = memory.counters().alloc_stalls;
    summary.balloon_alloc_failures = memory.counters().balloon_alloc_failures;
    summary.retries = driver.counters().retries;
    summary.stats_updates = driver.counters().stats_updates;
    summary.actual_writes = driver.counters().actual_writes;
    summary.rounds = driver.counters().inflate_rounds + driver.counters().deflate_rounds;
    summary.invalid_pfns = balloon.counters().pfns_out_of_range +
                           balloon.counters().pfns_already_ballooned +
                           balloon.counters().pfns_not_ballooned;
    summary.needs_reset_events = node.transport().counters().needs_reset_events;
    const models::VirtioMmioCounters& transport = node.transport().counters();
    summary.inflate_notifies =
        transport.queue_notifies[static_cast<size_t>(balloon.inflate_queue())];
    summary.deflate_notifies =
        transport.queue_notifies[static_cast<size_t>(balloon.deflate_queue())];
    summary.stats_notifies =
        transport.queue_notifies[spec::balloon::kStatsQueue];  // when STATS_VQ was taken
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
    const models::HostGuestCounters& host_side = host_.guest_counters(node.host_id());
    summary.host_swap_in_bytes = host_side.pages_swapped_in * models::HostMemory::kPageSize;
    summary.host_swap_out_bytes = host_side.pages_swapped_out * models::HostMemory::kPageSize;
    summary.host_swap_stall = host_side.swap_stall;
    summary.host_killed = host_side.killed ? 1 : 0;
    return summary;
}

RunSummary ScenarioRun::summarize() const {
    RunSummary summary;
    summary.scenario = config_.name;
    summary.description = config_.description;
    summary.seed = config_.seed;
    summary.simulated_time = models::current_time();
    summary.host_ram_bytes = config_.host.ram_bytes;
    summary.host_free_min_bytes = host_.min_host_free_bytes();
    summary.host_free_min_at = host_.min_host_free_time();
    summary.host_free_final_bytes = host_.host_free_bytes();
    summary.overcommit_ratio = host_.overcommit_ratio();
    summary.host_swap = config_.host.swap.size_bytes > 0;
    summary.host_swap_max_used_bytes = host_.max_swap_used_bytes();
    summary.host_oom_kills = host_.host_oom_kills();
    for (size_t i = 0; i < guests_.size(); ++i) {
        summary.guests.push_back(summarize_guest(i));
    }
    return summary;
}

}  // namespace vbsim::platform
