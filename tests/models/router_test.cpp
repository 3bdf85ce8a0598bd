#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>

#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "tests/support/test_initiator.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using test::TestInitiator;

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kRomBase = 0x10000000;
constexpr uint64_t kRomSize = 0x4000;  // a window smaller than the memory behind it

MemoryParams memory_params(uint64_t size, uint64_t page) {
    MemoryParams params;
    params.size = size;
    params.read_latency = sc_time(20, SC_NS);
    params.write_latency = sc_time(30, SC_NS);
    params.bandwidth_bytes_per_ns = 0.0;
    params.backing_page_size = page;
    return params;
}

RouterParams two_region_map() {
    RouterParams params;
    params.hop_latency = sc_time(5, SC_NS);
    params.regions.push_back({"ram", kRamBase, kRamSize, 0});
    params.regions.push_back({"rom", kRomBase, kRomSize, 1});
    return params;
}

// Two initiators and two memories on one router; the second memory has 64 KiB
// DMI pages behind a 16 KiB window, so its DMI ranges must be clipped.
struct BusBench {
    BusBench()
        : cpu("cpu"),
          dma("dma"),
          bus("bus", two_region_map()),
          ram("ram", memory_params(kRamSize, 4096)),
          rom("rom", memory_params(0x10000, 0x10000)) {
        cpu.socket.bind(bus.target_socket);
        dma.socket.bind(bus.target_socket);
        bus.initiator_socket.bind(ram.socket);
        bus.initiator_socket.bind(rom.socket);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    TestInitiator cpu;
    TestInitiator dma;
    Router bus;
    Memory ram;
    Memory rom;
};

TEST(Router, DecodesEachRegionAndForwardsTheLocalAddress) {
    BusBench bench;
    EXPECT_EQ(bench.cpu.write32(kRamBase + 0x10, 0x11111111).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.cpu.write32(kRomBase + 0x10, 0x22222222).status, tlm::TLM_OK_RESPONSE);
    // The same local offset in two different memories holds two different values.
    EXPECT_EQ(bench.dma.read32(kRamBase + 0x10), 0x11111111u);
    EXPECT_EQ(bench.dma.read32(kRomBase + 0x10), 0x22222222u);
    EXPECT_EQ(bench.ram.counters().writes, 1u);
    EXPECT_EQ(bench.rom.counters().writes, 1u);
    EXPECT_EQ(bench.bus.decode(kRamBase + kRamSize - 1), 1);  // regions are sorted by base
    EXPECT_EQ(bench.bus.decode(kRamBase + kRamSize), -1);
    EXPECT_EQ(bench.bus.decode(kRomBase), 0);
}

TEST(Router, GivesThePayloadItsOwnAddressBack) {
    BusBench bench;
    bench.cpu.write32(kRamBase + 0x24, 1);
    EXPECT_EQ(bench.cpu.last_address_seen, kRamBase + 0x24);
}

TEST(Router, AddsTheHopLatencyToTheTargetsDelay) {
    BusBench bench;
    EXPECT_EQ(bench.cpu.write32(kRamBase, 1).delay, sc_time(35, SC_NS));
    uint32_t word = 0;
    EXPECT_EQ(bench.cpu.read(kRamBase, &word, 4).delay, sc_time(25, SC_NS));
}

TEST(Router, AnswersUnmappedAddressesWithAnAddressError) {
    BusBench bench;
    uint32_t word = 0;
    EXPECT_EQ(bench.cpu.read(0x0, &word, 4).status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.cpu.read(kRomBase + kRomSize, &word, 4).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.bus.unmapped_accesses(), 2u);
    tlm::tlm_dmi dmi;
    EXPECT_FALSE(bench.cpu.dmi(tlm::TLM_READ_COMMAND, 0x0, dmi));
    EXPECT_EQ(bench.cpu.debug(tlm::TLM_READ_COMMAND, 0x0, &word, 4), 0u);
}

TEST(Router, CountsTransactionsBytesAndBusyTimePerRegion) {
    BusBench bench;
    std::array<uint8_t, 64> burst{};
    bench.cpu.write(kRamBase, burst.data(), 64);
    bench.dma.read(kRamBase, burst.data(), 16);
    bench.cpu.read(kRamBase + kRamSize - 2, burst.data(), 4);  // runs off the end
    const RouterRegionCounters& ram = bench.bus.counters("ram");
    EXPECT_EQ(ram.transactions, 3u);
    EXPECT_EQ(ram.bytes, 84u);
    EXPECT_EQ(ram.errors, 1u);
    EXPECT_EQ(ram.busy_time, sc_time(50, SC_NS));  // 30 ns write + 20 ns read
    EXPECT_EQ(bench.bus.counters("rom").transactions, 0u);
}

TEST(Router, TranslatesDmiRangesBackToBusAddresses) {
    BusBench bench;
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.cpu.dmi(tlm::TLM_WRITE_COMMAND, kRamBase + 0x3004, dmi));
    EXPECT_EQ(dmi.get_start_address(), kRamBase + 0x3000);
    EXPECT_EQ(dmi.get_end_address(), kRamBase + 0x3fff);
    EXPECT_EQ(dmi.get_write_latency(), sc_time(35, SC_NS));
    // The pointer is the memory's own storage: a write through it is seen on the bus.
    dmi.get_dmi_ptr()[4] = 0x5a;
    EXPECT_EQ(bench.dma.read32(kRamBase + 0x3004) & 0xff, 0x5au);
    EXPECT_EQ(bench.bus.counters("ram").dmi_grants, 1u);
}

