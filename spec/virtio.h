#pragma once

// Numbers from the virtio specification (v1.2/1.3: "Virtio Over MMIO", "Split
// Virtqueues", "Traditional Memory Balloon Device"), shared by the device models in
// models/ and the bare-metal driver in sw/. Freestanding: <stdint.h> only.

#include <stdint.h>

namespace vbsim::spec {

// `value` rounded up to a multiple of `align`, a power of two (ring layouts, page-aligned
// regions).
constexpr uint64_t align_up(uint64_t value, uint64_t align) {
    return (value + align - 1) & ~(align - 1);
}

// ---- virtio-mmio register window -------------------------------------------------
namespace mmio {
constexpr uint32_t kWindowSize = 0x200;
constexpr uint32_t kMagic = 0x74726976;  // "virt"
constexpr uint32_t kVersionLegacy = 1;
constexpr uint32_t kVersionModern = 2;

constexpr uint32_t kMagicValue = 0x000;
constexpr uint32_t kVersion = 0x004;
constexpr uint32_t kDeviceId = 0x008;
constexpr uint32_t kVendorId = 0x00c;
constexpr uint32_t kDeviceFeatures = 0x010;
constexpr uint32_t kDeviceFeaturesSel = 0x014;
constexpr uint32_t kDriverFeatures = 0x020;
constexpr uint32_t kDriverFeaturesSel = 0x024;
constexpr uint32_t kGuestPageSize = 0x028;  // legacy only
constexpr uint32_t kQueueSel = 0x030;
constexpr uint32_t kQueueNumMax = 0x034;
constexpr uint32_t kQueueNum = 0x038;
constexpr uint32_t kQueueAlign = 0x03c;  // legacy only
constexpr uint32_t kQueuePfn = 0x040;    // legacy only
constexpr uint32_t kQueueReady = 0x044;  // modern only
constexpr uint32_t kQueueNotify = 0x050;
constexpr uint32_t kInterruptStatus = 0x060;
constexpr uint32_t kInterruptAck = 0x064;
constexpr uint32_t kStatus = 0x070;
constexpr uint32_t kQueueDescLow = 0x080;
constexpr uint32_t kQueueDescHigh = 0x084;
constexpr uint32_t kQueueDriverLow = 0x090;
constexpr uint32_t kQueueDriverHigh = 0x094;
constexpr uint32_t kQueueDeviceLow = 0x0a0;
constexpr uint32_t kQueueDeviceHigh = 0x0a4;
constexpr uint32_t kShmSel = 0x0ac;
constexpr uint32_t kShmLenLow = 0x0b0;
constexpr uint32_t kShmLenHigh = 0x0b4;
constexpr uint32_t kShmBaseLow = 0x0b8;
constexpr uint32_t kShmBaseHigh = 0x0bc;
constexpr uint32_t kQueueReset = 0x0c0;
constexpr uint32_t kConfigGeneration = 0x0fc;
constexpr uint32_t kConfig = 0x100;

constexpr uint32_t kInterruptUsedBuffer = 1u << 0;
constexpr uint32_t kInterruptConfigChange = 1u << 1;

// Queues vbsim's transport serves (QueueSel 0..7). The spec sets no limit (QEMU allows 1024);
// virtio devices vbsim models need at most 5 (the balloon).
constexpr unsigned kMaxQueues = 8;
}  // namespace mmio

// ---- device status ---------------------------------------------------------------
namespace status {
constexpr uint32_t kAcknowledge = 1;
constexpr uint32_t kDriver = 2;
constexpr uint32_t kDriverOk = 4;
constexpr uint32_t kFeaturesOk = 8;
constexpr uint32_t kDeviceNeedsReset = 64;
constexpr uint32_t kFailed = 128;
}  // namespace status

// ---- transport feature bits ------------------------------------------------------
namespace feature {
constexpr unsigned kRingIndirectDesc = 28;
constexpr unsigned kRingEventIdx = 29;
constexpr unsigned kVersion1 = 32;
constexpr unsigned kAccessPlatform = 33;
constexpr unsigned kRingPacked = 34;
constexpr unsigned kInOrder = 35;
constexpr unsigned kRingReset = 40;  // QueueReset

constexpr uint64_t bit(unsigned feature_bit) {
    return uint64_t{1} << feature_bit;
}
}  // namespace feature

// ---- split virtqueue layout ------------------------------------------------------
namespace vring {
constexpr uint32_t kMaxSize = 32768;
constexpr uint32_t kDescriptorSize = 16;  // le64 addr, le32 len, le16 flags, le16 next
constexpr uint32_t kDescriptorAlign = 16;
constexpr uint32_t kAvailAlign = 2;
constexpr uint32_t kUsedAlign = 4;
constexpr uint32_t kUsedElementSize = 8;  // le32 id, le32 len
constexpr uint32_t kLegacyDefaultAlign = 4096;

constexpr uint16_t kDescFlagNext = 1;
constexpr uint16_t kDescFlagWrite = 2;
constexpr uint16_t kDescFlagIndirect = 4;

constexpr uint16_t kAvailFlagNoInterrupt = 1;
constexpr uint16_t kUsedFlagNoNotify = 1;

// Byte sizes of the three parts for a queue of `size` entries (event-idx words included).
constexpr uint64_t descriptor_table_bytes(uint32_t size) {
    return uint64_t{16} * size;
}
constexpr uint64_t avail_ring_bytes(uint32_t size) {
    return 6 + uint64_t{2} * size;
}
constexpr uint64_t used_ring_bytes(uint32_t size) {
    return 6 + uint64_t{8} * size;
}
// Offsets inside the rings.
constexpr uint64_t kAvailIdxOffset = 2;
constexpr uint64_t kAvailRingOffset = 4;
constexpr uint64_t avail_used_event_offset(uint32_t size) {
    return 4 + uint64_t{2} * size;
}
constexpr uint64_t kUsedIdxOffset = 2;
constexpr uint64_t kUsedRingOffset = 4;
constexpr uint64_t used_avail_event_offset(uint32_t size) {
    return 4 + uint64_t{8} * size;
}

// Legacy layout: descriptors, avail ring, padding to `align`, used ring.
constexpr uint64_t legacy_used_offset(uint32_t size, uint32_t align) {
    return align_up(descriptor_table_bytes(size) + avail_ring_bytes(size), align);
}
constexpr uint64_t legacy_total_bytes(uint32_t size, uint32_t align) {
    return legacy_used_offset(size, align) + align_up(used_ring_bytes(size), align);
}

// EVENT_IDX: notify when the other side's index passed `event` since `old_idx`.
constexpr bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}
}  // namespace vring

