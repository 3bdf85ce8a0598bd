// Our balloon driver's register accesses against what Linux 6.1's virtio_balloon did on QEMU
// 7.2's virtio-balloon-device (tests/data/linux-6.1-qemu-7.2): at probe, up to and including
// DRIVER_OK, access by access (read/write, offset, width, written value) with each run's
// init-mmio-sequence.csv; in steady state, the recorded target changes of mmio-all.csv. The
// device is a fake that answers as QEMU did there (vendor "QEMU", QueueNumMax 1024, the
// recorded features, PFN buffers completed inside the notify, InterruptStatus 0x3 on a config
// change). Only the differences listed in `Difference` (and, in steady state, the Status read
// on a config interrupt) are allowed, each with its reason; the test counts how often each
// applies.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "spec/virtio.h"
#include "sw/balloon/balloon_driver.h"
#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"
#include "sw/hal/hal.h"
#include "sw/virtio/virtio_mmio_device.h"
#include "tests/support/linux_recording.h"
#include "tests/sw/support/fake_virtio_mmio.h"

#ifndef VBSIM_LINUX_TRACE_DIR
#error "VBSIM_LINUX_TRACE_DIR must name tests/data/linux-6.1-qemu-7.2"
#endif

namespace {

namespace mmio = vbsim::spec::mmio;
namespace status = vbsim::spec::status;
namespace feature = vbsim::spec::feature;
namespace vring = vbsim::spec::vring;
namespace sb = vbsim::spec::balloon;
using vbsim::sw::balloon::BalloonDriver;
using vbsim::sw::balloon::BalloonDriverParams;
using vbsim::sw::guest::GuestMemory;
using vbsim::sw::guest::GuestMemoryParams;
using vbsim::sw::guest::Kernel;
using vbsim::sw::virtio::Result;
using vbsim::sw::virtio::VirtioMmioDevice;
using vbsim::test::FakeVirtioMmio;

constexpr uint64_t kMmioBase = 0x10001000;
constexpr unsigned kIrq = 1;
constexpr uint64_t kDmaBase = 0x40000000;
constexpr uint64_t kDmaBytes = 64 * 1024;
constexpr uint64_t kGuestRamBase = 0x80000000;
constexpr uint32_t kQemuQueueNumMax = 1024;
constexpr uint32_t kQemuVendor = 0x554d4551;  // "QEMU"

// One register access.
struct Access {
    char rw = 'R';  // 'R' or 'W'
    uint32_t offset = 0;
    uint32_t width = 4;  // bytes
    uint32_t value = 0;
};

std::string describe(const Access& access) {
    std::ostringstream out;
    out << access.rw << " 0x" << std::hex << access.offset << " w" << std::dec << access.width
        << " 0x" << std::hex << access.value;
    return out.str();
}

// A row of a recording (init-mmio-sequence.csv or mmio-all.csv).
struct LinuxAccess {
    Access access;
    std::string phase;    // what the guest was doing ("INSMOD virtio_balloon", "READY", ...)
    std::string context;  // mmio-all.csv: "init", "request0", ...
    std::string name;     // the recording's register name
};

// Reads `file` of recording `run` through the shared recording reader.
std::vector<LinuxAccess> load_recording(const std::string& run,
                                        const std::string& file = "init-mmio-sequence.csv") {
    std::vector<LinuxAccess> rows;
    std::vector<vbsim::test::RecordedAccess> recorded;
    try {
        recorded =
            vbsim::test::read_accesses(std::string(VBSIM_LINUX_TRACE_DIR) + "/" + run + "/" + file);
    } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
        return rows;
    }
    for (const vbsim::test::RecordedAccess& access : recorded) {
        LinuxAccess row;
        row.access.rw = access.write ? 'W' : 'R';
        row.access.offset = access.offset;
        row.access.width = access.width;
        row.access.value = access.value;
        row.phase = access.phase;
        row.context = access.context;
        row.name = access.name;
        rows.push_back(row);
    }
    return rows;
}

