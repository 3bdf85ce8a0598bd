// The balloon driver against a fake HAL: the DMA region is a vector, a small model of a
// virtio-mmio balloon register file plays the device and works the device side of the rings
// in that RAM. Each behaviour taken from Linux's virtio_balloon history has its own test.

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec/virtio.h"
#include "sw/balloon/balloon_driver.h"
#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"
#include "sw/hal/hal.h"
#include "sw/virtio/virtio_mmio_device.h"
#include "tests/sw/support/fake_virtio_mmio.h"

namespace {

namespace mmio = vbsim::spec::mmio;
namespace status = vbsim::spec::status;
namespace feature = vbsim::spec::feature;
namespace vring = vbsim::spec::vring;
namespace sb = vbsim::spec::balloon;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using vbsim::sw::balloon::BalloonDriver;
using vbsim::sw::balloon::BalloonDriverParams;
using vbsim::sw::balloon::BalloonState;
using vbsim::sw::guest::AllocationClass;
using vbsim::sw::guest::AllocationFailure;
using vbsim::sw::guest::GuestMemory;
using vbsim::sw::guest::GuestMemoryParams;
using vbsim::sw::guest::Kernel;
using vbsim::sw::virtio::QueueLayout;
using vbsim::sw::virtio::Result;
using vbsim::sw::virtio::VirtioMmioDevice;
using vbsim::test::FakeVirtioMmio;
using vbsim::test::MmioWrite;

constexpr uint64_t kMmioBase = 0x10001000;
constexpr unsigned kIrq = 5;
constexpr uint64_t kDmaBase = 0x40000000;
constexpr uint64_t kDmaBytes = 64 * 1024;
constexpr uint64_t kGuestRamBase = 0x80000000;
constexpr uint32_t kGuestPfnBase = kGuestRamBase >> 12;
constexpr uint64_t kMs = 1000 * 1000;

constexpr uint64_t bit(unsigned b) {
    return uint64_t{1} << b;
}
constexpr uint64_t kMustTellHost = bit(sb::kFeatureMustTellHost);
constexpr uint64_t kStatsVq = bit(sb::kFeatureStatsVq);
constexpr uint64_t kDeflateOnOom = bit(sb::kFeatureDeflateOnOom);
constexpr uint64_t kFreePageHint = bit(sb::kFeatureFreePageHint);
constexpr uint64_t kPagePoison = bit(sb::kFeaturePagePoison);
constexpr uint64_t kPageReporting = bit(sb::kFeaturePageReporting);
constexpr uint64_t kEventIdx = bit(feature::kRingEventIdx);
constexpr uint64_t kVersion1 = bit(feature::kVersion1);

struct StatsBuffer {
    std::vector<std::pair<uint16_t, uint64_t>> entries;
    uint64_t value(uint16_t tag) const {
        for (const auto& [t, v] : entries) {
            if (t == tag) {
                return v;
            }
        }
        return ~uint64_t{0};
    }
    std::vector<uint16_t> tags() const {
        std::vector<uint16_t> result;
        for (const auto& entry : entries) {
            result.push_back(entry.first);
        }
        return result;
    }
};

// A virtio-mmio balloon: the shared register file (v1 and v2) with the balloon's config space,
// and the device side of its split rings, working on the fake DMA RAM.
class FakeBalloonHal final : public FakeVirtioMmio {
  public:
    // The device's side of one queue's rings.
    struct Ring {
        uint16_t last_avail = 0;
        uint16_t used_idx = 0;
        std::deque<uint16_t> held;
        bool auto_ack = true;
    };

    FakeBalloonHal() : FakeVirtioMmio(kMmioBase, sb::kMaxQueues, 4) {
        device_id = sb::kDeviceId;
        device_features = kVersion1 | kEventIdx | kMustTellHost | kStatsVq | kDeflateOnOom;
        for (Queue& queue : queues) {
            queue.num_max = 128;
        }
    }

    // ---- device configuration (set by tests) ----
    // config: num_pages, actual, cmd id, poison
    std::array<Ring, sb::kMaxQueues> rings{};
    Kernel* kernel = nullptr;

    // ---- device state ----
    std::set<uint32_t> selected_queues;
    uint32_t resets = 0;
    std::vector<uint32_t> pending_notifies;  // notified before DRIVER_OK
    uint32_t early_notifies = 0;
    uint32_t actual_bytes = 0;  // legacy `actual` as the bytes arrive
    uint32_t byte_reads = 0;
    uint32_t num_pages_reads = 0;  // whole-field reads of num_pages (legacy: its first byte)
    uint32_t byte_writes = 0;

    // ---- what the device saw ----
    std::vector<std::vector<uint32_t>> inflate_buffers;
    std::vector<std::vector<uint32_t>> deflate_buffers;
    std::vector<StatsBuffer> stats_buffers;
    uint64_t stats_buffer_address = 0;
    std::vector<MmioWrite> writes;  // every MMIO write, in order

    // ---- guest side instrumentation ----
    std::vector<uint8_t> ram = std::vector<uint8_t>(kDmaBytes);
    struct RamWrite {
        uint64_t address;
        size_t length;
        uint64_t work_run;  // kernel work items started before this write
    };
    std::vector<RamWrite> ram_writes;
    uint64_t work_run_at_last_interrupt_read = 0;
    uint64_t now = 0;
    uint64_t armed_deadline = 0;
    uint64_t cpu_ns = 0;

    // ---- the register file, where the balloon differs ----
    uint32_t read32(uint32_t offset) override {
        if (offset == mmio::kInterruptStatus && kernel != nullptr) {
            work_run_at_last_interrupt_read = kernel->work_run();
        }
        if (in_config(offset, 4)) {
            if (legacy()) {
                complaints.push_back("32-bit config read on legacy (Linux reads bytes)");
            }
            num_pages_reads += offset == mmio::kConfig + sb::kConfigNumPages ? 1 : 0;
        }
        return FakeVirtioMmio::read32(offset);
    }

    void write32(uint32_t offset, uint32_t value) override {
        writes.push_back({offset, value});
        if (offset == mmio::kQueueSel && value < queues.size()) {
            selected_queues.insert(value);
        }
        if (offset >= mmio::kConfig) {
            // Only `actual` and `poison_val` are the driver's to write.
            if (offset != mmio::kConfig + sb::kConfigActual &&
                offset != mmio::kConfig + sb::kConfigPoisonVal) {
                complain("write of register", offset);
                return;
            }
            if (legacy() && offset == mmio::kConfig + sb::kConfigActual) {
                complaints.push_back("32-bit config write on legacy (Linux writes bytes)");
            }
        }
        FakeVirtioMmio::write32(offset, value);
    }

    // Legacy config space, a byte at a time, little-endian; `actual` counts as written when
    // its last byte arrives (the spec's rule for multi-byte legacy fields).
    uint8_t read8(uint32_t offset) override {
        ++byte_reads;
        num_pages_reads += offset == mmio::kConfig + sb::kConfigNumPages ? 1 : 0;
        return FakeVirtioMmio::read8(offset);
    }
    void write8(uint32_t offset, uint8_t value) override {
        ++byte_writes;
        const uint32_t actual = mmio::kConfig + sb::kConfigActual;
        if (offset < actual || offset >= actual + 4) {
            complaints.push_back("byte write outside config.actual");
            return;
        }
        const uint32_t shift = 8 * (offset - actual);
        actual_bytes = (actual_bytes & ~(uint32_t{0xff} << shift)) | (uint32_t{value} << shift);
        if (offset == actual + 3) {
            config[1] = actual_bytes;
            writes.push_back({actual, actual_bytes});
        }
    }

    void reset() override {
        ++resets;
        FakeVirtioMmio::reset();
        pending_notifies.clear();
        for (Ring& ring : rings) {
            Ring fresh;
            fresh.auto_ack = ring.auto_ack;
            ring = std::move(fresh);
        }
    }

    void write_status(uint32_t value) override {
        if (value == 0) {
            reset();
            return;
        }
        value = accepted_status(value);
        const bool driver_ok_now =
            (value & status::kDriverOk) != 0 && (status & status::kDriverOk) == 0;
        status = (status & status::kDeviceNeedsReset) | value;
        // A notify before DRIVER_OK is served now (the device may not use buffers before).
        if (driver_ok_now) {
            const std::vector<uint32_t> pending = std::move(pending_notifies);
            pending_notifies.clear();
            for (uint32_t index : pending) {
                notified(index);
            }
        }
    }

    void ram_read(uint64_t address, void* destination, size_t length) override {
        if (address < kDmaBase || address - kDmaBase + length > ram.size()) {
            ADD_FAILURE() << "guest RAM read outside the DMA region at 0x" << std::hex << address;
            return;
        }
        std::memcpy(destination, ram.data() + (address - kDmaBase), length);
    }
    void ram_write(uint64_t address, const void* source, size_t length) override {
        ram_writes.push_back({address, length, kernel != nullptr ? kernel->work_run() : 0});
        if (address < kDmaBase || address - kDmaBase + length > ram.size()) {
            ADD_FAILURE() << "guest RAM write outside the DMA region at 0x" << std::hex << address;
            return;
        }
        std::memcpy(ram.data() + (address - kDmaBase), source, length);
    }
    void touch_memory(uint64_t, uint64_t) override {}
    void memory_barrier() override {}
    uint64_t now_ns() override { return now; }
    void arm_timer(uint64_t deadline_ns) override { armed_deadline = deadline_ns; }
    void cancel_timer() override { armed_deadline = 0; }
    void cpu_cost(uint64_t nanoseconds) override { cpu_ns += nanoseconds; }

