#include <gtest/gtest.h>
#include <algorithm>

#include <array>
#include <cstdint>
#include <vector>

#include <tlm_utils/simple_target_socket.h>

#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "platform/assembly/guest_cpu.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRegsBase = 0x10000000;

// A guest CPU on a bus with RAM and a "register file" (a small memory standing in
// for a device), plus one interrupt line the test drives.
struct CpuBench {
    explicit CpuBench(bool dmi = true)
        : cpu("cpu", cpu_params()),
          bus("bus", bus_params()),
          ram("ram", memory_params(1 << 20, dmi)),
          regs("regs", memory_params(0x1000, false)),
          line("line") {
        cpu.socket.bind(bus.target_socket);
        bus.initiator_socket.bind(ram.socket);
        bus.initiator_socket.bind(regs.socket);
        cpu.interrupt[0].bind(line);
    }
    static GuestCpuParams cpu_params() {
        GuestCpuParams params;
        params.quantum = sc_time(10, SC_US);
        params.interrupt_entry_cost = sc_time(500, SC_NS);
        return params;
    }
    static models::RouterParams bus_params() {
        models::RouterParams params;
        params.hop_latency = sc_time(5, SC_NS);
        params.regions.push_back({"ram", kRamBase, 1 << 20, 0});
        params.regions.push_back({"regs", kRegsBase, 0x1000, 1});
        return params;
    }
    static models::MemoryParams memory_params(uint64_t size, bool dmi) {
        models::MemoryParams params;
        params.size = size;
        params.read_latency = sc_time(20, SC_NS);
        params.write_latency = sc_time(20, SC_NS);
        params.bandwidth_bytes_per_ns = 0.0;
        params.dmi_enabled = dmi;
        return params;
    }
    GuestCpu cpu;
    models::Router bus;
    models::Memory ram;
    models::Memory regs;
    sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS> line;
};

TEST(GuestCpu, MmioGoesOverTheBusWithItsLatency) {
    CpuBench bench;
    uint32_t seen = 0;
    uint64_t after_ns = 0;
    bench.cpu.run_in_guest([&] {
        bench.cpu.mmio_write32(kRegsBase + 8, 0xabcd);
        seen = bench.cpu.mmio_read32(kRegsBase + 8);
        after_ns = bench.cpu.now_ns();
    });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(seen, 0xabcdu);
    EXPECT_EQ(after_ns, 50u);  // two accesses of 5 ns hop + 20 ns register
    EXPECT_EQ(bench.regs.counters().writes, 1u);
    EXPECT_EQ(bench.cpu.counters().mmio_reads, 1u);
}