// Where our driver may differ from Linux 6.1, and why.
enum class Difference {
    kNone,
    // A Status read recorded between the two insmods (phase "INSMOD-DONE"): not from
    // virtio_mmio's or virtio_balloon's probe paths, which read Status only inside
    // virtio_add_status/virtio_device_ready; the harness looking at the device. Not ours.
    kNotFromTheDriver,
    // Legacy only: Linux writes DriverFeaturesSel = 1 and a second (zero) feature word;
    // QEMU 7.2 logs that as a guest error, and a legacy device has one feature word. We
    // write word 0 only.
    kLegacyFeatureWord1,
    // QueueNum: Linux sizes each queue to QueueNumMax (1024 on QEMU); our rings live in
    // caller-provided memory, so the driver asks for its configured queue_size (capped at
    // QueueNumMax and kMaxQueueSize).
    kQueueSize,
    // Ring addresses (QueueDesc/Driver/Device low and high, QueuePFN): wherever each
    // driver's memory is; checked against our own layout instead.
    kRingAddress,
};

struct ExpectedAccess {
    Access access;
    Difference difference = Difference::kNone;
};

struct DifferenceTally {
    unsigned not_from_the_driver = 0;
    unsigned legacy_feature_word1 = 0;
    unsigned queue_size = 0;
    unsigned ring_address = 0;
};

bool is_ring_address(uint32_t offset) {
    switch (offset) {
        case mmio::kQueueDescLow:
        case mmio::kQueueDescHigh:
        case mmio::kQueueDriverLow:
        case mmio::kQueueDriverHigh:
        case mmio::kQueueDeviceLow:
        case mmio::kQueueDeviceHigh:
        case mmio::kQueuePfn:
            return true;
        default:
            return false;
    }
}

// Legacy: row `i` is Linux's DriverFeaturesSel = 1 or the feature word written after it.
bool legacy_feature_word1(const std::vector<LinuxAccess>& linux, size_t i) {
    const auto selects_word1 = [&](size_t at) {
        return linux[at].access.rw == 'W' && linux[at].access.offset == mmio::kDriverFeaturesSel &&
               linux[at].access.value == 1;
    };
    return selects_word1(i) ||
           (i > 0 && selects_word1(i - 1) && linux[i].access.offset == mmio::kDriverFeatures);
}

bool not_from_the_driver(const LinuxAccess& row) {
    return row.phase.rfind("INSMOD-DONE", 0) == 0;
}

// What our driver must emit: Linux's sequence with the listed differences applied.
std::vector<ExpectedAccess> expected_for_our_driver(const std::vector<LinuxAccess>& linux,
                                                    bool legacy, uint32_t queue_size,
                                                    DifferenceTally& tally) {
    std::vector<ExpectedAccess> expected;
    for (size_t i = 0; i < linux.size(); ++i) {
        const Access& access = linux[i].access;
        if (not_from_the_driver(linux[i])) {
            ++tally.not_from_the_driver;
            continue;
        }
        if (legacy && legacy_feature_word1(linux, i)) {
            ++tally.legacy_feature_word1;
            continue;
        }
        ExpectedAccess entry{access, Difference::kNone};
        if (access.rw == 'W' && access.offset == mmio::kQueueNum) {
            entry.access.value = queue_size;
            entry.difference = Difference::kQueueSize;
            ++tally.queue_size;
        } else if (access.rw == 'W' && is_ring_address(access.offset)) {
            entry.difference = Difference::kRingAddress;
            ++tally.ring_address;
        }
        expected.push_back(entry);
    }
    return expected;
}

// Empty when `ours` is `expected` access by access; otherwise where and how they part.
std::string compare(const std::vector<ExpectedAccess>& expected, const std::vector<Access>& ours) {
    std::ostringstream out;
    const size_t common = expected.size() < ours.size() ? expected.size() : ours.size();
    for (size_t i = 0; i < common; ++i) {
        const Access& want = expected[i].access;
        const Access& got = ours[i];
        const bool value_matters = expected[i].difference != Difference::kRingAddress;
        if (want.rw != got.rw || want.offset != got.offset || want.width != got.width ||
            (value_matters && want.value != got.value)) {
            out << "access " << i << ": expected " << describe(want) << ", driver did "
                << describe(got);
            return out.str();
        }
    }
    if (expected.size() != ours.size()) {
        out << "expected " << expected.size() << " accesses, driver did " << ours.size();
    }
    return out.str();
}