    // ---- device side of the rings ----
    uint64_t le(uint64_t address, unsigned bytes) const {
        uint64_t value = 0;
        for (unsigned i = 0; i < bytes; ++i) {
            value |= uint64_t{ram.at(address - kDmaBase + i)} << (8 * i);
        }
        return value;
    }
    void put_le(uint64_t address, uint64_t value, unsigned bytes) {
        for (unsigned i = 0; i < bytes; ++i) {
            ram.at(address - kDmaBase + i) = static_cast<uint8_t>(value >> (8 * i));
        }
    }

    void notified(uint32_t index) override {
        if (index >= queues.size() || !queue_live(static_cast<uint16_t>(index))) {
            complaints.push_back("notify of a queue that is not live");
            return;
        }
        if ((status & status::kDriverOk) == 0) {
            ++early_notifies;
            pending_notifies.push_back(index);
            return;
        }
        const auto q = static_cast<uint16_t>(index);
        if (static_cast<int>(q) == sb::queue_index(sb::Queue::kReporting, driver_features) ||
            static_cast<int>(q) == sb::queue_index(sb::Queue::kFreePage, driver_features)) {
            take_chains(q);
            return;
        }
        Ring& queue = rings.at(q);
        const QueueLayout l = layout(q);
        const auto avail_idx = static_cast<uint16_t>(le(l.avail_ring + vring::kAvailIdxOffset, 2));
        while (queue.last_avail != avail_idx) {
            const auto head = static_cast<uint16_t>(
                le(l.avail_ring + vring::kAvailRingOffset + 2 * (queue.last_avail % l.size), 2));
            ++queue.last_avail;
            const uint64_t descriptor = l.descriptor_table + 16 * uint64_t{head};
            const uint64_t address = le(descriptor, 8);
            const auto length = static_cast<uint32_t>(le(descriptor + 8, 4));
            if (le(descriptor + 12, 2) != 0) {
                complaints.push_back("unexpected descriptor flags");
            }
            if (q == sb::kStatsQueue) {
                StatsBuffer stats;
                stats_buffer_address = address;
                for (uint32_t at = 0; at + 10 <= length; at += 10) {
                    stats.entries.emplace_back(static_cast<uint16_t>(le(address + at, 2)),
                                               le(address + at + 2, 8));
                }
                stats_buffers.push_back(stats);
            } else {
                std::vector<uint32_t> pfns;
                for (uint32_t at = 0; at + 4 <= length; at += 4) {
                    pfns.push_back(static_cast<uint32_t>(le(address + at, 4)));
                }
                (q == sb::kInflateQueue ? inflate_buffers : deflate_buffers).push_back(pfns);
            }
            // The device holds the stats buffer until it wants fresh stats.
            if (queue.auto_ack && q != sb::kStatsQueue) {
                complete(q, head);
            } else {
                queue.held.push_back(head);
            }
        }
        // EVENT_IDX: notify me for the next buffer.
        put_le(l.used_ring + vring::used_avail_event_offset(l.size), queue.last_avail, 2);
    }

    // One descriptor of a chain on reporting_vq or free_page_vq.
    struct ChainBuffer {
        uint64_t address;
        uint32_t length;
        bool writable;
    };
    std::vector<std::vector<ChainBuffer>> report_chains;
    std::vector<uint32_t> hint_cmd_ids;    // ids the driver sent on free_page_vq
    std::vector<ChainBuffer> hint_blocks;  // blocks it hinted
    // reporting_vq and free_page_vq: whole chains, NEXT and WRITE flags allowed.
    void take_chains(uint16_t q) {
        Ring& queue = rings.at(q);
        const QueueLayout l = layout(q);
        const auto avail_idx = static_cast<uint16_t>(le(l.avail_ring + vring::kAvailIdxOffset, 2));
        const bool reporting =
            static_cast<int>(q) == sb::queue_index(sb::Queue::kReporting, driver_features);
        while (queue.last_avail != avail_idx) {
            const auto head = static_cast<uint16_t>(
                le(l.avail_ring + vring::kAvailRingOffset + 2 * (queue.last_avail % l.size), 2));
            ++queue.last_avail;
            std::vector<ChainBuffer> chain;
            for (uint16_t at = head;;) {
                const uint64_t descriptor = l.descriptor_table + 16 * uint64_t{at};
                const auto flags = static_cast<uint16_t>(le(descriptor + 12, 2));
                chain.push_back({le(descriptor, 8), static_cast<uint32_t>(le(descriptor + 8, 4)),
                                 (flags & vring::kDescFlagWrite) != 0});
                if ((flags & vring::kDescFlagNext) == 0 || chain.size() > l.size) {
                    break;
                }
                at = static_cast<uint16_t>(le(descriptor + 14, 2));
            }
            if (reporting) {
                report_chains.push_back(chain);
            } else {
                for (const ChainBuffer& buffer : chain) {
                    if (buffer.writable) {
                        hint_blocks.push_back(buffer);
                    } else {
                        hint_cmd_ids.push_back(static_cast<uint32_t>(le(buffer.address, 4)));
                    }
                }
            }
            if (queue.auto_ack) {
                complete(q, head);
            } else {
                queue.held.push_back(head);
            }
        }
        put_le(l.used_ring + vring::used_avail_event_offset(l.size), queue.last_avail, 2);
    }

    void complete(uint16_t q, uint16_t head) {
        Ring& queue = rings.at(q);
        const QueueLayout l = layout(q);
        const uint64_t element =
            l.used_ring + vring::kUsedRingOffset + 8 * (queue.used_idx % l.size);
        put_le(element, head, 4);
        put_le(element + 4, 0, 4);
        ++queue.used_idx;
        put_le(l.used_ring + vring::kUsedIdxOffset, queue.used_idx, 2);
        raise(mmio::kInterruptUsedBuffer);
    }
    // Returns the held buffers of queue `q` (all of them, or the first `count`).
    void ack(uint16_t q, size_t count = SIZE_MAX) {
        Ring& queue = rings.at(q);
        while (count-- > 0 && !queue.held.empty()) {
            const uint16_t head = queue.held.front();
            queue.held.pop_front();
            complete(q, head);
        }
    }
    void raise(uint32_t bits) {
        interrupt_status |= bits;
        if (kernel != nullptr) {
            kernel->interrupt(kIrq);
        }
    }
    // The host's `balloon` command, in 4 KiB pages.
    void set_target(uint32_t pages) {
        config[0] = pages;
        raise(mmio::kInterruptConfigChange);
    }
    void hold(uint16_t q) { rings.at(q).auto_ack = false; }
    void release(uint16_t q) {
        rings.at(q).auto_ack = true;
        ack(q);
    }

    std::vector<MmioWrite> writes_to(uint32_t offset) const {
        std::vector<MmioWrite> result;
        for (const MmioWrite& write : writes) {
            if (write.offset == offset) {
                result.push_back(write);
            }
        }
        return result;
    }
    std::vector<uint32_t> actual_writes() const {
        std::vector<uint32_t> result;
        for (const MmioWrite& write : writes_to(mmio::kConfig + sb::kConfigActual)) {
            result.push_back(write.value);
        }
        return result;
    }
    // Index of the first MMIO write matching, from `from`; SIZE_MAX when none.
    size_t find_write(uint32_t offset, uint32_t value, size_t from = 0) const {
        for (size_t i = from; i < writes.size(); ++i) {
            if (writes[i].offset == offset && writes[i].value == value) {
                return i;
            }
        }
        return SIZE_MAX;
    }
};

std::vector<uint32_t> pfn_range(uint32_t first, uint32_t count) {
    std::vector<uint32_t> result;
    for (uint32_t i = 0; i < count; ++i) {
        result.push_back(first + i);
    }
    return result;
}

class BalloonDriverTest : public ::testing::Test {
  protected:
    BalloonDriverTest() {
        hal.kernel = &kernel;
        memory_params.ram_base = kGuestRamBase;
        memory_params.ram_bytes = uint64_t{64} << 20;  // 16384 pages of 4 KiB
        params.mmio_base = kMmioBase;
        params.irq_line = kIrq;
        params.dma_region_base = kDmaBase;
        params.dma_region_bytes = kDmaBytes;
    }

    void create() {
        memory_storage.assign(
            GuestMemory::storage_words_for(memory_params.ram_bytes / memory_params.page_size), 0);
        memory = std::make_unique<GuestMemory>(memory_params, memory_storage.data(),
                                               memory_storage.size());
        ASSERT_TRUE(memory->valid());
        bitmap_storage.assign(BalloonDriver::storage_words_for(memory->total_pages()), 0);
        driver = std::make_unique<BalloonDriver>(kernel, *memory, params, bitmap_storage.data(),
                                                 bitmap_storage.size());
    }
    void start() {
        create();
        ASSERT_EQ(driver->probe(), Result::kOk);
        run();
    }
    // Runs the kernel until nothing is runnable now.
    void run() {
        for (int passes = 0; kernel.run_once(); ++passes) {
            ASSERT_LT(passes, 1000000) << "the event loop never settles";
        }
    }
    void advance_to(uint64_t ns) {
        hal.now = ns;
        run();
    }
    void target(uint32_t pages) {
        hal.set_target(pages);
        run();
    }

