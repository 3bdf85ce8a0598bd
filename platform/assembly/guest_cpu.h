#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include <tlm_utils/simple_initiator_socket.h>
#include <systemc>
#include <tlm>

#include "models/interconnect/bus_accessor.h"
#include "models/timing/current_time.h"
#include "models/timing/initiator_time.h"
#include "models/timing/max_time.h"
#include "platform/config/guest_cpu_params.h"
#include "sw/guest/kernel.h"
#include "sw/hal/hal.h"

namespace vbsim::platform {

struct GuestCpuCounters {
    uint64_t mmio_reads = 0;
    uint64_t mmio_writes = 0;
    uint64_t mmio_errors = 0;
    uint64_t ram_errors = 0;
    uint64_t interrupts_taken = 0;
    uint64_t idle_waits = 0;
    uint64_t run_ahead_steps = 0;      // synchronisations and timer waits skipped (lookahead)
    uint64_t timer_notifications = 0;  // timed notifications issued for the guest's timer
    uint64_t ahead_accesses = 0;       // bus accesses made from ahead of SystemC's time
    uint64_t observations_passed = 0;  // passed running ahead, recorded for their observer
    sc_core::sc_time cpu_time = sc_core::SC_ZERO_TIME;         // annotated guest work
    sc_core::sc_time host_swap_stall = sc_core::SC_ZERO_TIME;  // waits on host swap
};

// Runs guest software (sw/) in an SC_THREAD and is its hardware: implements sw::hal
// over a TLM initiator socket (MMIO as b_transport, guest RAM through DMI when granted),
// SystemC time and events for the clock and timer, level-sensitive interrupt inputs,
// and a quantum keeper for loosely-timed temporal decoupling.
class GuestCpu : public sc_core::sc_module, public sw::hal::Hal {
  public:
    tlm_utils::simple_initiator_socket<GuestCpu> socket;
    sc_core::sc_vector<sc_core::sc_in<bool>> interrupt;

    GuestCpu(const sc_core::sc_module_name& name, const GuestCpuParams& params);

    sw::guest::Kernel& kernel() { return kernel_; }
    const GuestCpuCounters& counters() const { return counters_; }
    const GuestCpuParams& params() const { return params_; }
    const models::BusAccessorCounters& ram_counters() const { return ram_.counters(); }