// ---- memory balloon device -------------------------------------------------------
namespace balloon {
constexpr uint32_t kDeviceId = 5;

constexpr unsigned kFeatureMustTellHost = 0;
constexpr unsigned kFeatureStatsVq = 1;
constexpr unsigned kFeatureDeflateOnOom = 2;
constexpr unsigned kFeatureFreePageHint = 3;
constexpr unsigned kFeaturePagePoison = 4;
constexpr unsigned kFeaturePageReporting = 5;

// Free page hinting command ids in free_page_hint_cmd_id: STOP ends a round's hints, DONE
// also lets the driver give the hinted pages back; a round's id is at least kHintCmdIdMin.
constexpr uint32_t kHintCmdIdStop = 0;
constexpr uint32_t kHintCmdIdDone = 1;
constexpr uint32_t kHintCmdIdMin = 2;

// The queues a balloon may have, in the order they are numbered, with the numbers the spec
// lists for them (inflateq 0, deflateq 1, statsq 2, free_page_vq 3, reporting_vq 4).
enum class Queue : uint8_t {
    kInflate = 0,
    kDeflate = 1,
    kStats = 2,
    kFreePage = 3,
    kReporting = 4
};
// inflateq and deflateq always exist, so their indices are fixed; so is statsq's, the first
// optional queue, when STATS_VQ is negotiated. The others: see queue_index().
constexpr uint16_t kInflateQueue = static_cast<uint16_t>(Queue::kInflate);
constexpr uint16_t kDeflateQueue = static_cast<uint16_t>(Queue::kDeflate);
constexpr uint16_t kStatsQueue = static_cast<uint16_t>(Queue::kStats);

// The index of `queue` under the negotiated `features`, or -1 when it does not exist. The spec
// lists fixed indices, but Linux, QEMU, Cloud Hypervisor and Firecracker number only the queues
// that exist, consecutively, from the negotiated features; so does vbsim. The one place this is
// decided, for the device model and the driver alike.
constexpr int queue_index(Queue queue, uint64_t features) {
    const bool present[] = {
        true,
        true,
        (features & (uint64_t{1} << kFeatureStatsVq)) != 0,
        (features & (uint64_t{1} << kFeatureFreePageHint)) != 0,
        (features & (uint64_t{1} << kFeaturePageReporting)) != 0,
    };
    const auto wanted = static_cast<unsigned>(queue);
    if (!present[wanted]) {
        return -1;
    }
    int index = 0;
    for (unsigned i = 0; i < wanted; ++i) {
        index += present[i] ? 1 : 0;
    }
    return index;
}
constexpr unsigned kMaxQueues = 5;
static_assert(kMaxQueues <= mmio::kMaxQueues, "the transport must serve every balloon queue");
// With every queue present, each index is the number the spec lists.
constexpr uint64_t kAllQueueFeatures = (uint64_t{1} << kFeatureStatsVq) |
                                       (uint64_t{1} << kFeatureFreePageHint) |
                                       (uint64_t{1} << kFeaturePageReporting);
static_assert(queue_index(Queue::kFreePage, kAllQueueFeatures) ==
                      static_cast<int>(Queue::kFreePage) &&
                  queue_index(Queue::kReporting, kAllQueueFeatures) ==
                      static_cast<int>(Queue::kReporting),
              "queue numbers");
static_assert(queue_index(Queue::kStats, uint64_t{1} << kFeatureStatsVq) == kStatsQueue,
              "statsq is the first optional queue");

// Config space (little-endian, even for legacy devices).
constexpr uint32_t kConfigNumPages = 0x00;
constexpr uint32_t kConfigActual = 0x04;
constexpr uint32_t kConfigFreePageHintCmdId = 0x08;
constexpr uint32_t kConfigPoisonVal = 0x0c;
constexpr uint32_t kConfigSize = 0x10;

// Inflate/deflate buffers carry le32 PFNs of 4 KiB pages, whatever the guest page size.
constexpr unsigned kPfnShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPfnShift;
constexpr uint32_t kMaxPfnsPerBuffer = 256;

// Stats buffer: packed {le16 tag, le64 value} entries.
constexpr uint32_t kStatEntrySize = 10;
enum StatTag : uint16_t {
    kStatSwapIn = 0,
    kStatSwapOut = 1,
    kStatMajorFaults = 2,
    kStatMinorFaults = 3,
    kStatMemFree = 4,
    kStatMemTotal = 5,
    kStatAvailable = 6,
    kStatCaches = 7,
    kStatHugetlbAllocations = 8,
    kStatHugetlbFailures = 9,
    kStatOomKills = 10,
    kStatAllocStalls = 11,
    kStatAsyncScans = 12,
    kStatDirectScans = 13,
    kStatAsyncReclaims = 14,
    kStatDirectReclaims = 15,
    kStatTagCount = 16,
};
}  // namespace balloon

}  // namespace vbsim::spec