TEST(Router, ClipsDmiToTheRegionWindow) {
    BusBench bench;
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.cpu.dmi(tlm::TLM_WRITE_COMMAND, kRomBase + 0x100, dmi));
    // The memory grants its 64 KiB page; the bus only shows 16 KiB of it.
    EXPECT_EQ(dmi.get_start_address(), kRomBase);
    EXPECT_EQ(dmi.get_end_address(), kRomBase + kRomSize - 1);
}

TEST(Router, FansDmiInvalidationsOutToEveryInitiatorTranslated) {
    BusBench bench;
    bench.ram.invalidate_dmi(0x1000, 0x1fff);
    ASSERT_EQ(bench.cpu.invalidations.size(), 1u);
    ASSERT_EQ(bench.dma.invalidations.size(), 1u);
    EXPECT_EQ(bench.cpu.invalidations[0].first, kRamBase + 0x1000);
    EXPECT_EQ(bench.cpu.invalidations[0].second, kRamBase + 0x1fff);
    EXPECT_EQ(bench.dma.invalidations[0], bench.cpu.invalidations[0]);

    // An invalidation larger than the window is clipped to it; one beyond it is dropped.
    bench.rom.invalidate_dmi(0, 0xffff);
    ASSERT_EQ(bench.cpu.invalidations.size(), 2u);
    EXPECT_EQ(bench.cpu.invalidations[1].first, kRomBase);
    EXPECT_EQ(bench.cpu.invalidations[1].second, kRomBase + kRomSize - 1);
    bench.rom.invalidate_dmi(0x8000, 0x8fff);
    EXPECT_EQ(bench.cpu.invalidations.size(), 2u);
}

TEST(Router, ForwardsDebugAccessTranslatedAndClippedToTheRegion) {
    BusBench bench;
    std::array<uint8_t, 8> bytes{1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(bench.cpu.debug(tlm::TLM_WRITE_COMMAND, kRamBase + 0x40, bytes.data(), 8), 8u);
    EXPECT_EQ(bench.cpu.read32(kRamBase + 0x44), 0x08070605u);
    // Four bytes of the window remain: the rest must not spill into the next target.
    EXPECT_EQ(bench.cpu.debug(tlm::TLM_READ_COMMAND, kRomBase + kRomSize - 4, bytes.data(), 8), 4u);
    EXPECT_EQ(bench.bus.counters("ram").debug_transactions, 1u);
    EXPECT_EQ(bench.ram.counters().writes, 0u);
}

std::string construction_error(const RouterParams& params) {
    try {
        Router router("bad_bus", params);
    } catch (const sc_core::sc_report& report) {
        return report.get_msg();
    }
    return "";
}

TEST(Router, RejectsOverlappingRegionsNamingBoth) {
    RouterParams params;
    params.regions.push_back({"ram", 0x80000000, 0x10000000, 0});
    params.regions.push_back({"mmio", 0x8ffff000, 0x1000, 1});
    const std::string message = construction_error(params);
    EXPECT_NE(message.find("'ram'"), std::string::npos) << message;
    EXPECT_NE(message.find("'mmio'"), std::string::npos) << message;
    EXPECT_NE(message.find("overlaps"), std::string::npos) << message;
}

TEST(Router, RejectsZeroSizeRegions) {
    RouterParams params;
    params.regions.push_back({"empty", 0x1000, 0, 0});
    const std::string message = construction_error(params);
    EXPECT_NE(message.find("'empty'"), std::string::npos) << message;
    EXPECT_NE(message.find("zero size"), std::string::npos) << message;
}

}  // namespace
}  // namespace vbsim::models
