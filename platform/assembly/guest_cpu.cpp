#include "platform/assembly/guest_cpu.h"

#include "models/timing/current_time.h"
#include "spec/little_endian.h"

namespace vbsim::platform {

namespace {
constexpr const char* kReportType = "vbsim/guest-cpu";
}

GuestCpu::GuestCpu(const sc_core::sc_module_name& name, const GuestCpuParams& params)
    : sc_core::sc_module(name),
      socket("socket"),
      interrupt("interrupt", params.interrupt_lines),
      one_ns_(1, sc_core::SC_NS),
      ticks_per_ns_(one_ns_.value()),
      max_exact_ns_(ticks_per_ns_ == 0 ? 0 : (uint64_t{1} << 53) / ticks_per_ns_),
      global_quantum_(tlm::tlm_global_quantum::instance()),
      line_blocked_until_(params.interrupt_lines, 0),
      line_levels_(params.interrupt_lines),
      kernel_(*this),
      params_(params) {
    if (params_.interrupt_lines == 0 ||
        params_.interrupt_lines > sw::guest::Kernel::kMaxInterruptLines) {
        SC_REPORT_ERROR(kReportType, "interrupt_lines must be in 1..32");
    }
    if (ticks_per_ns_ == 0) {
        SC_REPORT_ERROR(kReportType, "the time resolution must be 1 ns or finer");
    }
    global_quantum_.set(params_.quantum);
    restart_quantum();
    socket.register_invalidate_direct_mem_ptr(this, &GuestCpu::invalidate_dmi);

    SC_HAS_PROCESS(GuestCpu);
    // Idle waits are wait() on this static sensitivity: cheaper than a dynamic wait on two
    // events, and the timer keeps one notification per deadline (see arm_timer_event).
    SC_THREAD(run);
    thread_ = sc_core::sc_get_current_process_handle();  // during elaboration: the one just made
    sensitive << wake_event_ << timer_event_;
    SC_METHOD(on_interrupt_edge);
    for (auto& line : interrupt) {
        sensitive << line.pos();
    }
    dont_initialize();
}

void GuestCpu::run_in_guest(std::function<void()> action) {
    actions_.push_back(std::move(action));
    wake_event_.notify(sc_core::SC_ZERO_TIME);
}

// ---- HAL ------------------------------------------------------------------------

bool GuestCpu::mmio(tlm::tlm_command command, uint64_t address, unsigned char* data,
                    unsigned width) {
    // One payload for every access: constructing one allocates its extension array.
    tlm::tlm_generic_payload& trans = mmio_payload_;
    trans.set_command(command);
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(width);
    trans.set_streaming_width(width);
    trans.set_byte_enable_ptr(nullptr);
    trans.set_byte_enable_length(0);
    trans.set_dmi_allowed(false);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = access_delay(address, command == tlm::TLM_WRITE_COMMAND);
    const bool ahead = kernel_time_ > models::current_time();
    if (ahead) {
        initiator_time_.kernel_time = kernel_time_;
        trans.set_extension(&initiator_time_);
    }
    socket->b_transport(trans, delay);
    if (ahead) {
        trans.clear_extension(&initiator_time_);
    }
    after_access(delay);
    if (need_sync()) {
        synchronize_or_run_ahead();
    }
    if (trans.is_response_error()) {
        ++counters_.mmio_errors;
        return false;
    }
    return true;
}

uint32_t GuestCpu::mmio_read32(uint64_t physical_address) {
    ++counters_.mmio_reads;
    unsigned char bytes[4] = {};
    // A failed read returns all ones, as a bus abort would on most SoCs.
    if (!mmio(tlm::TLM_READ_COMMAND, physical_address, bytes, 4)) {
        return 0xffffffff;
    }
    return spec::load_le32(bytes);
}

void GuestCpu::mmio_write32(uint64_t physical_address, uint32_t value) {
    ++counters_.mmio_writes;
    unsigned char bytes[4] = {};
    spec::store_le32(bytes, value);
    mmio(tlm::TLM_WRITE_COMMAND, physical_address, bytes, 4);
}

uint8_t GuestCpu::mmio_read8(uint64_t physical_address) {
    ++counters_.mmio_reads;
    unsigned char byte = 0;
    return mmio(tlm::TLM_READ_COMMAND, physical_address, &byte, 1) ? byte : 0xff;
}

void GuestCpu::mmio_write8(uint64_t physical_address, uint8_t value) {
    ++counters_.mmio_writes;
    unsigned char byte = value;
    mmio(tlm::TLM_WRITE_COMMAND, physical_address, &byte, 1);
}

void GuestCpu::ram_read(uint64_t physical_address, void* destination, size_t length) {
    sc_core::sc_time delay = access_delay(physical_address, false);
    if (!ram_.read(*socket[0], physical_address, destination, length, delay)) {
        ++counters_.ram_errors;
    }
    after_access(delay);
    if (need_sync()) {
        synchronize_or_run_ahead();
    }
}

void GuestCpu::ram_write(uint64_t physical_address, const void* source, size_t length) {
    sc_core::sc_time delay = access_delay(physical_address, true);
    if (!ram_.write(*socket[0], physical_address, source, length, delay)) {
        ++counters_.ram_errors;
    }
    after_access(delay);
    if (need_sync()) {
        synchronize_or_run_ahead();
    }
}

void GuestCpu::touch_memory(uint64_t physical_address, uint64_t length) {
    if (touch_observer_) {
        stall_on_host(touch_observer_(physical_address, length));
    }
}

void GuestCpu::touch_held_memory(uint64_t bytes) {
    if (held_touch_observer_) {
        stall_on_host(held_touch_observer_(bytes));
    }
}

void GuestCpu::stall_on_host(const sc_core::sc_time& stall) {
    if (stall != sc_core::SC_ZERO_TIME) {
        // The host reads the pages back from swap (or writes others out) before the guest's
        // access completes: guest time that does no work.
        counters_.host_swap_stall += stall;
        local_time_ += stall;
        if (need_sync()) {
            synchronize_or_run_ahead();
        }
    }
}

uint64_t GuestCpu::now_ns() {
    const uint64_t ticks = (kernel_time_ + local_time_).value();
    // The guest asks for the time several times a step: at the usual 1 ps resolution, a
    // division by a constant (a multiply) instead of a 64-bit division.
    constexpr uint64_t kTicksPerNsAtPs = 1000;
    return ticks_per_ns_ == kTicksPerNsAtPs ? ticks / kTicksPerNsAtPs : ticks / ticks_per_ns_;
}

sc_core::sc_time GuestCpu::from_ns(uint64_t nanoseconds) const {
    // Both forms give the same value for whole nanoseconds while the product is exact in a
    // double; the multiplication is inline, without a resolution lookup and a conversion on
    // every call (sc_time::from_value is a library call too).
    if (nanoseconds < max_exact_ns_) {
        return one_ns_ * static_cast<double>(nanoseconds);
    }
    return sc_core::sc_time(static_cast<double>(nanoseconds), sc_core::SC_NS);
}

void GuestCpu::cpu_cost(uint64_t nanoseconds) {
    const sc_core::sc_time cost = from_ns(nanoseconds);
    counters_.cpu_time += cost;
    local_time_ += cost;
    if (need_sync()) {
        synchronize_or_run_ahead();
    }
}

// ---- the guest's main loop ------------------------------------------------------

void GuestCpu::restart_quantum() {
    // As tlm_quantumkeeper::reset(), from the guest's kernel time: the next sync point is the
    // next multiple of the global quantum.
    local_time_ = sc_core::SC_ZERO_TIME;
    const sc_core::sc_time& quantum = global_quantum_.get();
    if (quantum == sc_core::SC_ZERO_TIME) {
        next_sync_point_ = kernel_time_;
        return;
    }
    // Most restarts stay in the current quantum or move into the next: no 64-bit division.
    if (quantum == sync_quantum_) {
        if (kernel_time_ < next_sync_point_ && kernel_time_ + quantum >= next_sync_point_) {
            return;
        }
        if (kernel_time_ >= next_sync_point_ && kernel_time_ < next_sync_point_ + quantum) {
            next_sync_point_ += quantum;
            return;
        }
    }
    sync_quantum_ = quantum;
    next_sync_point_ = kernel_time_ - kernel_time_ % quantum + quantum;
}

bool GuestCpu::need_sync() const {
    return kernel_time_ + local_time_ >= next_sync_point_;
}

bool GuestCpu::may_run_ahead_to(const sc_core::sc_time& time) {
    // Strictly before the horizon: what happens at the horizon itself happens in step, so it
    // meets the device, the policy and the sampler there in the defined order.
    if (!lookahead_horizon_ || halted_) {
        return false;
    }
    if (!horizon_known_) {
        horizon_ = lookahead_horizon_();
        horizon_known_ = true;
    }
    return time < horizon_;
}

void GuestCpu::synchronize() {
    // The kernel's time catches up with the guest's (tlm_quantumkeeper::sync(): a delta
    // cycle when the local time is zero).
    prepare_in_step();
    sc_core::wait(kernel_time_ + local_time_ - models::current_time());
    forget_horizon();
    continue_at(models::current_time());
}

void GuestCpu::continue_at(const sc_core::sc_time& kernel_time) {
    if (__builtin_expect(pending_observation_ < kernel_time, 0)) {
        pass_observations_before(kernel_time);  // a few times per simulated second
    }
    kernel_time_ = kernel_time;
    restart_quantum();
    ++sync_epoch_;
}

void GuestCpu::pass_observations_before(const sc_core::sc_time& time) {
    while (pending_observation_ < time) {
        // One SystemC has already passed was made with the guest in step: its observer read
        // the guest itself.
        if (pending_observation_ >= models::current_time()) {
            record_observation_(pending_observation_);
            ++counters_.observations_passed;
        }
        pending_observation_ = next_observation_after_(pending_observation_);
    }
}

void GuestCpu::synchronize_or_run_ahead() {
    const sc_core::sc_time target = kernel_time_ + local_time_;
    if (!may_run_ahead_to(target)) {
        synchronize();
        return;
    }
    // Nothing outside the guest can act on it or look at it before the horizon: the wait
    // would let only other, unrelated processes run. The guest goes on as if it had waited.
    continue_at(target);
    ++counters_.run_ahead_steps;
}

void GuestCpu::follow_blocking_target() {
    // A target may wait() inside b_transport (the base protocol allows it): SystemC's time
    // then moved on with the guest, in step.
    if (models::current_time() > kernel_time_) {
        kernel_time_ = models::current_time();
    }
}

sc_core::sc_time GuestCpu::access_delay(uint64_t address, bool write) {
    const sc_core::sc_time now = models::current_time();
    if (kernel_time_ > now && ahead_access_ && ahead_access_(address, write)) {
        ++counters_.ahead_accesses;
        return kernel_time_ - now + local_time_;
    }
    come_back_in_step();
    return local_time_;
}

void GuestCpu::after_access(const sc_core::sc_time& delay) {
    forget_horizon();  // the access may have changed what the horizon depends on
    follow_blocking_target();
    // The annotation counted from SystemC's time; the local time counts from the kernel's.
    local_time_ = delay - (kernel_time_ - models::current_time());
}

void GuestCpu::come_back_in_step() {
    prepare_in_step();
    if (kernel_time_ > models::current_time()) {
        // Bus accesses reach devices and RAM at SystemC time plus the local time.
        const sc_core::sc_time local = local_time_;
        local_time_ = sc_core::SC_ZERO_TIME;
        sc_core::wait(kernel_time_ - models::current_time());
        forget_horizon();
        local_time_ = local;
    }
}

void GuestCpu::take_interrupts() {
    const unsigned int woken_by = woken_by_line_;
    woken_by_line_ = kNoLine;
    for (unsigned int line = 0; line < interrupt.size(); ++line) {
        // Level-sensitive, but a line the guest serviced only drops once the device's
        // ACK has settled at a synchronisation *after* the handler ran: until then the
        // high level is the old interrupt, not a new one.
        if ((line_high(line) || line == woken_by) && sync_epoch_ > line_blocked_until_[line]) {
            line_blocked_until_[line] = kBlockedUntilHandled;
            ++counters_.interrupts_taken;
            // Pending in the kernel from here (its handler runs at the next pass): the entry
            // is part of handling it (handling_interrupt()).
            kernel_.interrupt(line);
            cpu_cost(static_cast<uint64_t>(params_.interrupt_entry_cost.to_seconds() * 1e9));
        }
    }
}

bool GuestCpu::line_high(unsigned int line) const {
    return line_levels_[line] ? line_levels_[line]() : interrupt[line].read();
}

bool GuestCpu::any_line_high() const {
    for (unsigned int line = 0; line < interrupt.size(); ++line) {
        if (line_high(line)) {
            return true;
        }
    }
    return false;
}

void GuestCpu::wait_for_something() {
    if (idle_hook_ && !halted_ && actions_.empty() && kernel_.idle() && !any_line_high()) {
        const uint64_t deadline = kernel_.next_deadline_ns();
        const IdleWake wake =
            idle_hook_(deadline == kNoDeadline ? models::max_time() : from_ns(deadline));
        forget_horizon();  // the hook may have done its device's work
        if (wake.at != models::max_time() && wake.line < interrupt.size()) {
            // It would sleep until the line rises and wakes it (or, already later than that,
            // see it high at once after synchronising): it goes on from there now.
            continue_at(std::max(kernel_time_ + local_time_, wake.at));
            woken_by_line_ = wake.line;
            ++counters_.run_ahead_steps;
            return;
        }
    }
    synchronize_or_run_ahead();
    if (any_line_high()) {
        return;  // raised while we ran ahead
    }
    if (!actions_.empty() || !kernel_.idle()) {
        return;
    }
    ++counters_.idle_waits;
    const uint64_t now = now_ns();
    const uint64_t deadline = kernel_.next_deadline_ns();
    if (deadline != kNoDeadline && deadline > now &&
        may_run_ahead_to(kernel_time_ + local_time_ + from_ns(deadline - now))) {
        // Idle until a timer that falls before anything can reach the guest: skip to it,
        // exactly as far as the timed wait below would (whole nanoseconds from now, so a
        // sub-nanosecond part of the kernel time stays).
        continue_at(kernel_time_ + from_ns(deadline - now));
        ++counters_.run_ahead_steps;
        return;
    }
    if (deadline != kNoDeadline && deadline <= now) {
        // A timer already due: no sleep, only back in step.
        if (kernel_time_ > models::current_time()) {
            synchronize();
        } else {
            continue_at(models::current_time());
        }
        return;
    }
    // The guest sleeps on SystemC events from its own time, which may be ahead of SystemC's: it
    // got there under its horizon, so nothing wakes it before (no wait to catch up first).
    // (A wake before its own time would be a stale one: it sleeps on.)
    prepare_in_step();
    const sc_core::sc_time from = kernel_time_;
    if (deadline == kNoDeadline) {
        do {
            wait(wake_event_);
        } while (models::current_time() < from);
    } else {
        // Sleeps until the wake event, or the timer event at the deadline; a notification
        // left from an earlier deadline wakes it too soon: sleep on.
        const sc_core::sc_time due = from + from_ns(deadline - now);
        do {
            arm_timer_event(due);
            wait();
        } while (models::current_time() < from ||
                 (models::current_time() < due && !wake_event_.triggered()));
    }
    forget_horizon();
    continue_at(models::current_time());
}

void GuestCpu::arm_timer_event(const sc_core::sc_time& due) {
    // A cancelled notification is not taken out of SystemC's timed-event queue but stays there
    // until its time: re-notifying one event at every wait, as interrupts cut the waits short,
    // left thousands of dead entries per guest in a 10 s hold, and every queue operation paid
    // for them. So a pending notification at or before `due` stays (an early one is a spurious
    // wake-up); timed notifications fire before anything runs at their time, so one that is
    // not in the future has fired.
    const sc_core::sc_time now = models::current_time();
    if (timer_event_at_ > now && timer_event_at_ <= due) {
        return;
    }
    timer_event_.notify(due - now);  // replaces a later pending notification
    timer_event_at_ = due;
    ++counters_.timer_notifications;
}

void GuestCpu::run() {
    kernel_time_ = models::current_time();
    restart_quantum();
    while (true) {
        if (halted_) {
            synchronize();
            sc_core::wait(halt_event_);  // never notified: a killed guest stays dead
        }
        while (!actions_.empty()) {
            std::function<void()> action = std::move(actions_.front());
            actions_.pop_front();
            action();
        }
        take_interrupts();
        const bool ran = kernel_.run_once();
        // Handlers of the lines taken have run: the next synchronisation shows their ACK.
        for (uint64_t& blocked : line_blocked_until_) {
            if (blocked == kBlockedUntilHandled) {
                blocked = sync_epoch_;
            }
        }
        if (need_sync()) {
            synchronize_or_run_ahead();
        }
        if (!ran) {
            wait_for_something();
        }
    }
}

}  // namespace vbsim::platform
