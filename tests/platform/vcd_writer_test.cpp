// VcdWriter writes the bytes SystemC 2.3.4's VCD writer writes for the same signals: both trace
// one set of signals in one simulation and the files are compared (the header's date aside).

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <systemc>

#include "models/tracing/scheduled_level.h"
#include "models/tracing/watched_signal.h"
#include "platform/run/vcd_writer.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::SC_SEC;
using sc_core::sc_time;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// SystemC's header carries the wall-clock date; ours a fixed text.
std::string without_date(std::string vcd) {
    const size_t date = vcd.find("$date");
    const size_t end = vcd.find("$end", date);
    if (date != std::string::npos && end != std::string::npos) {
        vcd.erase(date, end - date);
    }
    return vcd;
}

std::string temp_path(const std::string& stem) {
    return ::testing::TempDir() + "vbsim-vcd-writer-" + std::to_string(::getpid()) + "-" + stem;
}

// Writes the signals the way a run does: a value changed at time 0, several changes in one
// time step, a change undone within its time step (over two delta cycles), negative values,
// times past 2^32 ps and a time step with only an unchanged write.
class Driver : public sc_core::sc_module {
  public:
    models::WatchedSignal<bool> irq_a{"irq_a"};
    models::WatchedSignal<bool> irq_b{"irq_b"};
    models::WatchedSignal<uint64_t> pages{"pages"};
    models::WatchedSignal<int64_t> free_bytes{"free_bytes"};

    explicit Driver(const sc_core::sc_module_name& name) : sc_module(name) {
        SC_HAS_PROCESS(Driver);
        SC_THREAD(run);
    }

  private:
    void run() {
        pages.write(256);  // at time 0: an initial value
        wait(sc_time(10, SC_NS));
        irq_a.write(true);
        pages.write(0xffffffffffffffffull);
        free_bytes.write(-4096);
        wait(sc_time(5, SC_NS));
        irq_b.write(true);  // raised and cleared at one time: nothing to see
        wait(sc_core::SC_ZERO_TIME);
        irq_b.write(false);
        wait(sc_time(5, SC_NS));
        pages.write(0xffffffffffffffffull);  // no change
        wait(sc_time(3, SC_SEC));            // 3e12 ps: the time's high part is used
        irq_a.write(false);
        pages.write(0);
        free_bytes.write(int64_t{1} << 40);
        wait(sc_time(1234567, SC_PS));
        irq_b.write(true);
    }
};

TEST(VcdWriter, WritesTheBytesSystemCsWriterWritesForTheSameSignals) {
    const std::string ours = temp_path("ours.vcd");
    const std::string systemc = temp_path("systemc");
    Driver driver("driver");
    VcdWriter writer(ours);
    sc_core::sc_trace_file* reference = sc_core::sc_create_vcd_trace_file(systemc.c_str());
    reference->set_time_unit(1, SC_PS);
    // Scopes print sorted by name (vm10 before vm2), codes follow the order traced.
    const auto trace_both = [&](auto& signal, const std::string& name) {
        writer.trace(signal, name);
        sc_core::sc_trace(reference, signal, name);
    };
    trace_both(driver.free_bytes, "host.free_bytes");
    trace_both(driver.irq_b, "vm2.irq");
    trace_both(driver.irq_a, "vm10.irq");
    trace_both(driver.pages, "vm10.pages");

    sc_core::sc_start(sc_time(4, SC_SEC));
    ASSERT_TRUE(writer.close());
    sc_core::sc_close_vcd_trace_file(reference);

    const std::string expected = read_file(systemc + ".vcd");
    const std::string written = read_file(ours);
    ASSERT_NE(expected.find("#3000000020000"), std::string::npos);  // the test reached its end
    EXPECT_EQ(without_date(written), without_date(expected));
    EXPECT_NE(written.find("(omitted for reproducible output)"), std::string::npos);
    std::remove(ours.c_str());
    std::remove((systemc + ".vcd").c_str());
}

// A level set ahead of SystemC (models::ScheduledLevel) and, for SystemC's writer, a signal a
// process writes at the times the level's changes take effect: a drop given ahead, postponed by
// a later one and brought forward by an earlier one, a rise that cancels a drop still to come,
// a drop in the same time step as another trace's change, pulses given ahead as of later
// times, and changes at and after the simulation's end (sc_start stops before that time step:
// neither is written).
class AheadDriver : public sc_core::sc_module {
  public:
    models::ScheduledLevel level;
    sc_core::sc_signal<bool> as_driven{"as_driven"};
    models::ScheduledLevel late;  // set for a time after the end
    sc_core::sc_signal<bool> late_as_driven{"late_as_driven"};
    models::WatchedSignal<uint64_t> pages{"pages"};