// A register that makes its initiator wait 100 ns inside b_transport (allowed by the base
// protocol) and annotates nothing.
struct BlockingRegister : sc_core::sc_module {
    tlm_utils::simple_target_socket<BlockingRegister> socket{"socket"};
    explicit BlockingRegister(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
        socket.register_b_transport(this, &BlockingRegister::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
        wait(delay + sc_time(100, SC_NS));
        delay = sc_core::SC_ZERO_TIME;
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

TEST(GuestCpu, ATargetThatWaitsInsideBTransportTakesTheGuestTimeAlong) {
    GuestCpu cpu("cpu", CpuBench::cpu_params());
    BlockingRegister target("target");
    cpu.socket.bind(target.socket);
    sc_core::sc_signal<bool> line("line");
    cpu.interrupt[0].bind(line);
    uint64_t before_ns = 0;
    uint64_t after_ns = 0;
    cpu.run_in_guest([&] {
        cpu.cpu_cost(30);
        before_ns = cpu.now_ns();
        cpu.mmio_write32(kRegsBase, 1);
        after_ns = cpu.now_ns();
    });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(before_ns, 30u);
    EXPECT_EQ(after_ns, 130u);  // the 30 ns of local time waited, then 100 ns more
}

TEST(GuestCpu, ByteMmioIsOneByteTransactionsLittleEndian) {
    CpuBench bench;
    uint32_t word = 0;
    uint8_t byte = 0;
    bench.cpu.run_in_guest([&] {
        bench.cpu.mmio_write32(kRegsBase + 0x100, 0x11223344);
        bench.cpu.mmio_write8(kRegsBase + 0x102, 0xab);  // the third byte only
        word = bench.cpu.mmio_read32(kRegsBase + 0x100);
        byte = bench.cpu.mmio_read8(kRegsBase + 0x103);
    });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(word, 0x11ab3344u);
    EXPECT_EQ(byte, 0x11u);
    EXPECT_EQ(bench.regs.counters().writes, 2u);
    EXPECT_EQ(bench.cpu.counters().mmio_reads, 2u);
    EXPECT_EQ(bench.cpu.counters().mmio_writes, 2u);
}

TEST(GuestCpu, AFailedMmioReadReturnsAllOnes) {
    CpuBench bench;
    uint32_t seen = 0;
    bench.cpu.run_in_guest([&] { seen = bench.cpu.mmio_read32(0x20000000); });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(seen, 0xffffffffu);
    EXPECT_EQ(bench.cpu.counters().mmio_errors, 1u);
    uint8_t byte = 0;
    bench.cpu.run_in_guest([&] { byte = bench.cpu.mmio_read8(0x20000000); });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(byte, 0xffu);
    EXPECT_EQ(bench.cpu.counters().mmio_errors, 2u);
}

TEST(GuestCpu, GuestRamUsesDmiAfterTheFirstBurst) {
    CpuBench bench;
    std::vector<uint8_t> buffer(1024, 0x5a);
    std::vector<uint8_t> back(1024, 0);
    bench.cpu.run_in_guest([&] {
        bench.cpu.ram_write(kRamBase + 0x2000, buffer.data(), buffer.size());
        bench.cpu.ram_write(kRamBase + 0x2000, buffer.data(), buffer.size());
        bench.cpu.ram_read(kRamBase + 0x2000, back.data(), back.size());
    });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(back, buffer);
    EXPECT_EQ(bench.cpu.ram_counters().transactions, 1u);
    EXPECT_EQ(bench.cpu.ram_counters().dmi_accesses, 2u);
    EXPECT_EQ(bench.ram.counters().writes, 1u);
}

TEST(GuestCpu, WithoutDmiEveryRamAccessIsABusTransaction) {
    CpuBench bench(false);
    std::vector<uint8_t> buffer(256, 1);
    bench.cpu.run_in_guest([&] {
        for (int i = 0; i < 4; ++i) {
            bench.cpu.ram_write(kRamBase, buffer.data(), buffer.size());
        }
    });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(bench.cpu.ram_counters().transactions, 4u);
    EXPECT_EQ(bench.ram.counters().writes, 4u);
}

struct Recorder {
    std::vector<uint64_t> times_ns;
    GuestCpu* cpu = nullptr;
    static void record(void* self) {
        auto* recorder = static_cast<Recorder*>(self);
        recorder->times_ns.push_back(recorder->cpu->now_ns());
    }
};

TEST(GuestCpu, SleepsUntilTheNextKernelTimer) {
    CpuBench bench;
    Recorder recorder{{}, &bench.cpu};
    sw::guest::Timer timer(&Recorder::record, &recorder);
    bench.cpu.run_in_guest([&] { bench.cpu.kernel().arm(timer, 5000); });
    sc_core::sc_start(sc_time(4, SC_US));
    EXPECT_TRUE(recorder.times_ns.empty());
    sc_core::sc_start(sc_time(2, SC_US));
    ASSERT_EQ(recorder.times_ns.size(), 1u);
    EXPECT_EQ(recorder.times_ns[0], 5000u);
    EXPECT_GE(bench.cpu.counters().idle_waits, 1u);
}

// Drives the interrupt line high every `period` (3 µs by default), `times` times; the guest's
// handler drops it when it "acknowledges".
struct InterruptSource : sc_core::sc_module {
    sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>& line;
    sc_time period;
    int times;
    InterruptSource(const sc_core::sc_module_name& name,
                    sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>& l,
                    const sc_time& every = sc_time(3, SC_US), int count = 1)
        : sc_core::sc_module(name), line(l), period(every), times(count) {
        SC_HAS_PROCESS(InterruptSource);
        SC_THREAD(run);
    }
    void run() {
        for (int i = 0; i < times; ++i) {
            wait(period);
            line.write(true);
        }
    }
};

// An interrupt handler that records when it ran and acknowledges: the device drops the line.
struct AcknowledgingHandler {
    Recorder* recorder;
    sc_core::sc_signal<bool, sc_core::SC_MANY_WRITERS>* line;
    static void run(void* self) {
        auto* handler = static_cast<AcknowledgingHandler*>(self);
        Recorder::record(handler->recorder);
        handler->line->write(false);
    }
};

TEST(GuestCpu, TakesALevelInterruptOnceUntilItIsCleared) {
    CpuBench bench;
    InterruptSource source("source", bench.line);
    Recorder recorder{{}, &bench.cpu};
    AcknowledgingHandler handler{&recorder, &bench.line};
    bench.cpu.run_in_guest(
        [&] { bench.cpu.kernel().register_interrupt(0, &AcknowledgingHandler::run, &handler); });
    sc_core::sc_start(sc_time(10, SC_US));
    ASSERT_EQ(recorder.times_ns.size(), 1u);
    // Taken at 3 µs plus the 500 ns entry cost.
    EXPECT_EQ(recorder.times_ns[0], 3500u);
    EXPECT_EQ(bench.cpu.counters().interrupts_taken, 1u);
}

// A guest with a timer `timer_ns` away and an acknowledging interrupt handler, and a source
// raising its line every `every`, `count` times; records when each ran.
struct SleeperWithInterrupts {
    CpuBench bench;
    InterruptSource source;
    Recorder interrupts{{}, &bench.cpu};
    Recorder timers{{}, &bench.cpu};
    sw::guest::Timer timer{&Recorder::record, &timers};
    AcknowledgingHandler handler{&interrupts, &bench.line};
    SleeperWithInterrupts(uint64_t timer_ns, const sc_time& every, int count)
        : source("source", bench.line, every, count) {
        bench.cpu.run_in_guest([this, timer_ns] {
            bench.cpu.kernel().register_interrupt(0, &AcknowledgingHandler::run, &handler);
            bench.cpu.kernel().arm(timer, timer_ns);
        });
    }
};

// The guest sleeps towards a timer at 8 µs; the interrupt at 3 µs wakes it early, and the
// timer still fires at its own deadline afterwards.
TEST(GuestCpu, AnInterruptWakesASleepingGuestBeforeItsTimer) {
    SleeperWithInterrupts setup(8000, sc_time(3, SC_US), 1);
    const Recorder& interrupts = setup.interrupts;
    const Recorder& timers = setup.timers;
    sc_core::sc_start(sc_time(7, SC_US));
    ASSERT_EQ(interrupts.times_ns.size(), 1u);
    EXPECT_EQ(interrupts.times_ns[0], 3500u);  // 3 µs plus the 500 ns entry cost
    EXPECT_TRUE(timers.times_ns.empty());
    sc_core::sc_start(sc_time(3, SC_US));
    ASSERT_EQ(timers.times_ns.size(), 1u);
    EXPECT_EQ(timers.times_ns[0], 8000u);
    EXPECT_EQ(setup.bench.cpu.counters().interrupts_taken, 1u);
}

// The guest sleeps towards a timer at 10 ms through 100 interrupts: the timer stays one
// notification (a re-notification per wake-up would leave 100 dead entries in SystemC's
// timed-event queue until 10 ms), and still fires at its deadline.
TEST(GuestCpu, InterruptsDuringALongSleepKeepOneTimerNotification) {
    SleeperWithInterrupts setup(10'000'000, sc_time(50, SC_US), 100);
    const Recorder& interrupts = setup.interrupts;
    const Recorder& timers = setup.timers;
    sc_core::sc_start(sc_time(11, sc_core::SC_MS));
    EXPECT_EQ(interrupts.times_ns.size(), 100u);
    EXPECT_EQ(interrupts.times_ns.back(), 5'000'500u);  // 5 ms plus the 500 ns entry cost
    ASSERT_EQ(timers.times_ns.size(), 1u);
    EXPECT_EQ(timers.times_ns[0], 10'000'000u);
    EXPECT_EQ(setup.bench.cpu.counters().timer_notifications, 1u);
}

TEST(GuestCpu, CpuCostAdvancesTimeAndTheQuantumBoundsTheDrift) {
    CpuBench bench;
    sc_time worst_lag = sc_core::SC_ZERO_TIME;
    bench.cpu.run_in_guest([&] {
        for (int i = 0; i < 100; ++i) {
            bench.cpu.cpu_cost(1000);
            const sc_time local(static_cast<double>(bench.cpu.now_ns()), SC_NS);
            worst_lag = std::max(worst_lag, local - sc_core::sc_time_stamp());
        }
    });
    sc_core::sc_start(sc_time(1, sc_core::SC_MS));
    EXPECT_EQ(bench.cpu.counters().cpu_time, sc_time(100, SC_US));
    EXPECT_LE(worst_lag, sc_time(10, SC_US));
    EXPECT_GT(worst_lag, sc_core::SC_ZERO_TIME);  // it does run ahead
}

// A timer every microsecond, ten times: records the guest's time and SystemC's at each, and
// with `mmio_at` set writes a register from the tick at that guest time.
struct Ticker {
    GuestCpu* cpu = nullptr;
    sw::guest::Timer timer{&Ticker::tick, this};
    std::vector<uint64_t> guest_ns;
    std::vector<uint64_t> systemc_ns;
    uint64_t mmio_at = 0;
    uint64_t systemc_ns_after_mmio = 0;

    static uint64_t systemc_now_ns() {
        return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9 + 0.5);
    }
    static void tick(void* self) {
        auto* ticker = static_cast<Ticker*>(self);
        ticker->guest_ns.push_back(ticker->cpu->now_ns());
        ticker->systemc_ns.push_back(systemc_now_ns());
        if (ticker->cpu->now_ns() == ticker->mmio_at) {
            ticker->cpu->mmio_write32(kRegsBase, 1);
            ticker->systemc_ns_after_mmio = systemc_now_ns();
        }
        if (ticker->guest_ns.size() < 10) {
            ticker->cpu->kernel().arm(ticker->timer, 1000);
        }
    }
    void start() {
        cpu->run_in_guest([this] { cpu->kernel().arm(timer, 1000); });
    }
};

const std::vector<uint64_t> kTickTimes{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000};

TEST(GuestCpu, WithAHorizonTheGuestRunsItsTimersAheadAtTheSameGuestTimes) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    bench.cpu.set_lookahead_horizon([] { return sc_time(6500, SC_NS); });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(ticker.guest_ns, kTickTimes);
    // The ticks before the horizon ran at once, without SystemC's time moving; the rest in step.
    EXPECT_EQ(ticker.systemc_ns,
              (std::vector<uint64_t>{0, 0, 0, 0, 0, 0, 7000, 8000, 9000, 10000}));
    EXPECT_GE(bench.cpu.counters().run_ahead_steps, 6u);
}

// The idle hook runs each time the guest goes to sleep, with its next timer's time, and not
// while an interrupt line is high (the guest is about to take it, not to sleep).
TEST(GuestCpu, TheIdleHookTellsTheNextTimerWhenTheGuestGoesToSleep) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    std::vector<std::pair<uint64_t, sc_time>> calls;  // guest ns, next timer
    bench.cpu.set_idle_hook([&](const sc_time& next_timer) {
        calls.emplace_back(bench.cpu.now_ns(), next_timer);
        return GuestCpu::IdleWake{};
    });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    ASSERT_EQ(ticker.guest_ns, kTickTimes);
    ASSERT_GE(calls.size(), 10u);
    // After the tick at 3 µs the guest sleeps towards the one at 4 µs.
    const auto after_third = std::find_if(calls.begin(), calls.end(), [](const auto& call) {
        return call.first >= 3000 && call.first < 4000;
    });
    ASSERT_NE(after_third, calls.end());
    EXPECT_EQ(after_third->second, sc_time(4000, SC_NS));
    EXPECT_EQ(calls.back().second, sc_core::sc_max_time());  // no timer after the tenth
}

