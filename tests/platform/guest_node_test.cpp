// End to end on one virtual machine built in C++ (no YAML): the bare-metal driver
// in the guest CPU inflates and deflates through the virtio-mmio balloon, and page
// counts agree in the guest, the device and the host pool.

#include <gtest/gtest.h>

#include "platform/assembly/guest_node.h"

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
    explicit Machine(const GuestConfig& guest)
        : host(models::HostMemoryParams{4 * kGiB, 0}), node("vm0", guest, host) {}
    models::HostMemory host;
    GuestNode node;
};

TEST(GuestNode, ParameterSectionsAreItsModulesNames) {
    // vm0.bus.hop_latency belongs to the module vm0.bus, and so on; the driver is software.
    Machine machine(guest_config());
    for (const char* section : kModelSections) {
        const std::string name = std::string("vm0.") + section;
        sc_core::sc_object* module = sc_core::sc_find_object(name.c_str());
        if (std::string(section) == "driver") {
            EXPECT_EQ(module, nullptr);
        } else {
            EXPECT_NE(module, nullptr) << name;
        }
    }
}

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
    // Every interrupt the device raised was taken exactly once by the guest.
    EXPECT_EQ(node.cpu().counters().interrupts_taken,
              node.transport().counters().interrupts_raised);
    EXPECT_GT(node.cpu().counters().interrupts_taken, 1024u);
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
    // Host cost alone: 100 × (385 µs + 256 × 430 ns) ≈ 50 ms; not done after 10 ms.
    sc_core::sc_start(sc_time(10, SC_MS));
    EXPECT_LT(machine.node.balloon().ballooned_pages(), 25600u);
    EXPECT_GT(machine.node.balloon().ballooned_pages(), 0u);
    sc_core::sc_start(sc_time(100, SC_MS));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 25600u);
}

}  // namespace
}  // namespace vbsim::platform

// ---- the driver's history behaviours, end to end ----------------------------------

namespace vbsim::platform {
namespace {

// Records, at the moment the host takes pages back, whether the guest had already
// reused them: with tell-host-first it never has.
struct DeflateOrderProbe : models::BalloonObserver {
    explicit DeflateOrderProbe(GuestNode& guest) : node(guest) {}
    void pages_deflated(const uint32_t* pfns, size_t count, const sc_core::sc_time&) override {
        for (size_t i = 0; i < count; ++i) {
            const uint64_t address = uint64_t{pfns[i]} << 12;
            // The page is still the balloon's in the guest: allocated and not free.
            if (!node.memory().is_allocated(address)) {
                ++reused_before_host_knew;
            }
        }
        deflated += count;
    }
    GuestNode& node;
    uint64_t deflated = 0;
    uint64_t reused_before_host_knew = 0;
};

TEST(GuestNodeHistory, LoweringTheTargetDeflatesWithANegativeTowardsTarget) {
    Machine machine(guest_config(256 * kMiB));
    machine.node.balloon().set_target_pages(20000);
    sc_core::sc_start(sc_time(1, SC_SEC));
    machine.node.balloon().set_target_pages(5000);
    sc_core::sc_start(sc_time(1, SC_MS));
    // The driver has read the new target: towards_target = 5000 - num_pages < 0.
    const sw::balloon::BalloonDriver& driver = machine.node.driver();
    EXPECT_EQ(driver.target_pages(), 5000u);
    EXPECT_LT(
        static_cast<int64_t>(driver.target_pages()) - static_cast<int64_t>(driver.num_pages()), 0);
    sc_core::sc_start(sc_time(1, SC_SEC));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 5000u);
    EXPECT_EQ(machine.node.balloon().counters().pages_inflated, 20000u);
    EXPECT_EQ(machine.node.balloon().counters().pages_deflated, 15000u);
}

TEST(GuestNodeHistory, ATargetAboveTwoToTheThirtyOnePagesInflatesToLowAndRetries) {
    Machine machine(guest_config(256 * kMiB));
    machine.node.balloon().set_target_pages(0xffffffffu);
    sc_core::sc_start(sc_time(1100, SC_MS));
    const sw::guest::GuestMemory& memory = machine.node.memory();
    EXPECT_EQ(machine.node.driver().target_pages(), 0xffffffffu);
    // Never below LOW, never an OOM, and a retry every 200 ms.
    EXPECT_EQ(memory.free_pages(), memory.watermarks().low_pages);
    EXPECT_EQ(memory.counters().oom_kills, 0u);
    EXPECT_GE(machine.node.driver().counters().retries, 4u);
    EXPECT_LE(machine.node.driver().counters().retries, 6u);
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), machine.node.driver().num_pages());
}

