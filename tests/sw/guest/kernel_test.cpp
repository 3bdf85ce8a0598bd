#include "sw/guest/kernel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace vbsim::sw::guest {
namespace {

using ::testing::ElementsAre;

// A HAL with a clock the test moves by hand and a record of the one-shot timer calls.
class FakeHal final : public hal::Hal {
  public:
    uint32_t mmio_read32(uint64_t) override { return 0; }
    void mmio_write32(uint64_t, uint32_t) override {}
    uint8_t mmio_read8(uint64_t) override { return 0; }
    void mmio_write8(uint64_t, uint8_t) override {}
    void ram_read(uint64_t, void*, size_t) override {}
    void ram_write(uint64_t, const void*, size_t) override {}
    void touch_memory(uint64_t, uint64_t) override {}
    void memory_barrier() override {}
    uint64_t now_ns() override { return now; }
    void arm_timer(uint64_t deadline_ns) override {
        timer_calls.push_back("arm " + std::to_string(deadline_ns));
    }
    void cancel_timer() override { timer_calls.push_back("cancel"); }
    void cpu_cost(uint64_t nanoseconds) override { now += nanoseconds; }

    uint64_t now = 0;
    std::vector<std::string> timer_calls;
};

// Every callback appends its name to a shared log.
struct Probe {
    std::vector<std::string>* log = nullptr;
    std::string name;
    static void call(void* context) {
        auto* probe = static_cast<Probe*>(context);
        probe->log->push_back(probe->name);
    }
};

class KernelTest : public ::testing::Test {
  protected:
    Probe& probe(const std::string& name) {
        probes_.push_back(Probe{&log, name});
        return probes_.back();
    }

    FakeHal hal;
    Kernel kernel{hal};
    std::vector<std::string> log;

  private:
    // Stable addresses: reserved up front, the callbacks keep pointers.
    std::vector<Probe> probes_ = [] {
        std::vector<Probe> v;
        v.reserve(64);
        return v;
    }();
};

TEST_F(KernelTest, OnePassRunsInterruptsThenDueTimersThenWork) {
    Work work(&Probe::call, &probe("work"));
    Timer timer(&Probe::call, &probe("timer"));
    ASSERT_TRUE(kernel.register_interrupt(3, &Probe::call, &probe("irq3")));
    ASSERT_TRUE(kernel.register_interrupt(1, &Probe::call, &probe("irq1")));

    EXPECT_TRUE(kernel.idle());
    EXPECT_FALSE(kernel.run_once());

    kernel.schedule(work);
    kernel.arm(timer, 10);
    kernel.interrupt(3);
    kernel.interrupt(1);
    EXPECT_TRUE(kernel.interrupt_pending());
    hal.now = 10;
    EXPECT_FALSE(kernel.idle());
    EXPECT_TRUE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("irq1", "irq3", "timer", "work"));
    EXPECT_TRUE(kernel.idle());
    EXPECT_FALSE(kernel.interrupt_pending());
    EXPECT_EQ(kernel.interrupts_dispatched(), 2u);
    EXPECT_EQ(kernel.timers_fired(), 1u);
    EXPECT_EQ(kernel.work_run(), 1u);
    EXPECT_FALSE(kernel.run_once());
}

TEST_F(KernelTest, InterruptRaisedTwiceBeforeThePassRunsOnce) {
    ASSERT_TRUE(kernel.register_interrupt(0, &Probe::call, &probe("irq0")));
    kernel.interrupt(0);
    kernel.interrupt(0);
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("irq0"));
}