TEST(GuestCpu, TheIdleHookIsNotCalledWhileALineIsHigh) {
    CpuBench bench;
    InterruptSource source("source", bench.line);
    Recorder recorder{{}, &bench.cpu};
    std::vector<bool> line_at_call;
    bench.cpu.set_idle_hook([&](const sc_time&) {
        line_at_call.push_back(bench.line.read());
        return GuestCpu::IdleWake{};
    });
    bench.cpu.run_in_guest([&] {
        // A handler that does not acknowledge: the line stays high from 3 µs on, the guest
        // idle between the interrupts it keeps taking.
        bench.cpu.kernel().register_interrupt(0, &Recorder::record, &recorder);
    });
    sc_core::sc_start(sc_time(6, SC_US));
    ASSERT_GE(recorder.times_ns.size(), 2u);
    ASSERT_FALSE(line_at_call.empty());  // it slept before 3 µs
    for (const bool high : line_at_call) {
        EXPECT_FALSE(high);
    }
}

// The idle hook says the line rises at 5 µs, before anything else: the guest takes that
// interrupt at 5 µs (plus its entry cost) without sleeping in SystemC, and only once.
TEST(GuestCpu, AnIdleWakeTakesTheLineAtItsTimeWithoutSleeping) {
    CpuBench bench;
    Recorder recorder{{}, &bench.cpu};
    std::vector<uint64_t> systemc_ns;
    struct Handler {
        Recorder* recorder;
        std::vector<uint64_t>* systemc_ns;
        static void run(void* self) {
            auto* handler = static_cast<Handler*>(self);
            Recorder::record(handler->recorder);
            handler->systemc_ns->push_back(
                static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9 + 0.5));
        }
    } handler{&recorder, &systemc_ns};
    bool woken = false;
    bench.cpu.set_idle_hook([&](const sc_time&) {
        GuestCpu::IdleWake wake;
        if (!woken) {
            woken = true;
            wake.at = sc_time(5, SC_US);
        }
        return wake;
    });
    bench.cpu.run_in_guest(
        [&] { bench.cpu.kernel().register_interrupt(0, &Handler::run, &handler); });
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(recorder.times_ns, std::vector<uint64_t>{5500});
    EXPECT_EQ(systemc_ns, std::vector<uint64_t>{0});  // it did not wait for 5 µs
    EXPECT_EQ(bench.cpu.counters().interrupts_taken, 1u);
    EXPECT_FALSE(bench.line.read());
}