// QEMU 7.2's virtio-balloon-device behind virtio-mmio, as the recordings saw it, logging
// every register access: the shared register file with QEMU's answers where they differ.
// Guest RAM is the driver's DMA region only.
class QemuLikeBalloon final : public FakeVirtioMmio {
  public:
    // Four queues, as QEMU's balloon has without free page hinting: three of them exist.
    QemuLikeBalloon() : FakeVirtioMmio(kMmioBase, 4, 2) {  // config: num_pages, actual
        device_id = sb::kDeviceId;
        vendor_id = kQemuVendor;
        for (uint16_t q = 0; q < 3; ++q) {
            queues[q].num_max = kQemuQueueNumMax;
        }
    }

    std::vector<Access> log;
    Kernel* kernel = nullptr;  // where interrupts go
    uint16_t last_avail[2] = {};
    uint16_t used_idx[2] = {};
    std::vector<uint32_t> buffer_pfns;  // PFNs per buffer served

    // The host's `balloon` command: a new target and a config interrupt. QEMU's InterruptStatus
    // then reads 0x3 (it sets the used-buffer bit too), as in the recordings.
    void set_target(uint32_t pages) {
        config[0] = pages;
        raise(mmio::kInterruptConfigChange | mmio::kInterruptUsedBuffer);
    }
    std::vector<uint8_t> ram = std::vector<uint8_t>(kDmaBytes);

    void ram_read(uint64_t address, void* destination, size_t length) override {
        if (address < kDmaBase || address - kDmaBase + length > ram.size()) {
            ADD_FAILURE() << "RAM read outside the DMA region at 0x" << std::hex << address;
            return;
        }
        std::memcpy(destination, ram.data() + (address - kDmaBase), length);
    }
    void ram_write(uint64_t address, const void* source, size_t length) override {
        if (address < kDmaBase || address - kDmaBase + length > ram.size()) {
            ADD_FAILURE() << "RAM write outside the DMA region at 0x" << std::hex << address;
            return;
        }
        std::memcpy(ram.data() + (address - kDmaBase), source, length);
    }
    void touch_memory(uint64_t, uint64_t) override {}
    void memory_barrier() override {}
    uint64_t now_ns() override { return 0; }
    void arm_timer(uint64_t) override {}
    void cancel_timer() override {}
    void cpu_cost(uint64_t) override {}

    // The accesses up to and including the write that set DRIVER_OK (all when none did).
    std::vector<Access> init_sequence() const {
        std::vector<Access> result;
        for (const Access& access : log) {
            result.push_back(access);
            if (access.rw == 'W' && access.offset == mmio::kStatus &&
                (access.value & status::kDriverOk) != 0) {
                break;
            }
        }
        return result;
    }