    FakeBalloonHal hal;
    Kernel kernel{hal};
    GuestMemoryParams memory_params;
    BalloonDriverParams params;
    std::vector<uint64_t> memory_storage;
    std::vector<uint64_t> bitmap_storage;
    std::unique_ptr<GuestMemory> memory;
    std::unique_ptr<BalloonDriver> driver;
};

// ---------------------------------------------------------------------------------------
// probe, features, queues

TEST_F(BalloonDriverTest, ProbeNegotiatesAndSetsUpInflateDeflateAndStatsQueues) {
    start();
    EXPECT_EQ(driver->state(), BalloonState::kRunning);
    EXPECT_EQ(hal.status,
              status::kAcknowledge | status::kDriver | status::kFeaturesOk | status::kDriverOk);
    EXPECT_EQ(hal.driver_features,
              kVersion1 | kEventIdx | kMustTellHost | kStatsVq | kDeflateOnOom);
    EXPECT_EQ(driver->negotiated_features(), hal.driver_features);
    for (uint16_t q = 0; q < 3; ++q) {
        EXPECT_EQ(hal.queues[q].ready, 1u) << q;
        EXPECT_EQ(hal.queues[q].num, 128u) << q;
    }
    // The rings live in the DMA region, never in GuestMemory's pages.
    EXPECT_GE(hal.queues[0].desc, kDmaBase);
    EXPECT_LT(hal.queues[2].device, kDmaBase + kDmaBytes);
    EXPECT_EQ(memory->allocated_pages(), 0u);
    EXPECT_TRUE(hal.complaints.empty()) << hal.complaints.front();
    EXPECT_TRUE(memory->deflate_on_oom_accounting());
}

TEST_F(BalloonDriverTest, ProbePostsOneStatsBufferWithRealStatsAndKicksBeforeDriverOk) {
    memory_params.ram_bytes = uint64_t{32} << 20;  // 8192 pages
    create();
    uint64_t page = 0;
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(memory->allocate(AllocationClass::kWorkload, page));
    }
    ASSERT_EQ(driver->probe(), Result::kOk);
    run();
    ASSERT_EQ(hal.stats_buffers.size(), 1u);
    const StatsBuffer& stats = hal.stats_buffers[0];
    EXPECT_EQ(stats.entries.size(), size_t{sb::kStatTagCount});
    EXPECT_EQ(stats.value(sb::kStatMemTotal), uint64_t{8192} * 4096);
    EXPECT_EQ(stats.value(sb::kStatMemFree), uint64_t{8092} * 4096);
    EXPECT_EQ(stats.value(sb::kStatMinorFaults), 100u);
    EXPECT_EQ(driver->counters().stats_updates, 1u);
    // Notified once, before DRIVER_OK, as Linux does; the device serves it at DRIVER_OK.
    EXPECT_THAT(hal.writes_to(mmio::kQueueNotify), ElementsAre(MmioWrite{mmio::kQueueNotify, 2}));
    EXPECT_LT(hal.find_write(mmio::kQueueNotify, 2), hal.find_write(mmio::kStatus, 15));
    EXPECT_EQ(hal.early_notifies, 1u);
    EXPECT_TRUE(hal.pending_notifies.empty());
    EXPECT_TRUE(hal.complaints.empty());
    EXPECT_FALSE(driver->stats_requested());
}

TEST_F(BalloonDriverTest, NegotiatedFeaturesAreTheDriverTableIntersectedWithTheDevice) {
    // The device offers PAGE_POISON, which a guest without page poisoning drops (Linux's
    // validate), and lacks DEFLATE_ON_OOM.
    hal.device_features = kVersion1 | kMustTellHost | kStatsVq | kPagePoison;
    params.driver_features |= kPagePoison;
    params.use_event_idx = false;
    start();
    EXPECT_EQ(hal.driver_features, kVersion1 | kMustTellHost | kStatsVq);
    EXPECT_TRUE(driver->has_feature(sb::kFeatureStatsVq));
    EXPECT_FALSE(driver->has_feature(sb::kFeatureDeflateOnOom));
    EXPECT_FALSE(memory->deflate_on_oom_accounting());
    EXPECT_EQ(hal.selected_queues, (std::set<uint32_t>{0, 1, 2}));
}

TEST_F(BalloonDriverTest, ProbeSchedulesResizeWhenTheHostAlreadyWantsPages) {
    hal.config[0] = 300;
    start();
    EXPECT_EQ(driver->num_pages(), 300u);
    EXPECT_EQ(hal.config[1], 300u);
}

TEST_F(BalloonDriverTest, ProbeFailuresLeaveTheDriverFailedWithoutCrashing) {
    hal.device_id = 2;
    create();
    EXPECT_EQ(driver->probe(), Result::kWrongDeviceId);
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_EQ(driver->oom_notify(), 0u);
    driver->freeze();
    driver->restore();
    EXPECT_EQ(driver->counters().wrong_state_calls, 2u);
    driver->remove();
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
}

TEST_F(BalloonDriverTest, ProbeRejectsADmaRegionTooSmall) {
    params.dma_region_bytes = 4096;
    create();
    EXPECT_EQ(driver->probe(), Result::kBadRegion);
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_EQ(hal.status, 0u);  // the device was never touched beyond probing
    EXPECT_GE(BalloonDriver::dma_region_bytes_for(128), 3u * 4096);
    EXPECT_LE(BalloonDriver::dma_region_bytes_for(128), kDmaBytes);
}

TEST_F(BalloonDriverTest, ProbeReportsAFeatureRefusal) {
    hal.refuse_features_ok = true;
    create();
    EXPECT_EQ(driver->probe(), Result::kFeaturesRefused);
    EXPECT_EQ(driver->last_error(), Result::kFeaturesRefused);
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_NE(hal.status & status::kFailed, 0u);
    EXPECT_TRUE(hal.selected_queues.empty());
    EXPECT_EQ(driver->counters().errors, 1u);
}

// ---------------------------------------------------------------------------------------
// inflate

TEST_F(BalloonDriverTest, InflateSendsPfnsInRoundsAndMarksPagesOnlyOnTheAck) {
    start();
    hal.hold(0);
    target(300);
    ASSERT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(hal.inflate_buffers[0], pfn_range(kGuestPfnBase, 256));
    // Allocated to the balloon, but not ballooned until the host has them.
    EXPECT_EQ(memory->balloon_class_pages(), 256u);
    EXPECT_EQ(memory->ballooned_pages(), 0u);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_TRUE(driver->inflate_in_flight());

    hal.ack(0);
    run();
    EXPECT_EQ(memory->ballooned_pages(), 256u);
    EXPECT_EQ(driver->num_pages(), 256u);
    ASSERT_EQ(hal.inflate_buffers.size(), 2u);
    EXPECT_EQ(hal.inflate_buffers[1], pfn_range(kGuestPfnBase + 256, 44));

    hal.release(0);
    run();
    EXPECT_EQ(driver->num_pages(), 300u);
    EXPECT_EQ(memory->ballooned_pages(), 300u);
    EXPECT_EQ(memory->managed_pages(), 16384u);  // DEFLATE_ON_OOM: MemTotal unchanged
    EXPECT_EQ(driver->towards_target(), 0);
    EXPECT_EQ(driver->counters().inflate_rounds, 2u);
    EXPECT_EQ(driver->counters().pfns_inflated, 300u);
    EXPECT_EQ(driver->counters().inflate_acks, 2u);
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(BalloonDriverTest, OneBufferInFlightPerQueue) {
    start();
    hal.hold(0);
    target(2000);
    hal.set_target(3000);  // more config changes while the buffer is out
    run();
    hal.set_target(4000);
    run();
    EXPECT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(hal.rings[0].held.size(), 1u);
    EXPECT_EQ(memory->balloon_class_pages(), 256u);

    hal.ack(0);
    run();
    EXPECT_EQ(hal.inflate_buffers.size(), 2u);
    EXPECT_EQ(hal.rings[0].held.size(), 1u);

    // Deflate side: same rule.
    hal.release(0);
    run();
    ASSERT_EQ(driver->num_pages(), 4000u);
    hal.hold(1);
    target(0);
    hal.set_target(1);
    run();
    EXPECT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.rings[1].held.size(), 1u);
}

TEST_F(BalloonDriverTest, ActualIsWrittenAfterEachRound) {
    start();
    hal.writes.clear();
    target(600);
    // Each inflate round (QueueNotify 0) is followed by the `actual` update for it.
    std::vector<MmioWrite> sequence;
    for (const MmioWrite& write : hal.writes) {
        if (write.offset == mmio::kQueueNotify || write.offset == mmio::kConfig + 4) {
            sequence.push_back(write);
        }
    }
    EXPECT_THAT(sequence, ElementsAreArray(std::vector<MmioWrite>{
                              {mmio::kQueueNotify, 0},
                              {mmio::kConfig + 4, 256},
                              {mmio::kQueueNotify, 0},
                              {mmio::kConfig + 4, 512},
                              {mmio::kQueueNotify, 0},
                              {mmio::kConfig + 4, 600},
                          }));
    hal.writes.clear();
    target(100);
    EXPECT_THAT(hal.actual_writes(), ElementsAre(344u, 100u));
    EXPECT_EQ(driver->counters().actual_writes, 5u);
}

