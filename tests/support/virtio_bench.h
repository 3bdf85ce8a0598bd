#pragma once

// A register-level test bench for virtio-mmio devices: guest RAM and the device's
// register window on one bus, a test initiator standing in for the CPU, and a
// minimal hand-written "driver" that lays out split rings in RAM. No driver code
// from sw/ is used, so the device is tested against the specification alone.

#include <cstdint>
#include <cstring>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/virtio/virtio_mmio.h"
#include "spec/virtio.h"
#include "tests/support/test_initiator.h"

namespace vbsim::test {

constexpr uint64_t kRamBase = 0x80000000;
constexpr uint64_t kRamSize = 16 << 20;
constexpr uint64_t kMmioBase = 0x10001000;
// Queue q's rings live at kRingArea + q * kRingStride; buffers from kBufferArea.
constexpr uint64_t kRingArea = kRamBase;
constexpr uint64_t kRingStride = 0x10000;
constexpr uint64_t kBufferArea = kRamBase + 0x100000;

inline models::MemoryParams bench_memory_params() {
    models::MemoryParams params;
    params.size = kRamSize;
    params.read_latency = sc_core::sc_time(10, sc_core::SC_NS);
    params.write_latency = sc_core::sc_time(10, sc_core::SC_NS);
    params.bandwidth_bytes_per_ns = 0.0;
    return params;
}

// Fast, round numbers for the device under test: 100 ns per page, 1 µs per buffer.
inline models::BalloonDeviceParams bench_balloon_params() {
    models::BalloonDeviceParams params;
    params.guest_ram_base = kRamBase;
    params.guest_ram_bytes = kRamSize;
    params.inflate_costs = {sc_core::sc_time(1, sc_core::SC_US), sc_core::SC_ZERO_TIME,
                            sc_core::sc_time(100, sc_core::SC_NS)};
    params.deflate_costs = params.inflate_costs;
    return params;
}

inline models::VirtioMmioParams bench_mmio_params(uint32_t version) {
    models::VirtioMmioParams params;
    params.version = version;
    params.register_latency = sc_core::sc_time(40, sc_core::SC_NS);
    params.interrupt_latency = sc_core::sc_time(500, sc_core::SC_NS);
    return params;
}

inline models::RouterParams bench_bus_params() {
    models::RouterParams params;
    params.hop_latency = sc_core::sc_time(2, sc_core::SC_NS);
    params.regions.push_back({"ram", kRamBase, kRamSize, 0});
    params.regions.push_back({"virtio", kMmioBase, spec::mmio::kWindowSize, 1});
    return params;
}

class VirtioBench {
  public:
    struct Buffer {
        uint64_t address;
        uint32_t length;
        bool device_writable;
    };

    VirtioBench(models::VirtioDevice& device, const models::VirtioMmioParams& mmio_params)
        : cpu("cpu"),
          bus("bus", bench_bus_params()),
          ram("ram", bench_memory_params()),
          mmio("mmio", mmio_params, device),
          irq("irq") {
        cpu.socket.bind(bus.target_socket);
        mmio.dma_socket.bind(bus.target_socket);
        bus.initiator_socket.bind(ram.socket);
        bus.initiator_socket.bind(mmio.target_socket);
        mmio.irq.bind(irq);
        version_ = mmio_params.version;
    }

    // ---- registers ----
    uint32_t read(uint32_t offset) { return cpu.read32(kMmioBase + offset); }
    tlm::tlm_response_status write(uint32_t offset, uint32_t value) {
        return cpu.write32(kMmioBase + offset, value).status;
    }
    tlm::tlm_response_status status_of_read(uint32_t offset) {
        tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
        cpu.read32(kMmioBase + offset, &status);
        return status;
    }

    // ---- guest RAM, through debug access so counters stay the device's own ----
    void poke(uint64_t address, const void* data, size_t length) {
        cpu.debug(tlm::TLM_WRITE_COMMAND, address, const_cast<void*>(data),
                  static_cast<unsigned int>(length));
    }
    void peek(uint64_t address, void* data, size_t length) {
        cpu.debug(tlm::TLM_READ_COMMAND, address, data, static_cast<unsigned int>(length));
    }
    template <typename T>
    void poke_le(uint64_t address, T value) {
        poke(address, &value, sizeof value);  // the host is little-endian, as the rings
    }
    template <typename T>
    T peek_le(uint64_t address) {
        T value{};
        peek(address, &value, sizeof value);
        return value;
    }

    // ---- init sequences ----
    // Modern: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. Returns the status read back.
    uint32_t negotiate(uint64_t driver_features) {
        write(spec::mmio::kStatus, 0);
        write(spec::mmio::kStatus, spec::status::kAcknowledge);
        write(spec::mmio::kStatus, spec::status::kAcknowledge | spec::status::kDriver);
        write(spec::mmio::kDriverFeaturesSel, 0);
        write(spec::mmio::kDriverFeatures, static_cast<uint32_t>(driver_features));
        if (version_ == spec::mmio::kVersionModern) {  // legacy has one feature word
            write(spec::mmio::kDriverFeaturesSel, 1);
            write(spec::mmio::kDriverFeatures, static_cast<uint32_t>(driver_features >> 32));
        }
        uint32_t status = spec::status::kAcknowledge | spec::status::kDriver;
        if (version_ == spec::mmio::kVersionModern) {
            status |= spec::status::kFeaturesOk;
            write(spec::mmio::kStatus, status);
        } else {
            write(spec::mmio::kGuestPageSize, 4096);
        }
        return read(spec::mmio::kStatus);
    }