  private:
    // ---- the register file, where QEMU differs; every access logged ----
    uint32_t read32(uint32_t offset) override {
        uint32_t value = 0;
        // Legacy config space is bytes only (Linux reads it so).
        if (legacy() && offset >= mmio::kConfig) {
            complain("read of register", offset);
        } else {
            value = FakeVirtioMmio::read32(offset);
        }
        log.push_back({'R', offset, 4, value});
        return value;
    }
    void write32(uint32_t offset, uint32_t value) override {
        log.push_back({'W', offset, 4, value});
        if (offset == mmio::kDriverFeatures && legacy() && driver_features_sel != 0) {
            complaints.push_back("legacy feature write with DriverFeaturesSel > 0");
            return;
        }
        // Of the config space, the driver writes `actual`, and on a modern device only.
        if (offset >= mmio::kConfig && (legacy() || offset != mmio::kConfig + sb::kConfigActual)) {
            complain("write of register", offset);
            return;
        }
        FakeVirtioMmio::write32(offset, value);
    }
    uint8_t read8(uint32_t offset) override {
        const uint8_t value = FakeVirtioMmio::read8(offset);
        log.push_back({'R', offset, 1, value});
        return value;
    }
    void write8(uint32_t offset, uint8_t value) override {
        log.push_back({'W', offset, 1, value});
        if (offset < mmio::kConfig + sb::kConfigActual ||
            offset >= mmio::kConfig + sb::kConfigActual + 4) {
            complaints.push_back("byte write outside config.actual");
            return;
        }
        FakeVirtioMmio::write8(offset, value);
    }
    // A legacy device has one feature word: QEMU reads 0 for the others.
    uint32_t device_features_word(uint32_t select) override {
        return legacy() && select != 0 ? 0 : FakeVirtioMmio::device_features_word(select);
    }
    // Reset: GuestPageSize survives, as in QEMU; InterruptStatus does not.
    void reset() override {
        FakeVirtioMmio::reset();
        interrupt_status = 0;
    }
    // QEMU holds the stats buffer until its polling timer; PFN buffers are handled at once,
    // inside the notify, as QEMU does.
    void notified(uint32_t queue) override {
        if (queue <= sb::kDeflateQueue && (status & status::kDriverOk) != 0) {
            serve(queue);
        }
    }

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
    void raise(uint32_t bits) {
        interrupt_status |= bits;
        if (kernel != nullptr) {
            kernel->interrupt(kIrq);
        }
    }
    // Pops every new chain of queue `q`, returns it used (length 0), asks to be notified of
    // the next one (EVENT_IDX avail_event) and interrupts.
    void serve(uint32_t q) {
        const vbsim::sw::virtio::QueueLayout ring = layout(static_cast<uint16_t>(q));
        const auto avail_idx = static_cast<uint16_t>(le(ring.avail_ring + 2, 2));
        while (last_avail[q] != avail_idx) {
            const auto head =
                static_cast<uint16_t>(le(ring.avail_ring + 4 + 2 * (last_avail[q] % ring.size), 2));
            ++last_avail[q];
            buffer_pfns.push_back(
                static_cast<uint32_t>(le(ring.descriptor_table + 16 * uint64_t{head} + 8, 4)) / 4);
            const uint64_t element = ring.used_ring + 4 + 8 * (used_idx[q] % ring.size);
            put_le(element, head, 4);
            put_le(element + 4, 0, 4);
            put_le(ring.used_ring + 2, ++used_idx[q], 2);
        }
        put_le(ring.used_ring + vring::used_avail_event_offset(ring.size), last_avail[q], 2);
        raise(mmio::kInterruptUsedBuffer);
    }
};

// One recorded run: the device as QEMU offered it there.
struct Recording {
    const char* run;
    uint32_t version;
    uint64_t device_features;
    uint64_t negotiated;  // Linux's final DriverFeatures
};

constexpr uint64_t bit(unsigned b) {
    return uint64_t{1} << b;
}
constexpr uint64_t kRingReset = bit(40);
const Recording kModern{"modern-full", mmio::kVersionModern,
                        bit(feature::kVersion1) | kRingReset | 0x30000012,
                        bit(feature::kVersion1) | 0x20000002};
const Recording kLegacy{"legacy-full", mmio::kVersionLegacy, 0x39000012, 0x20000002};
const Recording kModernDeflateOnOom{"modern-dod-full", mmio::kVersionModern,
                                    bit(feature::kVersion1) | kRingReset | 0x30000016,
                                    bit(feature::kVersion1) | 0x20000006};

class LinuxTraffic : public ::testing::TestWithParam<Recording> {
  protected:
    LinuxTraffic() {
        memory_params.ram_base = kGuestRamBase;
        memory_params.ram_bytes = uint64_t{512} << 20;  // the recorded guest's RAM
        params.mmio_base = kMmioBase;
        params.irq_line = kIrq;
        params.dma_region_base = kDmaBase;
        params.dma_region_bytes = kDmaBytes;
        device.kernel = &kernel;
    }

    // Runs the guest until nothing is runnable.
    void run() {
        for (int passes = 0; kernel.run_once(); ++passes) {
            ASSERT_LT(passes, 100000) << "the event loop never settles";
        }
    }

