#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "models/virtio/split_virtqueue.h"
#include "spec/virtio.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;
using ::testing::HasSubstr;
using Fetch = SplitVirtqueue::Fetch;

namespace vring = spec::vring;

constexpr uint16_t kNext = vring::kDescFlagNext;
constexpr uint16_t kWrite = vring::kDescFlagWrite;
constexpr uint16_t kIndirect = vring::kDescFlagIndirect;

// Guest RAM for the device under test: 1 MiB at guest-physical 0. Anything outside it is
// a bus error. Each access costs 10 ns plus 1 ns per started 16 bytes, failed or not.
class FakeGuestRam final : public DmaPort {
  public:
    static constexpr uint64_t kSize = uint64_t{1} << 20;

    static sc_time cost(size_t length) {
        return sc_time(static_cast<double>(10 + (length + 15) / 16), SC_NS);
    }

    bool dma_read(uint64_t address, void* data, size_t length, sc_time& delay) override {
        ++accesses_;
        delay += cost(length);
        if (!contains(address, length)) {
            return false;
        }
        std::memcpy(data, bytes_.data() + address, length);
        return true;
    }

    bool dma_write(uint64_t address, const void* data, size_t length, sc_time& delay) override {
        ++accesses_;
        ++writes_;
        write_log_.push_back(address);
        delay += cost(length);
        if (!contains(address, length)) {
            return false;
        }
        std::memcpy(bytes_.data() + address, data, length);
        return true;
    }

    uint64_t accesses() const { return accesses_; }
    uint64_t writes() const { return writes_; }
    // Addresses of all writes, in order.
    const std::vector<uint64_t>& write_log() const { return write_log_; }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

    // Driver-side access: direct, free and uncounted.
    uint8_t& at(uint64_t address) { return bytes_.at(address); }
    void put_le16(uint64_t address, uint16_t value) { put_le(address, value, 2); }
    void put_le32(uint64_t address, uint32_t value) { put_le(address, value, 4); }
    void put_le64(uint64_t address, uint64_t value) { put_le(address, value, 8); }
    uint16_t get_le16(uint64_t address) const { return static_cast<uint16_t>(get_le(address, 2)); }
    uint32_t get_le32(uint64_t address) const { return static_cast<uint32_t>(get_le(address, 4)); }
    void fill(uint64_t address, const std::vector<uint8_t>& data) {
        for (size_t i = 0; i < data.size(); ++i) {
            bytes_.at(address + i) = data[i];
        }
    }
    std::vector<uint8_t> slice(uint64_t address, size_t length) const {
        return {bytes_.begin() + static_cast<std::ptrdiff_t>(address),
                bytes_.begin() + static_cast<std::ptrdiff_t>(address + length)};
    }

  private:
    static bool contains(uint64_t address, uint64_t length) {
        return address <= kSize && length <= kSize - address;
    }
    void put_le(uint64_t address, uint64_t value, int width) {
        for (int i = 0; i < width; ++i) {
            bytes_.at(address + static_cast<uint64_t>(i)) = static_cast<uint8_t>(value >> (8 * i));
        }
    }
    uint64_t get_le(uint64_t address, int width) const {
        uint64_t value = 0;
        for (int i = 0; i < width; ++i) {
            value |= uint64_t{bytes_.at(address + static_cast<uint64_t>(i))} << (8 * i);
        }
        return value;
    }

    std::vector<uint8_t> bytes_ = std::vector<uint8_t>(kSize, 0);
    uint64_t accesses_ = 0;
    uint64_t writes_ = 0;
    std::vector<uint64_t> write_log_;
};

constexpr uint64_t kDescriptorTable = 0x1000;
constexpr uint64_t kAvailRing = 0x3000;
constexpr uint64_t kUsedRing = 0x4000;
constexpr uint64_t kIndirectTable = 0x8000;
constexpr uint64_t kBufferA = 0x10000;
constexpr uint64_t kBufferB = 0x11000;
constexpr uint64_t kBufferC = 0x12000;
constexpr uint64_t kOutsideRam = 0x200000;

VirtqueueLayout layout_of(uint32_t size, bool event_idx = false, bool indirect = false) {
    VirtqueueLayout layout;
    layout.size = size;
    layout.descriptor_table = kDescriptorTable;
    layout.avail_ring = kAvailRing;
    layout.used_ring = kUsedRing;
    layout.event_idx = event_idx;
    layout.indirect = indirect;
    return layout;
}

// The test plays the driver: it fills the descriptor table and avail ring in the fake
// RAM and reads back what the device wrote to the used ring.
struct Bench {
    explicit Bench(const VirtqueueLayout& queue_layout) : layout(queue_layout) {}