// From the moment the guest takes an interrupt (its entry cost included) until its handler
// returns, handling_interrupt() says so; the platform's horizon relies on it. The wake at
// 9.8 µs puts the 500 ns entry across the 10 µs quantum boundary, where the horizon is asked;
// a timer due at the wake runs in the same pass, after the handler.
TEST(GuestCpu, AnInterruptIsBeingHandledFromItsEntryUntilItsHandlerReturns) {
    CpuBench bench;
    std::vector<std::pair<uint64_t, bool>> horizon_asks;  // guest ns, handling_interrupt(0)
    bench.cpu.set_lookahead_horizon([&] {
        horizon_asks.emplace_back(bench.cpu.now_ns(), bench.cpu.handling_interrupt(0));
        return sc_core::sc_max_time();
    });
    bool woken = false;
    bench.cpu.set_idle_hook([&](const sc_time&) {
        GuestCpu::IdleWake wake;
        if (!woken) {
            woken = true;
            wake.at = sc_time(9800, SC_NS);
        }
        return wake;
    });
    struct Probe {
        GuestCpu* cpu;
        std::vector<std::pair<uint64_t, bool>> seen;  // guest ns, handling_interrupt(0)
        static void run(void* self) {
            auto* probe = static_cast<Probe*>(self);
            probe->seen.emplace_back(probe->cpu->now_ns(), probe->cpu->handling_interrupt(0));
        }
    } in_handler{&bench.cpu, {}}, in_timer{&bench.cpu, {}};
    sw::guest::Timer timer(&Probe::run, &in_timer);
    bench.cpu.run_in_guest([&] {
        bench.cpu.kernel().register_interrupt(0, &Probe::run, &in_handler);
        bench.cpu.kernel().arm(timer, 9800);
    });
    EXPECT_FALSE(bench.cpu.handling_interrupt(0));
    sc_core::sc_start(sc_time(20, SC_US));
    const auto entry = std::find_if(horizon_asks.begin(), horizon_asks.end(),
                                    [](const auto& ask) { return ask.first == 10300; });
    ASSERT_NE(entry, horizon_asks.end());  // asked at the end of the entry, past 10 µs
    EXPECT_TRUE(entry->second);
    EXPECT_EQ(in_handler.seen, (std::vector<std::pair<uint64_t, bool>>{{10300, true}}));
    EXPECT_EQ(in_timer.seen, (std::vector<std::pair<uint64_t, bool>>{{10300, false}}));
    EXPECT_FALSE(bench.cpu.handling_interrupt(0));
    EXPECT_EQ(bench.cpu.counters().interrupts_taken, 1u);
}

