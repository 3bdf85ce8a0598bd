#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "models/memory/memory.h"
#include "tests/support/test_initiator.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using test::TestInitiator;

constexpr uint64_t kTiB = uint64_t{1} << 40;

// One memory behind one test initiator, elaborated and ready for direct calls.
struct MemoryBench {
    explicit MemoryBench(const MemoryParams& params)
        : initiator("initiator"), memory("memory", params) {
        initiator.socket.bind(memory.socket);
        sc_core::sc_start(sc_core::SC_ZERO_TIME);
    }
    TestInitiator initiator;
    Memory memory;
};

MemoryParams params_with(uint64_t size) {
    MemoryParams params;
    params.size = size;
    params.read_latency = sc_time(20, SC_NS);
    params.write_latency = sc_time(30, SC_NS);
    params.bandwidth_bytes_per_ns = 16.0;
    return params;
}

TEST(Memory, ATebibyteTouchedInThreePlacesHoldsThreePages) {
    MemoryBench bench(params_with(kTiB));
    const uint32_t value = 0x12345678;
    EXPECT_EQ(bench.initiator.write(0, &value, 4).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.initiator.write(kTiB / 2, &value, 4).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.initiator.write(kTiB - 4, &value, 4).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.memory.resident_pages(), 3u);

    uint32_t untouched = 0xffffffff;
    EXPECT_EQ(bench.initiator.read(kTiB / 4, &untouched, 4).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(untouched, 0u);
    EXPECT_EQ(bench.initiator.read32(kTiB - 4), value);
    EXPECT_EQ(bench.memory.resident_pages(), 3u);
}

TEST(Memory, AnnotatesLatencyPlusLengthOverBandwidth) {
    MemoryBench bench(params_with(1 << 20));
    std::array<uint8_t, 1024> burst{};
    // 30 ns write latency + 1024 B / 16 B/ns = 94 ns.
    EXPECT_EQ(bench.initiator.write(0, burst.data(), burst.size()).delay, sc_time(94, SC_NS));
    // 20 ns read latency + 4 B / 16 B/ns = 20.25 ns.
    uint32_t word = 0;
    EXPECT_EQ(bench.initiator.read(0, &word, 4).delay, sc_time(20.25, SC_NS));
    EXPECT_EQ(bench.memory.transfer_time(160), sc_time(10, SC_NS));
}

TEST(Memory, ZeroBandwidthMeansOnlyTheLatency) {
    MemoryParams params = params_with(1 << 20);
    params.bandwidth_bytes_per_ns = 0.0;
    MemoryBench bench(params);
    std::array<uint8_t, 4096> burst{};
    EXPECT_EQ(bench.initiator.write(0, burst.data(), burst.size()).delay, sc_time(30, SC_NS));
}

TEST(Memory, CountsReadsWritesAndBytes) {
    MemoryBench bench(params_with(1 << 20));
    std::array<uint8_t, 64> burst{};
    bench.initiator.write(0, burst.data(), 64);
    bench.initiator.write(64, burst.data(), 8);
    bench.initiator.read(0, burst.data(), 32);
    bench.initiator.read(1 << 20, burst.data(), 4);  // out of range
    const MemoryCounters& counters = bench.memory.counters();
    EXPECT_EQ(counters.writes, 2u);
    EXPECT_EQ(counters.bytes_written, 72u);
    EXPECT_EQ(counters.reads, 1u);
    EXPECT_EQ(counters.bytes_read, 32u);
    EXPECT_EQ(counters.errors, 1u);
}

TEST(Memory, GrantsReadWriteDmiWithLatenciesAndSharesStorageWithTransport) {
    MemoryBench bench(params_with(1 << 20));
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.initiator.dmi(tlm::TLM_WRITE_COMMAND, 0x2010, dmi));
    EXPECT_TRUE(dmi.is_read_write_allowed());
    EXPECT_EQ(dmi.get_start_address(), 0x2000u);
    EXPECT_EQ(dmi.get_end_address(), 0x2fffu);
    EXPECT_EQ(dmi.get_read_latency(), sc_time(20, SC_NS));
    EXPECT_EQ(dmi.get_write_latency(), sc_time(30, SC_NS));
    const uint32_t value = 0xcafef00d;
    std::memcpy(dmi.get_dmi_ptr() + 0x10, &value, 4);
    EXPECT_EQ(bench.initiator.read32(0x2010), value);
    EXPECT_EQ(bench.memory.counters().dmi_grants, 1u);

    const TestInitiator::Outcome outcome = bench.initiator.write32(0x2020, 7);
    EXPECT_TRUE(outcome.dmi_allowed);
    uint32_t seen = 0;
    std::memcpy(&seen, dmi.get_dmi_ptr() + 0x20, 4);
    EXPECT_EQ(seen, 7u);
}