    void put_descriptor(uint64_t table, uint16_t index, uint64_t address, uint32_t length,
                        uint16_t flags, uint16_t next = 0) {
        const uint64_t at = table + uint64_t{16} * index;
        ram.put_le64(at, address);
        ram.put_le32(at + 8, length);
        ram.put_le16(at + 12, flags);
        ram.put_le16(at + 14, next);
    }
    void put_descriptor(uint16_t index, uint64_t address, uint32_t length, uint16_t flags,
                        uint16_t next = 0) {
        put_descriptor(layout.descriptor_table, index, address, length, flags, next);
    }
    // Adds `head` to the avail ring and publishes it.
    void publish(uint16_t head) {
        ram.put_le16(layout.avail_ring + 4 + 2 * (avail_idx % layout.size), head);
        ++avail_idx;
        ram.put_le16(layout.avail_ring + 2, avail_idx);
    }
    void set_avail_idx(uint16_t value) {
        avail_idx = value;
        ram.put_le16(layout.avail_ring + 2, value);
    }
    void set_avail_flags(uint16_t flags) { ram.put_le16(layout.avail_ring, flags); }
    void set_used_event(uint16_t value) {
        ram.put_le16(layout.avail_ring + 4 + 2 * uint64_t{layout.size}, value);
    }
    uint16_t used_idx() const { return ram.get_le16(layout.used_ring + 2); }
    uint32_t used_id(uint32_t slot) const { return ram.get_le32(layout.used_ring + 4 + 8 * slot); }
    uint32_t used_len(uint32_t slot) const { return ram.get_le32(layout.used_ring + 8 + 8 * slot); }
    uint16_t avail_event() const {
        return ram.get_le16(layout.used_ring + 4 + 8 * uint64_t{layout.size});
    }

    FakeGuestRam ram;
    VirtqueueLayout layout;
    uint16_t avail_idx = 0;
};

// A broken queue must not touch guest memory, spend time or change state, whatever is
// asked of it, and must keep its first reason.
void expect_inert(SplitVirtqueue& queue, const FakeGuestRam& ram) {
    const std::string reason = queue.broken_reason();
    const uint64_t accesses = ram.accesses();
    const std::vector<uint8_t> memory = ram.bytes();
    const uint16_t last_avail = queue.last_avail_index();
    const uint16_t used = queue.used_index();
    const uint32_t in_flight = queue.in_flight();

    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    chain.buffers.push_back(VirtqueueBuffer{kBufferA, 8, false});
    EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kBroken);
    EXPECT_TRUE(chain.buffers.empty());

    DescriptorChain valid;
    valid.buffers = {VirtqueueBuffer{kBufferA, 8, false}, VirtqueueBuffer{kBufferB, 8, true}};
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(queue.read_chain(valid, 0, data, sizeof(data), delay), -1);
    EXPECT_EQ(queue.write_chain(valid, 0, data, sizeof(data), delay), -1);
    EXPECT_FALSE(queue.push_used(0, 8, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));

    EXPECT_TRUE(queue.broken());
    EXPECT_EQ(queue.broken_reason(), reason);
    EXPECT_EQ(ram.accesses(), accesses);
    EXPECT_TRUE(ram.bytes() == memory);
    EXPECT_EQ(delay, SC_ZERO_TIME);
    EXPECT_EQ(queue.last_avail_index(), last_avail);
    EXPECT_EQ(queue.used_index(), used);
    EXPECT_EQ(queue.in_flight(), in_flight);
}

// Runs next_chain on a malformed ring and checks the queue broke without taking anything.
void expect_fetch_breaks(Bench& bench, SplitVirtqueue& queue, const std::string& reason_part) {
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kBroken);
    EXPECT_TRUE(queue.broken());
    EXPECT_THAT(queue.broken_reason(), HasSubstr(reason_part));
    EXPECT_TRUE(chain.buffers.empty());
    EXPECT_EQ(queue.last_avail_index(), 0);
    EXPECT_EQ(queue.in_flight(), 0u);
    EXPECT_EQ(bench.ram.writes(), 0u);
    expect_inert(queue, bench.ram);
}

TEST(SplitVirtqueue, DescriptorChainCountsReadableAndWritableBytes) {
    DescriptorChain chain;
    EXPECT_EQ(chain.readable_bytes(), 0u);
    EXPECT_EQ(chain.writable_bytes(), 0u);
    chain.buffers = {VirtqueueBuffer{kBufferA, 0xffffffff, false},
                     VirtqueueBuffer{kBufferB, 0xffffffff, false},
                     VirtqueueBuffer{kBufferC, 7, true}};
    // Sums in 64 bits: two 4 GiB buffers do not wrap.
    EXPECT_EQ(chain.readable_bytes(), uint64_t{0x1fffffffe});
    EXPECT_EQ(chain.writable_bytes(), 7u);
}

TEST(SplitVirtqueue, AcceptsPowerOfTwoSizesUpTo32768) {
    for (uint32_t size : {1u, 2u, 256u, 32768u}) {
        Bench bench(layout_of(size));
        SplitVirtqueue queue(bench.ram, bench.layout);
        EXPECT_FALSE(queue.broken()) << size << ": " << queue.broken_reason();
        EXPECT_EQ(queue.layout().size, size);
    }
}

TEST(SplitVirtqueue, RejectsBadSizesAtConstruction) {
    for (uint32_t size : {0u, 3u, 48u, 65536u, 0xffffffffu}) {
        Bench bench(layout_of(size));
        SplitVirtqueue queue(bench.ram, bench.layout);
        EXPECT_TRUE(queue.broken()) << size;
        EXPECT_THAT(queue.broken_reason(),
                    HasSubstr("queue size " + std::to_string(size) + " is not a power of two"));
        expect_inert(queue, bench.ram);
    }
}