// An interrupt handler that records when it ran and acknowledges the device's cause (as
// the line level the platform gives sees it); the signal itself stays high.
struct CauseAckingHandler {
    Recorder* recorder;
    bool* cause;
    static void run(void* self) {
        auto* handler = static_cast<CauseAckingHandler*>(self);
        Recorder::record(handler->recorder);
        *handler->cause = false;
    }
};

// A line whose level the platform gives: high on the signal but low by that level (an ACK's
// drop still a delta away) is not taken; high by both is.
TEST(GuestCpu, ALineLevelFromThePlatformDecidesOverTheSignal) {
    CpuBench bench;
    InterruptSource source("source", bench.line);
    Recorder recorder{{}, &bench.cpu};
    bool cause = false;
    bench.cpu.set_line_level(0, [&] { return bench.line.read() && cause; });
    CauseAckingHandler handler{&recorder, &cause};
    bench.cpu.run_in_guest(
        [&] { bench.cpu.kernel().register_interrupt(0, &CauseAckingHandler::run, &handler); });
    sc_core::sc_start(sc_time(6, SC_US));  // the line went high at 3 µs
    EXPECT_TRUE(recorder.times_ns.empty());
    cause = true;
    bench.cpu.run_in_guest([] {});  // wakes the guest to look again
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(recorder.times_ns.size(), 1u);
    EXPECT_TRUE(bench.line.read());
}

