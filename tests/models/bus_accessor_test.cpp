#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "models/interconnect/bus_accessor.h"
#include "models/memory/memory.h"
#include "tests/support/test_initiator.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

struct AccessorBench {
    explicit AccessorBench(bool dmi) : initiator("initiator"), memory("memory", params(dmi)) {
        initiator.socket.bind(memory.socket);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    static MemoryParams params(bool dmi) {
        MemoryParams p;
        p.size = 1 << 20;
        p.read_latency = sc_time(10, SC_NS);
        p.write_latency = sc_time(20, SC_NS);
        p.bandwidth_bytes_per_ns = 0.0;
        p.dmi_enabled = dmi;
        return p;
    }
    tlm::tlm_fw_transport_if<>& bus() { return *initiator.socket[0]; }
    test::TestInitiator initiator;
    Memory memory;
    BusAccessor accessor;
};

TEST(BusAccessor, UsesATransactionFirstThenDmiOnceAllowed) {
    AccessorBench bench(true);
    std::array<uint8_t, 1024> data{};
    data.fill(7);
    sc_time delay = sc_core::SC_ZERO_TIME;
    ASSERT_TRUE(bench.accessor.write(bench.bus(), 0x1000, data.data(), data.size(), delay));
    ASSERT_TRUE(bench.accessor.write(bench.bus(), 0x1400, data.data(), data.size(), delay));
    EXPECT_EQ(bench.accessor.counters().transactions, 1u);
    EXPECT_EQ(bench.accessor.counters().dmi_accesses, 1u);
    EXPECT_EQ(bench.accessor.counters().dmi_grants, 1u);
    EXPECT_EQ(bench.memory.counters().writes, 1u);
    EXPECT_EQ(delay, sc_time(40, SC_NS));  // one transaction + one DMI write latency
    std::array<uint8_t, 1024> back{};
    ASSERT_TRUE(bench.accessor.read(bench.bus(), 0x1400, back.data(), back.size(), delay));
    EXPECT_EQ(back, data);
}

TEST(BusAccessor, SplitsARangeAcrossDmiRegions) {
    AccessorBench bench(true);
    std::array<uint8_t, 64> data{};
    sc_time delay = sc_core::SC_ZERO_TIME;
    // Page 0 and 1 become DMI-mapped by the first accesses.
    bench.accessor.write(bench.bus(), 0x0, data.data(), 4, delay);
    bench.accessor.write(bench.bus(), 0x1000, data.data(), 4, delay);
    data.fill(3);
    ASSERT_TRUE(bench.accessor.write(bench.bus(), 0x1000 - 32, data.data(), data.size(), delay));
    EXPECT_EQ(bench.accessor.counters().dmi_accesses, 2u);
    EXPECT_EQ(bench.initiator.read32(0x1000 - 4), 0x03030303u);
    EXPECT_EQ(bench.initiator.read32(0x1000 + 28), 0x03030303u);
}

TEST(BusAccessor, WithoutDmiEveryAccessIsATransaction) {
    AccessorBench bench(false);
    std::array<uint8_t, 16> data{};
    sc_time delay = sc_core::SC_ZERO_TIME;
    for (int i = 0; i < 3; ++i) {
        bench.accessor.write(bench.bus(), 0x100, data.data(), data.size(), delay);
    }
    EXPECT_EQ(bench.accessor.counters().transactions, 3u);
    EXPECT_EQ(bench.accessor.counters().dmi_accesses, 0u);
}

TEST(BusAccessor, ForgetsInvalidatedRegions) {
    AccessorBench bench(true);
    std::array<uint8_t, 16> data{};
    sc_time delay = sc_core::SC_ZERO_TIME;
    bench.accessor.write(bench.bus(), 0x100, data.data(), data.size(), delay);
    bench.accessor.invalidate(0x0, 0xfff);
    bench.accessor.write(bench.bus(), 0x100, data.data(), data.size(), delay);
    EXPECT_EQ(bench.accessor.counters().transactions, 2u);
}

TEST(BusAccessor, ReportsErrorResponses) {
    AccessorBench bench(true);
    std::array<uint8_t, 16> data{};
    sc_time delay = sc_core::SC_ZERO_TIME;
    EXPECT_FALSE(bench.accessor.read(bench.bus(), (1 << 20) - 8, data.data(), data.size(), delay));
    EXPECT_EQ(bench.accessor.counters().errors, 1u);
}

}  // namespace
}  // namespace vbsim::models