    uint64_t ring_base(unsigned int queue) const { return kRingArea + queue * kRingStride; }
    uint64_t desc_addr(unsigned int queue) const { return ring_base(queue); }
    uint64_t avail_addr(unsigned int queue) const {
        return ring_base(queue) + spec::vring::descriptor_table_bytes(sizes_[queue]);
    }
    uint64_t used_addr(unsigned int queue) const {
        return version_ == spec::mmio::kVersionModern
                   ? ring_base(queue) + 0x8000
                   : ring_base(queue) + spec::vring::legacy_used_offset(sizes_[queue], 4096);
    }

    // Sets up queue `queue` with `size` entries; returns QueueReady (v2) or QueuePFN != 0.
    bool setup_queue(unsigned int queue, uint32_t size) {
        sizes_[queue] = size;
        std::vector<uint8_t> zeros(kRingStride, 0);
        poke(ring_base(queue), zeros.data(), zeros.size());
        write(spec::mmio::kQueueSel, queue);
        write(spec::mmio::kQueueNum, size);
        if (version_ == spec::mmio::kVersionModern) {
            write(spec::mmio::kQueueDescLow, static_cast<uint32_t>(desc_addr(queue)));
            write(spec::mmio::kQueueDescHigh, static_cast<uint32_t>(desc_addr(queue) >> 32));
            write(spec::mmio::kQueueDriverLow, static_cast<uint32_t>(avail_addr(queue)));
            write(spec::mmio::kQueueDriverHigh, static_cast<uint32_t>(avail_addr(queue) >> 32));
            write(spec::mmio::kQueueDeviceLow, static_cast<uint32_t>(used_addr(queue)));
            write(spec::mmio::kQueueDeviceHigh, static_cast<uint32_t>(used_addr(queue) >> 32));
            write(spec::mmio::kQueueReady, 1);
            return read(spec::mmio::kQueueReady) == 1;
        }
        write(spec::mmio::kQueueAlign, 4096);
        write(spec::mmio::kQueuePfn, static_cast<uint32_t>(ring_base(queue) / 4096));
        return read(spec::mmio::kQueuePfn) != 0;
    }

    void driver_ok() {
        write(spec::mmio::kStatus, read(spec::mmio::kStatus) | spec::status::kDriverOk);
    }

    // Writes a descriptor directly (for malformed-ring tests).
    void write_descriptor(unsigned int queue, uint16_t index, uint64_t address, uint32_t length,
                          uint16_t flags, uint16_t next) {
        const uint64_t at = desc_addr(queue) + 16ull * index;
        poke_le<uint64_t>(at, address);
        poke_le<uint32_t>(at + 8, length);
        poke_le<uint16_t>(at + 12, flags);
        poke_le<uint16_t>(at + 14, next);
    }

    // Publishes descriptor `head` in the avail ring (does not notify).
    void publish(unsigned int queue, uint16_t head) {
        const uint16_t idx = peek_le<uint16_t>(avail_addr(queue) + 2);
        poke_le<uint16_t>(avail_addr(queue) + 4 + 2 * (idx % sizes_[queue]), head);
        poke_le<uint16_t>(avail_addr(queue) + 2, static_cast<uint16_t>(idx + 1));
    }

    // Builds a chain from `buffers` starting at descriptor `first`, publishes it.
    void post(unsigned int queue, uint16_t first, const std::vector<Buffer>& buffers) {
        for (size_t i = 0; i < buffers.size(); ++i) {
            const bool last = i + 1 == buffers.size();
            uint16_t flags = buffers[i].device_writable ? spec::vring::kDescFlagWrite : 0;
            if (!last) {
                flags |= spec::vring::kDescFlagNext;
            }
            write_descriptor(queue, static_cast<uint16_t>(first + i), buffers[i].address,
                             buffers[i].length, flags, static_cast<uint16_t>(first + i + 1));
        }
        publish(queue, first);
    }

    void notify(unsigned int queue) { write(spec::mmio::kQueueNotify, queue); }

    uint16_t used_idx(unsigned int queue) { return peek_le<uint16_t>(used_addr(queue) + 2); }
    uint32_t used_id(unsigned int queue, uint16_t slot) {
        return peek_le<uint32_t>(used_addr(queue) + 4 + 8ull * (slot % sizes_[queue]));
    }

    // Writes `pfns` as le32 at `address`.
    void write_pfns(uint64_t address, const std::vector<uint32_t>& pfns) {
        poke(address, pfns.data(), pfns.size() * 4);
    }

    void run(const sc_core::sc_time& duration) { sc_core::sc_start(duration); }

    TestInitiator cpu;
    models::Router bus;
    models::Memory ram;
    models::VirtioMmio mmio;
    sc_core::sc_signal<bool> irq;

  private:
    uint32_t version_ = 2;
    uint32_t sizes_[8] = {};
};

}  // namespace vbsim::test