TEST(GuestCpu, AHorizonAtNowKeepsTheGuestInStep) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    bench.cpu.set_lookahead_horizon([] { return sc_core::sc_time_stamp(); });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(ticker.guest_ns, kTickTimes);
    EXPECT_EQ(ticker.systemc_ns, kTickTimes);
    EXPECT_EQ(bench.cpu.counters().run_ahead_steps, 0u);
}

// A target the platform lets the guest reach from ahead: the access goes out at once,
// annotated to the guest's own time, with its kernel time in an InitiatorTime extension.
struct KernelTimeProbe : sc_core::sc_module {
    tlm_utils::simple_target_socket<KernelTimeProbe> socket{"socket"};
    std::vector<std::pair<sc_time, sc_time>> seen;  // (access time, extension's kernel time)
    explicit KernelTimeProbe(const sc_core::sc_module_name& name) : sc_module(name) {
        socket.register_b_transport(this, &KernelTimeProbe::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
        const models::InitiatorTime* ahead = trans.get_extension<models::InitiatorTime>();
        seen.emplace_back(sc_core::sc_time_stamp() + delay,
                          ahead != nullptr ? ahead->kernel_time : sc_core::SC_ZERO_TIME);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

TEST(GuestCpu, AnAccessAllowedFromAheadGoesOutAtTheGuestsTimeWithoutWaiting) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    ticker.mmio_at = 3000;
    std::vector<std::pair<uint64_t, bool>> asked;
    bench.cpu.set_ahead_access([&](uint64_t address, bool write) {
        asked.emplace_back(address, write);
        return true;
    });
    bench.cpu.set_lookahead_horizon([] { return sc_time(6500, SC_NS); });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    // The same guest times as in step; SystemC's time did not move for the write at 3 µs.
    EXPECT_EQ(ticker.guest_ns,
              (std::vector<uint64_t>{1000, 2000, 3000, 4025, 5025, 6025, 7025, 8025, 9025, 10025}));
    EXPECT_EQ(ticker.systemc_ns_after_mmio, 0u);
    EXPECT_EQ(asked, (std::vector<std::pair<uint64_t, bool>>{{kRegsBase, true}}));
    EXPECT_EQ(bench.cpu.counters().ahead_accesses, 1u);
    EXPECT_EQ(bench.regs.counters().writes, 1u);
}

TEST(GuestCpu, AnAccessFromAheadCarriesTheGuestsKernelTime) {
    GuestCpu cpu("cpu", CpuBench::cpu_params());
    KernelTimeProbe probe("probe");
    sc_core::sc_signal<bool> line("line");
    cpu.socket.bind(probe.socket);
    cpu.interrupt[0].bind(line);
    cpu.set_ahead_access([](uint64_t, bool) { return true; });
    cpu.set_lookahead_horizon([] { return sc_time(1, sc_core::SC_MS); });
    struct Writer {
        GuestCpu* cpu;
        sw::guest::Timer timer{&Writer::write, this};
        static void write(void* self) {
            auto* writer = static_cast<Writer*>(self);
            writer->cpu->cpu_cost(300);  // local time: the access is at 5.3 µs
            writer->cpu->mmio_write32(0x1000, 1);
        }
    } writer{&cpu};
    cpu.run_in_guest([&] { cpu.kernel().arm(writer.timer, 5000); });
    sc_core::sc_start(sc_time(20, SC_US));
    ASSERT_EQ(probe.seen.size(), 1u);
    EXPECT_EQ(probe.seen[0].first, sc_time(5300, SC_NS));   // now + delay: the guest's time
    EXPECT_EQ(probe.seen[0].second, sc_time(5000, SC_NS));  // without its local 300 ns
}

TEST(GuestCpu, ABusAccessFromAheadWaitsUntilSystemCHasCaughtUp) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    ticker.mmio_at = 3000;
    bench.cpu.set_lookahead_horizon([] { return sc_time(6500, SC_NS); });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    // The register write's 25 ns delay the ticks after it, as they would in step.
    EXPECT_EQ(ticker.guest_ns,
              (std::vector<uint64_t>{1000, 2000, 3000, 4025, 5025, 6025, 7025, 8025, 9025, 10025}));
    // Ticks 1 and 2 ran ahead; the access at 3 µs waited for SystemC to reach 3 µs (the
    // register write then takes 25 ns of local time), and from there the guest ran ahead again.
    EXPECT_EQ(ticker.systemc_ns[0], 0u);
    EXPECT_EQ(ticker.systemc_ns[2], 0u);
    EXPECT_EQ(ticker.systemc_ns_after_mmio, 3000u);
    EXPECT_EQ(ticker.systemc_ns[3], 3000u);
    EXPECT_EQ(bench.regs.counters().writes, 1u);
}

// Ticks every µs with a register write at 3 µs, under a horizon at 6.5 µs; the write may go
// ahead or not. Records when the platform hears the guest come back in step: guest and
// SystemC ns at each call.
std::vector<std::pair<uint64_t, uint64_t>> calls_before_in_step(bool write_goes_ahead) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    ticker.mmio_at = 3000;
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    bench.cpu.set_before_in_step(
        [&] { calls.emplace_back(bench.cpu.now_ns(), Ticker::systemc_now_ns()); });
    bench.cpu.set_ahead_access([write_goes_ahead](uint64_t, bool) { return write_goes_ahead; });
    bench.cpu.set_lookahead_horizon([] { return sc_time(6500, SC_NS); });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(ticker.guest_ns,
              (std::vector<uint64_t>{1000, 2000, 3000, 4025, 5025, 6025, 7025, 8025, 9025, 10025}));
    EXPECT_EQ(ticker.systemc_ns[6], 7025u);  // woken in step at its 7 µs tick
    return calls;
}