    // Runs `action` in the guest's context (for probe, freeze, restore...): at start-up
    // when posted before the simulation, otherwise at the guest's next step.
    void run_in_guest(std::function<void()> action);
    // Called for every touch_memory(); the platform charges host memory here and returns how
    // long the guest waits on the host for it (host swap), which the CPU then spends.
    void on_touch_memory(
        std::function<sc_core::sc_time(uint64_t address, uint64_t length)> observer) {
        touch_observer_ = std::move(observer);
    }
    // Called for every touch_held_memory() with the bytes used; returns the wait on the host.
    void on_touch_held_memory(std::function<sc_core::sc_time(uint64_t bytes)> observer) {
        held_touch_observer_ = std::move(observer);
    }
    // Lookahead: `horizon` returns the earliest simulated time at which anything outside the
    // guest may act on it or observe it. Until then the CPU runs through its own timers and
    // synchronisations without waiting in SystemC (bus accesses still synchronise first).
    // Without a horizon (the default) the CPU stays in step with SystemC. The CPU asks again
    // only after something may have moved it: a wait in SystemC (other processes ran), a bus
    // access, the idle hook; timers, CPU time and memory touches in between leave it as it was.
    void set_lookahead_horizon(std::function<sc_core::sc_time()> horizon) {
        lookahead_horizon_ = std::move(horizon);
        horizon_known_ = false;
    }
    // Observers that need no stop (a sampler): at `first`, then each next_after(previous)
    // (sc_max_time(): no more). The horizon need not bound them; running ahead past one, the
    // guest calls record(time) first, after everything it did at or before that time (as its
    // observer would have seen it in step), and that observer reads the record instead.
    void set_passed_observations(
        const sc_core::sc_time& first,
        std::function<sc_core::sc_time(const sc_core::sc_time&)> next_after,
        std::function<void(const sc_core::sc_time&)> record) {
        pending_observation_ = first;
        next_observation_after_ = std::move(next_after);
        record_observation_ = std::move(record);
    }
    // The next such observation not yet passed (sc_max_time(): none): work a device does
    // ahead for the guest stops there, as the guest's record must not include later work.
    const sc_core::sc_time& next_passed_observation() const { return pending_observation_; }
    // Called when the guest is about to idle (nothing to run, no interrupt line high), before
    // it synchronises, with the time of its next timer (sc_max_time(): none): a device of the
    // guest may do the work the guest left it, in this thread (see BalloonDevice::work_ahead).
    // It returns when a line will rise and wake the guest, if that comes before anything else
    // can reach it; the guest then goes on from there without sleeping in SystemC.
    struct IdleWake {
        sc_core::sc_time at = models::max_time();  // none
        unsigned int line = 0;
    };
    void set_idle_hook(std::function<IdleWake(const sc_core::sc_time& next_timer)> hook) {
        idle_hook_ = std::move(hook);
    }
    // Bus accesses `may_go_ahead` allows are made from the guest's own time while it runs
    // ahead (annotated that far past SystemC's, with a models::InitiatorTime extension giving
    // its kernel time), instead of waiting until SystemC catches up: for targets that nothing
    // else reaches before the guest's horizon and that book every effect at the access's time.
    void set_ahead_access(std::function<bool(uint64_t address, bool write)> may_go_ahead) {
        ahead_access_ = std::move(may_go_ahead);
    }
    // Called before the guest lets SystemC go on (it waits) or reaches a target at SystemC's
    // time: a device holding work it did ahead for the guest hands it back to SystemC here.
    void set_before_in_step(std::function<void()> hook) { before_in_step_ = std::move(hook); }
    // The SystemC thread the guest runs in.
    const sc_core::sc_process_handle& thread() const { return thread_; }
    // The level of `line` as the guest sees it, when the line's signal can lag behind its
    // cause: a device whose acknowledged cause has not yet dropped the line (the drop is one
    // delta away) reports it low, so a guest running ahead does not take it again.
    void set_line_level(unsigned int line, std::function<bool()> level) {
        line_levels_.at(line) = std::move(level);
    }
    // Where the guest is: the SystemC time it would have reached without lookahead (equal to
    // sc_time_stamp() when in step), and its local time ahead of that.
    const sc_core::sc_time& kernel_time() const { return kernel_time_; }
    // The guest has taken an interrupt of `line` and its handler has not returned yet.
    bool handling_interrupt(unsigned int line) const {
        return line_blocked_until_[line] == kBlockedUntilHandled &&
               kernel_.interrupt_unfinished(line);
    }
    // The host killed this guest: its CPU runs nothing more (from its next step).
    void halt() { halted_ = true; }
    bool halted() const { return halted_; }

    // sw::hal::Hal
    uint32_t mmio_read32(uint64_t physical_address) override;
    void mmio_write32(uint64_t physical_address, uint32_t value) override;
    uint8_t mmio_read8(uint64_t physical_address) override;
    void mmio_write8(uint64_t physical_address, uint8_t value) override;
    void ram_read(uint64_t physical_address, void* destination, size_t length) override;
    void ram_write(uint64_t physical_address, const void* source, size_t length) override;
    void touch_memory(uint64_t physical_address, uint64_t length) override;
    void touch_held_memory(uint64_t bytes) override;
    void memory_barrier() override {}  // transactions complete in program order
    uint64_t now_ns() override;
    void arm_timer(uint64_t deadline_ns) override { timer_deadline_ns_ = deadline_ns; }
    void cancel_timer() override { timer_deadline_ns_ = kNoDeadline; }
    void cpu_cost(uint64_t nanoseconds) override;

  private:
    static constexpr uint64_t kNoDeadline = ~uint64_t{0};