TEST(SplitVirtqueue, RejectsRingsThatWrapPastTheAddressSpace) {
    Bench bench(layout_of(2));
    VirtqueueLayout ends_at_top = bench.layout;
    ends_at_top.descriptor_table = ~uint64_t{0} - 31;  // 2 descriptors end exactly at 2^64
    EXPECT_FALSE(SplitVirtqueue(bench.ram, ends_at_top).broken());

    VirtqueueLayout descriptors = bench.layout;
    descriptors.descriptor_table = ~uint64_t{0} - 15;
    SplitVirtqueue bad_descriptors(bench.ram, descriptors);
    EXPECT_THAT(bad_descriptors.broken_reason(),
                HasSubstr("descriptor table at 0xfffffffffffffff0 wraps"));
    expect_inert(bad_descriptors, bench.ram);

    VirtqueueLayout avail = bench.layout;
    avail.avail_ring = ~uint64_t{0} - 5;  // needs 10 bytes
    SplitVirtqueue bad_avail(bench.ram, avail);
    EXPECT_THAT(bad_avail.broken_reason(), HasSubstr("avail ring at 0xfffffffffffffffa wraps"));

    VirtqueueLayout used = bench.layout;
    used.used_ring = ~uint64_t{0} - 15;  // needs 22 bytes
    SplitVirtqueue bad_used(bench.ram, used);
    EXPECT_THAT(bad_used.broken_reason(), HasSubstr("used ring at 0xfffffffffffffff0 wraps"));
}

TEST(SplitVirtqueue, EmptyQueueReadsOnlyTheAvailIndex) {
    Bench bench(layout_of(8));
    SplitVirtqueue queue(bench.ram, bench.layout);
    for (int round = 0; round < 2; ++round) {
        sc_time delay = SC_ZERO_TIME;
        DescriptorChain chain;
        EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kEmpty);
        EXPECT_TRUE(chain.buffers.empty());
        EXPECT_EQ(delay, FakeGuestRam::cost(2));
    }
    EXPECT_FALSE(queue.broken());
    EXPECT_EQ(bench.ram.accesses(), 2u);
    EXPECT_EQ(bench.ram.writes(), 0u);
    EXPECT_EQ(queue.last_avail_index(), 0);
    EXPECT_EQ(queue.in_flight(), 0u);
}

TEST(SplitVirtqueue, SingleDescriptorChainIsTakenAndReturned) {
    Bench bench(layout_of(8));
    bench.put_descriptor(5, kBufferA, 512, kWrite);
    bench.publish(5);
    SplitVirtqueue queue(bench.ram, bench.layout);

    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    EXPECT_EQ(chain.head, 5);
    ASSERT_EQ(chain.buffers.size(), 1u);
    EXPECT_EQ(chain.buffers[0].address, kBufferA);
    EXPECT_EQ(chain.buffers[0].length, 512u);
    EXPECT_TRUE(chain.buffers[0].device_writable);
    EXPECT_EQ(chain.readable_bytes(), 0u);
    EXPECT_EQ(chain.writable_bytes(), 512u);
    EXPECT_EQ(queue.last_avail_index(), 1);
    EXPECT_EQ(queue.in_flight(), 1u);
    EXPECT_EQ(bench.ram.writes(), 0u);  // without EVENT_IDX a fetch writes nothing

    DescriptorChain none;
    EXPECT_EQ(queue.next_chain(none, delay), Fetch::kEmpty);

    ASSERT_TRUE(queue.push_used(5, 100, delay));
    // used->ring[0] = {le32 5, le32 100}, then used->idx = le16 1.
    EXPECT_EQ(bench.ram.slice(kUsedRing + 4, 8),
              (std::vector<uint8_t>{0x05, 0, 0, 0, 0x64, 0, 0, 0}));
    EXPECT_EQ(bench.ram.slice(kUsedRing + 2, 2), (std::vector<uint8_t>{0x01, 0x00}));
    EXPECT_EQ(bench.ram.slice(kUsedRing, 2), (std::vector<uint8_t>{0, 0}));  // flags untouched
    // The element is written before the index that publishes it.
    EXPECT_EQ(bench.ram.write_log(), (std::vector<uint64_t>{kUsedRing + 4, kUsedRing + 2}));
    EXPECT_EQ(queue.used_index(), 1);
    EXPECT_EQ(queue.in_flight(), 0u);
    EXPECT_FALSE(queue.broken());
}

TEST(SplitVirtqueue, DelayIsTheSumOfTheDmaCosts) {
    Bench bench(layout_of(8));
    bench.put_descriptor(0, kBufferA, 40, 0);
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);

    // The caller's delay is added to, never overwritten.
    sc_time delay(5, SC_NS);
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    // avail idx (2 B), avail ring slot (2 B), one descriptor (16 B): 11 + 11 + 11 ns.
    EXPECT_EQ(delay, sc_time(5 + 33, SC_NS));
    EXPECT_EQ(bench.ram.accesses(), 3u);

    uint8_t data[40];
    ASSERT_EQ(queue.read_chain(chain, 0, data, sizeof(data), delay), 40);
    EXPECT_EQ(delay, sc_time(38 + 13, SC_NS));  // 10 ns + 3 started 16-byte blocks

    ASSERT_TRUE(queue.push_used(0, 0, delay));
    EXPECT_EQ(delay, sc_time(51 + 11 + 11, SC_NS));  // used element (8 B), used idx (2 B)

    EXPECT_TRUE(queue.should_interrupt(delay));
    EXPECT_EQ(delay, sc_time(73 + 11, SC_NS));  // avail flags (2 B)
    EXPECT_EQ(bench.ram.accesses(), 7u);
}