using Calls = std::vector<std::pair<uint64_t, uint64_t>>;

// Before a bus access that may not go ahead (at 3 µs), and before the guest sleeps in SystemC
// (after its 6 µs tick, past which its horizon does not let it run); not for ticks run ahead.
TEST(GuestCpu, ThePlatformIsToldBeforeAnAccessInStepAndBeforeASleep) {
    const Calls calls = calls_before_in_step(false);
    ASSERT_GE(calls.size(), 3u);
    EXPECT_EQ(calls[0], (std::pair<uint64_t, uint64_t>{3000, 0}));
    EXPECT_EQ(calls[1], (std::pair<uint64_t, uint64_t>{6025, 3000}));
    EXPECT_EQ(calls[2], (std::pair<uint64_t, uint64_t>{7025, 7025}));
}

// The write goes ahead: the first call is the sleep after the 6 µs tick, with SystemC still
// at 0: a guest ahead sleeps from its own time, without a wait for SystemC to catch up first.
TEST(GuestCpu, AGuestAheadSleepsFromItsOwnTimeWithoutCatchingUpFirst) {
    const Calls calls = calls_before_in_step(true);
    ASSERT_GE(calls.size(), 2u);
    EXPECT_EQ(calls[0], (std::pair<uint64_t, uint64_t>{6025, 0}));
    EXPECT_EQ(calls[1], (std::pair<uint64_t, uint64_t>{7025, 7025}));  // the next sleep
}