TEST(GuestNodeHistory, AllocationFailureRetriesAfter200MsAndCompletesWhenMemoryFrees) {
    GuestConfig guest = guest_config(256 * kMiB);
    guest.workload.phases = {{PhaseKind::kAllocate, 4.0 * kGiB, 220 * kMiB, sc_time(0, SC_SEC)},
                             {PhaseKind::kHold, 0, 0, sc_time(1, SC_SEC)},
                             {PhaseKind::kFree, 4.0 * kGiB, 0, sc_time(0, SC_SEC)}};
    Machine machine(guest);
    sc_core::sc_start(sc_time(100, SC_MS));
    machine.node.balloon().set_target_pages(16384);  // 64 MiB: more than is left above LOW
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_LT(machine.node.balloon().ballooned_pages(), 16384u);
    EXPECT_GE(machine.node.memory().counters().balloon_alloc_failures, 1u);
    EXPECT_TRUE(machine.node.driver().retry_pending());
    EXPECT_EQ(machine.node.memory().counters().oom_kills, 0u);
    sc_core::sc_start(sc_time(1500, SC_MS));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 16384u);
    EXPECT_EQ(machine.node.balloon().actual_pages(), 16384u);
}

TEST(GuestNodeHistory, DeflateTellsTheHostBeforeTheGuestReusesAPage) {
    Machine machine(guest_config(256 * kMiB));
    DeflateOrderProbe probe(machine.node);
    machine.node.balloon().add_observer(probe);
    machine.node.balloon().set_target_pages(10000);
    sc_core::sc_start(sc_time(1, SC_SEC));
    machine.node.balloon().set_target_pages(0);
    sc_core::sc_start(sc_time(1, SC_SEC));
    EXPECT_EQ(probe.deflated, 10000u);
    EXPECT_EQ(probe.reused_before_host_knew, 0u);
    EXPECT_EQ(machine.node.memory().ballooned_pages(), 0u);
}

TEST(GuestNodeHistory, StatsAreRefreshedWhenTheDeviceAsksForThem) {
    GuestConfig guest = guest_config(256 * kMiB);
    guest.workload.phases = {{PhaseKind::kHold, 0, 0, sc_time(100, SC_MS)},
                             {PhaseKind::kAllocate, 1.0 * kGiB, 64 * kMiB, sc_time(0, SC_SEC)}};
    Machine machine(guest);
    sc_core::sc_start(sc_time(50, SC_MS));
    const uint64_t free_at_boot =
        machine.node.balloon().last_stats().value(spec::balloon::kStatMemFree);
    EXPECT_EQ(free_at_boot, machine.node.memory().free_pages() * 4096);
    sc_core::sc_start(sc_time(200, SC_MS));  // the workload took 64 MiB meanwhile
    machine.node.balloon().request_stats();
    sc_core::sc_start(sc_time(10, SC_MS));
    const uint64_t free_now =
        machine.node.balloon().last_stats().value(spec::balloon::kStatMemFree);
    EXPECT_EQ(free_now, machine.node.memory().free_pages() * 4096);
    EXPECT_EQ(free_at_boot - free_now, 64 * kMiB);
    EXPECT_EQ(machine.node.driver().counters().stats_updates, 2u);
}

TEST(GuestNodeHistory, ADeviceWithoutStatsVqNeverGetsStats) {
    GuestConfig guest = guest_config(256 * kMiB);
    guest.balloon.offered_features = {"must_tell_host", "deflate_on_oom"};
    Machine machine(guest);
    machine.node.balloon().set_target_pages(4096);
    sc_core::sc_start(sc_time(1, SC_SEC));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 4096u);
    EXPECT_FALSE(machine.node.balloon().last_stats().valid);
    EXPECT_EQ(machine.node.driver().counters().stats_updates, 0u);
    EXPECT_FALSE(machine.node.driver().stats_requested());
    EXPECT_EQ(machine.node.balloon().stats_queue(), -1);
}