TEST(SplitVirtqueue, ReadsTheReadablePartAcrossBufferBoundaries) {
    Bench bench(layout_of(8));
    // Chain 2 -> 7 -> 1: readable 8 B, readable 6 B, writable 16 B.
    bench.put_descriptor(2, kBufferA, 8, kNext, 7);
    bench.put_descriptor(7, kBufferB, 6, kNext, 1);
    bench.put_descriptor(1, kBufferC, 16, kWrite);
    bench.ram.fill(kBufferA, {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xee});
    bench.ram.fill(kBufferB, {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xee});
    bench.ram.fill(kBufferC, {0xc0, 0xc1});
    bench.publish(2);
    SplitVirtqueue queue(bench.ram, bench.layout);

    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    EXPECT_EQ(chain.head, 2);
    ASSERT_EQ(chain.buffers.size(), 3u);
    EXPECT_EQ(chain.buffers[0].address, kBufferA);
    EXPECT_EQ(chain.buffers[0].length, 8u);
    EXPECT_FALSE(chain.buffers[0].device_writable);
    EXPECT_EQ(chain.buffers[1].address, kBufferB);
    EXPECT_EQ(chain.buffers[1].length, 6u);
    EXPECT_FALSE(chain.buffers[1].device_writable);
    EXPECT_EQ(chain.buffers[2].address, kBufferC);
    EXPECT_EQ(chain.buffers[2].length, 16u);
    EXPECT_TRUE(chain.buffers[2].device_writable);
    EXPECT_EQ(chain.readable_bytes(), 14u);
    EXPECT_EQ(chain.writable_bytes(), 16u);

    std::vector<uint8_t> data(6, 0);
    EXPECT_EQ(queue.read_chain(chain, 5, data.data(), data.size(), delay), 6);
    EXPECT_EQ(data, (std::vector<uint8_t>{0xa5, 0xa6, 0xa7, 0xb0, 0xb1, 0xb2}));

    // Asking for more than there is returns what there is; the writable part is not read.
    std::vector<uint8_t> all(100, 0x55);
    EXPECT_EQ(queue.read_chain(chain, 0, all.data(), all.size(), delay), 14);
    EXPECT_EQ(std::vector<uint8_t>(all.begin(), all.begin() + 15),
              (std::vector<uint8_t>{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xb0, 0xb1,
                                    0xb2, 0xb3, 0xb4, 0xb5, 0x55}));
    EXPECT_EQ(queue.read_chain(chain, 12, all.data(), all.size(), delay), 2);
    EXPECT_EQ(all[0], 0xb4);
    EXPECT_EQ(all[1], 0xb5);
    EXPECT_EQ(queue.read_chain(chain, 14, all.data(), all.size(), delay), 0);
    EXPECT_EQ(queue.read_chain(chain, 1000, all.data(), all.size(), delay), 0);
    EXPECT_EQ(queue.read_chain(chain, 3, all.data(), 0, delay), 0);
    EXPECT_FALSE(queue.broken());
}

TEST(SplitVirtqueue, WritesTheWritablePartAcrossBufferBoundaries) {
    Bench bench(layout_of(8));
    // Chain 0 -> 3 -> 6: readable 4 B, writable 5 B, writable 7 B.
    bench.put_descriptor(0, kBufferA, 4, kNext, 3);
    bench.put_descriptor(3, kBufferB, 5, kNext | kWrite, 6);
    bench.put_descriptor(6, kBufferC, 7, kWrite);
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);

    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    ASSERT_EQ(chain.buffers.size(), 3u);
    EXPECT_EQ(chain.readable_bytes(), 4u);
    EXPECT_EQ(chain.writable_bytes(), 12u);

    const std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6};
    EXPECT_EQ(queue.write_chain(chain, 3, data.data(), data.size(), delay), 6);
    EXPECT_EQ(bench.ram.slice(kBufferB, 6), (std::vector<uint8_t>{0, 0, 0, 1, 2, 0}));
    EXPECT_EQ(bench.ram.slice(kBufferC, 8), (std::vector<uint8_t>{3, 4, 5, 6, 0, 0, 0, 0}));
    EXPECT_EQ(bench.ram.slice(kBufferA, 4), (std::vector<uint8_t>{0, 0, 0, 0}));

    // Past the end of the writable part only what fits is written, nothing beyond.
    const std::vector<uint8_t> more(20, 0x77);
    EXPECT_EQ(queue.write_chain(chain, 10, more.data(), more.size(), delay), 2);
    EXPECT_EQ(bench.ram.slice(kBufferC, 8), (std::vector<uint8_t>{3, 4, 5, 6, 0, 0x77, 0x77, 0}));
    EXPECT_EQ(queue.write_chain(chain, 12, more.data(), more.size(), delay), 0);
    EXPECT_FALSE(queue.broken());
}

TEST(SplitVirtqueue, ChainAsLongAsTheQueueIsAccepted) {
    Bench bench(layout_of(4));
    bench.put_descriptor(3, kBufferA, 1, kNext, 0);
    bench.put_descriptor(0, kBufferA + 1, 1, kNext, 2);
    bench.put_descriptor(2, kBufferA + 2, 1, kNext, 1);
    bench.put_descriptor(1, kBufferA + 3, 1, kWrite);
    bench.publish(3);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain) << queue.broken_reason();
    ASSERT_EQ(chain.buffers.size(), 4u);
    EXPECT_EQ(chain.buffers[3].address, kBufferA + 3);
    EXPECT_TRUE(chain.buffers[3].device_writable);
}