// interrupt() is documented as callable from a trap handler, which may preempt the loop
// between its load and its clear of the pending mask. A second host thread plays the trap:
// it raises line 2 and waits for its handler, while the loop keeps clearing line 1 (whose
// handler raises itself again). A lost update of line 2 would leave its raise unhandled.
TEST_F(KernelTest, ARaiseFromATrapIsNeverLostWhileTheLoopClearsAnotherLine) {
    struct Lines {
        Kernel* kernel = nullptr;
        std::atomic<uint64_t> line2_handled{0};
        std::atomic<bool> stop{false};
    } lines;
    lines.kernel = &kernel;
    const auto reraise_line1 = [](void* context) {
        Lines& self = *static_cast<Lines*>(context);
        if (!self.stop.load()) {
            self.kernel->interrupt(1);
        }
    };
    const auto count_line2 = [](void* context) { ++static_cast<Lines*>(context)->line2_handled; };
    ASSERT_TRUE(kernel.register_interrupt(1, reraise_line1, &lines));
    ASSERT_TRUE(kernel.register_interrupt(2, count_line2, &lines));
    kernel.interrupt(1);

    constexpr uint64_t kRaises = 20000;
    std::atomic<uint64_t> lost{0};
    std::thread trap([&] {
        for (uint64_t raise = 1; raise <= kRaises; ++raise) {
            kernel.interrupt(2);
            // Bounded wait: a lost raise is counted, not waited for forever.
            uint64_t spins = 0;
            while (lines.line2_handled.load() < raise && ++spins < 50000000) {
                std::this_thread::yield();
            }
            if (lines.line2_handled.load() < raise) {
                ++lost;
                break;
            }
        }
        lines.stop.store(true);
    });
    while (!lines.stop.load()) {
        kernel.run_once();
    }
    trap.join();
    kernel.run_once();
    EXPECT_EQ(lost.load(), 0u);
    EXPECT_EQ(lines.line2_handled.load(), kRaises);
}

TEST_F(KernelTest, UnregisteredAndOutOfRangeLinesAreDroppedAndCounted) {
    kernel.interrupt(5);   // no handler
    kernel.interrupt(32);  // no such line
    kernel.interrupt(1000);
    EXPECT_FALSE(kernel.interrupt_pending());
    EXPECT_TRUE(kernel.idle());
    EXPECT_FALSE(kernel.run_once());
    EXPECT_EQ(kernel.spurious_interrupts(), 3u);
    EXPECT_EQ(kernel.interrupts_dispatched(), 0u);

    EXPECT_FALSE(kernel.register_interrupt(32, &Probe::call, &probe("x")));
    EXPECT_FALSE(kernel.register_interrupt(Kernel::kMaxInterruptLines + 7, &Probe::call, nullptr));

    // Line 31 is the last valid one; unregistering drops a pending raise.
    ASSERT_TRUE(kernel.register_interrupt(31, &Probe::call, &probe("irq31")));
    kernel.interrupt(31);
    EXPECT_TRUE(kernel.run_once());
    kernel.interrupt(31);
    ASSERT_TRUE(kernel.register_interrupt(31, nullptr, nullptr));
    EXPECT_FALSE(kernel.interrupt_pending());
    EXPECT_FALSE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("irq31"));
}

struct Raiser {
    Kernel* kernel;
    std::vector<std::string>* log;
    unsigned int raise_line;
    std::string name;
    static void call(void* context) {
        auto* self = static_cast<Raiser*>(context);
        self->log->push_back(self->name);
        self->kernel->interrupt(self->raise_line);
    }
};

TEST_F(KernelTest, LineRaisedByAHandlerForALowerLineWaitsForTheNextPass) {
    Raiser on_two{&kernel, &log, 1, "irq2"};
    ASSERT_TRUE(kernel.register_interrupt(2, &Raiser::call, &on_two));
    ASSERT_TRUE(kernel.register_interrupt(1, &Probe::call, &probe("irq1")));
    kernel.interrupt(2);
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("irq2"));
    EXPECT_TRUE(kernel.interrupt_pending());
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("irq2", "irq1"));
}

// What each callback of one pass sees of line 2's interrupt_unfinished().
struct UnfinishedProbe {
    Kernel* kernel;
    std::vector<std::string>* log;
    std::string name;
    static void call(void* context) {
        auto* self = static_cast<UnfinishedProbe*>(context);
        self->log->push_back(self->name +
                             (self->kernel->interrupt_unfinished(2) ? " 2:unfinished" : " 2:done"));
    }
};