    void run();
    // An edge before the guest's own time is of an interrupt it took while running ahead:
    // nothing else reaches it before then (its horizon), so only later edges wake it.
    void on_interrupt_edge() {
        if (models::current_time() >= kernel_time_) {
            wake_event_.notify();
        }
    }
    void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) { ram_.invalidate(start, end); }
    // One access of `width` bytes (1 or 4) at `data`, little-endian as the bus is.
    bool mmio(tlm::tlm_command command, uint64_t address, unsigned char* data, unsigned width);
    // sc_time(nanoseconds, SC_NS), cheaply.
    sc_core::sc_time from_ns(uint64_t nanoseconds) const;
    // Hands the local time to the kernel; after it, interrupt lines show their settled level.
    void synchronize();
    // Before the guest lets SystemC go on or reaches a target at its time.
    void prepare_in_step() {
        if (before_in_step_) {
            before_in_step_();
        }
    }
    // The guest goes on from `kernel_time` with no local time, as after a synchronisation.
    void continue_at(const sc_core::sc_time& kernel_time);
    // Records the passed observations before `time` whose observers have not run yet.
    __attribute__((cold, noinline)) void pass_observations_before(const sc_core::sc_time& time);
    // The same as synchronize(), without waiting when the guest may run ahead that far.
    void synchronize_or_run_ahead();
    // When running ahead: waits until SystemC reaches the guest's kernel time (local time
    // kept), so that a bus access carries the right annotation.
    void come_back_in_step();
    // Before a bus access to `address`: the annotation to give it (the local time, or the
    // distance to the guest's time when it may go ahead; else comes back in step first).
    sc_core::sc_time access_delay(uint64_t address, bool write);
    // After it: the local time again, from the annotation the target returned.
    void after_access(const sc_core::sc_time& delay);
    // After a bus access: a target that waited inside b_transport took the guest along.
    void follow_blocking_target();
    bool may_run_ahead_to(const sc_core::sc_time& time);
    // After a wait, a bus access or the idle hook: the horizon may have moved.
    void forget_horizon() { horizon_known_ = false; }
    // tlm_quantumkeeper's rules, kept here because the kernel time may be ahead of SystemC's.
    void restart_quantum();
    bool need_sync() const;
    // Guest time spent waiting for the host (swap), doing no work.
    void stall_on_host(const sc_core::sc_time& stall);
    void take_interrupts();
    bool any_line_high() const;
    bool line_high(unsigned int line) const;
    void wait_for_something();
    // Makes timer_event_ fire at or before `due` (SystemC time).
    void arm_timer_event(const sc_core::sc_time& due);

    // A line the idle hook said rises when the guest wakes (taken as high once).
    static constexpr unsigned int kNoLine = ~0u;
    // A taken line counts as new again only after a synchronisation later than the
    // epoch its handler ran in (kBlockedUntilHandled while the handler is pending).
    static constexpr uint64_t kBlockedUntilHandled = ~uint64_t{0};

    // What every resume of the guest thread reads, together: with a thousand guests each
    // resume finds the last one's lines evicted, and every line is a miss.
    sc_core::sc_time kernel_time_;      // >= sc_time_stamp(); equal when in step
    sc_core::sc_time local_time_;       // decoupled: ahead of kernel_time_
    sc_core::sc_time next_sync_point_;  // as tlm_quantumkeeper's
    sc_core::sc_time sync_quantum_;     // the quantum next_sync_point_ was found with
    sc_core::sc_time horizon_;
    sc_core::sc_time pending_observation_ = sc_core::sc_max_time();
    sc_core::sc_time timer_event_at_ = sc_core::SC_ZERO_TIME;  // timer_event_'s notification
    sc_core::sc_time one_ns_;
    uint64_t ticks_per_ns_ = 0;  // time-resolution ticks in 1 ns
    uint64_t max_exact_ns_ = 0;  // from_ns() exact by integers below this
    uint64_t sync_epoch_ = 1;
    uint64_t timer_deadline_ns_ = kNoDeadline;
    unsigned int woken_by_line_ = kNoLine;
    bool horizon_known_ = false;  // horizon_ is lookahead_horizon_()'s answer still
    bool halted_ = false;
    tlm::tlm_global_quantum& global_quantum_;  // the singleton, looked up once
    GuestCpuCounters counters_;
    std::deque<std::function<void()>> actions_;
    std::vector<uint64_t> line_blocked_until_;
    std::vector<std::function<bool()>> line_levels_;
    std::function<sc_core::sc_time()> lookahead_horizon_;
    std::function<IdleWake(const sc_core::sc_time&)> idle_hook_;
    std::function<bool(uint64_t, bool)> ahead_access_;
    std::function<sc_core::sc_time(uint64_t, uint64_t)> touch_observer_;
    sw::guest::Kernel kernel_;

    GuestCpuParams params_;
    std::function<void()> before_in_step_;
    std::function<sc_core::sc_time(const sc_core::sc_time&)> next_observation_after_;
    std::function<void(const sc_core::sc_time&)> record_observation_;
    std::function<sc_core::sc_time(uint64_t)> held_touch_observer_;
    sc_core::sc_process_handle thread_;
    models::InitiatorTime initiator_time_;  // attached to MMIO made from ahead
    models::BusAccessor ram_;
    tlm::tlm_generic_payload mmio_payload_;  // reused by every MMIO access
    sc_core::sc_event halt_event_;
    sc_core::sc_event wake_event_;   // an interrupt edge or an action
    sc_core::sc_event timer_event_;  // the guest's timer deadline
};

}  // namespace vbsim::platform