TEST(SplitVirtqueue, IndexesWrapPast65535) {
    Bench bench(layout_of(4));
    for (uint16_t i = 0; i < 4; ++i) {
        bench.put_descriptor(i, kBufferA + 16 * i, 16, kWrite);
    }
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;

    // Drive both indexes up to 0xfffe the way a driver would, one buffer at a time.
    for (uint32_t n = 0; n < 0xfffe; ++n) {
        bench.publish(static_cast<uint16_t>(n % 4));
        ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain) << n;
        ASSERT_TRUE(queue.push_used(chain.head, 1, delay)) << n;
    }
    ASSERT_EQ(queue.last_avail_index(), 0xfffe);
    ASSERT_EQ(queue.used_index(), 0xfffe);
    ASSERT_EQ(bench.used_idx(), 0xfffe);
    EXPECT_EQ(queue.in_flight(), 0u);

    // Three more buffers take avail->idx through 0xffff and 0 to 1.
    bench.publish(3);
    bench.publish(1);
    bench.publish(2);
    ASSERT_EQ(bench.ram.get_le16(kAvailRing + 2), 1);
    std::vector<uint16_t> heads;
    while (queue.next_chain(chain, delay) == Fetch::kChain) {
        heads.push_back(chain.head);
    }
    ASSERT_FALSE(queue.broken()) << queue.broken_reason();
    EXPECT_EQ(heads, (std::vector<uint16_t>{3, 1, 2}));
    EXPECT_EQ(queue.last_avail_index(), 1);
    EXPECT_EQ(queue.in_flight(), 3u);

    for (uint16_t head : heads) {
        ASSERT_TRUE(queue.push_used(head, 100u + head, delay));
    }
    EXPECT_EQ(queue.used_index(), 1);
    EXPECT_EQ(bench.ram.slice(kUsedRing + 2, 2), (std::vector<uint8_t>{0x01, 0x00}));
    // Used indexes 0xfffe, 0xffff, 0 land in slots 2, 3, 0.
    EXPECT_EQ(bench.used_id(2), 3u);
    EXPECT_EQ(bench.used_len(2), 103u);
    EXPECT_EQ(bench.used_id(3), 1u);
    EXPECT_EQ(bench.used_len(3), 101u);
    EXPECT_EQ(bench.used_id(0), 2u);
    EXPECT_EQ(bench.used_len(0), 102u);
    EXPECT_EQ(queue.in_flight(), 0u);
}

TEST(SplitVirtqueue, AFullAvailRingIsAccepted) {
    Bench bench(layout_of(4));
    for (uint16_t i = 0; i < 4; ++i) {
        bench.put_descriptor(i, kBufferA, 8, 0);
        bench.publish(static_cast<uint16_t>(3 - i));
    }
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    std::vector<uint16_t> heads;
    while (queue.next_chain(chain, delay) == Fetch::kChain) {
        heads.push_back(chain.head);
    }
    EXPECT_FALSE(queue.broken()) << queue.broken_reason();
    EXPECT_EQ(heads, (std::vector<uint16_t>{3, 2, 1, 0}));
    EXPECT_EQ(queue.in_flight(), 4u);
    EXPECT_EQ(queue.last_avail_index(), 4);
}

TEST(SplitVirtqueue, PushingWithNothingInFlightDoesNotUnderflow) {
    Bench bench(layout_of(4));
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    EXPECT_TRUE(queue.push_used(2, 9, delay));
    EXPECT_EQ(queue.in_flight(), 0u);
    EXPECT_EQ(queue.used_index(), 1);
    EXPECT_EQ(bench.used_id(0), 2u);
    EXPECT_EQ(bench.used_len(0), 9u);
}

// ---- malformed rings -------------------------------------------------------------

// Each row builds a ring the device must refuse on fetch: the queue breaks with `reason`
// without taking anything, writing guest memory or changing state (expect_fetch_breaks).
struct MalformedRing {
    const char* name;
    uint32_t size;
    bool indirect;  // RING_INDIRECT_DESC negotiated
    // The driver's part: descriptors, the avail ring, or a layout moved out of RAM.
    void (*build)(Bench& bench);
    const char* reason;  // part of broken_reason()
    uint64_t accesses;   // DMA accesses until the queue broke; 0: not checked
};

std::ostream& operator<<(std::ostream& out, const MalformedRing& row) {
    return out << row.name;
}