TEST(GuestNodeHistory, FreezeLeaksTheBalloonAndRestoreRefillsIt) {
    Machine machine(guest_config(256 * kMiB));
    machine.node.balloon().set_target_pages(8192);
    sc_core::sc_start(sc_time(500, SC_MS));
    ASSERT_EQ(machine.node.balloon().ballooned_pages(), 8192u);
    machine.node.freeze();
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(machine.node.driver().state(), sw::balloon::BalloonState::kFrozen);
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 0u);
    EXPECT_EQ(machine.node.memory().ballooned_pages(), 0u);
    EXPECT_EQ(machine.node.transport().status(), 0u);  // reset, queues dropped
    machine.node.restore();
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(machine.node.driver().state(), sw::balloon::BalloonState::kRunning);
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 8192u);
    EXPECT_EQ(machine.node.balloon().actual_pages(), 8192u);
}

TEST(GuestNodeHistory, RemoveDeflatesEverythingBeforeTheReset) {
    Machine machine(guest_config(256 * kMiB));
    machine.node.balloon().set_target_pages(8192);
    sc_core::sc_start(sc_time(500, SC_MS));
    machine.node.remove();
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(machine.node.driver().state(), sw::balloon::BalloonState::kRemoved);
    EXPECT_EQ(machine.node.balloon().counters().pages_deflated, 8192u);
    EXPECT_EQ(machine.node.memory().ballooned_pages(), 0u);
    EXPECT_EQ(machine.node.transport().status(), 0u);
}

// The same workload outgrows what the balloon left it: with DEFLATE_ON_OOM the
// driver gives pages back and nobody is killed; without it the OOM killer runs.
uint64_t oom_kills_with(bool deflate_on_oom, uint64_t& deflations) {
    GuestConfig guest = guest_config(256 * kMiB);
    if (!deflate_on_oom) {
        guest.balloon.offered_features = {"must_tell_host", "stats_vq"};
    }
    guest.workload.phases = {{PhaseKind::kHold, 0, 0, sc_time(500, SC_MS)},
                             {PhaseKind::kAllocate, 256.0 * kMiB, 150 * kMiB, sc_time(0, SC_SEC)}};
    Machine machine(guest);
    machine.node.balloon().set_target_pages(48000);  // 187.5 MiB of 256 MiB
    sc_core::sc_start(sc_time(2, SC_SEC));
    deflations = machine.node.driver().counters().oom_deflations;
    return machine.node.memory().counters().oom_kills;
}

TEST(GuestNodeHistory, DeflateOnOomRescuesAGuestThatIsOomKilledWithoutIt) {
    uint64_t deflations = 0;
    EXPECT_EQ(oom_kills_with(true, deflations), 0u);
    EXPECT_GE(deflations, 1u);
}

TEST(GuestNodeHistory, WithoutDeflateOnOomTheSameGuestIsOomKilled) {
    uint64_t deflations = 0;
    EXPECT_GT(oom_kills_with(false, deflations), 0u);
    EXPECT_EQ(deflations, 0u);
}

}  // namespace
}  // namespace vbsim::platform

namespace vbsim::platform {
namespace {

TEST(GuestNodeHistory, ADeviceThatNeedsAResetIsNoLongerUsed) {
    Machine machine(guest_config(256 * kMiB));
    machine.node.balloon().set_target_pages(4096);
    sc_core::sc_start(sc_time(500, SC_MS));
    machine.node.reset_device();
    sc_core::sc_start(sc_time(10, SC_MS));
    EXPECT_EQ(machine.node.driver().state(), sw::balloon::BalloonState::kFailed);
    EXPECT_NE(machine.node.transport().status() & spec::status::kDeviceNeedsReset, 0u);
    const uint64_t notifies = machine.node.transport().counters().notifies;
    machine.node.balloon().set_target_pages(8192);
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(machine.node.balloon().ballooned_pages(), 4096u);
    EXPECT_EQ(machine.node.transport().counters().notifies, notifies);
}

}  // namespace
}  // namespace vbsim::platform
