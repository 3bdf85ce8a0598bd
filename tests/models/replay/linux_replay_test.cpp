// Replays recorded real Linux 6.1 virtio_balloon traffic (tests/data/linux-6.1-qemu-7.2)
// against VirtioMmio + BalloonDevice, access by access: same order, offset, width and written
// values. Before every recorded QueueNotify the buffer Linux posted is placed in guest memory at
// the ring addresses the trace wrote; targets are set where the recording changed num_pages;
// the held stats buffer is returned where QEMU's stats timer returned it. Every read must give
// what Linux accepts, every buffer must come back, interrupts must match the recording.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/virtio/virtio_mmio.h"
#include "spec/virtio.h"
#include "tests/support/linux_recording.h"
#include "tests/support/test_initiator.h"

namespace vbsim::models {
namespace {

namespace reg = spec::mmio;
namespace vring = spec::vring;
using spec::feature::bit;

// The recorded machine: qemu-system-x86_64 -M microvm -m 512M, RAM from guest-physical 0.
constexpr uint64_t kRamSize = uint64_t{512} << 20;
constexpr uint64_t kMmioBase = 0xfeb00000;
constexpr uint32_t kQueueNumMax = 1024;  // QEMU's virtio-balloon queues; Linux takes them whole
// Linux 6.1 keeps pfns[256] right before stats[] in struct virtio_balloon; the recording
// gives the stats buffer's address, so the PFN array sits 1 KiB below it.
constexpr uint64_t kPfnArrayBytes = 4 * spec::balloon::kMaxPfnsPerBuffer;

// How vbsim's answers differ from QEMU's in these recordings, and why. Any other read must
// return exactly the recorded value.
//  - VendorID: QEMU answers 'QEMU' (0x554d4551), vbsim 'VBSM' (VirtioMmioParams::vendor_id).
//  - DeviceFeatures: QEMU also offers PAGE_POISON (bit 4; page poisoning is not modelled),
//    RING_RESET (bit 40; this transport does not offer it) and, on legacy, NOTIFY_ON_EMPTY
//    (24) and ANY_LAYOUT (27), legacy-only bits that are not modelled. MUST_TELL_HOST, which
//    vbsim offers by default and QEMU does not, is left out to match. Linux finally
//    negotiates STATS_VQ | RING_EVENT_IDX (| VERSION_1, | DEFLATE_ON_OOM): checked to be a
//    subset of what vbsim offers.
//  - InterruptStatus at a target change: QEMU's virtio_notify_config sets both bits (0x3),
//    vbsim only CONFIG_CHANGE (0x2). Linux's vm_interrupt handles each bit on its own, so it
//    does the same work: a config update, and no used buffer to find on any queue.
constexpr uint32_t kQemuVendorId = 0x554d4551;
constexpr uint32_t kQemuConfigIsr = reg::kInterruptUsedBuffer | reg::kInterruptConfigChange;

struct Variant {
    const char* folder;
    uint32_t version;
    bool deflate_on_oom;
};

class Replay : public sc_core::sc_module {
  public:
    Replay(const sc_core::sc_module_name& name, const test::Recording& recording,
           const Variant& variant)
        : sc_core::sc_module(name),
          cpu("cpu"),
          bus("bus", bus_params()),
          ram("ram", ram_params()),
          balloon("balloon", balloon_params(variant)),
          mmio("mmio", mmio_params(variant), balloon),
          irq("irq"),
          recording_(recording),
          legacy_(variant.version == reg::kVersionLegacy) {
        cpu.socket.bind(bus.target_socket);
        mmio.dma_socket.bind(bus.target_socket);
        bus.initiator_socket.bind(ram.socket);
        bus.initiator_socket.bind(mmio.target_socket);
        mmio.irq.bind(irq);
        balloon.add_observer(actual_log);
        SC_HAS_PROCESS(Replay);
        SC_THREAD(run);
    }

    test::TestInitiator cpu;
    Router bus;
    Memory ram;
    BalloonDevice balloon;
    VirtioMmio mmio;
    sc_core::sc_signal<bool> irq;