TEST_F(BalloonDriverTest, TheTargetIsReadOncePerRoundAsLinuxDoes) {
    start();
    EXPECT_EQ(hal.num_pages_reads, 1u);  // after DRIVER_OK
    // Four rounds of 256: one read before each, none after the last (its diff is done).
    target(1024);
    EXPECT_EQ(driver->num_pages(), 1024u);
    EXPECT_EQ(hal.inflate_buffers.size(), 4u);
    EXPECT_EQ(hal.num_pages_reads, 1u + 4);

    // A target change while a round is in flight is read once that round is acked.
    hal.hold(0);
    target(1300);
    EXPECT_EQ(hal.num_pages_reads, 6u);
    ASSERT_EQ(hal.inflate_buffers.size(), 5u);
    hal.set_target(1500);
    run();
    EXPECT_EQ(hal.num_pages_reads, 6u);  // not while the round is in flight
    hal.release(0);
    run();
    EXPECT_EQ(driver->num_pages(), 1500u);
    // 1024 -> 1280 (read 6); at its ack, read 7 sees 1500: one round of 220 finishes it.
    EXPECT_EQ(hal.inflate_buffers.size(), 6u);
    EXPECT_EQ(hal.num_pages_reads, 7u);
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(BalloonDriverTest, CpuWorkIsAnnotatedPerPageAndPerRound) {
    start();
    hal.cpu_ns = 0;
    target(256);
    // Inflate: allocation (145 ns) and translation (133 ns) per page, 2 µs per round.
    EXPECT_EQ(hal.cpu_ns, 256u * (145 + 133) + 2000);
    hal.cpu_ns = 0;
    target(0);
    // Deflate: freeing (50 ns) and translation (133 ns) per page, 2 µs per round.
    EXPECT_EQ(hal.cpu_ns, 256u * (50 + 133) + 2000);
}

TEST_F(BalloonDriverTest, OnePfnBufferWritePerRound) {
    start();
    hal.ram_writes.clear();
    target(512);
    size_t pfn_writes = 0;
    for (const auto& write : hal.ram_writes) {
        if (write.length == 1024) {
            ++pfn_writes;
        }
    }
    EXPECT_EQ(pfn_writes, 2u);
}

// ---------------------------------------------------------------------------------------
// history: towards_target signed 64-bit (532a6086, bdc1681c)

TEST_F(BalloonDriverTest, TowardsTargetIsNegativeWhenDeflating) {
    start();
    target(512);
    ASSERT_EQ(driver->num_pages(), 512u);
    hal.hold(1);
    hal.set_target(100);  // not run yet: the driver reads it on demand
    EXPECT_EQ(driver->towards_target(), int64_t{-412});
    run();
    // A u32 difference would have read as ~4 billion and inflated instead.
    EXPECT_EQ(hal.inflate_buffers.size(), 2u);
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.deflate_buffers[0].size(), 256u);
    hal.release(1);
    run();
    EXPECT_EQ(driver->num_pages(), 100u);
    EXPECT_EQ(hal.deflate_buffers.size(), 2u);
    EXPECT_EQ(hal.deflate_buffers[1].size(), 156u);
    EXPECT_EQ(driver->towards_target(), 0);
    EXPECT_EQ(hal.config[1], 100u);
}

TEST_F(BalloonDriverTest, TargetAboveTwoBillionPagesDoesNotOverflow) {
    start();
    target(0xffffffffu);
    EXPECT_EQ(driver->target_pages(), 0xffffffffu);
    // The balloon takes everything down to LOW, then waits to retry; nothing is leaked.
    const uint64_t expected = 16384 - memory->watermarks().low_pages;
    EXPECT_EQ(driver->num_pages(), expected);
    EXPECT_EQ(driver->towards_target(), int64_t{0xffffffff} - static_cast<int64_t>(expected));
    EXPECT_TRUE(hal.deflate_buffers.empty());
    EXPECT_EQ(hal.config[1], expected);
    EXPECT_TRUE(driver->retry_pending());
    EXPECT_EQ(memory->free_pages(), memory->watermarks().low_pages);
}

// ---------------------------------------------------------------------------------------
// history: allocations never dig into reserves, stop the round and retry later (61fb06cc)

TEST_F(BalloonDriverTest, AllocationFailureStopsTheRoundAtLowAndRetriesAfter200ms) {
    start();
    const uint64_t low = memory->watermarks().low_pages;  // 320 for 64 MiB
    ASSERT_EQ(low, 320u);
    // Leave 400 pages free: the round can take 80 before LOW.
    memory->allocate_many(AllocationClass::kWorkload, 16384 - 400);
    hal.now = 5000 * kMs;
    target(1000);
    ASSERT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(hal.inflate_buffers[0].size(), 80u);
    EXPECT_EQ(driver->num_pages(), 80u);
    EXPECT_EQ(memory->free_pages(), low);
    EXPECT_EQ(driver->counters().alloc_failures, 1u);
    EXPECT_EQ(memory->counters().balloon_alloc_failures, 1u);
    EXPECT_EQ(memory->counters().oom_events, 0u);
    ASSERT_TRUE(driver->retry_pending());
    EXPECT_EQ(driver->retry_deadline_ns(), 5200 * kMs);
    EXPECT_EQ(hal.armed_deadline, 5200 * kMs);

    // No spinning before the deadline.
    advance_to(5199 * kMs);
    EXPECT_EQ(memory->counters().balloon_alloc_failures, 1u);
    EXPECT_EQ(driver->counters().retries, 0u);

    // The retry fails again (nothing got free) and re-arms.
    advance_to(5200 * kMs);
    EXPECT_EQ(driver->counters().retries, 1u);
    EXPECT_EQ(driver->counters().alloc_failures, 2u);
    EXPECT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(driver->retry_deadline_ns(), 5400 * kMs);

    // Memory comes back: the next retry continues towards the target.
    memory->free_many(2000);
    advance_to(5400 * kMs);
    EXPECT_EQ(driver->num_pages(), 1000u);
    EXPECT_FALSE(driver->retry_pending());
    EXPECT_EQ(hal.config[1], 1000u);
}

TEST_F(BalloonDriverTest, DeflateIsNotDelayedByAnArmedRetry) {
    start();
    memory->allocate_many(AllocationClass::kWorkload, 16384 - 400);
    target(1000);
    ASSERT_TRUE(driver->retry_pending());
    target(0);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(hal.deflate_buffers.size(), 1u);
}

// ---------------------------------------------------------------------------------------
// history: tell the host first on deflate (bf50e69f)

TEST_F(BalloonDriverTest, DeflateTellsTheHostBeforeFreeingPages) {
    start();
    target(256);
    const uint64_t free_before = memory->free_pages();
    hal.hold(1);
    target(0);
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.deflate_buffers[0], pfn_range(kGuestPfnBase, 256));
    // Told, not acknowledged: the pages stay the balloon's.
    EXPECT_EQ(memory->free_pages(), free_before);
    EXPECT_EQ(memory->ballooned_pages(), 256u);
    EXPECT_EQ(driver->num_pages(), 256u);
    EXPECT_TRUE(memory->is_allocated(kGuestRamBase));

    hal.ack(1);
    run();
    EXPECT_EQ(memory->free_pages(), free_before + 256);
    EXPECT_EQ(memory->ballooned_pages(), 0u);
    EXPECT_EQ(memory->balloon_class_pages(), 0u);
    EXPECT_FALSE(memory->is_allocated(kGuestRamBase));
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(hal.config[1], 0u);
    EXPECT_EQ(memory->counters().invalid_frees, 0u);
    EXPECT_EQ(memory->counters().balloon_accounting_errors, 0u);
}

