#include "platform/assembly/guest_node.h"

#include <algorithm>
#include <stdexcept>

#include "models/timing/current_time.h"
#include "platform/config/feature_names.h"

namespace vbsim::platform {

namespace {

constexpr const char* kReportType = "vbsim/guest";

uint64_t round_up(uint64_t value, uint64_t granule) {
    return (value + granule - 1) / granule * granule;
}

uint64_t to_ns(const sc_core::sc_time& time) {
    return static_cast<uint64_t>(time.value() / sc_core::sc_time(1, sc_core::SC_NS).value());
}

models::RouterParams bus_params(const GuestConfig& guest) {
    models::RouterParams params;
    params.hop_latency = guest.bus.hop_latency;
    params.regions.push_back({"ram", guest.ram_base, guest.ram_bytes, 0});
    params.regions.push_back({"balloon", guest.balloon.mmio_base, spec::mmio::kWindowSize, 1});
    return params;
}

models::MemoryParams ram_params(const GuestConfig& guest) {
    models::MemoryParams params;
    params.size = guest.ram_bytes;
    params.read_latency = guest.memory.read_latency;
    params.write_latency = guest.memory.write_latency;
    params.bandwidth_bytes_per_ns = guest.memory.bandwidth_bytes_per_ns;
    params.dmi_enabled = guest.memory.dmi;
    return params;
}

models::BalloonDeviceParams device_params(const GuestConfig& guest) {
    models::BalloonDeviceParams params;
    params.offered_features = balloon_feature_bits(guest.balloon.offered_features);
    params.guest_ram_base = guest.ram_base;
    params.guest_ram_bytes = guest.ram_bytes;
    params.queue_num_max = guest.balloon.queue_num_max;
    const auto costs = [](const BalloonDeviceConfig::BufferCosts& config) {
        return models::BalloonDeviceParams::BufferCosts{
            config.transport_cost, config.host_per_buffer_cost, config.host_per_page_cost};
    };
    params.inflate_costs = costs(guest.balloon.inflate);
    params.deflate_costs = costs(guest.balloon.deflate);
    params.report_costs = costs(guest.balloon.report);
    params.hint_costs = costs(guest.balloon.hint);
    params.stats_poll_interval = guest.balloon.stats_poll_interval;
    return params;
}

models::VirtioMmioParams transport_params(const GuestConfig& guest) {
    models::VirtioMmioParams params;
    params.version = guest.balloon.transport_version;
    params.register_latency = guest.balloon.register_latency;
    params.interrupt_latency = guest.balloon.interrupt_latency;
    return params;
}

// log2(bytes / page_size), at least GuestMemory's smallest block order (a 2 MiB block of 64 KiB
// pages is 32 pages: Linux reports those, the model 64-page blocks, 4 MiB).
unsigned block_order(uint64_t bytes, uint32_t page_size) {
    unsigned order = 0;
    while ((uint64_t{page_size} << (order + 1)) <= bytes) {
        ++order;
    }
    return std::max(order, sw::guest::GuestMemory::kMinBlockOrder);
}

sw::balloon::FreePageInit free_page_init(const std::string& name) {
    if (name == "poison") {
        return sw::balloon::FreePageInit::kPoison;
    }
    if (name == "init_on_free") {
        return sw::balloon::FreePageInit::kInitOnFree;
    }
    return sw::balloon::FreePageInit::kNone;
}

GuestCpuParams cpu_params(const GuestConfig& guest) {
    GuestCpuParams params;
    params.interrupt_lines = 1;
    params.quantum = guest.cpu.quantum;
    params.interrupt_entry_cost = guest.cpu.interrupt_entry_cost;
    params.lookahead = guest.cpu.lookahead;
    return params;
}

}  // namespace

GuestNode::GuestNode(const sc_core::sc_module_name& name, const GuestConfig& guest,
                     models::HostMemory& host)
    : sc_core::sc_module(name),
      config_(guest),
      host_(host),
      host_id_(host.add_guest(guest.name, guest.ram_base, guest.ram_bytes)),
      cpu_("cpu", cpu_params(guest)),
      bus_("bus", bus_params(guest)),
      ram_("memory", ram_params(guest)),
      balloon_("balloon", device_params(guest)),
      transport_("transport", transport_params(guest), balloon_),
      irq_("irq"),
      host_link_(host, host_id_) {
    cpu_.socket.bind(bus_.target_socket);
    transport_.dma_socket.bind(bus_.target_socket);
    bus_.initiator_socket.bind(ram_.socket);
    bus_.initiator_socket.bind(transport_.target_socket);
    transport_.irq.bind(irq_);
    cpu_.interrupt[0].bind(irq_);
    // The line still high after the guest's ACK (its drop is a delta cycle away) is low to the
    // guest, as on hardware where the ACK drops it: no spurious interrupt when the guest looks
    // again within that delta (with no local time), and none for a guest running ahead.
    cpu_.set_line_level(0, [this] { return irq_.read() && transport_.interrupt_status() != 0; });
    balloon_.add_observer(host_link_);
    cpu_.on_touch_memory([this](uint64_t address, uint64_t length) {
        // At the guest's kernel time: ahead of SystemC's when it runs ahead.
        return host_.touch_address_range(host_id_, address, length, cpu_.kernel_time()).stall;
    });
    cpu_.on_touch_held_memory([this](uint64_t bytes) {
        return host_
            .touch_held_share(host_id_, bytes >> spec::balloon::kPfnShift, cpu_.kernel_time())
            .stall;
    });

    // The driver's rings and buffers sit in the first pages of RAM; the allocator
    // manages the rest, as a kernel's reserved region would be.
    driver_region_bytes_ =
        round_up(sw::balloon::BalloonDriver::dma_region_bytes_for(
                     guest.driver.queue_size, balloon_feature_bits(guest.driver.features)),
                 std::max<uint64_t>(guest.page_size, 4096));
    if (driver_region_bytes_ >= guest.ram_bytes) {
        SC_REPORT_ERROR(kReportType, ("guest '" + guest.name + "' is too small").c_str());
    }

    sw::guest::GuestMemoryParams memory_params;
    memory_params.ram_base = guest.ram_base + driver_region_bytes_;
    memory_params.ram_bytes = guest.ram_bytes - driver_region_bytes_;
    memory_params.page_size = guest.page_size;
    memory_params.min_pages = guest.watermarks.min_bytes / guest.page_size;
    memory_params.low_pages = guest.watermarks.low_bytes / guest.page_size;
    memory_params.high_pages = guest.watermarks.high_bytes / guest.page_size;
    const uint64_t pages = memory_params.ram_bytes / guest.page_size;
    memory_storage_ = models::ZeroedWords(sw::guest::GuestMemory::storage_words_for(pages));
    memory_ = std::make_unique<sw::guest::GuestMemory>(memory_params, memory_storage_.data(),
                                                       memory_storage_.size());
    if (!memory_->valid()) {
        SC_REPORT_ERROR(kReportType,
                        ("guest '" + guest.name + "': memory configuration rejected").c_str());
    }

    sw::balloon::BalloonDriverParams driver_params;
    driver_params.mmio_base = guest.balloon.mmio_base;
    driver_params.irq_line = 0;
    driver_params.driver_features = balloon_feature_bits(guest.driver.features);
    driver_params.use_event_idx = guest.driver.event_idx;
    driver_params.queue_size = guest.driver.queue_size;
    driver_params.pfns_per_round = guest.driver.pfns_per_round;
    driver_params.retry_delay_ns = to_ns(guest.driver.retry_delay);
    driver_params.oom_release_pages = guest.driver.oom_release_pages;
    driver_params.dma_region_base = guest.ram_base;
    driver_params.dma_region_bytes = driver_region_bytes_;
    driver_params.alloc_cost_per_page_ns = to_ns(guest.driver.alloc_cost_per_page);
    driver_params.free_cost_per_page_ns = to_ns(guest.driver.free_cost_per_page);
    driver_params.translate_cost_per_page_ns = to_ns(guest.driver.translate_cost_per_page);
    driver_params.cpu_cost_per_round_ns = to_ns(guest.driver.cpu_cost_per_round);
    driver_params.free_page_init = free_page_init(guest.driver.free_page_init);
    driver_params.reporting.order =
        block_order(guest.driver.reporting_block_bytes, guest.page_size);
    driver_params.reporting.delay_ns = to_ns(guest.driver.reporting_delay);
    driver_params.hint_order = block_order(guest.driver.hint_block_bytes, guest.page_size);
    driver_storage_ = models::ZeroedWords(sw::balloon::BalloonDriver::storage_words_for(pages));
    driver_ = std::make_unique<sw::balloon::BalloonDriver>(
        cpu_.kernel(), *memory_, driver_params, driver_storage_.data(), driver_storage_.size());
    driver_->set_observer(&rates_);

    for (const ProcessConfig& process : guest.workload.process_list()) {
        sw::guest::WorkloadParams workload_params;
        workload_params.tick_ns = to_ns(guest.workload.tick);
        workload_params.cost_per_page_ns = to_ns(guest.workload.cpu_cost_per_page);
        if (process.restarts) {
            workload_params.restart_delay_ns = to_ns(process.restart_after);
        }
        processes_.push_back(
            std::make_unique<sw::guest::Workload>(cpu_.kernel(), *memory_, workload_params));
        process_list_.push_back(processes_.back().get());
        process_names_.push_back(process.name);
        phases_.push_back(to_phases(process.phases));
        processes_.back()->set_phases(phases_.back().data(), phases_.back().size(), process.repeat);
    }
    oom_killer_ = std::make_unique<sw::guest::OomKiller>(
        cpu_.kernel(), *memory_, process_list_.data(), process_list_.size());
    oom_killer_->set_observer(&GuestNode::on_oom_kill, this);

    // A booted guest has already touched part of its RAM; the host backs it.
    host_.touch_address_range(host_id_, guest.ram_base,
                              std::min(guest.resident_at_start_bytes, guest.ram_bytes));
    cpu_.run_in_guest([this] { boot(); });
}

GuestNode::~GuestNode() = default;

uint64_t GuestNode::demand_bytes() const {
    uint64_t total = 0;
    for (const auto& process : processes_) {
        total += process->demand_bytes();
    }
    return total;
}

uint64_t GuestNode::host_growth_bound_bytes(const sc_core::sc_time& window) const {
    // New host pages come only from the workload's allocate and cache phases (and swap-ins,
    // which LookaheadGate counts): at most the fastest rate over the window and two more
    // ticks (the tick in progress, rounding; a switch to a faster phase), plus the current
    // phases' backlog below.
    constexpr uint64_t kUnbounded = ~uint64_t{0};
    const double seconds = (window + 2 * config_.workload.tick).to_seconds();
    // The fastest growth of a phase list; kUnbounded when one allocates all at once.
    const auto fastest_of = [](const std::vector<sw::guest::Phase>& phases) {
        uint64_t fastest = 0;
        for (const sw::guest::Phase& phase : phases) {
            if (phase.kind != sw::guest::PhaseKind::kAllocate &&
                phase.kind != sw::guest::PhaseKind::kCache) {
                continue;
            }
            if (phase.rate_bytes_per_s == 0) {
                return kUnbounded;
            }
            fastest = std::max(fastest, phase.rate_bytes_per_s);
        }
        return fastest;
    };
    const sc_core::sc_time now = models::current_time();
    const sc_core::sc_time until = now + window + 2 * config_.workload.tick;
    const uint64_t now_ns = static_cast<uint64_t>(now.to_seconds() * 1e9);
    const uint64_t until_ns = static_cast<uint64_t>(until.to_seconds() * 1e9);
    double bytes = 0;
    for (size_t process = 0; process < phases_.size(); ++process) {
        uint64_t fastest = fastest_of(phases_[process]);
        if (process == 0) {
            // Phases a scenario event may switch the first process to, at any moment.
            for (const std::vector<sw::guest::Phase>& later : later_phases_) {
                fastest = std::max(fastest, fastest_of(later));
            }
        }
        if (fastest == kUnbounded) {
            return kUnbounded;
        }
        bytes += static_cast<double>(fastest) * seconds;
        // What the current phase (or the next, if its first tick comes late) has due by the
        // window's end beyond what it got: a backlog after a stall, a cache held at LOW; and
        // what a deferred OOM left owed.
        const sw::guest::Workload& workload = *processes_[process];
        bytes += static_cast<double>(
            (workload.growth_due_pages(now_ns, until_ns, fastest) + workload.owed_pages()) *
            config_.page_size);
    }
    return bytes >= static_cast<double>(kUnbounded) ? kUnbounded : static_cast<uint64_t>(bytes);
}

uint64_t GuestNode::workload_bytes() const {
    uint64_t total = 0;
    for (const auto& process : processes_) {
        total += process->anon_bytes();
    }
    return total;
}

void GuestNode::on_oom_kill(void* context, size_t process, uint64_t pages_freed, uint64_t now_ns) {
    auto& node = *static_cast<GuestNode*>(context);
    node.oom_kills_.push_back(
        {now_ns, node.process_names_[process], pages_freed * node.config_.page_size});
}

void GuestNode::enable_lookahead(const models::ObservationClock& clock, LookaheadGate& gate) {
    if (!config_.cpu.lookahead) {
        return;
    }
    cpu_.set_lookahead_horizon([this, &clock, &gate]() -> sc_core::sc_time {
        // An interrupt raised reaches the guest any moment (one it is handling now is not news
        // to it: its ACK comes next). A closed gate: the host might have to reclaim before the
        // next observation. The device acts when it is done with a buffer it holds for the
        // guest, when its worker wakes for a kick, or now if it works in SystemC's time.
        const bool interrupt_due =
            transport_.interrupt_status() != 0 && !cpu_.handling_interrupt(0);
        if (interrupt_due || !gate.open()) {
            return models::current_time();
        }
        // Observers the guest passes with a record of itself (the sampler) do not bound it.
        return std::min({clock.next_bounding_observation(), balloon_.next_stats_request(),
                         balloon_.quiet_until()});
    });
    // The guest goes back to SystemC: the device's held buffer is its worker's again.
    cpu_.set_before_in_step([this]() {
        transport_.give_deferred_line_wakeups();
        balloon_.release_held_work();
    });
    balloon_.notify_kicks_before_in_step();
    // The CPU alone reads the line, and not before its own time: an interrupt it took ahead
    // need not pulse it in SystemC (the trace still shows it).
    transport_.keep_pulses_seen_ahead_off_the_line();
    transport_.defer_line_wakeups_of(cpu_.thread());
    // Its RAM, and the transport registers that book what they do at the access's time (the
    // interrupt status and its ACK, a kick, config reads and `actual`), the guest reaches from
    // ahead, as long as its device is idle: nothing else touches them before the horizon.
    cpu_.set_ahead_access([this](uint64_t address, bool write) {
        if (balloon_.busy()) {
            return false;  // its worker reads the rings and the buffers in SystemC's time
        }
        if (address >= config_.ram_base && address - config_.ram_base < config_.ram_bytes) {
            return true;
        }
        const uint64_t base = config_.balloon.mmio_base;
        if (address < base || address - base >= spec::mmio::kWindowSize) {
            return false;
        }
        namespace reg = spec::mmio;
        const uint64_t offset = address - base;
        if (!write) {
            return offset == reg::kInterruptStatus || offset == reg::kConfigGeneration ||
                   offset >= reg::kConfig;
        }
        const uint64_t actual = reg::kConfig + spec::balloon::kConfigActual;
        if (offset == reg::kQueueNotify) {
            return balloon_.kick_may_go_ahead();
        }
        return offset == reg::kInterruptAck || (offset >= actual && offset < actual + 4);
    });
    // The guest kicked its balloon and sleeps: the device's work up to the guest's next timer,
    // interrupt or observation touches nothing else, so it is done here, in the guest's
    // thread, not in two wake-ups of the device's; and the interrupt for it, if it comes
    // before anything else, wakes the guest without its sleeping in SystemC.
    cpu_.set_idle_hook([this, &clock, &gate](const sc_core::sc_time& next_timer) {
        GuestCpu::IdleWake wake;
        if (transport_.interrupt_status() != 0 || !gate.open()) {
            return wake;  // the guest wakes for that interrupt first; or the host may reclaim
        }
        // Up to the next observation the guest passes with a record too: that record must
        // not show the device's later work.
        const sc_core::sc_time limit =
            std::min({next_timer, clock.next_bounding_observation(), cpu_.next_passed_observation(),
                      balloon_.next_stats_request()});
        if (balloon_.work_ahead(limit) && transport_.interrupt_rise_due() < limit) {
            wake.at = transport_.interrupt_rise_due();
        }
        return wake;
    });
}

void GuestNode::boot() {
    const sw::virtio::Result result = driver_->probe();
    if (result != sw::virtio::Result::kOk) {
        SC_REPORT_WARNING(kReportType, ("guest '" + config_.name + "': balloon probe failed: " +
                                        sw::virtio::result_name(result))
                                           .c_str());
    }
    for (const auto& process : processes_) {
        process->start();
    }
}

std::vector<sw::guest::Phase> GuestNode::to_phases(const std::vector<WorkloadPhaseConfig>& phases) {
    std::vector<sw::guest::Phase> result;
    for (const WorkloadPhaseConfig& phase : phases) {
        sw::guest::Phase converted;
        switch (phase.kind) {
            case PhaseKind::kAllocate:
                converted.kind = sw::guest::PhaseKind::kAllocate;
                break;
            case PhaseKind::kFree:
                converted.kind = sw::guest::PhaseKind::kFree;
                break;
            case PhaseKind::kHold:
                converted.kind = sw::guest::PhaseKind::kHold;
                break;
            case PhaseKind::kCache:
                converted.kind = sw::guest::PhaseKind::kCache;
                break;
            case PhaseKind::kTouch:
                converted.kind = sw::guest::PhaseKind::kTouch;
                break;
        }
        converted.level_bytes = phase.level_bytes;
        converted.rate_bytes_per_s = static_cast<uint64_t>(phase.rate_bytes_per_second);
        converted.duration_ns = to_ns(phase.duration);
        result.push_back(converted);
    }
    return result;
}

void GuestNode::enable_trace() {
    if (trace_) {
        return;
    }
    trace_ = std::make_unique<GuestTrace>(config_.balloon.transport_version, balloon_);
    transport_.set_observer(trace_.get());
    balloon_.add_observer(*trace_);
    rates_.set_downstream(trace_.get());
}

void GuestNode::freeze() {
    cpu_.run_in_guest([this] {
        for (const auto& process : processes_) {
            process->stop();
        }
        driver_->freeze();
    });
}

void GuestNode::restore() {
    cpu_.run_in_guest([this] {
        driver_->restore();
        for (const auto& process : processes_) {
            process->start();
        }
    });
}

void GuestNode::remove() {
    cpu_.run_in_guest([this] { driver_->remove(); });
}

void GuestNode::expect_workload(const std::vector<WorkloadPhaseConfig>& phases) {
    later_phases_.push_back(to_phases(phases));
}

void GuestNode::replace_workload(const std::vector<WorkloadPhaseConfig>& phases) {
    cpu_.run_in_guest([this, phases] {
        // The workload reads the array in place: keep the old one alive while switching.
        sw::guest::Workload& first = *processes_.front();
        const std::vector<sw::guest::Phase> old = std::move(phases_.front());
        phases_.front() = to_phases(phases);
        first.set_phases(phases_.front().data(), phases_.front().size(), false);
        first.respawn();
        if (!first.running()) {
            first.start();
        }
    });
}

bool GuestNode::uses_free_page_features() const {
    const uint64_t newer = spec::feature::bit(spec::balloon::kFeatureFreePageHint) |
                           spec::feature::bit(spec::balloon::kFeaturePagePoison) |
                           spec::feature::bit(spec::balloon::kFeaturePageReporting);
    return (balloon_.params().offered_features & newer) != 0;
}

void GuestNode::start_free_page_hint() {
    balloon_.start_free_page_hint();
}

void GuestNode::stop_free_page_hint() {
    balloon_.stop_free_page_hint();
}

void GuestNode::finish_free_page_hint() {
    balloon_.finish_free_page_hint();
}

void GuestNode::reset_device() {
    // The device tells the driver the way the spec provides: DEVICE_NEEDS_RESET plus a
    // configuration-change interrupt.
    transport_.needs_reset("the host asked for a device reset");
}

}  // namespace vbsim::platform