    bool finished = false;
    std::vector<std::string> mismatches;           // everything that went wrong, with the access
    std::vector<uint32_t> complete_actual_writes;  // `actual` after each complete write
    std::array<uint64_t, 2> final_driver_features{};
    std::array<uint64_t, 2> offered_features{};  // DeviceFeatures as vbsim answered
    uint32_t posted[3] = {};
    uint64_t recorded_used_interrupts = 0;  // ISR reads of 0x1
    uint64_t recorded_config_interrupts = 0;
    uint64_t recorded_isr_reads = 0;
    uint64_t expected_ballooned = 0;

    struct ActualLog : BalloonObserver {
        std::vector<uint32_t> values;
        void actual_changed(uint32_t pages, const sc_core::sc_time&) override {
            values.push_back(pages);
        }
    } actual_log;

    uint16_t used_idx(unsigned int queue) {
        return peek16(queue_layout(queue).used_ring + vring::kUsedIdxOffset);
    }

  private:
    struct QueueRegisters {
        uint32_t num = 0;
        uint32_t align = vring::kLegacyDefaultAlign;
        uint32_t pfn = 0;
        uint64_t desc = 0;
        uint64_t driver = 0;
        uint64_t device = 0;
        uint16_t avail_idx = 0;
    };

    static RouterParams bus_params() {
        RouterParams params;
        params.regions.push_back({"ram", 0, kRamSize, 0});
        params.regions.push_back({"balloon", kMmioBase, reg::kWindowSize, 1});
        return params;
    }
    static MemoryParams ram_params() {
        MemoryParams params;
        params.size = kRamSize;
        return params;
    }
    static BalloonDeviceParams balloon_params(const Variant& variant) {
        BalloonDeviceParams params;
        params.offered_features = bit(spec::balloon::kFeatureStatsVq);
        if (variant.deflate_on_oom) {
            params.offered_features |= bit(spec::balloon::kFeatureDeflateOnOom);
        }
        params.guest_ram_base = 0;
        params.guest_ram_bytes = kRamSize;
        params.queue_num_max = kQueueNumMax;
        return params;  // stats are returned by the replay where QEMU's timer did
    }
    static VirtioMmioParams mmio_params(const Variant& variant) {
        VirtioMmioParams params;
        params.version = variant.version;
        return params;
    }

    void mismatch(const test::RecordedAccess& access, const std::string& what) {
        std::ostringstream text;
        text << "seq " << access.seq << " " << (access.write ? "W " : "R ") << access.name << ": "
             << what;
        mismatches.push_back(text.str());
    }