TEST_F(BalloonDriverTest, LeakNeverSendsAPageTwice) {
    start();
    target(1000);
    target(0);
    std::set<uint32_t> seen;
    for (const auto& buffer : hal.deflate_buffers) {
        for (uint32_t pfn : buffer) {
            EXPECT_TRUE(seen.insert(pfn).second) << pfn;
        }
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(memory->free_pages(), 16384u);
}

// ---------------------------------------------------------------------------------------
// history: stats in work context (1f34c71a), flag cleared without STATS_VQ (169c246a)

TEST_F(BalloonDriverTest, StatsAreRefreshedInWorkContextNotInTheInterruptHandler) {
    start();
    ASSERT_EQ(hal.stats_buffers.size(), 1u);
    const uint64_t stats_address = hal.stats_buffer_address;
    hal.ram_writes.clear();

    hal.ack(2);                      // the device asks for fresh stats
    ASSERT_TRUE(kernel.run_once());  // the interrupt, then the used-buffer work
    // The work noted the request; the refresh is still to come.
    EXPECT_TRUE(driver->stats_requested());
    EXPECT_EQ(driver->counters().stats_updates, 1u);
    EXPECT_EQ(hal.stats_buffers.size(), 1u);

    // The world changes before the stats work runs: the stats must show it.
    memory->allocate_many(AllocationClass::kWorkload, 1000);
    run();
    EXPECT_FALSE(driver->stats_requested());
    EXPECT_EQ(driver->counters().stats_updates, 2u);
    ASSERT_EQ(hal.stats_buffers.size(), 2u);
    EXPECT_EQ(hal.stats_buffers[1].value(sb::kStatMemFree), uint64_t{16384 - 1000} * 4096);
    // Same tags every time.
    EXPECT_EQ(hal.stats_buffers[1].tags(), hal.stats_buffers[0].tags());

    // Every write of the stats buffer came from a work item that started after the handler
    // read InterruptStatus.
    size_t stats_writes = 0;
    for (const auto& write : hal.ram_writes) {
        if (write.address == stats_address) {
            ++stats_writes;
            EXPECT_GT(write.work_run, hal.work_run_at_last_interrupt_read);
        }
    }
    EXPECT_EQ(stats_writes, 1u);
}

TEST_F(BalloonDriverTest, StatsRequestsKeepBeingAnsweredOneBufferAtATime) {
    start();
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(hal.rings[2].held.size(), 1u);
        hal.ack(2);
        run();
    }
    EXPECT_EQ(hal.stats_buffers.size(), 6u);
    EXPECT_EQ(driver->counters().stats_updates, 6u);
    EXPECT_EQ(hal.rings[2].held.size(), 1u);
}

TEST_F(BalloonDriverTest, StatsTagCountFollowsTheParameter) {
    params.stats_tags = 6;  // the 2012 driver's set
    start();
    hal.ack(2);
    run();
    ASSERT_EQ(hal.stats_buffers.size(), 2u);
    EXPECT_THAT(hal.stats_buffers[0].tags(), ElementsAre(0, 1, 2, 3, 4, 5));
    EXPECT_THAT(hal.stats_buffers[1].tags(), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST_F(BalloonDriverTest, WithoutStatsVqTheStatsQueueIsNeverSetUpAndTheFlagNeverSet) {
    hal.device_features = kVersion1 | kMustTellHost;
    create();
    EXPECT_FALSE(driver->stats_requested());  // cleared from the start
    ASSERT_EQ(driver->probe(), Result::kOk);
    run();
    EXPECT_FALSE(driver->has_feature(sb::kFeatureStatsVq));
    EXPECT_EQ(hal.selected_queues, (std::set<uint32_t>{0, 1}));
    EXPECT_EQ(hal.queues[2].num, 0u);
    EXPECT_TRUE(hal.stats_buffers.empty());
    // Used-buffer interrupts (inflate acks, and a spurious one) never raise the flag.
    target(300);
    hal.raise(mmio::kInterruptUsedBuffer);
    run();
    EXPECT_EQ(driver->num_pages(), 300u);
    EXPECT_FALSE(driver->stats_requested());
    EXPECT_EQ(driver->counters().stats_updates, 0u);
    EXPECT_THAT(hal.writes_to(mmio::kQueueNotify),
                ::testing::Each(::testing::Field(&MmioWrite::value, 0u)));
    EXPECT_TRUE(hal.complaints.empty());
}

// ---------------------------------------------------------------------------------------
// history: leak on freeze, refill on restore (4eb05d56, e562966d); init_vqs shared (be91c33d)

TEST_F(BalloonDriverTest, FreezeLeaksEverythingThenResetsAndDropsTheQueues) {
    start();
    target(600);
    hal.hold(1);
    driver->freeze();
    EXPECT_EQ(driver->state(), BalloonState::kFreezing);
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.resets, 1u);  // probe's only
    EXPECT_EQ(memory->ballooned_pages(), 600u);

    const size_t before = hal.writes.size();
    hal.release(1);
    run();
    EXPECT_EQ(driver->state(), BalloonState::kFrozen);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(memory->ballooned_pages(), 0u);
    EXPECT_EQ(memory->free_pages(), 16384u);
    EXPECT_EQ(hal.deflate_buffers.size(), 3u);
    EXPECT_EQ(hal.deflate_buffers[2].size(), 88u);
    // actual 0 reported, then the reset, then the queues dropped.
    const size_t actual_zero = hal.find_write(mmio::kConfig + 4, 0, before);
    const size_t reset = hal.find_write(mmio::kStatus, 0, before);
    ASSERT_NE(actual_zero, SIZE_MAX);
    ASSERT_NE(reset, SIZE_MAX);
    EXPECT_LT(actual_zero, reset);
    EXPECT_EQ(hal.resets, 2u);
    EXPECT_FALSE(driver->stats_requested());

    // Frozen: the host's wishes wait for restore.
    target(1000);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(hal.inflate_buffers.size(), 3u);
}

TEST_F(BalloonDriverTest, FreezeWithAnEmptyBalloonCompletesAtOnce) {
    start();
    driver->freeze();
    EXPECT_EQ(driver->state(), BalloonState::kFrozen);
    EXPECT_EQ(hal.resets, 2u);
    driver->freeze();
    EXPECT_EQ(driver->counters().wrong_state_calls, 1u);
}

TEST_F(BalloonDriverTest, FreezeWaitsForTheInflateInFlightThenLeaksItToo) {
    start();
    hal.hold(0);
    target(100);
    driver->freeze();
    EXPECT_EQ(driver->state(), BalloonState::kFreezing);
    EXPECT_TRUE(hal.deflate_buffers.empty());
    hal.ack(0);
    run();
    EXPECT_EQ(driver->state(), BalloonState::kFrozen);
    EXPECT_EQ(hal.inflate_buffers.size(), 1u);  // no new inflate while freezing
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.deflate_buffers[0], pfn_range(kGuestPfnBase, 100));
    EXPECT_EQ(memory->free_pages(), 16384u);
}

TEST_F(BalloonDriverTest, RestoreRerunsTheSameQueueSetUpAndRefills) {
    hal.config[0] = 600;
    create();
    ASSERT_EQ(driver->probe(), Result::kOk);
    // The handshake: from the reset write to DRIVER_OK.
    auto handshake = [this](size_t from) {
        const size_t begin = hal.find_write(mmio::kStatus, 0, from);
        const size_t end = hal.find_write(mmio::kStatus, 15, from);
        EXPECT_NE(begin, SIZE_MAX);
        EXPECT_NE(end, SIZE_MAX);
        return std::vector<MmioWrite>(hal.writes.begin() + static_cast<ptrdiff_t>(begin),
                                      hal.writes.begin() + static_cast<ptrdiff_t>(end) + 1);
    };
    const std::vector<MmioWrite> at_probe = handshake(0);
    run();
    ASSERT_EQ(driver->num_pages(), 600u);

    driver->freeze();
    run();
    ASSERT_EQ(driver->state(), BalloonState::kFrozen);
    const size_t before_restore = hal.writes.size();
    driver->restore();
    EXPECT_EQ(driver->state(), BalloonState::kRunning);
    EXPECT_EQ(handshake(before_restore), at_probe);
    run();
    EXPECT_EQ(driver->num_pages(), 600u);
    EXPECT_EQ(memory->ballooned_pages(), 600u);
    EXPECT_EQ(hal.config[1], 600u);
    EXPECT_EQ(hal.stats_buffers.size(), 2u);  // primed again
    EXPECT_EQ(hal.rings[2].held.size(), 1u);
    EXPECT_TRUE(hal.complaints.empty());

    driver->restore();
    EXPECT_EQ(driver->counters().wrong_state_calls, 1u);
}

// ---------------------------------------------------------------------------------------
// remove

TEST_F(BalloonDriverTest, RemoveDeflatesFullyBeforeTheReset) {
    start();
    target(700);
    hal.hold(1);
    const size_t before = hal.writes.size();
    driver->remove();
    EXPECT_EQ(driver->state(), BalloonState::kRemoving);
    EXPECT_EQ(hal.find_write(mmio::kStatus, 0, before), SIZE_MAX);
    hal.release(1);
    run();
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
    EXPECT_EQ(hal.deflate_buffers.size(), 3u);
    EXPECT_EQ(memory->free_pages(), 16384u);
    EXPECT_EQ(memory->ballooned_pages(), 0u);
    const size_t reset = hal.find_write(mmio::kStatus, 0, before);
    ASSERT_NE(reset, SIZE_MAX);
    // The last deflate notification and actual = 0 precede the reset.
    size_t last_notify = 0;
    for (size_t i = before; i < hal.writes.size(); ++i) {
        if (hal.writes[i].offset == mmio::kQueueNotify) {
            last_notify = i;
        }
    }
    EXPECT_LT(last_notify, reset);
    EXPECT_LT(hal.find_write(mmio::kConfig + 4, 0, before), reset);

    // Gone: no more reaction to the device, OOM notifier unregistered.
    const size_t writes = hal.writes.size();
    hal.set_target(100);
    run();
    EXPECT_EQ(hal.writes.size(), writes);
    EXPECT_EQ(driver->oom_notify(), 0u);
    driver->remove();
    EXPECT_EQ(driver->counters().wrong_state_calls, 1u);
}