    // The driver probes the fake device of `recording`; returns the driver's accesses up to
    // and including DRIVER_OK.
    std::vector<Access> probe(const Recording& recording) {
        device.version = recording.version;
        device.device_features = recording.device_features;
        memory_storage.assign(GuestMemory::storage_words_for(memory_params.ram_bytes / 4096), 0);
        memory = std::make_unique<GuestMemory>(memory_params, memory_storage.data(),
                                               memory_storage.size());
        bitmap_storage.assign(BalloonDriver::storage_words_for(memory->total_pages()), 0);
        driver = std::make_unique<BalloonDriver>(kernel, *memory, params, bitmap_storage.data(),
                                                 bitmap_storage.size());
        EXPECT_EQ(driver->probe(), Result::kOk);
        return device.init_sequence();
    }

    QemuLikeBalloon device;
    Kernel kernel{device};
    GuestMemoryParams memory_params;
    BalloonDriverParams params;
    std::vector<uint64_t> memory_storage;
    std::vector<uint64_t> bitmap_storage;
    std::unique_ptr<GuestMemory> memory;
    std::unique_ptr<BalloonDriver> driver;
};

// Markdown: Linux's accesses beside ours, for the README (VBSIM_INIT_SEQUENCE_OUT=prefix).
std::string side_by_side(const std::vector<LinuxAccess>& linux, const std::vector<Access>& ours,
                         bool legacy) {
    std::ostringstream out;
    out << "| # | register | Linux 6.1 | ours | note |\n|---|---|---|---|---|\n";
    size_t mine = 0;
    for (size_t i = 0; i < linux.size(); ++i) {
        const Access& access = linux[i].access;
        out << "| " << i << " | " << linux[i].name << " | " << describe(access) << " | ";
        if (not_from_the_driver(linux[i])) {
            out << "– | not the driver (read between the two insmods) |\n";
            continue;
        }
        if (legacy && legacy_feature_word1(linux, i)) {
            out << "– | legacy: no second feature word |\n";
            continue;
        }
        out << (mine < ours.size() ? describe(ours[mine]) : std::string("(missing)")) << " | "
            << (access.rw == 'W' && access.offset == mmio::kQueueNum ? "our queue_size"
                : access.rw == 'W' && is_ring_address(access.offset) ? "our ring memory"
                                                                     : "")
            << " |\n";
        ++mine;
    }
    return out.str();
}

TEST_P(LinuxTraffic, MatchesLinuxAccessByAccessExceptTheListedDifferences) {
    const Recording recording = GetParam();
    const std::vector<LinuxAccess> linux = load_recording(recording.run);
    ASSERT_FALSE(linux.empty());
    const std::vector<Access> ours = probe(recording);
    const bool legacy = recording.version == mmio::kVersionLegacy;

    DifferenceTally tally;
    const std::vector<ExpectedAccess> expected =
        expected_for_our_driver(linux, legacy, params.queue_size, tally);
    EXPECT_EQ(compare(expected, ours), "") << side_by_side(linux, ours, legacy);
    if (const char* out = std::getenv("VBSIM_INIT_SEQUENCE_OUT")) {
        std::ofstream(std::string(out) + recording.run + ".md")
            << side_by_side(linux, ours, legacy);
    }

    // Each listed difference applies exactly where the reasons say.
    EXPECT_EQ(tally.not_from_the_driver, 1u);
    EXPECT_EQ(tally.legacy_feature_word1, legacy ? 4u : 0u);  // two writes of Sel + word
    EXPECT_EQ(tally.queue_size, 3u);
    EXPECT_EQ(tally.ring_address, legacy ? 3u : 18u);
    EXPECT_EQ(ours.size(), linux.size() - tally.not_from_the_driver - tally.legacy_feature_word1);

    EXPECT_EQ(driver->negotiated_features(), recording.negotiated);
    EXPECT_EQ(device.driver_features, recording.negotiated);
    EXPECT_TRUE(device.complaints.empty()) << device.complaints.front();
}