TEST_F(KernelTest, AnInterruptIsUnfinishedFromItsRaiseUntilItsHandlerReturns) {
    UnfinishedProbe irq1{&kernel, &log, "irq1"};
    UnfinishedProbe irq2{&kernel, &log, "irq2"};
    UnfinishedProbe irq3{&kernel, &log, "irq3"};
    UnfinishedProbe work_probe{&kernel, &log, "work"};
    Work work(&UnfinishedProbe::call, &work_probe);
    ASSERT_TRUE(kernel.register_interrupt(1, &UnfinishedProbe::call, &irq1));
    ASSERT_TRUE(kernel.register_interrupt(2, &UnfinishedProbe::call, &irq2));
    ASSERT_TRUE(kernel.register_interrupt(3, &UnfinishedProbe::call, &irq3));
    EXPECT_FALSE(kernel.interrupt_unfinished(2));
    kernel.interrupt(2);
    EXPECT_TRUE(kernel.interrupt_unfinished(2));
    EXPECT_FALSE(kernel.interrupt_unfinished(1));
    kernel.interrupt(1);
    kernel.interrupt(3);
    kernel.schedule(work);
    kernel.run_once();
    // Still to run (line 1 first), running, returned: the other lines and work see it done.
    EXPECT_THAT(
        log, ElementsAre("irq1 2:unfinished", "irq2 2:unfinished", "irq3 2:done", "work 2:done"));
    EXPECT_FALSE(kernel.interrupt_unfinished(2));
    EXPECT_FALSE(kernel.interrupt_unfinished(Kernel::kMaxInterruptLines));
}

TEST_F(KernelTest, WorkRunsInFifoOrderAndIsNeverQueuedTwice) {
    Work a(&Probe::call, &probe("a"));
    Work b(&Probe::call, &probe("b"));
    Work c(&Probe::call, &probe("c"));
    kernel.schedule(b);
    kernel.schedule(a);
    kernel.schedule(b);  // already pending: no second run, no reordering
    kernel.schedule(c);
    EXPECT_TRUE(a.pending());
    EXPECT_TRUE(b.pending());
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("b", "a", "c"));
    EXPECT_FALSE(a.pending());
    EXPECT_EQ(kernel.work_run(), 3u);
}

TEST_F(KernelTest, CancelledWorkDoesNotRunAndCanBeScheduledAgain) {
    Work a(&Probe::call, &probe("a"));
    Work b(&Probe::call, &probe("b"));
    Work c(&Probe::call, &probe("c"));
    kernel.schedule(a);
    kernel.schedule(b);
    kernel.schedule(c);
    kernel.cancel(c);  // the tail
    kernel.cancel(a);  // the head
    kernel.cancel(a);  // not pending: nothing
    EXPECT_FALSE(a.pending());
    kernel.schedule(a);  // goes to the new tail
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("b", "a"));
}

// Work whose callback schedules / cancels other work.
struct Scheduler {
    Kernel* kernel;
    std::vector<std::string>* log;
    Work* schedule = nullptr;
    Work* cancel = nullptr;
    std::string name;
    static void call(void* context) {
        auto* self = static_cast<Scheduler*>(context);
        self->log->push_back(self->name);
        if (self->cancel != nullptr) {
            self->kernel->cancel(*self->cancel);
        }
        if (self->schedule != nullptr) {
            self->kernel->schedule(*self->schedule);
        }
    }
};

TEST_F(KernelTest, WorkScheduledDuringAPassRunsOnTheNextPass) {
    Scheduler self_rescheduling{&kernel, &log, nullptr, nullptr, "self"};
    Work self(&Scheduler::call, &self_rescheduling);
    self_rescheduling.schedule = &self;
    Work other(&Probe::call, &probe("other"));
    Scheduler spawner{&kernel, &log, &other, nullptr, "spawner"};
    Work spawn(&Scheduler::call, &spawner);

    kernel.schedule(self);
    kernel.schedule(spawn);
    EXPECT_TRUE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("self", "spawner"));
    EXPECT_TRUE(self.pending());
    EXPECT_TRUE(other.pending());
    EXPECT_FALSE(kernel.idle());
    log.clear();
    self_rescheduling.schedule = nullptr;
    EXPECT_TRUE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("self", "other"));
    EXPECT_TRUE(kernel.idle());
}