TEST_F(BalloonDriverTest, RemoveAfterFreezeNeedsNoDevice) {
    start();
    target(10);
    driver->freeze();
    run();
    ASSERT_EQ(driver->state(), BalloonState::kFrozen);
    const size_t writes = hal.writes.size();
    driver->remove();
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
    EXPECT_EQ(hal.writes.size(), writes);
}

// ---------------------------------------------------------------------------------------
// page sizes and transports

TEST_F(BalloonDriverTest, SixtyFourKiBPagesSendSixteenPfnsPerPageAndAlignTheTargetUp) {
    memory_params.page_size = GuestMemory::kPageSize64K;
    memory_params.ram_bytes = uint64_t{256} << 20;  // 4096 pages of 64 KiB
    start();
    EXPECT_EQ(driver->pfns_per_page(), 16u);
    hal.set_target(20);
    EXPECT_EQ(driver->towards_target(), 32);  // 20 aligned up to two guest pages
    EXPECT_EQ(driver->target_pages(), 32u);
    run();
    ASSERT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(hal.inflate_buffers[0], pfn_range(kGuestPfnBase, 32));
    EXPECT_EQ(driver->num_pages(), 32u);
    EXPECT_EQ(memory->ballooned_pages(), 2u);
    EXPECT_EQ(hal.config[1], 32u);

    // Rounds of 256 PFNs = 16 guest pages.
    target(1000);  // aligned up to 1008
    EXPECT_EQ(driver->num_pages(), 1008u);
    EXPECT_EQ(hal.inflate_buffers[1].size(), 256u);
    EXPECT_EQ(hal.inflate_buffers[1].front(), kGuestPfnBase + 32);
    EXPECT_EQ(memory->ballooned_pages(), 63u);

    target(500);  // aligned up to 512
    EXPECT_EQ(driver->num_pages(), 512u);
    EXPECT_EQ(memory->ballooned_pages(), 32u);
    ASSERT_FALSE(hal.deflate_buffers.empty());
    EXPECT_EQ(hal.deflate_buffers[0], pfn_range(kGuestPfnBase, 256));
}

TEST_F(BalloonDriverTest, LegacyTransportInflatesAndDeflates) {
    hal.version = mmio::kVersionLegacy;
    hal.device_features = kMustTellHost | kStatsVq | kDeflateOnOom;  // no VERSION_1
    params.use_event_idx = false;
    start();
    EXPECT_EQ(driver->device().version(), 1u);
    EXPECT_EQ(hal.guest_page_size, 4096u);
    for (uint16_t q = 0; q < 3; ++q) {
        EXPECT_NE(hal.queues[q].pfn, 0u) << q;
        EXPECT_EQ(hal.queues[q].align, 4096u) << q;
    }
    EXPECT_EQ(hal.status, status::kAcknowledge | status::kDriver | status::kDriverOk);
    target(300);
    EXPECT_EQ(driver->num_pages(), 300u);
    EXPECT_EQ(hal.inflate_buffers[1], pfn_range(kGuestPfnBase + 256, 44));
    target(0);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(memory->free_pages(), 16384u);
    hal.ack(2);
    run();
    EXPECT_EQ(hal.stats_buffers.size(), 2u);
    // One write of `actual` per round, a byte at a time as Linux does (the fake complains
    // about any 32-bit config access on legacy).
    EXPECT_THAT(hal.actual_writes(), ElementsAre(256u, 300u, 44u, 0u));
    EXPECT_EQ(hal.byte_writes, 4u * 4);
    EXPECT_GT(hal.byte_reads, 0u);
    EXPECT_EQ(hal.byte_reads % 4, 0u);
    EXPECT_TRUE(hal.complaints.empty());
}

TEST_F(BalloonDriverTest, ModernTransportWithoutEventIdxInflatesAndDeflates) {
    hal.device_features = kVersion1 | kMustTellHost;
    params.use_event_idx = false;
    start();
    EXPECT_FALSE(driver->has_feature(feature::kRingEventIdx));
    target(1000);
    target(10);
    EXPECT_EQ(driver->num_pages(), 10u);
    EXPECT_EQ(driver->counters().kicks, 4u + 4u);
    EXPECT_FALSE(memory->deflate_on_oom_accounting());
    EXPECT_EQ(memory->managed_pages(), 16384u - 10);  // ballooned pages leave MemTotal
}

// ---------------------------------------------------------------------------------------
// DEFLATE_ON_OOM

TEST_F(BalloonDriverTest, OomNotifyReleases256PagesAfterTheHostAcks) {
    start();
    target(1024);
    hal.hold(1);
    const uint64_t free_before = memory->free_pages();
    EXPECT_EQ(driver->oom_notify(), 256u);
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    EXPECT_EQ(hal.deflate_buffers[0].size(), 256u);
    EXPECT_EQ(memory->free_pages(), free_before);  // not before the ack
    EXPECT_EQ(driver->oom_pages_in_flight(), 256u);
    EXPECT_EQ(driver->counters().oom_deflations, 1u);
    // A second notification while the first is outstanding promises nothing more.
    EXPECT_EQ(driver->oom_notify(), 0u);
    EXPECT_EQ(hal.deflate_buffers.size(), 1u);

    hal.ack(1);
    ASSERT_TRUE(kernel.run_once());  // interrupt + used work: the pages come back
    EXPECT_EQ(memory->free_pages(), free_before + 256);
    EXPECT_EQ(driver->num_pages(), 768u);
    EXPECT_EQ(hal.config[1], 768u);

    // The target did not change: the balloon refills ("balloon thrashing").
    hal.release(1);
    run();
    EXPECT_EQ(driver->num_pages(), 1024u);
    EXPECT_EQ(hal.config[1], 1024u);
    EXPECT_EQ(hal.inflate_buffers.size(), 5u);
    EXPECT_EQ(driver->counters().oom_pages_promised, 256u);
}

TEST_F(BalloonDriverTest, OomNotifyWithoutTheFeatureDoesNothing) {
    hal.device_features = kVersion1 | kMustTellHost | kStatsVq;
    start();
    target(512);
    const size_t writes = hal.writes.size();
    const uint64_t free_before = memory->free_pages();
    EXPECT_EQ(driver->oom_notify(), 0u);
    run();
    EXPECT_EQ(hal.writes.size(), writes);
    EXPECT_TRUE(hal.deflate_buffers.empty());
    EXPECT_EQ(memory->free_pages(), free_before);
    EXPECT_EQ(driver->num_pages(), 512u);
    EXPECT_EQ(driver->counters().oom_notifications, 0u);
    EXPECT_EQ(driver->counters().oom_deflations, 0u);
}

TEST_F(BalloonDriverTest, OomNotifyPromisesNoMoreThanTheBalloonHolds) {
    start();
    target(100);
    EXPECT_EQ(driver->oom_notify(), 100u);
    run();
    EXPECT_EQ(memory->ballooned_pages(), 100u);  // refilled: the host still wants 100
    target(0);
    EXPECT_EQ(driver->oom_notify(), 0u);
}

TEST_F(BalloonDriverTest, GuestMemoryOomPathCallsTheNotifierAndIsDeferredNotKilled) {
    start();
    target(2048);
    hal.hold(1);
    // The workload eats everything it can; below MIN the OOM path asks the balloon.
    memory->allocate_many(AllocationClass::kWorkload, 16384);
    EXPECT_EQ(memory->last_allocation_failure(), AllocationFailure::kOomDeferred);
    EXPECT_EQ(memory->counters().oom_kills, 0u);
    EXPECT_EQ(driver->counters().oom_deflations, 1u);
    ASSERT_EQ(hal.deflate_buffers.size(), 1u);
    // The next try, before the ack, waits for the same release.
    uint64_t page = 0;
    EXPECT_FALSE(memory->allocate(AllocationClass::kWorkload, page));
    EXPECT_EQ(memory->last_allocation_failure(), AllocationFailure::kOomDeferred);
    EXPECT_EQ(driver->counters().oom_deflations, 1u);

    hal.ack(1);
    ASSERT_TRUE(kernel.run_once());
    EXPECT_EQ(driver->num_pages(), 2048u - 256);
    EXPECT_TRUE(memory->allocate(AllocationClass::kWorkload, page));
}

TEST_F(BalloonDriverTest, OomReleaseCompletesAtOnceWhenTheDeviceAlreadyAcked) {
    start();
    target(512);
    // The fake device acks inside the notify: the OOM path's retry sees the pages at once.
    // Ask for 100 pages more than the reserve down to MIN allows.
    const uint64_t wanted = memory->free_pages() - memory->watermarks().min_pages + 100;
    EXPECT_EQ(memory->allocate_many(AllocationClass::kWorkload, wanted), wanted);
    EXPECT_EQ(memory->counters().oom_events, 1u);
    EXPECT_EQ(memory->counters().oom_kills, 0u);
    EXPECT_EQ(memory->counters().oom_deferred, 0u);
    EXPECT_EQ(driver->num_pages(), 256u);
    EXPECT_EQ(memory->ballooned_pages(), 256u);
    EXPECT_EQ(hal.config[1], 256u);

    // A workload that keeps going empties the balloon 256 pages per OOM event, then is killed.
    memory->allocate_many(AllocationClass::kWorkload, 16384);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(memory->counters().oom_events, 3u);
    EXPECT_EQ(memory->counters().oom_kills, 1u);
    EXPECT_EQ(driver->counters().oom_deflations, 2u);
}