TEST(Memory, ReadDmiOnAnUntouchedPageAllocatesNothingAndIsRevokedOnWrite) {
    MemoryBench bench(params_with(kTiB));
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.initiator.dmi(tlm::TLM_READ_COMMAND, kTiB / 2, dmi));
    EXPECT_TRUE(dmi.is_read_allowed());
    EXPECT_FALSE(dmi.is_write_allowed());
    EXPECT_EQ(dmi.get_dmi_ptr()[0], 0u);
    EXPECT_EQ(bench.memory.resident_pages(), 0u);
    EXPECT_TRUE(bench.initiator.invalidations.empty());

    bench.initiator.write32(kTiB / 2 + 8, 1);
    ASSERT_EQ(bench.initiator.invalidations.size(), 1u);
    EXPECT_EQ(bench.initiator.invalidations[0].first, kTiB / 2);
    EXPECT_EQ(bench.initiator.invalidations[0].second, kTiB / 2 + 4095);
    EXPECT_EQ(bench.memory.resident_pages(), 1u);
}

TEST(Memory, RefusesDmiWhenSwitchedOff) {
    MemoryParams params = params_with(1 << 20);
    params.dmi_enabled = false;
    MemoryBench bench(params);
    tlm::tlm_dmi dmi;
    EXPECT_FALSE(bench.initiator.dmi(tlm::TLM_READ_COMMAND, 0x100, dmi));
    EXPECT_TRUE(dmi.is_none_allowed());
    EXPECT_EQ(dmi.get_start_address(), 0u);
    EXPECT_EQ(dmi.get_end_address(), (1u << 20) - 1);
    EXPECT_FALSE(bench.initiator.write32(0x100, 1).dmi_allowed);
    EXPECT_EQ(bench.memory.counters().dmi_grants, 0u);
}

TEST(Memory, SwitchingDmiOffInvalidatesEverythingGranted) {
    MemoryBench bench(params_with(1 << 20));
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.initiator.dmi(tlm::TLM_WRITE_COMMAND, 0x100, dmi));
    bench.memory.set_dmi_enabled(false);
    ASSERT_EQ(bench.initiator.invalidations.size(), 1u);
    EXPECT_EQ(bench.initiator.invalidations[0].first, 0u);
    EXPECT_EQ(bench.initiator.invalidations[0].second, (1u << 20) - 1);
    EXPECT_FALSE(bench.initiator.dmi(tlm::TLM_WRITE_COMMAND, 0x100, dmi));
}

TEST(Memory, InvalidateDmiReachesTheInitiatorWithTheRange) {
    MemoryBench bench(params_with(1 << 20));
    bench.memory.invalidate_dmi(0x1000, 0x1fff);
    ASSERT_EQ(bench.initiator.invalidations.size(), 1u);
    EXPECT_EQ(bench.initiator.invalidations[0], std::make_pair(uint64_t{0x1000}, uint64_t{0x1fff}));
    EXPECT_EQ(bench.memory.counters().dmi_invalidations, 1u);
}

TEST(Memory, DebugAccessHasNoTimingAndNoCounters) {
    MemoryBench bench(params_with(1 << 20));
    std::array<uint8_t, 12> bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    EXPECT_EQ(bench.initiator.debug(tlm::TLM_WRITE_COMMAND, 0x300, bytes.data(), 12), 12u);
    std::array<uint8_t, 12> back{};
    EXPECT_EQ(bench.initiator.debug(tlm::TLM_READ_COMMAND, 0x300, back.data(), 12), 12u);
    EXPECT_EQ(back, bytes);
    const MemoryCounters& counters = bench.memory.counters();
    EXPECT_EQ(counters.reads + counters.writes + counters.bytes_read + counters.bytes_written, 0u);
    // A debug read past the end is clipped to what exists.
    EXPECT_EQ(bench.initiator.debug(tlm::TLM_READ_COMMAND, (1 << 20) - 4, back.data(), 12), 4u);
    EXPECT_EQ(bench.initiator.debug(tlm::TLM_READ_COMMAND, 1 << 20, back.data(), 12), 0u);
}