TEST_P(LinuxTraffic, RingAddressesFollowOurOwnLayout) {
    const Recording recording = GetParam();
    probe(recording);
    for (unsigned q = 0; q < 3; ++q) {
        const QemuLikeBalloon::Queue& queue = device.queues[q];
        EXPECT_EQ(queue.num, params.queue_size) << q;
        uint64_t descriptors = 0;
        if (recording.version == mmio::kVersionLegacy) {
            EXPECT_EQ(queue.align, 4096u);
            descriptors = uint64_t{queue.pfn} * 4096;
        } else {
            EXPECT_EQ(queue.ready, 1u);
            descriptors = queue.desc;
            const auto layout = VirtioMmioDevice::layout_for(static_cast<uint16_t>(q), queue.num,
                                                             descriptors, recording.version);
            EXPECT_EQ(queue.driver, layout.avail_ring) << q;
            EXPECT_EQ(queue.device, layout.used_ring) << q;
        }
        EXPECT_GE(descriptors, kDmaBase) << q;
        EXPECT_LE(descriptors + VirtioMmioDevice::ring_bytes(queue.num, recording.version),
                  kDmaBase + kDmaBytes)
            << q;
    }
}

TEST_P(LinuxTraffic, AfterDriverOkTheTargetIsReadAtTheTransportsWidth) {
    // Linux's next accesses (mmio-all.csv): num_pages, one 32-bit read on modern, four bytes
    // on legacy.
    const Recording recording = GetParam();
    const size_t init = probe(recording).size();
    const std::vector<Access> after(device.log.begin() + static_cast<std::ptrdiff_t>(init),
                                    device.log.end());
    if (recording.version == mmio::kVersionLegacy) {
        ASSERT_EQ(after.size(), 4u);
        for (uint32_t i = 0; i < 4; ++i) {
            EXPECT_EQ(describe(after[i]), describe(Access{'R', mmio::kConfig + i, 1, 0}));
        }
    } else {
        ASSERT_EQ(after.size(), 1u);
        EXPECT_EQ(describe(after[0]), describe(Access{'R', mmio::kConfig, 4, 0}));
    }
}

INSTANTIATE_TEST_SUITE_P(Recordings, LinuxTraffic,
                         ::testing::Values(kModern, kLegacy, kModernDeflateOnOom),
                         [](const ::testing::TestParamInfo<Recording>& param) {
                             std::string name = param.param.run;
                             for (char& c : name) {
                                 c = c == '-' ? '_' : c;
                             }
                             return name;
                         });

// The accesses of request `context` in a recording, up to its last `actual` write (what
// follows is the stats timer's traffic).
std::vector<Access> recorded_request(const std::vector<LinuxAccess>& all,
                                     const std::string& context) {
    std::vector<Access> accesses;
    size_t end = 0;
    for (const LinuxAccess& row : all) {
        if (row.context != context) {
            continue;
        }
        accesses.push_back(row.access);
        if (row.name.rfind("Config.actual", 0) == 0) {
            end = accesses.size();
        }
    }
    accesses.resize(end);
    return accesses;
}

