#pragma once

// The guest's tiny kernel: an event loop that dispatches interrupts, one-shot timers
// and deferred work in order, so drivers are written as handlers and never block.
// The same loop runs under platform::GuestCpu (SystemC) and under a bare-metal main:
//     while (true) { if (!kernel.run_once()) wait_for_interrupt_or(kernel.next_deadline_ns()); }
// Objects (Work, Timer) are owned by their users and linked intrusively: no allocation.

#include <stddef.h>
#include <stdint.h>

#include "sw/hal/hal.h"

namespace vbsim::sw::guest {

using Callback = void (*)(void* context);

class Kernel;

// Deferred work, run in thread context (Linux's work_struct). Scheduling work that is
// already pending does nothing.
class Work {
  public:
    Work(Callback function, void* context) : function_(function), context_(context) {}
    Work(const Work&) = delete;
    Work& operator=(const Work&) = delete;
    bool pending() const { return pending_; }

  private:
    friend class Kernel;
    Callback function_;
    void* context_;
    bool pending_ = false;
    Work* next_ = nullptr;
};

// A one-shot timer; its callback runs from run_once() once hal.now_ns() >= deadline.
class Timer {
  public:
    Timer(Callback function, void* context) : function_(function), context_(context) {}
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    bool armed() const { return armed_; }
    uint64_t deadline_ns() const { return deadline_ns_; }

  private:
    friend class Kernel;
    Callback function_;
    void* context_;
    bool armed_ = false;
    uint64_t deadline_ns_ = 0;
    uint64_t sequence_ = 0;  // arming order: a timer armed by a callback waits for the next pass
    Timer* next_ = nullptr;
};

class Kernel {
  public:
    static constexpr unsigned int kMaxInterruptLines = 32;

    explicit Kernel(hal::Hal& hal);
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    hal::Hal& hal() const { return hal_; }
    uint64_t now_ns() const;

    // Interrupts. The platform (or the trap handler) calls interrupt() when a line is
    // raised; the handler runs from the next run_once(), before timers and work. A
    // handler should acknowledge the device and schedule work, nothing heavier.
    // A null handler unregisters the line. Lines >= kMaxInterruptLines are refused.
    bool register_interrupt(unsigned int line, Callback handler, void* context);
    void interrupt(unsigned int line);
    // interrupt() is safe from a trap handler that preempts the loop (atomic updates).
    bool interrupt_pending() const {
        return __atomic_load_n(&pending_interrupts_, __ATOMIC_ACQUIRE) != 0;
    }
    // interrupt(line) was called and its handler has not returned yet (it is still to be
    // dispatched, or runs now).
    bool interrupt_unfinished(unsigned int line) const {
        return line < kMaxInterruptLines &&
               (line == running_interrupt_line_ ||
                (__atomic_load_n(&pending_interrupts_, __ATOMIC_ACQUIRE) & (uint32_t{1} << line)) !=
                    0);
    }

    // Work runs in FIFO order; work scheduled while run_once() runs waits for the next pass.
    void schedule(Work& work);
    void cancel(Work& work);

    // Timers fire in deadline order (ties in arming order). Re-arming moves the deadline.
    void arm(Timer& timer, uint64_t delay_ns);
    void arm_at(Timer& timer, uint64_t deadline_ns);
    void cancel(Timer& timer);
    // The earliest armed deadline, or UINT64_MAX when no timer is armed.
    uint64_t next_deadline_ns() const;

    // One pass: pending interrupts, then expired timers, then the work that was queued
    // when the pass began. Returns true when anything ran.
    bool run_once();
    // Nothing runnable now (no pending interrupt, no due timer, no work).
    bool idle() const;

    uint64_t interrupts_dispatched() const { return interrupts_dispatched_; }
    uint64_t timers_fired() const { return timers_fired_; }
    uint64_t work_run() const { return work_run_; }
    // Raised lines with no handler, or numbered >= kMaxInterruptLines: dropped and counted.
    uint64_t spurious_interrupts() const {
        return __atomic_load_n(&spurious_interrupts_, __ATOMIC_RELAXED);
    }

  private:
    void program_hardware_timer();
    void unlink(Timer& timer);
    bool run_interrupts();
    bool run_timers();
    bool run_work();

    // What every pass reads first, then the 512 bytes of handler tables: apart, they would
    // cost a cache line more per pass.
    hal::Hal& hal_;
    uint32_t pending_interrupts_ = 0;
    unsigned int running_interrupt_line_ = kMaxInterruptLines;  // none
    Work* work_head_ = nullptr;
    Work* work_tail_ = nullptr;
    // Work taken off the queue by the current pass, still to run (cancel() looks here too).
    Work* running_work_ = nullptr;
    Timer* timers_ = nullptr;  // sorted by deadline
    uint64_t next_timer_sequence_ = 0;
    // The deadline last handed to hal.arm_timer(); UINT64_MAX when none is programmed.
    uint64_t programmed_deadline_ns_ = UINT64_MAX;
    // Timer callbacks are running: reprogram the hardware once at the end of the phase.
    bool in_timer_phase_ = false;
    uint64_t interrupts_dispatched_ = 0;
    uint64_t timers_fired_ = 0;
    uint64_t work_run_ = 0;
    uint64_t spurious_interrupts_ = 0;
    Callback interrupt_handlers_[kMaxInterruptLines] = {};
    void* interrupt_contexts_[kMaxInterruptLines] = {};
};

}  // namespace vbsim::sw::guest
