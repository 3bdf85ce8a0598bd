#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/host/balloon_host_link.h"
#include "models/host/host_memory.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/memory/zeroed_words.h"
#include "models/timing/observation_clock.h"
#include "models/virtio/virtio_mmio.h"
#include "platform/assembly/balloon_rate_meter.h"
#include "platform/assembly/guest_cpu.h"
#include "platform/assembly/guest_trace.h"
#include "platform/assembly/lookahead_gate.h"
#include "platform/config/scenario.h"
#include "sw/balloon/balloon_driver.h"
#include "sw/guest/guest_memory.h"
#include "sw/guest/oom_killer.h"
#include "sw/guest/workload.h"

namespace vbsim::platform {

// One victim of the guest's OOM killer.
struct OomKillRecord {
    uint64_t time_ns = 0;  // guest time of the kill
    std::string process;
    uint64_t freed_bytes = 0;
};

// One virtual machine: its own bus and guest-physical address space (RAM and the
// virtio-mmio balloon), the guest CPU running the kernel, the guest memory model,
// the balloon driver and the workload, and its link to the host's RAM pool.
//
//   GuestCpu ──► Router ──┬─► Memory (guest RAM; the first pages hold the driver's rings)
//                  ▲      └─► VirtioMmio ── BalloonDevice ── BalloonHostLink ──► HostMemory
//                  └──────────── DMA ────┘
class GuestNode : public sc_core::sc_module {
  public:
    GuestNode(const sc_core::sc_module_name& name, const GuestConfig& guest,
              models::HostMemory& host);
    ~GuestNode() override;

    const GuestConfig& config() const { return config_; }
    const std::string& guest_name() const { return config_.name; }

    // Guest-side actions run in the guest CPU's context.
    void freeze();
    void restore();
    void remove();
    // Before the simulation: replace_workload() may switch to `phases` later (the lookahead
    // bound covers them from the start).
    void expect_workload(const std::vector<WorkloadPhaseConfig>& phases);
    // Replaces the first process's phases (a killed process starts again with them).
    void replace_workload(const std::vector<WorkloadPhaseConfig>& phases);
    // Host side: the device enters DEVICE_NEEDS_RESET and raises a config interrupt;
    // the driver stops using it (Linux marks such a device broken).
    void reset_device();

    // The parts, to act on (events, tests) and, const, to observe (sampling, summaries).
    GuestCpu& cpu() { return cpu_; }
    const GuestCpu& cpu() const { return cpu_; }
    models::Router& bus() { return bus_; }
    const models::Router& bus() const { return bus_; }
    models::Memory& ram() { return ram_; }
    const models::Memory& ram() const { return ram_; }
    models::BalloonDevice& balloon() { return balloon_; }
    const models::BalloonDevice& balloon() const { return balloon_; }
    models::VirtioMmio& transport() { return transport_; }
    const models::VirtioMmio& transport() const { return transport_; }
    sw::guest::GuestMemory& memory() { return *memory_; }
    const sw::guest::GuestMemory& memory() const { return *memory_; }
    sw::balloon::BalloonDriver& driver() { return *driver_; }
    const sw::balloon::BalloonDriver& driver() const { return *driver_; }
    // The workload's processes, in scenario order (the one-process form is "main").
    size_t process_count() const { return processes_.size(); }
    sw::guest::Workload& process(size_t index) { return *processes_[index]; }
    const sw::guest::Workload& process(size_t index) const { return *processes_[index]; }
    const std::string& process_name(size_t index) const { return process_names_[index]; }
    // Over every process: anonymous bytes wanted now, and held.
    uint64_t demand_bytes() const;
    uint64_t workload_bytes() const;
    // At most how many bytes of new host memory the guest can touch within `window` (for
    // LookaheadGate); ~0 when a phase allocates all at once.
    uint64_t host_growth_bound_bytes(const sc_core::sc_time& window) const;
    // The OOM killer's victims, in the order they died.
    const std::vector<OomKillRecord>& oom_kill_records() const { return oom_kills_; }
    // Inflate and deflate rates, from the driver's rounds.
    const BalloonRateMeter& rates() const { return rates_; }
    // Lets the CPU run ahead of SystemC time (before the simulation starts) until its device
    // or an observer waiting on `clock` may act, while `gate` is open; unless the scenario
    // turned it off (cpu.lookahead).
    void enable_lookahead(const models::ObservationClock& clock, LookaheadGate& gate);
    // Starts the register and transaction trace (before the simulation starts); null until.
    void enable_trace();
    const GuestTrace* guest_trace() const { return trace_.get(); }
    models::GuestId host_id() const { return host_id_; }
    const models::BalloonHostLink& host_link() const { return host_link_; }
    // The device offers FREE_PAGE_HINT, PAGE_POISON or PAGE_REPORTING: outputs gain their
    // columns and counters (and only then, so other scenarios' outputs do not change).
    bool uses_free_page_features() const;
    // Host side of free page hinting (QEMU around a migration).
    void start_free_page_hint();
    void stop_free_page_hint();
    void finish_free_page_hint();
    // The balloon's interrupt line into the CPU. With lookahead, an interrupt the guest took
    // and acknowledged while running ahead does not pulse it (the transport's
    // irq_for_trace() has every one).
    sc_core::sc_signal<bool>& irq() { return irq_; }
    // Guest RAM the driver reserved for rings and buffers (not in GuestMemory).
    uint64_t driver_region_bytes() const { return driver_region_bytes_; }

  private:
    void boot();
    static std::vector<sw::guest::Phase> to_phases(const std::vector<WorkloadPhaseConfig>& phases);
    static void on_oom_kill(void* context, size_t process, uint64_t pages_freed, uint64_t now_ns);

    GuestConfig config_;
    models::HostMemory& host_;
    models::GuestId host_id_;
    uint64_t driver_region_bytes_ = 0;

    GuestCpu cpu_;
    models::Router bus_;
    models::Memory ram_;
    models::BalloonDevice balloon_;
    models::VirtioMmio transport_;
    sc_core::sc_signal<bool> irq_;
    models::BalloonHostLink host_link_;

    models::ZeroedWords memory_storage_;
    std::unique_ptr<sw::guest::GuestMemory> memory_;
    models::ZeroedWords driver_storage_;
    std::unique_ptr<sw::balloon::BalloonDriver> driver_;
    BalloonRateMeter rates_;
    std::unique_ptr<GuestTrace> trace_;
    std::vector<std::unique_ptr<sw::guest::Workload>> processes_;
    std::vector<sw::guest::Workload*> process_list_;  // what the OOM killer walks
    std::vector<std::string> process_names_;
    std::vector<std::vector<sw::guest::Phase>> phases_;  // each process reads its own in place
    std::vector<std::vector<sw::guest::Phase>> later_phases_;  // expect_workload()
    std::unique_ptr<sw::guest::OomKiller> oom_killer_;
    std::vector<OomKillRecord> oom_kills_;
};

}  // namespace vbsim::platform