// How often the CPU asks for its horizon while SystemC's time is still 0 (the guest running
// its ticks ahead), with a register write at 3 µs made from ahead or none.
int horizon_questions_while_ahead(bool write_at_3us) {
    CpuBench bench;
    Ticker ticker;
    ticker.cpu = &bench.cpu;
    ticker.mmio_at = write_at_3us ? 3000 : 0;
    int questions = 0;
    bench.cpu.set_ahead_access([](uint64_t, bool) { return true; });
    bench.cpu.set_lookahead_horizon([&] {
        questions += sc_core::sc_time_stamp() == sc_core::SC_ZERO_TIME ? 1 : 0;
        return sc_time(6500, SC_NS);
    });
    ticker.start();
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(ticker.guest_ns.size(), 10u);
    return questions;
}

// Timers run ahead do not change the horizon: it is asked once for the six ticks.
TEST(GuestCpu, TheHorizonIsAskedOnceForTicksRunAhead) {
    EXPECT_EQ(horizon_questions_while_ahead(false), 1);
}

// A bus access may change it (a kick, an ACK): asked again after the write.
TEST(GuestCpu, TheHorizonIsAskedAgainAfterABusAccess) {
    EXPECT_EQ(horizon_questions_while_ahead(true), 2);
}

// The guest takes an interrupt from ahead at 5 µs (the idle hook's wake), then sleeps from its
// own time towards a timer at 12 µs, past its horizon. The line's signal rises at 5 µs in
// SystemC, behind the guest: that edge is the interrupt it took and must not wake it.
TEST(GuestCpu, AnEdgeOfAnInterruptTakenAheadDoesNotWakeTheGuestBehindItsTime) {
    CpuBench bench;
    InterruptSource source("source", bench.line, sc_time(5, SC_US), 1);
    Recorder interrupts{{}, &bench.cpu};
    Recorder timers{{}, &bench.cpu};
    sw::guest::Timer timer{&Recorder::record, &timers};
    bool cause = true;
    bench.cpu.set_line_level(0, [&] { return bench.line.read() && cause; });
    CauseAckingHandler handler{&interrupts, &cause};
    std::vector<uint64_t> idle_at;
    bool woken = false;
    bench.cpu.set_idle_hook([&](const sc_time&) {
        idle_at.push_back(bench.cpu.now_ns());
        GuestCpu::IdleWake wake;
        if (!woken) {
            woken = true;
            wake.at = sc_time(5, SC_US);
        }
        return wake;
    });
    bench.cpu.set_lookahead_horizon([] { return sc_time(10, SC_US); });
    bench.cpu.run_in_guest([&] {
        bench.cpu.kernel().register_interrupt(0, &CauseAckingHandler::run, &handler);
        bench.cpu.kernel().arm(timer, 12000);
    });
    sc_core::sc_start(sc_time(20, SC_US));
    EXPECT_EQ(interrupts.times_ns, std::vector<uint64_t>{5500});
    EXPECT_EQ(timers.times_ns, std::vector<uint64_t>{12000});
    EXPECT_EQ(idle_at, (std::vector<uint64_t>{0, 5500, 12000}));
    EXPECT_EQ(bench.cpu.counters().interrupts_taken, 1u);
}

TEST(GuestCpu, ReportsTouchedMemoryToThePlatform) {
    CpuBench bench;
    uint64_t touched = 0;
    bench.cpu.on_touch_memory([&](uint64_t, uint64_t length) {
        touched += length;
        return sc_core::SC_ZERO_TIME;
    });
    bench.cpu.run_in_guest([&] { bench.cpu.touch_memory(kRamBase, 3 * 4096); });
    sc_core::sc_start(sc_time(1, SC_US));
    EXPECT_EQ(touched, 3u * 4096);
    EXPECT_EQ(bench.ram.resident_pages(), 0u);  // no bytes were stored
}

}  // namespace
}  // namespace vbsim::platform
