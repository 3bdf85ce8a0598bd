// End to end on one virtual machine built in C++ (no YAML): free page reporting, free page
// hinting and page poisoning between the bare-metal driver, the device model and the host
// pool, with exact page counts.

#include <gtest/gtest.h>

#include "platform/assembly/guest_node.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_MS;
using sc_core::sc_time;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kBlockPages = 512;  // 2 MiB of 4 KiB pages

GuestConfig guest_config(uint64_t ram_bytes, const std::vector<std::string>& extra) {
    GuestConfig guest;
    guest.name = "vm0";
    guest.ram_bytes = ram_bytes;
    guest.resident_at_start_bytes = ram_bytes;
    guest.balloon.stats_poll_interval = sc_core::SC_ZERO_TIME;
    for (const std::string& feature : extra) {
        guest.balloon.offered_features.push_back(feature);
        guest.driver.features.push_back(feature);
    }
    return guest;
}

struct Machine {
    explicit Machine(const GuestConfig& guest)
        : host(models::HostMemoryParams{uint64_t{4} << 30, 0}), node("vm0", guest, host) {}
    uint64_t resident() const { return host.guest_resident_pages(node.host_id()); }
    models::HostMemory host;
    GuestNode node;
};

TEST(GuestNodeReporting, ReportsEveryFreeBlockInTwoPassesAndReuseCostsTheHostAgain) {
    Machine machine(guest_config(256 * kMiB, {"page_reporting"}));
    GuestNode& node = machine.node;
    sc_core::sc_start(sc_time(1, SC_MS));
    ASSERT_TRUE(node.driver().has_feature(spec::balloon::kFeaturePageReporting));
    const uint64_t blocks = node.memory().block_count(9);
    ASSERT_GT(blocks, 64u);  // more than one pass's budget (2 batches of 32)
    const uint64_t resident = machine.resident();
    ASSERT_EQ(resident, 65536u);

    sc_core::sc_start(sc_time(1990, SC_MS));  // just before the first pass
    EXPECT_EQ(node.balloon().counters().pages_reported, 0u);
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(node.balloon().counters().pages_reported, 64 * kBlockPages);
    EXPECT_EQ(node.balloon().counters().report_buffers, 2u);
    EXPECT_EQ(node.balloon().counters().report_blocks_per_buffer,
              (std::map<uint64_t, uint64_t>{{32, 2}}));
    sc_core::sc_start(sc_time(2, sc_core::SC_SEC));  // the second pass, at 4 s
    EXPECT_EQ(node.balloon().counters().pages_reported, blocks * kBlockPages);
    EXPECT_EQ(node.memory().reported_pages(), blocks * kBlockPages);
    EXPECT_EQ(node.host_link().pages_freed_by_reporting(), blocks * kBlockPages);
    EXPECT_EQ(machine.resident(), resident - blocks * kBlockPages);
    // Reported, not ballooned.
    EXPECT_EQ(node.balloon().ballooned_pages(), 0u);
    EXPECT_EQ(node.memory().ballooned_pages(), 0u);
    EXPECT_EQ(node.memory().free_pages(), node.memory().total_pages());

    // The guest allocates 64 MiB again: 32 reported blocks are taken back and the host faults
    // those pages back in.
    node.replace_workload({{PhaseKind::kAllocate, 1024.0 * kMiB, 64 * kMiB, sc_time()}});
    sc_core::sc_start(sc_time(500, SC_MS));
    EXPECT_EQ(node.memory().counters().reported_blocks_reused, 32u);
    EXPECT_EQ(node.memory().reported_pages(), (blocks - 32) * kBlockPages);
    EXPECT_EQ(machine.resident(), resident - (blocks - 32) * kBlockPages);
    EXPECT_EQ(node.transport().counters().guest_errors, 0u);
}

TEST(GuestNodeReporting, APoisonValueKeepsReportedPagesOnTheHost) {
    GuestConfig guest = guest_config(256 * kMiB, {"page_poison", "page_reporting"});
    guest.driver.free_page_init = "poison";
    Machine machine(guest);
    GuestNode& node = machine.node;
    sc_core::sc_start(sc_time(2500, SC_MS));
    EXPECT_EQ(node.balloon().poison_val(), 0xaaaaaaaau);
    EXPECT_EQ(node.balloon().counters().pages_kept_for_poison, 64 * kBlockPages);
    EXPECT_EQ(node.balloon().counters().pages_reported, 0u);
    EXPECT_EQ(node.host_link().pages_freed_by_reporting(), 0u);
    EXPECT_EQ(machine.resident(), 65536u);
}

TEST(GuestNodeReporting, PoisoningWithoutPagePoisonOnTheDeviceReportsNothing) {
    GuestConfig guest = guest_config(256 * kMiB, {"page_reporting"});
    guest.driver.features.push_back("page_poison");  // the device does not offer it
    guest.driver.free_page_init = "poison";
    Machine machine(guest);
    sc_core::sc_start(sc_time(5, sc_core::SC_SEC));
    EXPECT_FALSE(machine.node.driver().has_feature(spec::balloon::kFeaturePageReporting));
    EXPECT_EQ(machine.node.balloon().reporting_queue(), -1);
    EXPECT_EQ(machine.node.balloon().counters().report_buffers, 0u);
}

TEST(GuestNodeHinting, ARoundHintsTheFreeBlocksAndDoneGivesThemBack) {
    Machine machine(guest_config(512 * kMiB, {"free_page_hint"}));
    GuestNode& node = machine.node;
    node.replace_workload({{PhaseKind::kAllocate, 1024.0 * kMiB, 128 * kMiB, sc_time()}});
    sc_core::sc_start(sc_time(1, sc_core::SC_SEC));
    const uint64_t free_before = node.memory().free_pages();
    node.start_free_page_hint();
    sc_core::sc_start(sc_time(500, SC_MS));
    ASSERT_EQ(node.balloon().hint_rounds().size(), 1u);
    const models::FreePageHintRound& round = node.balloon().hint_rounds()[0];
    EXPECT_EQ(round.cmd_id, 2u);
    EXPECT_TRUE(round.started);
    EXPECT_TRUE(round.stopped);  // the guest ran out of free blocks and sent its stop id
    // Every hinted 4 MiB block the driver sent is counted in the round, and the guest keeps
    // no more than LOW + a block free while it holds them.
    EXPECT_EQ(round.hinted_pages, node.driver().counters().hint_pfns);
    EXPECT_EQ(round.hint_buffers, node.driver().counters().hint_blocks);
    EXPECT_EQ(node.memory().hinted_pages(), round.hinted_pages);
    EXPECT_EQ(node.memory().free_pages(), free_before - round.hinted_pages);
    EXPECT_LT(node.memory().free_pages(), node.memory().watermarks().low_pages + 1024);
    // Hints return no host memory.
    EXPECT_EQ(machine.resident(), 131072u);
    node.finish_free_page_hint();
    sc_core::sc_start(sc_time(100, SC_MS));
    EXPECT_EQ(node.memory().hinted_pages(), 0u);
    EXPECT_EQ(node.memory().free_pages(), free_before);
    EXPECT_EQ(node.driver().counters().hint_pfns_returned, round.hinted_pages);
}

}  // namespace
}  // namespace vbsim::platform