TEST(Memory, WritesOnlyEnabledBytesWithARepeatingPattern) {
    MemoryBench bench(params_with(1 << 20));
    std::array<uint8_t, 8> initial{};
    initial.fill(0xee);
    bench.initiator.write(0x40, initial.data(), 8);
    std::array<uint8_t, 8> data{1, 2, 3, 4, 5, 6, 7, 8};
    const std::array<unsigned char, 4> enables{0xff, 0x00, 0xff, 0x00};
    EXPECT_EQ(
        bench.initiator.transport(tlm::TLM_WRITE_COMMAND, 0x40, data.data(), 8, enables.data(), 4)
            .status,
        tlm::TLM_OK_RESPONSE);
    std::array<uint8_t, 8> back{};
    bench.initiator.read(0x40, back.data(), 8);
    const std::array<uint8_t, 8> expected{1, 0xee, 3, 0xee, 5, 0xee, 7, 0xee};
    EXPECT_EQ(back, expected);
}

TEST(Memory, ReadsLeaveDisabledBytesOfTheBufferUntouched) {
    MemoryBench bench(params_with(1 << 20));
    const uint32_t value = 0x44332211;
    bench.initiator.write32(0x80, value);
    std::array<uint8_t, 4> back{0xaa, 0xaa, 0xaa, 0xaa};
    const std::array<unsigned char, 4> enables{0x00, 0xff, 0x00, 0xff};
    bench.initiator.transport(tlm::TLM_READ_COMMAND, 0x80, back.data(), 4, enables.data(), 4);
    const std::array<uint8_t, 4> expected{0xaa, 0x22, 0xaa, 0x44};
    EXPECT_EQ(back, expected);
}

TEST(Memory, RejectsByteEnableValuesOtherThanAllOrNothing) {
    MemoryBench bench(params_with(1 << 20));
    uint32_t data = 0;
    const std::array<unsigned char, 4> enables{0xff, 0x0f, 0xff, 0xff};
    EXPECT_EQ(
        bench.initiator.transport(tlm::TLM_WRITE_COMMAND, 0, &data, 4, enables.data(), 4).status,
        tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
}

TEST(Memory, AStreamingBurstWrapsOnItsStreamingWidth) {
    MemoryBench bench(params_with(1 << 20));
    std::array<uint8_t, 8> data{1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(
        bench.initiator.transport(tlm::TLM_WRITE_COMMAND, 0x100, data.data(), 8, nullptr, 0, 4)
            .status,
        tlm::TLM_OK_RESPONSE);
    std::array<uint8_t, 8> back{};
    bench.initiator.read(0x100, back.data(), 8);
    const std::array<uint8_t, 8> expected{5, 6, 7, 8, 0, 0, 0, 0};
    EXPECT_EQ(back, expected);
    // A streaming burst at the very end is in range: it only spans its width.
    EXPECT_EQ(bench.initiator
                  .transport(tlm::TLM_READ_COMMAND, (1 << 20) - 4, back.data(), 8, nullptr, 0, 4)
                  .status,
              tlm::TLM_OK_RESPONSE);
}

TEST(Memory, OutOfRangeAccessesGetAnAddressError) {
    MemoryBench bench(params_with(1 << 20));
    uint64_t data = 0;
    EXPECT_EQ(bench.initiator.read(1 << 20, &data, 4).status, tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.initiator.read((1 << 20) - 4, &data, 8).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.initiator.write(~uint64_t{0} - 2, &data, 8).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(bench.memory.resident_pages(), 0u);
}

TEST(Memory, ReadOnlyMemoryAnswersWritesWithACommandError) {
    MemoryParams params = params_with(1 << 20);
    params.read_only = true;
    MemoryBench bench(params);
    EXPECT_EQ(bench.initiator.write32(0, 1).status, tlm::TLM_COMMAND_ERROR_RESPONSE);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(bench.initiator.dmi(tlm::TLM_WRITE_COMMAND, 0, dmi));
    EXPECT_FALSE(dmi.is_write_allowed());
}

TEST(Memory, IgnoreCommandSucceedsWithoutTouchingMemory) {
    MemoryBench bench(params_with(1 << 20));
    uint32_t data = 5;
    EXPECT_EQ(bench.initiator.transport(tlm::TLM_IGNORE_COMMAND, 0, &data, 4).status,
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.memory.resident_pages(), 0u);
}

}  // namespace
}  // namespace vbsim::models