    explicit AheadDriver(const sc_core::sc_module_name& name) : sc_module(name) {
        SC_HAS_PROCESS(AheadDriver);
        SC_THREAD(run_ahead);
        SC_THREAD(drive_in_step);
    }

  private:
    static sc_time ns(double value) { return sc_time(value, SC_NS); }
    void wait_until(double value) { wait(ns(value) - sc_core::sc_time_stamp()); }

    void run_ahead() {
        wait_until(10);
        level.set(true, ns(10));
        level.set(false, ns(30));
        wait_until(20);
        pages.write(5);
        level.set(false, ns(50));  // postponed: low from 50
        wait_until(40);
        pages.write(6);
        // Changes given ahead as they would be given at later times (set_as_of): two pulses,
        // the second's drop brought forward by a change given after it for an earlier time.
        level.set_as_of(true, ns(52), ns(52));
        level.set_as_of(false, ns(55), ns(54));
        level.set_as_of(true, ns(56), ns(56));
        level.set_as_of(false, ns(59), ns(57));
        level.set_as_of(false, ns(58), ns(57.5));
        wait_until(60);
        level.set(true, ns(60));
        level.set(false, ns(80));
        wait_until(70);
        level.set(true, ns(70));  // risen again before the drop: it stays high
        level.set(false, ns(75));
        wait_until(72);
        level.set(false, ns(74));  // brought forward: low from 74
        wait_until(90);
        level.set(true, ns(90));
        level.set(false, ns(100));  // with the pages change at 100
        wait_until(100);
        pages.write(7);
        wait_until(110);
        level.set(true, ns(110));
        level.set(false, ns(120));  // at the end
        wait_until(115);
        late.set(true, ns(130));  // after the end
    }

    void drive_in_step() {
        for (const auto& [at, value] :
             {std::pair{10.0, true}, std::pair{50.0, false}, std::pair{52.0, true},
              std::pair{55.0, false}, std::pair{56.0, true}, std::pair{58.0, false},
              std::pair{60.0, true}, std::pair{74.0, false}, std::pair{90.0, true},
              std::pair{100.0, false}, std::pair{110.0, true}, std::pair{120.0, false}}) {
            wait_until(at);
            as_driven.write(value);
        }
        wait_until(130);
        late_as_driven.write(true);
    }
};

TEST(VcdWriter, WritesAScheduledLevelAsIfAProcessSetItAtTheTimesItTakesEffect) {
    const std::string ours = temp_path("ahead.vcd");
    const std::string systemc = temp_path("in-step");
    AheadDriver driver("driver");
    VcdWriter writer(ours);
    sc_core::sc_trace_file* reference = sc_core::sc_create_vcd_trace_file(systemc.c_str());
    reference->set_time_unit(1, SC_PS);
    writer.trace(driver.level, "vm0.irq");
    sc_core::sc_trace(reference, driver.as_driven, "vm0.irq");
    writer.trace(driver.pages, "vm0.pages");
    sc_core::sc_trace(reference, driver.pages, "vm0.pages");
    writer.trace(driver.late, "vm0.late");
    sc_core::sc_trace(reference, driver.late_as_driven, "vm0.late");

    sc_core::sc_start(sc_time(120, SC_NS));
    ASSERT_TRUE(writer.close());
    sc_core::sc_close_vcd_trace_file(reference);

    const std::string expected = read_file(systemc + ".vcd");
    const std::string written = read_file(ours);
    ASSERT_NE(expected.find("#74000\n0aaaaa"), std::string::npos);  // the drop brought forward
    ASSERT_NE(expected.find("#58000\n0aaaaa"), std::string::npos);  // and the one given ahead
    ASSERT_EQ(expected.find("0aaaaa", expected.find("#110000")), std::string::npos);
    EXPECT_EQ(without_date(written), without_date(expected));
    std::remove(ours.c_str());
    std::remove((systemc + ".vcd").c_str());
}

TEST(VcdWriter, AFileThatCannotBeOpenedIsAnError) {
    EXPECT_THROW(VcdWriter("/nonexistent-folder/trace.vcd"), std::runtime_error);
}

TEST(VcdWriter, AFailedWriteMakesCloseFail) {
    models::WatchedSignal<bool> line("line");
    VcdWriter writer("/dev/full");  // every write fails: no space left
    writer.trace(line, "vm0.irq");
    sc_core::sc_start(sc_time(1, SC_NS));
    EXPECT_FALSE(writer.close());
}

}  // namespace
}  // namespace vbsim::platform