// ---------------------------------------------------------------------------------------
// device errors and wrong states

TEST_F(BalloonDriverTest, DeviceNeedsResetEntersFailedAndStopsIssuingWork) {
    start();
    hal.hold(0);
    target(1000);
    ASSERT_EQ(hal.inflate_buffers.size(), 1u);
    hal.status |= status::kDeviceNeedsReset;
    hal.set_target(2000);
    run();
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_EQ(driver->counters().errors, 1u);
    hal.ack(0);
    hal.set_target(3000);
    run();
    EXPECT_EQ(hal.inflate_buffers.size(), 1u);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(driver->oom_notify(), 0u);
    driver->freeze();
    EXPECT_EQ(driver->counters().wrong_state_calls, 1u);
    EXPECT_EQ(hal.interrupt_status, 0u);  // still acknowledged, so the line goes quiet
    driver->remove();
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
}

TEST_F(BalloonDriverTest, ABrokenQueueEntersFailed) {
    start();
    hal.hold(0);
    target(100);
    // The device returns a descriptor id that was never made available.
    const QueueLayout l = hal.layout(0);
    hal.put_le(l.used_ring + vring::kUsedRingOffset, 77, 4);
    hal.put_le(l.used_ring + vring::kUsedIdxOffset, 1, 2);
    hal.raise(mmio::kInterruptUsedBuffer);
    run();
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_GE(driver->counters().errors, 1u);
    EXPECT_EQ(driver->num_pages(), 0u);
}

TEST_F(BalloonDriverTest, CallsInTheWrongStateAreCountedAndIgnored) {
    create();
    driver->freeze();
    driver->restore();
    driver->remove();
    EXPECT_EQ(driver->oom_notify(), 0u);
    EXPECT_EQ(driver->state(), BalloonState::kUnprobed);
    EXPECT_EQ(driver->counters().wrong_state_calls, 3u);
    ASSERT_EQ(driver->probe(), Result::kOk);
    EXPECT_EQ(driver->probe(), Result::kBadState);
    EXPECT_EQ(driver->counters().wrong_state_calls, 4u);
    EXPECT_TRUE(hal.writes_to(mmio::kQueueNotify).size() == 1);
}

TEST_F(BalloonDriverTest, CountersTrackInterruptsConfigChangesAndKicks) {
    start();
    target(512);
    target(0);
    const auto& c = driver->counters();
    EXPECT_EQ(c.config_changes, 2u);
    EXPECT_EQ(c.inflate_rounds, 2u);
    EXPECT_EQ(c.deflate_rounds, 2u);
    EXPECT_EQ(c.pfns_inflated, 512u);
    EXPECT_EQ(c.pfns_deflated, 512u);
    EXPECT_EQ(c.kicks, 1u + 2u + 2u);  // stats prime + rounds
    EXPECT_EQ(c.interrupts, 2u + 4u);
    EXPECT_EQ(c.errors, 0u);
}

// ---------------------------------------------------------------------------------------
// scale