const MalformedRing kMalformedRings[] = {
    {"AvailIndexRunningAhead", 4, false, [](Bench& bench) { bench.set_avail_idx(5); },
     "avail index ran 5 ahead of a queue of size 4", 0},
    // "One behind" 0 is 65535 ahead.
    {"AvailIndexBehindIsAheadInSixteenBits", 4, false,
     [](Bench& bench) { bench.set_avail_idx(0xffff); },
     "avail index ran 65535 ahead of a queue of size 4", 0},
    {"HeadOutOfRange", 8, false, [](Bench& bench) { bench.publish(8); },
     "names descriptor 8 of a queue of size 8", 0},
    {"NextOutOfRange", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(0, kBufferA, 8, kNext, 8);
         bench.publish(0);
     },
     "descriptor 0 links to descriptor 8 of a queue of size 8", 0},
    // Caught as soon as the chain outgrew the queue: avail idx, ring slot, 8 descriptors.
    {"DescriptorLoop", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(4, kBufferA, 8, kNext, 6);
         bench.put_descriptor(6, kBufferB, 8, kNext, 4);
         bench.publish(4);
     },
     "descriptor chain from head 4 loops", 2 + 8},
    {"ZeroLengthBuffer", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(0, kBufferA, 8, kNext, 1);
         bench.put_descriptor(1, kBufferB, 0, kWrite);
         bench.publish(0);
     },
     "zero-length buffer in descriptor 1", 0},
    {"ReadableAfterWritable", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(0, kBufferA, 8, kNext | kWrite, 1);
         bench.put_descriptor(1, kBufferB, 8, 0);
         bench.publish(0);
     },
     "device-readable buffer after a device-writable one in descriptor 1", 0},
    {"BufferWrappingPastTheAddressSpace", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(0, ~uint64_t{0} - 15, 32, kWrite);
         bench.publish(0);
     },
     "buffer at 0xfffffffffffffff0 wraps", 0},
    {"DmaErrorOnAvailRing", 8, false, [](Bench& bench) { bench.layout.avail_ring = kOutsideRam; },
     "DMA error reading avail idx at 0x200002", 0},
    // The table's last descriptors hang over the end of RAM.
    {"DmaErrorOnDescriptorTable", 8, false,
     [](Bench& bench) {
         bench.layout.descriptor_table = FakeGuestRam::kSize - 2 * 16;
         bench.publish(3);
     },
     "DMA error reading a descriptor at 0x100010", 0},
    // ---- indirect descriptors ----
    {"IndirectWithoutNegotiation", 8, false,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 16, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, 0);
         bench.publish(0);
     },
     "indirect descriptor without RING_INDIRECT_DESC", 0},
    {"NestedIndirect", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 32, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, kNext, 1);
         bench.put_descriptor(kIndirectTable, 1, kIndirectTable, 32, kIndirect);
         bench.publish(0);
     },
     "nested indirect descriptor in the table at 0x8000", 0},
    {"IndirectWithNext", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 16, kIndirect | kNext, 1);
         bench.put_descriptor(1, kBufferB, 8, kWrite);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, 0);
         bench.publish(0);
     },
     "descriptor 0 sets both INDIRECT and NEXT", 0},
    {"IndirectLengthNotAMultipleOf16", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 24, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, 0);
         bench.publish(0);
     },
     "indirect table length 24 is not a multiple of 16", 0},
    {"EmptyIndirectTable", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 0, kIndirect);
         bench.publish(0);
     },
     "zero-length indirect table in descriptor 0", 0},
    {"IndirectLinkOutsideTheTable", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 32, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, kNext, 2);  // only entries 0, 1
         bench.put_descriptor(kIndirectTable, 2, kBufferB, 8, 0);
         bench.publish(0);
     },
     "indirect entry 0 links to entry 2 of a table of 2", 0},
    // Five entries in a queue of four: a chain may not be longer than the queue, even if this
    // one uses a single entry of the table.
    {"IndirectTableLongerThanTheQueue", 4, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 5 * 16, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, 0);
         bench.publish(0);
     },
     "indirect table at 0x8000 has 5 descriptors, more than the queue size 4", 0},
    // avail idx, ring slot, the descriptor naming the table, then each entry once.
    {"IndirectLoop", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 32, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 8, kNext, 1);
         bench.put_descriptor(kIndirectTable, 1, kBufferB, 8, kNext, 0);
         bench.publish(0);
     },
     "indirect table at 0x8000 loops", 3 + 2},
    {"IndirectZeroLengthEntry", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kIndirectTable, 16, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferA, 0, kWrite);
         bench.publish(0);
     },
     "zero-length buffer in indirect entry 0", 0},
    {"ReadableIndirectEntryAfterWritableDescriptor", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kBufferA, 8, kWrite | kNext, 1);
         bench.put_descriptor(1, kIndirectTable, 16, kIndirect);
         bench.put_descriptor(kIndirectTable, 0, kBufferB, 8, 0);
         bench.publish(0);
     },
     "device-readable buffer after a device-writable one", 0},
    {"DmaErrorOnIndirectTable", 8, true,
     [](Bench& bench) {
         bench.put_descriptor(0, kOutsideRam, 16, kIndirect);
         bench.publish(0);
     },
     "DMA error reading a descriptor at 0x200000", 0},
};

class SplitVirtqueueMalformedRing : public ::testing::TestWithParam<MalformedRing> {};

TEST_P(SplitVirtqueueMalformedRing, BreaksOnFetch) {
    const MalformedRing& row = GetParam();
    Bench bench(layout_of(row.size, false, row.indirect));
    row.build(bench);
    SplitVirtqueue queue(bench.ram, bench.layout);
    expect_fetch_breaks(bench, queue, row.reason);
    if (row.accesses != 0) {
        EXPECT_EQ(bench.ram.accesses(), row.accesses);
    }
}

