// End to end on one virtual machine built in C++ (no YAML): the bare-metal driver
// in the guest CPU inflates and deflates through the virtio-mmio balloon, and page
// counts agree in the guest, the device and the host pool.

#include <gtest/gtest.h>

#include "platform/guest_node.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_MS;
using sc_core::SC_SEC;
using sc_core::sc_time;

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

GuestConfig guest_config(uint64_t ram_bytes = kGiB) {
    GuestConfig guest;
    guest.name = "vm0";
    guest.ram_bytes = ram_bytes;
    guest.resident_at_start_bytes = ram_bytes;
    guest.balloon.stats_poll_interval = sc_core::SC_ZERO_TIME;
    return guest;
}

struct Machine {
    explicit Machine(const GuestConfig& guest, const PlatformSection& platform = {})
        : host(models::HostMemoryParams{4 * kGiB, 0}), node("vm0", guest, platform, host) {}
    models::HostMemory host;
    GuestNode node;
};

TEST(GuestNode, InflatesHalfOfAGibibyteAndDeflatesItBackWithExactCounts) {
    Machine machine(guest_config());
    GuestNode& node = machine.node;
    sc_core::sc_start(sc_time(1, SC_MS));
    ASSERT_EQ(node.driver().state(), sw::balloon::BalloonState::kRunning);
    const uint64_t free_before = node.memory().free_pages();
    const uint64_t resident_before = machine.host.guest_resident_pages(node.host_id());
    EXPECT_EQ(resident_before, kGiB / 4096);

    node.balloon().set_target_pages(131072);  // 512 MiB
    sc_core::sc_start(sc_time(2, SC_SEC));
    EXPECT_EQ(node.balloon().actual_pages(), 131072u);
    EXPECT_EQ(node.balloon().ballooned_pages(), 131072u);
    EXPECT_EQ(node.driver().num_pages(), 131072u);
    EXPECT_EQ(node.memory().ballooned_pages(), 131072u);
    EXPECT_EQ(node.memory().free_pages(), free_before - 131072);
    EXPECT_EQ(machine.host.guest_resident_pages(node.host_id()), resident_before - 131072);
    EXPECT_EQ(node.balloon().counters().inflate_buffers, 131072u / 256);

    node.balloon().set_target_pages(0);
    sc_core::sc_start(sc_time(2, SC_SEC));
    EXPECT_EQ(node.balloon().actual_pages(), 0u);
    EXPECT_EQ(node.balloon().ballooned_pages(), 0u);
    EXPECT_EQ(node.memory().ballooned_pages(), 0u);
    EXPECT_EQ(node.memory().free_pages(), free_before);
    // Deflated pages cost the host again only once the guest touches them.
    EXPECT_EQ(machine.host.guest_resident_pages(node.host_id()), resident_before - 131072);
    EXPECT_EQ(node.balloon().counters().pfns_not_ballooned, 0u);
    EXPECT_EQ(node.balloon().counters().pfns_out_of_range, 0u);
}

TEST(GuestNode, LegacyTransportInflatesToo) {
    GuestConfig guest = guest_config(256 * kMiB);
    guest.balloon.transport_version = 1;
    Machine machine(guest);
    machine.node.balloon().set_target_pages(1000);
    sc_core::sc_start(sc_time(1, SC_SEC));
    EXPECT_EQ(machine.node.balloon().actual_pages(), 1000u);
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 1000u);
}

TEST(GuestNode, SixtyFourKibPagesMoveSixteenPfnsEach) {
    GuestConfig guest = guest_config(256 * kMiB);
    guest.page_size = 64 * 1024;
    Machine machine(guest);
    machine.node.balloon().set_target_pages(1000);  // aligned up to 63 guest pages = 1008 PFNs
    sc_core::sc_start(sc_time(1, SC_SEC));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 1008u);
    EXPECT_EQ(machine.node.memory().ballooned_pages(), 63u);
    EXPECT_EQ(machine.node.balloon().actual_pages(), 1008u);
}

TEST(GuestNode, InflateTakesSimulatedTimeFromHostAndGuestCosts) {
    Machine machine(guest_config(256 * kMiB));
    sc_core::sc_start(sc_time(1, SC_MS));
    machine.node.balloon().set_target_pages(25600);  // 100 buffers of 256 PFNs
    // Host cost alone: 100 × (10 µs + 256 × 430 ns) ≈ 12 ms; not done after 10 ms.
    sc_core::sc_start(sc_time(10, SC_MS));
    EXPECT_LT(machine.node.balloon().ballooned_pages(), 25600u);
    EXPECT_GT(machine.node.balloon().ballooned_pages(), 0u);
    sc_core::sc_start(sc_time(100, SC_MS));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 25600u);
}

}  // namespace
}  // namespace vbsim::platform