TEST_F(KernelTest, WorkCancelledByEarlierWorkOfTheSamePassDoesNotRun) {
    Work victim(&Probe::call, &probe("victim"));
    Work last(&Probe::call, &probe("last"));
    Scheduler killer_state{&kernel, &log, nullptr, &victim, "killer"};
    Work killer(&Scheduler::call, &killer_state);
    kernel.schedule(killer);
    kernel.schedule(victim);
    kernel.schedule(last);
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("killer", "last"));
    EXPECT_FALSE(victim.pending());
    EXPECT_EQ(kernel.work_run(), 2u);
    // And cancelling the work being run's successor that sits at the end of the batch.
    log.clear();
    killer_state.cancel = &last;
    kernel.schedule(killer);
    kernel.schedule(last);
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("killer"));
}

TEST_F(KernelTest, TimersFireInDeadlineOrderWithTiesInArmingOrder) {
    Timer late(&Probe::call, &probe("late"));
    Timer tie_first(&Probe::call, &probe("tie_first"));
    Timer tie_second(&Probe::call, &probe("tie_second"));
    Timer early(&Probe::call, &probe("early"));
    kernel.arm_at(late, 300);
    kernel.arm_at(tie_first, 200);
    kernel.arm_at(tie_second, 200);
    kernel.arm(early, 100);
    EXPECT_EQ(kernel.next_deadline_ns(), 100u);

    hal.now = 99;
    EXPECT_FALSE(kernel.run_once());
    EXPECT_TRUE(kernel.idle());
    hal.now = 250;
    EXPECT_FALSE(kernel.idle());
    EXPECT_TRUE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("early", "tie_first", "tie_second"));
    EXPECT_FALSE(early.armed());
    EXPECT_TRUE(late.armed());
    EXPECT_EQ(kernel.next_deadline_ns(), 300u);
    hal.now = 1000;
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("early", "tie_first", "tie_second", "late"));
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    EXPECT_EQ(kernel.timers_fired(), 4u);
}

TEST_F(KernelTest, RearmingMovesTheDeadlineAndGoesBehindEqualDeadlines) {
    Timer a(&Probe::call, &probe("a"));
    Timer b(&Probe::call, &probe("b"));
    kernel.arm_at(a, 100);
    kernel.arm_at(b, 100);
    kernel.arm_at(a, 100);  // re-arming counts as a new arming: now after b
    EXPECT_EQ(a.deadline_ns(), 100u);
    hal.now = 100;
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("b", "a"));

    log.clear();
    kernel.arm_at(a, 500);
    kernel.arm_at(a, 50);
    EXPECT_EQ(kernel.next_deadline_ns(), 50u);
    kernel.cancel(a);
    kernel.cancel(a);  // not armed: nothing
    EXPECT_FALSE(a.armed());
    EXPECT_EQ(kernel.next_deadline_ns(), UINT64_MAX);
    hal.now = 1000;
    EXPECT_FALSE(kernel.run_once());
    EXPECT_TRUE(log.empty());
}

TEST_F(KernelTest, ArmSaturatesInsteadOfWrapping) {
    Timer t(&Probe::call, &probe("t"));
    hal.now = 10;
    kernel.arm(t, UINT64_MAX - 5);
    EXPECT_EQ(t.deadline_ns(), UINT64_MAX);
}

// A timer whose callback re-arms itself (a periodic tick) or cancels another timer.
struct Ticker {
    Kernel* kernel;
    std::vector<std::string>* log;
    Timer* timer = nullptr;
    uint64_t period_ns = 0;
    Timer* cancel = nullptr;
    std::string name;
    static void call(void* context) {
        auto* self = static_cast<Ticker*>(context);
        self->log->push_back(self->name);
        if (self->cancel != nullptr) {
            self->kernel->cancel(*self->cancel);
        }
        if (self->timer != nullptr) {
            self->kernel->arm(*self->timer, self->period_ns);
        }
    }
};