TEST_F(BalloonDriverTest, InflatesAndDeflatesAQuarterMillionPagesOfA16GiBGuest) {
    memory_params.ram_bytes = uint64_t{16} << 30;  // 4M pages
    start();
    target(262144);
    EXPECT_EQ(driver->num_pages(), 262144u);
    EXPECT_EQ(driver->counters().inflate_rounds, 1024u);
    EXPECT_EQ(memory->ballooned_pages(), 262144u);
    target(0);
    EXPECT_EQ(driver->num_pages(), 0u);
    EXPECT_EQ(memory->free_pages(), uint64_t{4} << 20);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// PAGE_POISON, PAGE_REPORTING, FREE_PAGE_HINT

namespace free_page {

constexpr uint64_t kSecond = 1000 * kMs;
constexpr uint64_t kBlockBytes = uint64_t{2} << 20;  // reporting order 9 of 4 KiB pages

class FreePageTest : public BalloonDriverTest {
  protected:
    FreePageTest() {
        hal.device_features =
            kVersion1 | kEventIdx | kMustTellHost | kStatsVq | kPagePoison | kPageReporting;
        params.driver_features = kMustTellHost | kStatsVq | kPagePoison | kPageReporting;
    }
    int reporting_queue() const {
        return sb::queue_index(sb::Queue::kReporting, hal.driver_features);
    }
};

TEST_F(FreePageTest, PoisonValueIsWrittenBeforeDriverOkWhenPagesArePoisoned) {
    params.free_page_init = vbsim::sw::balloon::FreePageInit::kPoison;
    start();
    EXPECT_EQ(hal.driver_features & (kPagePoison | kPageReporting), kPagePoison | kPageReporting);
    EXPECT_EQ(hal.config[3], 0xaaaaaaaau);
    const size_t poison = hal.find_write(mmio::kConfig + sb::kConfigPoisonVal, 0xaaaaaaaa);
    ASSERT_NE(poison, SIZE_MAX);
    EXPECT_LT(poison, hal.find_write(mmio::kStatus, 15));
    EXPECT_TRUE(hal.complaints.empty()) << hal.complaints.front();
}

TEST_F(FreePageTest, InitOnFreeWritesAZeroPoisonValue) {
    params.free_page_init = vbsim::sw::balloon::FreePageInit::kInitOnFree;
    hal.config[3] = 0x12345678;
    start();
    EXPECT_TRUE(driver->has_feature(sb::kFeaturePagePoison));
    EXPECT_EQ(hal.config[3], 0u);
}

TEST_F(FreePageTest, WithoutPoisoningPagePoisonIsDroppedAndReportingKept) {
    start();
    EXPECT_FALSE(driver->has_feature(sb::kFeaturePagePoison));
    EXPECT_TRUE(driver->has_feature(sb::kFeaturePageReporting));
    EXPECT_EQ(hal.find_write(mmio::kConfig + sb::kConfigPoisonVal, 0xaaaaaaaa), SIZE_MAX);
}

TEST_F(FreePageTest, PoisoningWithoutDevicePagePoisonDropsReporting) {
    hal.device_features &= ~kPagePoison;
    params.free_page_init = vbsim::sw::balloon::FreePageInit::kPoison;
    start();
    EXPECT_FALSE(driver->has_feature(sb::kFeaturePageReporting));
    EXPECT_EQ(hal.selected_queues, (std::set<uint32_t>{0, 1, 2}));
    advance_to(10 * kSecond);
    EXPECT_TRUE(hal.report_chains.empty());
}

TEST_F(FreePageTest, AReportingQueueSmallerThanABatchFailsTheProbe) {
    params.queue_size = 16;
    create();
    EXPECT_EQ(driver->probe(), Result::kBadArgument);
    EXPECT_EQ(driver->state(), BalloonState::kFailed);
    EXPECT_NE(hal.status & status::kFailed, 0u);
}

// 256 MiB: 128 blocks of 2 MiB. A pass may send ceil(128 / (32 * 16)) = 1 batch, plus one.
TEST_F(FreePageTest, ReportsFreeBlocksTwoSecondsAfterProbeAtMost32PerRequest) {
    memory_params.ram_bytes = uint64_t{256} << 20;
    start();
    ASSERT_EQ(reporting_queue(), 3);
    EXPECT_TRUE(hal.report_chains.empty());
    advance_to(2 * kSecond - 1);
    EXPECT_TRUE(hal.report_chains.empty());

    advance_to(2 * kSecond);
    // Budget 1: two full batches, then the pass stops with blocks left and asks again.
    ASSERT_EQ(hal.report_chains.size(), 2u);
    for (const auto& chain : hal.report_chains) {
        ASSERT_EQ(chain.size(), 32u);
        for (const auto& buffer : chain) {
            EXPECT_TRUE(buffer.writable);
            EXPECT_EQ(buffer.length, kBlockBytes);
            EXPECT_EQ((buffer.address - kGuestRamBase) % kBlockBytes, 0u);
        }
    }
    EXPECT_EQ(hal.report_chains[0][0].address, kGuestRamBase);
    EXPECT_EQ(memory->reported_pages(), 64u * 512);
    EXPECT_EQ(memory->free_pages(), memory->total_pages());
    EXPECT_EQ(driver->page_reporting().counters().passes_out_of_budget, 1u);
    EXPECT_EQ(driver->page_reporting().next_pass_ns(), 4 * kSecond);

    // The next pass goes on where this one stopped and reports the other 64.
    advance_to(4 * kSecond);
    ASSERT_EQ(hal.report_chains.size(), 4u);
    EXPECT_EQ(hal.report_chains[2][0].address, kGuestRamBase + 64 * kBlockBytes);
    EXPECT_EQ(memory->reported_pages(), 128u * 512);
    EXPECT_EQ(driver->page_reporting().state(), vbsim::sw::guest::PageReporting::State::kIdle);
    EXPECT_EQ(driver->counters().report_requests, 4u);
    EXPECT_EQ(driver->counters().report_acks, 4u);

    // Nothing left: no more passes, nothing reported twice.
    advance_to(20 * kSecond);
    EXPECT_EQ(hal.report_chains.size(), 4u);
    EXPECT_EQ(driver->page_reporting().counters().passes, 2u);
}

TEST_F(FreePageTest, AReportedBlockIsReportedAgainOnlyAfterItWasAllocated) {
    memory_params.ram_bytes = uint64_t{256} << 20;
    start();
    advance_to(2 * kSecond);
    advance_to(4 * kSecond);
    ASSERT_EQ(memory->reported_pages(), 128u * 512);
    // The allocator takes the lowest free page: block 0 is no longer reported.
    uint64_t page = 0;
    ASSERT_TRUE(memory->allocate(AllocationClass::kWorkload, page));
    EXPECT_EQ(page, kGuestRamBase);
    EXPECT_EQ(memory->reported_pages(), 127u * 512);
    EXPECT_EQ(memory->counters().reported_blocks_reused, 1u);
    advance_to(10 * kSecond);
    EXPECT_EQ(hal.report_chains.size(), 4u);  // not free: nothing to report
    // Freed again, it is reported 2 s later, alone.
    ASSERT_TRUE(memory->free_page(page));
    EXPECT_EQ(driver->page_reporting().next_pass_ns(), 12 * kSecond);
    advance_to(12 * kSecond);
    ASSERT_EQ(hal.report_chains.size(), 5u);
    ASSERT_EQ(hal.report_chains[4].size(), 1u);
    EXPECT_EQ(hal.report_chains[4][0].address, kGuestRamBase);
    EXPECT_EQ(memory->reported_pages(), 128u * 512);
}

TEST_F(FreePageTest, APassFindsTooLittleFreeMemoryAndReportsNothing) {
    memory_params.ram_bytes = uint64_t{256} << 20;
    create();
    // Free must stay above LOW + 32 blocks: leave exactly that much.
    const uint64_t keep = memory->watermarks().low_pages + 32 * 512;
    ASSERT_EQ(memory->allocate_many(AllocationClass::kWorkload, memory->total_pages() - keep),
              memory->total_pages() - keep);
    ASSERT_EQ(driver->probe(), Result::kOk);
    advance_to(2 * kSecond);
    EXPECT_TRUE(hal.report_chains.empty());
    EXPECT_EQ(driver->page_reporting().counters().passes_below_watermark, 1u);
    // A single page freed completes no free block: no new pass.
    memory->free_many(1);
    advance_to(10 * kSecond);
    EXPECT_EQ(driver->page_reporting().counters().passes, 1u);
    // A whole block freed asks for a pass 2 s later, and now there is room to report.
    memory->free_many(511);
    EXPECT_EQ(driver->page_reporting().next_pass_ns(), 12 * kSecond);
    // Free now: block 0 and the top 17024 pages (LOW 640 + 32 blocks), whole blocks 95..127.
    advance_to(12 * kSecond);
    ASSERT_EQ(memory->watermarks().low_pages, 640u);
    ASSERT_EQ(hal.report_chains.size(), 2u);
    EXPECT_EQ(hal.report_chains[0].size(), 32u);
    EXPECT_EQ(hal.report_chains[1].size(), 2u);
    EXPECT_EQ(hal.report_chains[0][0].address, kGuestRamBase);
    EXPECT_EQ(hal.report_chains[0][1].address, kGuestRamBase + 95 * kBlockBytes);
    EXPECT_EQ(hal.report_chains[1][1].address, kGuestRamBase + 127 * kBlockBytes);
    EXPECT_EQ(memory->reported_pages(), 34u * 512);
}

TEST_F(FreePageTest, ABatchWaitsForTheDeviceWithItsBlocksOutOfTheAllocator) {
    memory_params.ram_bytes = uint64_t{256} << 20;
    start();
    hal.hold(static_cast<uint16_t>(reporting_queue()));
    advance_to(2 * kSecond);
    ASSERT_EQ(hal.report_chains.size(), 1u);
    EXPECT_EQ(memory->isolated_pages(), 32u * 512);
    EXPECT_EQ(memory->free_pages(), memory->total_pages() - 32 * 512);
    EXPECT_EQ(memory->reported_pages(), 0u);
    hal.release(static_cast<uint16_t>(reporting_queue()));
    run();
    EXPECT_EQ(hal.report_chains.size(), 2u);
    EXPECT_EQ(memory->isolated_pages(), 0u);
    EXPECT_EQ(memory->reported_pages(), 64u * 512);
}

TEST_F(FreePageTest, RemoveWithABatchInFlightGivesItsBlocksBackUnreported) {
    memory_params.ram_bytes = uint64_t{256} << 20;
    start();
    hal.hold(static_cast<uint16_t>(reporting_queue()));
    advance_to(2 * kSecond);
    ASSERT_EQ(memory->isolated_pages(), 32u * 512);
    driver->remove();
    run();
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
    EXPECT_EQ(memory->isolated_pages(), 0u);
    EXPECT_EQ(memory->reported_pages(), 0u);
    EXPECT_EQ(memory->free_pages(), memory->total_pages());
    EXPECT_FALSE(driver->page_reporting().registered());
    EXPECT_EQ(driver->page_reporting().next_pass_ns(), UINT64_MAX);
    advance_to(10 * kSecond);
    EXPECT_EQ(hal.report_chains.size(), 1u);
}

// 64 MiB of 4 KiB pages: LOW is 320 pages, so 15 blocks of 4 MiB can be hinted.
class HintTest : public BalloonDriverTest {
  protected:
    HintTest() {
        hal.device_features = kVersion1 | kEventIdx | kMustTellHost | kStatsVq | kFreePageHint;
        params.driver_features = kMustTellHost | kStatsVq | kFreePageHint;
    }
    void host_cmd_id(uint32_t id) {
        hal.config[2] = id;
        hal.raise(mmio::kInterruptConfigChange);
        run();
    }
    static constexpr uint16_t kFreePageQueue = 3;
};

TEST_F(HintTest, ARoundAnswersTheIdHintsFreeBlocksAndStops) {
    start();
    ASSERT_EQ(memory->watermarks().low_pages, 320u);
    host_cmd_id(2);
    EXPECT_THAT(hal.hint_cmd_ids, ElementsAre(2u, sb::kHintCmdIdStop));
    ASSERT_EQ(hal.hint_blocks.size(), 15u);
    for (size_t i = 0; i < hal.hint_blocks.size(); ++i) {
        EXPECT_TRUE(hal.hint_blocks[i].writable);
        EXPECT_EQ(hal.hint_blocks[i].length, uint32_t{4} << 20);
        EXPECT_EQ(hal.hint_blocks[i].address, kGuestRamBase + i * (uint64_t{4} << 20));
    }
    EXPECT_EQ(memory->hinted_pages(), 15u * 1024);
    EXPECT_EQ(memory->free_pages(), 1024u);
    EXPECT_EQ(driver->counters().hint_rounds, 1u);
    EXPECT_EQ(driver->counters().hint_pfns, 15u * 1024);
    EXPECT_EQ(driver->hinted_pfns_held(), 15u * 1024);
    // The same id again starts nothing; DONE gives the pages back.
    host_cmd_id(2);
    EXPECT_EQ(hal.hint_blocks.size(), 15u);
    host_cmd_id(sb::kHintCmdIdDone);
    EXPECT_EQ(memory->hinted_pages(), 0u);
    EXPECT_EQ(memory->free_pages(), memory->total_pages());
    EXPECT_EQ(driver->counters().hint_pfns_returned, 15u * 1024);
    // A new round hints again.
    host_cmd_id(3);
    EXPECT_EQ(hal.hint_blocks.size(), 30u);
    EXPECT_THAT(hal.hint_cmd_ids, ElementsAre(2u, 0u, 3u, 0u));
    EXPECT_TRUE(hal.complaints.empty()) << hal.complaints.front();
}

TEST_F(HintTest, AFullQueueWaitsForTheDeviceAndAStopEndsTheRound) {
    params.queue_size = 8;
    start();
    hal.hold(kFreePageQueue);
    host_cmd_id(2);
    // The id and 6 blocks fill 7 of 8 descriptors; one stays free for the stop id.
    EXPECT_EQ(hal.hint_blocks.size(), 6u);
    EXPECT_EQ(driver->counters().hint_queue_full_waits, 1u);
    EXPECT_TRUE(driver->hint_sending());
    // The host stops the round before the device returned anything.
    hal.config[2] = sb::kHintCmdIdStop;
    hal.raise(mmio::kInterruptConfigChange);
    hal.release(kFreePageQueue);
    run();
    EXPECT_EQ(hal.hint_blocks.size(), 6u);
    EXPECT_THAT(hal.hint_cmd_ids, ElementsAre(2u, sb::kHintCmdIdStop));
    EXPECT_FALSE(driver->hint_sending());
    EXPECT_EQ(memory->hinted_pages(), 6u * 1024);  // kept until DONE
}

TEST_F(HintTest, RemoveGivesHintedBlocksBack) {
    start();
    host_cmd_id(2);
    ASSERT_EQ(memory->hinted_pages(), 15u * 1024);
    driver->remove();
    run();
    EXPECT_EQ(memory->hinted_pages(), 0u);
    EXPECT_EQ(driver->state(), BalloonState::kRemoved);
}

}  // namespace free_page