    // ---- guest memory, by debug access (no time, no counters of the device) ----
    void poke(uint64_t address, const void* data, size_t length) {
        cpu.debug(tlm::TLM_WRITE_COMMAND, address, const_cast<void*>(data),
                  static_cast<unsigned int>(length));
    }
    void poke16(uint64_t address, uint16_t value) {
        const uint8_t bytes[2] = {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
        poke(address, bytes, 2);
    }
    uint16_t peek16(uint64_t address) {
        uint8_t bytes[2] = {};
        cpu.debug(tlm::TLM_READ_COMMAND, address, bytes, 2);
        return static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
    }
    template <typename T>
    static void put_le(std::vector<uint8_t>& bytes, T value) {
        for (size_t i = 0; i < sizeof(T); ++i) {
            bytes.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
        }
    }

    // Where the trace put queue `index`, as the device must compute it too.
    VirtqueueLayout queue_layout(unsigned int index) const {
        const QueueRegisters& queue = queues_[index];
        VirtqueueLayout layout;
        layout.size = queue.num;
        if (legacy_) {
            layout.descriptor_table = uint64_t{queue.pfn} * guest_page_size_;
            layout.avail_ring = layout.descriptor_table + vring::descriptor_table_bytes(queue.num);
            layout.used_ring =
                layout.descriptor_table + vring::legacy_used_offset(queue.num, queue.align);
        } else {
            layout.descriptor_table = queue.desc;
            layout.avail_ring = queue.driver;
            layout.used_ring = queue.device;
        }
        return layout;
    }

    // Linux's add_outbuf + kick preparation: one device-readable descriptor (head 0: the
    // previous buffer of the queue has come back), published in the avail ring. Before that
    // Linux reclaimed the used buffers (virtqueue_get_buf), which with EVENT_IDX also sets
    // used_event to ask for an interrupt at the next used entry.
    void post_buffer(const test::RecordedAccess& access, unsigned int index, uint64_t address,
                     uint32_t length) {
        const VirtqueueLayout layout = queue_layout(index);
        QueueRegisters& queue = queues_[index];
        const uint16_t used = used_idx(index);
        if (used != posted[index]) {
            mismatch(access, "queue " + std::to_string(index) + ": " +
                                 std::to_string(posted[index]) + " buffers posted, " +
                                 std::to_string(used) + " returned before the next one");
        }
        poke16(layout.avail_ring + vring::avail_used_event_offset(layout.size), used);
        std::vector<uint8_t> descriptor;
        put_le<uint64_t>(descriptor, address);
        put_le<uint32_t>(descriptor, length);
        put_le<uint16_t>(descriptor, 0);  // flags: device-readable, no NEXT
        put_le<uint16_t>(descriptor, 0);
        poke(layout.descriptor_table, descriptor.data(), descriptor.size());
        poke16(layout.avail_ring + vring::kAvailRingOffset + 2 * (queue.avail_idx % layout.size),
               0);
        ++queue.avail_idx;
        poke16(layout.avail_ring + vring::kAvailIdxOffset, queue.avail_idx);
        ++posted[index];
    }

    // Pages Linux could give: every guest page that holds no ring and no driver buffer,
    // from the top of RAM down (where the recorded PFNs are).
    void build_page_pool() {
        std::vector<std::pair<uint64_t, uint64_t>> reserved = {
            {pfn_array_address(), kPfnArrayBytes}, {stats_address(), stats_length()}};
        for (unsigned int index = 0; index < 3; ++index) {
            const VirtqueueLayout layout = queue_layout(index);
            reserved.emplace_back(layout.descriptor_table,
                                  vring::descriptor_table_bytes(layout.size));
            reserved.emplace_back(layout.avail_ring, vring::avail_ring_bytes(layout.size));
            reserved.emplace_back(layout.used_ring, vring::used_ring_bytes(layout.size));
        }
        const uint64_t page = spec::balloon::kPageSize;
        for (uint64_t pfn = kRamSize / page; pfn-- > 0;) {
            bool free = true;
            for (const auto& [start, length] : reserved) {
                free = free && (pfn * page + page <= start || pfn * page >= start + length);
            }
            if (free) {
                free_pages_.push_back(static_cast<uint32_t>(pfn));
            }
        }
        std::reverse(free_pages_.begin(), free_pages_.end());  // pop_back takes the top first
    }

    uint64_t stats_address() const { return recording_.stats.front().buffer_address; }
    uint32_t stats_length() const { return recording_.stats.front().buffer_length; }
    uint64_t pfn_array_address() const { return stats_address() - kPfnArrayBytes; }

    void post_page_buffer(const test::RecordedAccess& access, unsigned int index) {
        if (free_pages_.empty() && ballooned_pages_.empty()) {
            build_page_pool();
        }
        if (buffers_used_[index] >= recording_.buffer_pfns[index].size()) {
            mismatch(access, "more kicks than recorded buffers");
            return;
        }
        const uint32_t count = recording_.buffer_pfns[index][buffers_used_[index]++];
        std::vector<uint8_t> pfns;
        for (uint32_t i = 0; i < count; ++i) {
            std::vector<uint32_t>& from = index == 0 ? free_pages_ : ballooned_pages_;
            std::vector<uint32_t>& to = index == 0 ? ballooned_pages_ : free_pages_;
            if (from.empty()) {
                mismatch(access, "no page left to move");
                return;
            }
            put_le<uint32_t>(pfns, from.back());  // deflate: the most recently inflated first
            to.push_back(from.back());
            from.pop_back();
        }
        expected_ballooned = ballooned_pages_.size();
        poke(pfn_array_address(), pfns.data(), pfns.size());
        post_buffer(access, index, pfn_array_address(), static_cast<uint32_t>(pfns.size()));
        outstanding_page_queues_.push_back(index);
    }

    void post_stats_buffer(const test::RecordedAccess& access) {
        // The device parsed the previous buffer when it took it (legacy: not the first one).
        if (!posted_stats_.empty() && !(legacy_ && posted[2] == 1) &&
            balloon.last_stats().entries != posted_stats_.back()) {
            mismatch(access, "the device did not keep the previous stats buffer's entries");
        }
        // What the guest wrote last before this kick: the latest read-out at or before it.
        const test::RecordedStats* snapshot = &recording_.stats.front();
        for (const test::RecordedStats& candidate : recording_.stats) {
            if (candidate.host_time <= access.host_time) {
                snapshot = &candidate;
            }
        }
        std::vector<uint8_t> bytes;
        for (const auto& [tag, value] : snapshot->entries) {
            put_le<uint16_t>(bytes, tag);
            put_le<uint64_t>(bytes, value);
        }
        if (bytes.size() != snapshot->buffer_length) {
            mismatch(access, "recorded stats buffer length disagrees with its entries");
        }
        poke(stats_address(), bytes.data(), bytes.size());
        post_buffer(access, 2, stats_address(), static_cast<uint32_t>(bytes.size()));
        posted_stats_.push_back(snapshot->entries);
    }

    // Keeps the replay's copy of the registers it needs to find the rings.
    void track_write(const test::RecordedAccess& access) {
        const uint32_t value = access.value;
        QueueRegisters* queue = queue_sel_ < 3 ? &queues_[queue_sel_] : nullptr;
        auto set_half = [value](uint64_t& field, bool high) {
            const unsigned int shift = high ? 32 : 0;
            field = (field & ~(uint64_t{0xffffffff} << shift)) | (uint64_t{value} << shift);
        };
        switch (access.offset) {
            case reg::kQueueSel:
                queue_sel_ = value;
                break;
            case reg::kGuestPageSize:
                guest_page_size_ = value;
                break;
            case reg::kDeviceFeaturesSel:
                device_features_sel_ = value;
                break;
            case reg::kDriverFeaturesSel:
                driver_features_sel_ = value;
                break;
            case reg::kDriverFeatures:
                if (driver_features_sel_ < 2) {
                    final_driver_features[driver_features_sel_] = value;
                }
                break;
            case reg::kStatus:
                if (value == 0) {
                    for (QueueRegisters& each : queues_) {
                        each = QueueRegisters{};
                    }
                }
                break;
            default:
                if (queue == nullptr) {
                    break;
                }
                if (access.offset == reg::kQueueNum) {
                    queue->num = value;
                } else if (legacy_ && access.offset == reg::kQueueAlign) {
                    queue->align = value;
                } else if (legacy_ && access.offset == reg::kQueuePfn) {
                    queue->pfn = value;
                } else if (access.offset == reg::kQueueDescLow ||
                           access.offset == reg::kQueueDescHigh) {
                    set_half(queue->desc, access.offset == reg::kQueueDescHigh);
                } else if (access.offset == reg::kQueueDriverLow ||
                           access.offset == reg::kQueueDriverHigh) {
                    set_half(queue->driver, access.offset == reg::kQueueDriverHigh);
                } else if (access.offset == reg::kQueueDeviceLow ||
                           access.offset == reg::kQueueDeviceHigh) {
                    set_half(queue->device, access.offset == reg::kQueueDeviceHigh);
                }
                break;
        }
    }

    void perform_write(const test::RecordedAccess& access) {
        if (access.offset == reg::kQueueNotify) {
            if (access.value < 2) {
                post_page_buffer(access, access.value);
            } else if (access.value == 2) {
                post_stats_buffer(access);
            }
        }
        track_write(access);
        uint32_t value = access.value;
        const test::TestInitiator::Outcome outcome =
            cpu.write(kMmioBase + access.offset, &value, access.width);
        if (outcome.status != tlm::TLM_OK_RESPONSE) {
            mismatch(access, "TLM status " + std::to_string(outcome.status));
        }
        wait(outcome.delay);

        // `actual` (config 4..7): whole after its most significant byte is written.
        const uint32_t actual_at = reg::kConfig + spec::balloon::kConfigActual;
        if (access.offset >= actual_at && access.offset < actual_at + 4) {
            const unsigned int shift = 8 * (access.offset - actual_at);
            const uint32_t mask =
                access.width == 4 ? 0xffffffffu : ((1u << (8 * access.width)) - 1) << shift;
            actual_written_ = (actual_written_ & ~mask) | ((access.value << shift) & mask);
            if (access.offset + access.width == actual_at + 4) {
                complete_actual_writes.push_back(actual_written_);
                if (balloon.actual_pages() != actual_written_) {
                    mismatch(access, "actual is " + std::to_string(balloon.actual_pages()) +
                                         ", the driver wrote " + std::to_string(actual_written_));
                }
            }
        }
    }

    void perform_read(const test::RecordedAccess& access) {
        uint32_t value = 0;
        const test::TestInitiator::Outcome outcome =
            cpu.read(kMmioBase + access.offset, &value, access.width);
        if (outcome.status != tlm::TLM_OK_RESPONSE) {
            mismatch(access, "TLM status " + std::to_string(outcome.status));
        }
        wait(outcome.delay);
        auto differs = [&](uint32_t expected) {
            if (value != expected) {
                std::ostringstream text;
                text << "read 0x" << std::hex << value << ", expected 0x" << expected;
                mismatch(access, text.str());
            }
        };
        switch (access.offset) {
            case reg::kVendorId:
                EXPECT_EQ(access.value, kQemuVendorId);
                differs(mmio.params().vendor_id);
                return;
            case reg::kDeviceFeatures:
                if (device_features_sel_ < 2) {
                    offered_features[device_features_sel_] = value;
                }
                return;  // checked against what Linux negotiated, at the end
            case reg::kInterruptStatus:
                ++recorded_isr_reads;
                if (access.value == kQemuConfigIsr) {
                    ++recorded_config_interrupts;
                    differs(reg::kInterruptConfigChange);
                    return;
                }
                ++recorded_used_interrupts;
                differs(access.value);
                check_returned_buffer(access);
                return;
            default:
                differs(access.value);
                return;
        }
    }

    // At a used-buffer interrupt: the buffer it was for is on the used ring, and its pages
    // have changed hands.
    void check_returned_buffer(const test::RecordedAccess& access) {
        if (outstanding_page_queues_.empty()) {
            if (used_idx(2) != posted[2]) {
                mismatch(access, "the stats buffer was not returned");
            }
            return;
        }
        const unsigned int index = outstanding_page_queues_.front();
        outstanding_page_queues_.erase(outstanding_page_queues_.begin());
        if (used_idx(index) != posted[index]) {
            mismatch(access, "queue " + std::to_string(index) + ": used idx " +
                                 std::to_string(used_idx(index)) + ", " +
                                 std::to_string(posted[index]) + " buffers posted");
        }
        if (balloon.ballooned_pages() != expected_ballooned) {
            mismatch(access, "the device holds " + std::to_string(balloon.ballooned_pages()) +
                                 " pages, the driver gave " + std::to_string(expected_ballooned));
        }
    }

    void run() {
        size_t next_target = 0;
        for (const test::RecordedAccess& access : recording_.accesses) {
            // The recorded gap, at least: the device has done its work by then. Halfway
            // through it, the host's doings that the recording shows next: a target change
            // (read by Linux as a config interrupt) or QEMU's stats timer returning the held
            // stats buffer (a used-buffer interrupt with no PFN buffer outstanding).
            const sc_core::sc_time at(access.t_us, sc_core::SC_US);
            if (at > sc_core::sc_time_stamp()) {
                wait((at - sc_core::sc_time_stamp()) / 2);
            }
            if (!access.write && access.offset == reg::kInterruptStatus) {
                if (access.value == kQemuConfigIsr) {
                    if (next_target < recording_.targets.size()) {
                        balloon.set_target_pages(recording_.targets[next_target++]);
                    } else {
                        mismatch(access, "config interrupt without a recorded target change");
                    }
                } else if (outstanding_page_queues_.empty()) {
                    balloon.request_stats();
                }
            }
            if (at > sc_core::sc_time_stamp()) {
                wait(at - sc_core::sc_time_stamp());
            }
            if (access.write) {
                perform_write(access);
            } else {
                perform_read(access);
            }
        }
        if (next_target != recording_.targets.size()) {
            mismatches.push_back("not every recorded target change was read by the driver");
        }
        wait(sc_core::sc_time(10, sc_core::SC_MS));
        finished = true;
    }

    const test::Recording& recording_;
    bool legacy_;
    std::array<QueueRegisters, 3> queues_{};
    uint32_t queue_sel_ = 0;
    uint32_t guest_page_size_ = 0;
    uint32_t device_features_sel_ = 0;
    uint32_t driver_features_sel_ = 0;
    uint32_t actual_written_ = 0;
    size_t buffers_used_[2] = {};
    std::vector<uint32_t> free_pages_;
    std::vector<uint32_t> ballooned_pages_;
    std::vector<unsigned int> outstanding_page_queues_;  // kicked, interrupt not yet read
    std::vector<std::vector<std::pair<uint16_t, uint64_t>>> posted_stats_;
};

std::string joined(const std::vector<std::string>& lines, size_t limit = 20) {
    std::string text;
    for (size_t i = 0; i < lines.size() && i < limit; ++i) {
        text += lines[i] + "\n";
    }
    if (lines.size() > limit) {
        text += "... and " + std::to_string(lines.size() - limit) + " more\n";
    }
    return text;
}

std::vector<uint32_t> without_repeats(const std::vector<uint32_t>& values) {
    std::vector<uint32_t> changes;
    uint32_t last = 0;  // `actual` starts at 0: writing 0 again is no change
    for (uint32_t value : values) {
        if (value != last) {
            changes.push_back(value);
            last = value;
        }
    }
    return changes;
}

void replay(const Variant& variant) {
    const test::Recording recording =
        test::read_recording(std::string(VBSIM_REPLAY_DATA_DIR) + "/" + variant.folder);
    ASSERT_FALSE(recording.accesses.empty());
    ASSERT_FALSE(recording.stats.empty());
    const auto warnings_before = sc_core::sc_report_handler::get_count(sc_core::SC_WARNING);

    Replay bench("replay", recording, variant);
    sc_core::sc_start();  // the replay thread runs to the end, then the device idles
    ASSERT_TRUE(bench.finished);

    EXPECT_TRUE(bench.mismatches.empty()) << joined(bench.mismatches);
    const VirtioMmioCounters& mmio = bench.mmio.counters();
    // Legacy Linux writes DriverFeatures word 1 (as 0) twice although legacy devices have one
    // word: dropped, and counted as the guest errors QEMU logs for it (one report).
    const uint64_t guest_errors = variant.version == reg::kVersionLegacy ? 2 : 0;
    EXPECT_EQ(sc_core::sc_report_handler::get_count(sc_core::SC_WARNING) - warnings_before,
              guest_errors == 0 ? 0 : 1);
    EXPECT_EQ(mmio.guest_errors, guest_errors);
    EXPECT_EQ(mmio.needs_reset_events, 0u) << bench.mmio.needs_reset_reason();
    EXPECT_EQ(bench.mmio.status() & spec::status::kDeviceNeedsReset, 0u);
    EXPECT_EQ(mmio.ignored_writes, 0u);
    EXPECT_EQ(mmio.bad_accesses, 0u);

    // Features: vbsim offers at least what Linux finally took, and took it.
    const uint64_t negotiated =
        bench.final_driver_features[0] | (bench.final_driver_features[1] << 32);
    const uint64_t offered = bench.offered_features[0] | (bench.offered_features[1] << 32);
    EXPECT_EQ(negotiated & ~offered, 0u);
    EXPECT_EQ(bench.mmio.negotiated_features(), negotiated);
    uint64_t expected_negotiated =
        bit(spec::balloon::kFeatureStatsVq) | bit(spec::feature::kRingEventIdx);
    if (variant.version == reg::kVersionModern) {
        expected_negotiated |= bit(spec::feature::kVersion1);
    }
    if (variant.deflate_on_oom) {
        expected_negotiated |= bit(spec::balloon::kFeatureDeflateOnOom);
    }
    EXPECT_EQ(negotiated, expected_negotiated);

    // Every buffer came back (the last stats buffer stays with the device, as in QEMU).
    EXPECT_EQ(bench.posted[0], recording.buffer_pfns[0].size());
    EXPECT_EQ(bench.posted[1], recording.buffer_pfns[1].size());
    EXPECT_EQ(bench.posted[2], recording.stats_buffers);
    EXPECT_EQ(bench.used_idx(0), bench.posted[0]);
    EXPECT_EQ(bench.used_idx(1), bench.posted[1]);
    EXPECT_EQ(bench.used_idx(2), bench.posted[2] - 1);
    const BalloonCounters& balloon = bench.balloon.counters();
    EXPECT_EQ(balloon.inflate_buffers, 256u);
    EXPECT_EQ(balloon.deflate_buffers, 256u);
    EXPECT_EQ(balloon.pages_inflated, 65536u);  // 128 MiB, then 128 MiB more ...
    EXPECT_EQ(balloon.pages_deflated, 65536u);  // ... and all of it back
    EXPECT_EQ(
        balloon.pfns_out_of_range + balloon.pfns_already_ballooned + balloon.pfns_not_ballooned,
        0u);
    EXPECT_EQ(bench.balloon.ballooned_pages(), 0u);
    EXPECT_EQ(bench.balloon.target_pages(), 0u);

    // `actual`: 512 complete writes, the host told of each change and of nothing torn.
    EXPECT_EQ(bench.complete_actual_writes.size(), 512u);
    EXPECT_EQ(bench.actual_log.values, without_repeats(bench.complete_actual_writes));
    EXPECT_EQ(bench.balloon.actual_pages(), 0u);

    // Interrupts as recorded: 512 PFN buffers + 10 returned stats buffers, 3 target changes.
    EXPECT_EQ(bench.recorded_used_interrupts, 522u);
    EXPECT_EQ(bench.recorded_config_interrupts, 3u);
    EXPECT_EQ(mmio.used_buffer_interrupts, bench.recorded_used_interrupts);
    EXPECT_EQ(mmio.config_interrupts, bench.recorded_config_interrupts);
    EXPECT_EQ(mmio.interrupts_raised, bench.recorded_isr_reads);
    EXPECT_EQ(mmio.queue_notifies[0], 256u);
    EXPECT_EQ(mmio.queue_notifies[1], 256u);
    EXPECT_EQ(mmio.queue_notifies[2], 11u);
    EXPECT_EQ(mmio.early_notifies, 1u);  // the stats kick before DRIVER_OK
}

TEST(LinuxReplay, Modern) {
    replay({"modern-full", reg::kVersionModern, false});
}

TEST(LinuxReplay, Legacy) {
    replay({"legacy-full", reg::kVersionLegacy, false});
}

TEST(LinuxReplay, ModernDeflateOnOom) {
    replay({"modern-dod-full", reg::kVersionModern, true});
}

}  // namespace
}  // namespace vbsim::models