INSTANTIATE_TEST_SUITE_P(Rows, SplitVirtqueueMalformedRing, ::testing::ValuesIn(kMalformedRings),
                         [](const ::testing::TestParamInfo<MalformedRing>& row) {
                             return std::string(row.param.name);
                         });

TEST(SplitVirtqueue, DmaErrorOnBufferDuringReadBreaks) {
    Bench bench(layout_of(8));
    bench.put_descriptor(0, kBufferA, 8, kNext, 1);
    bench.put_descriptor(1, FakeGuestRam::kSize - 0x100, 0x200, 0);  // straddles the end
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);  // buffers are not read yet
    std::vector<uint8_t> data(8, 0);
    EXPECT_EQ(queue.read_chain(chain, 0, data.data(), data.size(), delay), 8);
    std::vector<uint8_t> big(0x208, 0);
    EXPECT_EQ(queue.read_chain(chain, 0, big.data(), big.size(), delay), -1);
    EXPECT_TRUE(queue.broken());
    EXPECT_THAT(queue.broken_reason(),
                HasSubstr("DMA error reading 512 bytes of a buffer at 0xfff00"));
    expect_inert(queue, bench.ram);
}

TEST(SplitVirtqueue, DmaErrorOnBufferDuringWriteBreaks) {
    Bench bench(layout_of(8));
    bench.put_descriptor(0, kOutsideRam, 64, kWrite);
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    const std::vector<uint8_t> data(4, 0x11);
    EXPECT_EQ(queue.write_chain(chain, 10, data.data(), data.size(), delay), -1);
    EXPECT_TRUE(queue.broken());
    EXPECT_THAT(queue.broken_reason(),
                HasSubstr("DMA error writing 4 bytes of a buffer at 0x20000a"));
    expect_inert(queue, bench.ram);
}

TEST(SplitVirtqueue, DmaErrorOnUsedRingBreaks) {
    Bench bench(layout_of(8));
    bench.put_descriptor(0, kBufferA, 8, kWrite);
    bench.publish(0);
    bench.layout.used_ring = kOutsideRam;
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    EXPECT_FALSE(queue.push_used(chain.head, 8, delay));
    EXPECT_TRUE(queue.broken());
    EXPECT_THAT(queue.broken_reason(), HasSubstr("DMA error writing used element at 0x200004"));
    EXPECT_EQ(queue.used_index(), 0);
    EXPECT_EQ(queue.in_flight(), 1u);
    expect_inert(queue, bench.ram);
}

// ---- indirect descriptors ---------------------------------------------------------

TEST(SplitVirtqueue, IndirectTableIsFlattenedIntoTheChain) {
    Bench bench(layout_of(8, false, true));
    // The WRITE flag on the descriptor naming the table means nothing and is ignored.
    bench.put_descriptor(3, kIndirectTable, 3 * 16, kIndirect | kWrite);
    bench.put_descriptor(kIndirectTable, 0, kBufferA, 12, kNext, 2);
    bench.put_descriptor(kIndirectTable, 2, kBufferB, 20, kWrite);
    bench.put_descriptor(kIndirectTable, 1, kBufferC, 99, 0);  // not part of the chain
    bench.ram.fill(kBufferA + 10, {0x5a, 0x5b});
    bench.publish(3);
    SplitVirtqueue queue(bench.ram, bench.layout);

    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain) << queue.broken_reason();
    EXPECT_EQ(chain.head, 3);
    ASSERT_EQ(chain.buffers.size(), 2u);
    EXPECT_EQ(chain.buffers[0].address, kBufferA);
    EXPECT_EQ(chain.buffers[0].length, 12u);
    EXPECT_FALSE(chain.buffers[0].device_writable);
    EXPECT_EQ(chain.buffers[1].address, kBufferB);
    EXPECT_EQ(chain.buffers[1].length, 20u);
    EXPECT_TRUE(chain.buffers[1].device_writable);

    uint8_t tail[4] = {};
    EXPECT_EQ(queue.read_chain(chain, 10, tail, sizeof(tail), delay), 2);
    EXPECT_EQ(tail[0], 0x5a);
    EXPECT_EQ(tail[1], 0x5b);
    ASSERT_TRUE(queue.push_used(chain.head, 20, delay));
    EXPECT_EQ(bench.used_id(0), 3u);  // the head in the ring, not a table index
}

TEST(SplitVirtqueue, DirectDescriptorsMayEndInAnIndirectTable) {
    Bench bench(layout_of(8, false, true));
    bench.put_descriptor(0, kBufferA, 4, kNext, 5);
    bench.put_descriptor(5, kIndirectTable, 16, kIndirect);
    bench.put_descriptor(kIndirectTable, 0, kBufferB, 8, kWrite);
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain) << queue.broken_reason();
    ASSERT_EQ(chain.buffers.size(), 2u);
    EXPECT_EQ(chain.buffers[0].address, kBufferA);
    EXPECT_FALSE(chain.buffers[0].device_writable);
    EXPECT_EQ(chain.buffers[1].address, kBufferB);
    EXPECT_TRUE(chain.buffers[1].device_writable);
}

