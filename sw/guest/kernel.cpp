#include "sw/guest/kernel.h"

#include "sw/bits/bits.h"

namespace vbsim::sw::guest {

Kernel::Kernel(hal::Hal& hal) : hal_(hal) {}

uint64_t Kernel::now_ns() const {
    return hal_.now_ns();
}

// ---- interrupts ------------------------------------------------------------------------

bool Kernel::register_interrupt(unsigned int line, Callback handler, void* context) {
    if (line >= kMaxInterruptLines) {
        return false;
    }
    interrupt_handlers_[line] = handler;
    interrupt_contexts_[line] = handler != nullptr ? context : nullptr;
    if (handler == nullptr) {
        __atomic_fetch_and(&pending_interrupts_, ~(uint32_t{1} << line), __ATOMIC_ACQ_REL);
    }
    return true;
}

void Kernel::interrupt(unsigned int line) {
    // Nobody would acknowledge the device: drop it rather than keep the loop busy.
    // Called from a trap handler that may interrupt run_interrupts() between its load and
    // its clear of the pending mask: every update of shared state is one atomic operation
    // (GCC builtins: freestanding, one AMO instruction on rv64gc).
    if (line >= kMaxInterruptLines || interrupt_handlers_[line] == nullptr) {
        __atomic_fetch_add(&spurious_interrupts_, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_fetch_or(&pending_interrupts_, uint32_t{1} << line, __ATOMIC_ACQ_REL);
}

bool Kernel::run_interrupts() {
    // Lines raised by a handler for a line of this batch that is still to come run now;
    // any other line waits for the next pass, so a handler cannot starve timers and work.
    const uint32_t batch = __atomic_load_n(&pending_interrupts_, __ATOMIC_ACQUIRE);
    bool ran = false;
    for (uint32_t rest = batch; rest != 0; rest &= rest - 1) {
        const unsigned int line = bits::lowest_bit(rest);
        const uint32_t bit = uint32_t{1} << line;
        // Test and clear in one step: a line raised meanwhile by a trap is never lost.
        if ((__atomic_fetch_and(&pending_interrupts_, ~bit, __ATOMIC_ACQ_REL) & bit) == 0) {
            continue;
        }
        const Callback handler = interrupt_handlers_[line];
        if (handler == nullptr) {
            ++spurious_interrupts_;
            continue;
        }
        ++interrupts_dispatched_;
        ran = true;
        running_interrupt_line_ = line;
        handler(interrupt_contexts_[line]);
        running_interrupt_line_ = kMaxInterruptLines;
    }
    return ran;
}

// ---- work ----------------------------------------------------------------------------

void Kernel::schedule(Work& work) {
    if (work.pending_) {
        return;
    }
    work.pending_ = true;
    work.next_ = nullptr;
    if (work_tail_ != nullptr) {
        work_tail_->next_ = &work;
    } else {
        work_head_ = &work;
    }
    work_tail_ = &work;
}

void Kernel::cancel(Work& work) {
    if (!work.pending_) {
        return;
    }
    // Pending work sits either in the queue or in the batch the current pass is running.
    Work* previous = nullptr;
    for (Work* item = work_head_; item != nullptr; previous = item, item = item->next_) {
        if (item != &work) {
            continue;
        }
        (previous != nullptr ? previous->next_ : work_head_) = work.next_;
        if (work_tail_ == &work) {
            work_tail_ = previous;
        }
        work.pending_ = false;
        work.next_ = nullptr;
        return;
    }
    previous = nullptr;
    for (Work* item = running_work_; item != nullptr; previous = item, item = item->next_) {
        if (item == &work) {
            (previous != nullptr ? previous->next_ : running_work_) = work.next_;
            work.pending_ = false;
            work.next_ = nullptr;
            return;
        }
    }
}

bool Kernel::run_work() {
    // Take the whole queue: what the callbacks schedule lands in the (now empty) queue and
    // runs next pass.
    running_work_ = work_head_;
    work_head_ = nullptr;
    work_tail_ = nullptr;
    bool ran = false;
    while (running_work_ != nullptr) {
        Work* work = running_work_;
        running_work_ = work->next_;
        work->next_ = nullptr;
        work->pending_ = false;  // before the call, so the work may re-schedule itself
        ++work_run_;
        ran = true;
        work->function_(work->context_);
    }
    return ran;
}

// ---- timers ----------------------------------------------------------------------------

void Kernel::unlink(Timer& timer) {
    Timer** link = &timers_;
    while (*link != nullptr && *link != &timer) {
        link = &(*link)->next_;
    }
    if (*link != nullptr) {
        *link = timer.next_;
    }
    timer.next_ = nullptr;
    timer.armed_ = false;
}

void Kernel::arm(Timer& timer, uint64_t delay_ns) {
    const uint64_t now = hal_.now_ns();
    arm_at(timer, delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns);
}

void Kernel::arm_at(Timer& timer, uint64_t deadline_ns) {
    if (timer.armed_) {
        unlink(timer);
    }
    timer.deadline_ns_ = deadline_ns;
    timer.sequence_ = next_timer_sequence_++;
    timer.armed_ = true;
    // After every timer with the same deadline: ties fire in arming order.
    Timer** link = &timers_;
    while (*link != nullptr && (*link)->deadline_ns_ <= deadline_ns) {
        link = &(*link)->next_;
    }
    timer.next_ = *link;
    *link = &timer;
    if (!in_timer_phase_) {
        program_hardware_timer();
    }
}

void Kernel::cancel(Timer& timer) {
    if (!timer.armed_) {
        return;
    }
    unlink(timer);
    if (!in_timer_phase_) {
        program_hardware_timer();
    }
}

uint64_t Kernel::next_deadline_ns() const {
    return timers_ != nullptr ? timers_->deadline_ns_ : UINT64_MAX;
}

void Kernel::program_hardware_timer() {
    const uint64_t next = next_deadline_ns();
    // A one-shot that already expired must be programmed again even for the same deadline.
    if (next == programmed_deadline_ns_ && (next == UINT64_MAX || next > hal_.now_ns())) {
        return;
    }
    programmed_deadline_ns_ = next;
    if (next == UINT64_MAX) {
        hal_.cancel_timer();
    } else {
        hal_.arm_timer(next);
    }
}

bool Kernel::run_timers() {
    if (timers_ == nullptr) {
        // Nothing can fire, and the hardware timer is already cancelled (the last unlink or
        // cancel reprogrammed it): skip reading the clock, as every pass would.
        return false;
    }
    // Only timers armed before the phase began may fire: one that re-arms itself for "now"
    // fires next pass instead of looping here forever.
    const uint64_t sequence_limit = next_timer_sequence_;
    bool ran = false;
    in_timer_phase_ = true;
    uint64_t now = hal_.now_ns();
    for (;;) {
        Timer* due = timers_;
        while (due != nullptr && due->deadline_ns_ <= now && due->sequence_ >= sequence_limit) {
            due = due->next_;
        }
        if (due == nullptr || due->deadline_ns_ > now) {
            break;
        }
        unlink(*due);
        ++timers_fired_;
        ran = true;
        due->function_(due->context_);
        now = hal_.now_ns();  // callbacks may account CPU time
    }
    in_timer_phase_ = false;
    program_hardware_timer();
    return ran;
}

// ---- the loop ----------------------------------------------------------------------------

bool Kernel::run_once() {
    bool ran = run_interrupts();
    ran = run_timers() || ran;
    ran = run_work() || ran;
    return ran;
}

bool Kernel::idle() const {
    // No timer armed: nothing is due whatever the clock says, so it is not read.
    return !interrupt_pending() && work_head_ == nullptr && running_work_ == nullptr &&
           (timers_ == nullptr || next_deadline_ns() > hal_.now_ns());
}

}  // namespace vbsim::sw::guest