// Steady state: the recordings' second and third requests (balloon 32768 -> 65536 pages,
// then -> 0; request0 has a stats round trip in the middle) replayed on our driver, compared
// access by access with mmio-all.csv: the config interrupt (0x3 on QEMU) and its ack,
// num_pages, then per 256-page round the kick, the used-buffer interrupt and its ack,
// `actual`, and num_pages again unless that round finished the request.
TEST_P(LinuxTraffic, RecordedResizeRequestsMatchExceptTheNeedsResetCheck) {
    const Recording recording = GetParam();
    const bool legacy = recording.version == mmio::kVersionLegacy;
    const std::vector<LinuxAccess> all = load_recording(recording.run, "mmio-all.csv");
    ASSERT_FALSE(all.empty());
    probe(recording);
    run();
    device.set_target(32768);  // request0
    run();
    ASSERT_EQ(driver->num_pages(), 32768u);
    for (const auto& [context, pages] : {std::pair<const char*, uint32_t>{"request1", 65536},
                                         std::pair<const char*, uint32_t>{"request2", 0}}) {
        const std::vector<Access> linux = recorded_request(all, context);
        ASSERT_GT(linux.size(), 600u) << context;
        const size_t before = device.log.size();
        device.set_target(pages);
        run();
        ASSERT_EQ(driver->num_pages(), pages) << context;
        std::vector<Access> ours(device.log.begin() + static_cast<std::ptrdiff_t>(before),
                                 device.log.end());
        // The one difference: on a config-change interrupt our driver reads Status, to stop
        // on DEVICE_NEEDS_RESET; Linux 6.1 does not look.
        ASSERT_GE(ours.size(), 3u);
        EXPECT_EQ(describe(ours[2]), describe(Access{'R', mmio::kStatus, 4, legacy ? 7u : 0xfu}));
        ours.erase(ours.begin() + 2);

        std::vector<ExpectedAccess> expected;
        for (const Access& access : linux) {
            expected.push_back({access, Difference::kNone});
        }
        std::ostringstream both;
        for (size_t i = 0; i < 40 && (i < ours.size() || i < expected.size()); ++i) {
            both << i << ": " << (i < expected.size() ? describe(expected[i].access) : "-")
                 << "  |  " << (i < ours.size() ? describe(ours[i]) : "-") << "\n";
        }
        EXPECT_EQ(compare(expected, ours), "") << context << "\n" << both.str();
    }
    EXPECT_EQ(device.config[1], 0u);
    // 128 + 128 inflate buffers, then 256 deflate buffers, 256 PFNs each (batches.csv).
    EXPECT_EQ(device.buffer_pfns, std::vector<uint32_t>(512, 256));
    EXPECT_TRUE(device.complaints.empty()) << device.complaints.front();
}

// The comparison itself: it must catch what a driver could get wrong.
TEST(LinuxTrafficCompare, CatchesOrderWidthValueAndLengthDifferences) {
    const std::vector<LinuxAccess> linux = load_recording(kModern.run);
    ASSERT_FALSE(linux.empty());
    DifferenceTally tally;
    const std::vector<ExpectedAccess> expected = expected_for_our_driver(linux, false, 128, tally);
    std::vector<Access> same;
    for (const ExpectedAccess& entry : expected) {
        same.push_back(entry.access);
    }
    EXPECT_EQ(compare(expected, same), "");

    // The stats kick after DRIVER_OK (what our driver used to do).
    std::vector<Access> late_kick = same;
    const size_t kick = late_kick.size() - 3;
    ASSERT_EQ(late_kick[kick].offset, mmio::kQueueNotify);
    const Access notify = late_kick[kick];
    late_kick.erase(late_kick.begin() + static_cast<std::ptrdiff_t>(kick));
    late_kick.push_back(notify);
    EXPECT_EQ(compare(expected, late_kick).rfind("access " + std::to_string(kick) + ":", 0), 0u);

    // num_pages-like byte access instead of a 32-bit one, a wrong value, a missing access.
    std::vector<Access> narrow = same;
    narrow[0].width = 1;
    EXPECT_NE(compare(expected, narrow), "");
    std::vector<Access> wrong_value = same;
    ASSERT_EQ(wrong_value[16].value, 0x30000012u);  // the first feature write, word 0
    wrong_value[16].value ^= 0x10;                  // without PAGE_POISON
    EXPECT_NE(compare(expected, wrong_value), "");
    std::vector<Access> short_one = same;
    short_one.pop_back();
    EXPECT_EQ(compare(expected, short_one), "expected 60 accesses, driver did 59");

    // Ring addresses may differ; QueueNum must be ours.
    std::vector<Access> moved_rings = same;
    for (Access& access : moved_rings) {
        if (is_ring_address(access.offset)) {
            access.value += 0x1000;
        }
    }
    EXPECT_EQ(compare(expected, moved_rings), "");
    std::vector<Access> linux_queue_size = same;
    for (Access& access : linux_queue_size) {
        if (access.offset == mmio::kQueueNum) {
            access.value = kQemuQueueNumMax;
        }
    }
    EXPECT_NE(compare(expected, linux_queue_size), "");
}

}  // namespace