TEST(SplitVirtqueue, IndirectTableAsLongAsTheQueueIsAccepted) {
    Bench bench(layout_of(4, false, true));
    bench.put_descriptor(0, kIndirectTable, 4 * 16, kIndirect);
    for (uint16_t entry = 0; entry < 4; ++entry) {
        bench.put_descriptor(kIndirectTable, entry, kBufferA + 8 * entry, 8, entry < 3 ? kNext : 0,
                             static_cast<uint16_t>(entry + 1));
    }
    bench.publish(0);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain) << queue.broken_reason();
    EXPECT_EQ(chain.buffers.size(), 4u);
    EXPECT_EQ(chain.readable_bytes(), 32u);
}

// ---- notifications ----------------------------------------------------------------

TEST(SplitVirtqueue, EventIdxPublishesAvailEventAfterEveryFetch) {
    Bench bench(layout_of(8, true));
    for (uint16_t i = 0; i < 2; ++i) {
        bench.put_descriptor(i, kBufferA, 8, kWrite);
    }
    bench.ram.put_le16(kUsedRing + 4 + 8 * 8, 0xaaaa);  // stale value to be overwritten
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;

    EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kEmpty);
    EXPECT_EQ(bench.avail_event(), 0);
    EXPECT_EQ(bench.ram.writes(), 1u);

    bench.publish(0);
    bench.publish(1);
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    EXPECT_EQ(bench.avail_event(), 1);
    ASSERT_EQ(queue.next_chain(chain, delay), Fetch::kChain);
    EXPECT_EQ(bench.avail_event(), 2);
    EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kEmpty);
    EXPECT_EQ(bench.ram.slice(kUsedRing + 4 + 8 * 8, 2), (std::vector<uint8_t>{0x02, 0x00}));
    EXPECT_EQ(bench.ram.writes(), 4u);
    // Nothing else of the used ring was written.
    EXPECT_EQ(bench.used_idx(), 0);
}

TEST(SplitVirtqueue, DmaErrorOnAvailEventBreaks) {
    Bench bench(layout_of(8, true));
    bench.layout.used_ring = FakeGuestRam::kSize - 8 * 8;  // avail_event lies beyond RAM
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    DescriptorChain chain;
    EXPECT_EQ(queue.next_chain(chain, delay), Fetch::kBroken);
    EXPECT_THAT(queue.broken_reason(), HasSubstr("DMA error writing avail_event at 0x100004"));
    expect_inert(queue, bench.ram);
}

TEST(SplitVirtqueue, EventIdxInterruptsOnlyWhenUsedEventIsPassed) {
    Bench bench(layout_of(8, true));
    // NO_INTERRUPT is ignored once EVENT_IDX is negotiated.
    bench.set_avail_flags(vring::kAvailFlagNoInterrupt);
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;

    EXPECT_FALSE(queue.should_interrupt(delay));  // nothing pushed yet
    EXPECT_EQ(bench.ram.accesses(), 0u);

    bench.set_used_event(0);  // "interrupt me when used idx passes 0"
    ASSERT_TRUE(queue.push_used(0, 1, delay));
    EXPECT_TRUE(queue.should_interrupt(delay));   // 0 -> 1 crosses 0
    EXPECT_FALSE(queue.should_interrupt(delay));  // nothing new since

    ASSERT_TRUE(queue.push_used(1, 1, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));  // 1 -> 2 does not cross 0

    bench.set_used_event(4);
    ASSERT_TRUE(queue.push_used(2, 1, delay));
    ASSERT_TRUE(queue.push_used(3, 1, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));  // 2 -> 4 has not passed 4 yet
    ASSERT_TRUE(queue.push_used(4, 1, delay));
    ASSERT_TRUE(queue.push_used(5, 1, delay));
    EXPECT_TRUE(queue.should_interrupt(delay));  // 4 -> 6 passes 4 (batched)

    bench.set_used_event(0xffff);  // far behind: the driver is not waiting
    ASSERT_TRUE(queue.push_used(6, 1, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));
    EXPECT_FALSE(queue.broken());
}

TEST(SplitVirtqueue, NoInterruptFlagIsHonouredWithoutEventIdx) {
    Bench bench(layout_of(8));
    bench.set_used_event(0xffff);  // must not matter without EVENT_IDX
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;

    EXPECT_FALSE(queue.should_interrupt(delay));
    EXPECT_EQ(bench.ram.accesses(), 0u);

    ASSERT_TRUE(queue.push_used(0, 4, delay));
    EXPECT_TRUE(queue.should_interrupt(delay));
    EXPECT_FALSE(queue.should_interrupt(delay));  // nothing new since

    bench.set_avail_flags(vring::kAvailFlagNoInterrupt);
    ASSERT_TRUE(queue.push_used(1, 4, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));

    bench.set_avail_flags(0);
    ASSERT_TRUE(queue.push_used(2, 4, delay));
    EXPECT_TRUE(queue.should_interrupt(delay));
    EXPECT_FALSE(queue.broken());
}

TEST(SplitVirtqueue, DmaErrorOnAvailFlagsBreaks) {
    Bench bench(layout_of(8));
    bench.layout.avail_ring = kOutsideRam;
    SplitVirtqueue queue(bench.ram, bench.layout);
    sc_time delay = SC_ZERO_TIME;
    ASSERT_TRUE(queue.push_used(0, 4, delay));
    EXPECT_FALSE(queue.should_interrupt(delay));
    EXPECT_THAT(queue.broken_reason(), HasSubstr("DMA error reading avail flags at 0x200000"));
    expect_inert(queue, bench.ram);
}

}  // namespace
}  // namespace vbsim::models