TEST_F(KernelTest, TimerCallbackMayRearmItselfAndFiresAtMostOncePerPass) {
    Ticker state{&kernel, &log, nullptr, 0, nullptr, "tick"};
    Timer tick(&Ticker::call, &state);
    state.timer = &tick;
    state.period_ns = 0;  // "again at once": must not spin inside one pass
    kernel.arm(tick, 0);
    EXPECT_TRUE(kernel.run_once());
    EXPECT_THAT(log, ElementsAre("tick"));
    EXPECT_TRUE(tick.armed());
    EXPECT_FALSE(kernel.idle());
    EXPECT_TRUE(kernel.run_once());
    EXPECT_EQ(log.size(), 2u);

    state.period_ns = 1000;
    hal.now = 5;
    kernel.run_once();
    EXPECT_EQ(tick.deadline_ns(), 1005u);
    EXPECT_EQ(kernel.next_deadline_ns(), 1005u);
}

TEST_F(KernelTest, TimerCallbackMayCancelALaterDueTimer) {
    Timer victim(&Probe::call, &probe("victim"));
    Ticker state{&kernel, &log, nullptr, 0, &victim, "killer"};
    Timer killer(&Ticker::call, &state);
    kernel.arm_at(killer, 10);
    kernel.arm_at(victim, 20);
    hal.now = 30;
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("killer"));
    EXPECT_FALSE(victim.armed());
}

// A timer that spends CPU time, so the clock passes the next deadline while it runs.
struct Burner {
    FakeHal* hal;
    std::vector<std::string>* log;
    static void call(void* context) {
        auto* self = static_cast<Burner*>(context);
        self->log->push_back("burner");
        self->hal->cpu_cost(100);
    }
};

TEST_F(KernelTest, TimersThatBecomeDueDuringThePhaseFireInTheSamePass) {
    Burner burner{&hal, &log};
    Timer first(&Burner::call, &burner);
    Timer second(&Probe::call, &probe("second"));
    kernel.arm_at(first, 10);
    kernel.arm_at(second, 50);
    hal.now = 10;
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("burner", "second"));
}

TEST_F(KernelTest, HardwareTimerFollowsTheEarliestDeadline) {
    Timer a(&Probe::call, &probe("a"));
    Timer b(&Probe::call, &probe("b"));
    Timer c(&Probe::call, &probe("c"));
    kernel.arm_at(a, 100);  // arm 100
    kernel.arm_at(b, 200);  // earliest unchanged: no call
    kernel.arm_at(c, 50);   // arm 50
    kernel.cancel(b);       // earliest unchanged
    kernel.cancel(c);       // back to 100
    kernel.arm_at(b, 300);
    hal.now = 100;
    kernel.run_once();  // a fires: one call for the phase, to 300
    kernel.cancel(b);   // nothing left: cancel
    kernel.arm(a, 0);   // due at once (100): programmed so the platform wakes
    EXPECT_THAT(hal.timer_calls,
                ElementsAre("arm 100", "arm 50", "arm 100", "arm 300", "cancel", "arm 100"));
}

TEST_F(KernelTest, HardwareTimerIsProgrammedOncePerTimerPhase) {
    Ticker state{&kernel, &log, nullptr, 0, nullptr, "tick"};
    Timer tick(&Ticker::call, &state);
    state.timer = &tick;
    state.period_ns = 1000;
    Timer other(&Probe::call, &probe("other"));
    kernel.arm_at(tick, 10);
    kernel.arm_at(other, 20);
    hal.timer_calls.clear();
    hal.now = 20;
    kernel.run_once();
    EXPECT_THAT(log, ElementsAre("tick", "other"));
    EXPECT_THAT(hal.timer_calls, ElementsAre("arm 1020"));
}

TEST_F(KernelTest, IdleSeesWorkAndDueTimers) {
    Work work(&Probe::call, &probe("w"));
    Timer timer(&Probe::call, &probe("t"));
    EXPECT_TRUE(kernel.idle());
    kernel.arm_at(timer, 10);
    EXPECT_TRUE(kernel.idle());
    hal.now = 10;
    EXPECT_FALSE(kernel.idle());
    kernel.cancel(timer);
    EXPECT_TRUE(kernel.idle());
    kernel.schedule(work);
    EXPECT_FALSE(kernel.idle());
    EXPECT_EQ(kernel.now_ns(), 10u);
    EXPECT_EQ(&kernel.hal(), &hal);
}

}  // namespace
}  // namespace vbsim::sw::guest
