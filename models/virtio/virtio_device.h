#pragma once

#include <cstdint>
#include <string>

#include <systemc>

#include "models/virtio/dma_port.h"
#include "models/virtio/split_virtqueue.h"

namespace vbsim::models {

// What a transport (virtio-mmio here; PCI could be another) offers the device it
// carries. The device never knows which transport it sits behind.
class VirtioTransport {
  public:
    // The live queue `index`, or nullptr when the driver has not enabled it (or
    // the transport was reset). Never keep the pointer across a wait().
    virtual SplitVirtqueue* queue(unsigned int index) = 0;
    // Guest memory, for data the device reads or writes outside the rings.
    virtual DmaPort& dma() = 0;
    // The device put buffers on the used ring of `index`: interrupt the driver if it
    // asked for one. `delay`: how far the device's time is ahead of SystemC's.
    virtual void used_buffers(unsigned int index, const sc_core::sc_time& delay) = 0;
    // The device changed its config space: bump ConfigGeneration, interrupt.
    virtual void config_changed() = 0;
    // The device hit a driver error it cannot recover from: DEVICE_NEEDS_RESET. `delay`: how
    // far the device's time is ahead of SystemC's.
    virtual void needs_reset(const std::string& reason, const sc_core::sc_time& delay) = 0;
    void needs_reset(const std::string& reason) { needs_reset(reason, sc_core::SC_ZERO_TIME); }
    // When the interrupt line rises for a cause raised and not yet on it; sc_max_time() when
    // none is on its way.
    virtual sc_core::sc_time interrupt_rise_due() const = 0;
    // The time the register access being served counts at (the driver's, see
    // models::InitiatorTime); sc_time_stamp() outside one.
    virtual sc_core::sc_time access_time() const = 0;
    // The driver did something the spec frowns on that the device serves anyway (what
    // QEMU logs under -d guest_errors): counted, reported once per `kind`.
    virtual void guest_error(const char* kind, const std::string& what) = 0;
    // Features the driver accepted (for legacy: written so far).
    virtual uint64_t negotiated_features() const = 0;
    virtual bool is_legacy() const = 0;
    // Changes whenever the transport resets the device; work started under an older
    // generation must be dropped.
    virtual uint64_t reset_generation() const = 0;

  protected:
    ~VirtioTransport() = default;
};

// A virtio device type (balloon, rng...) as the transport sees it.
class VirtioDevice {
  public:
    virtual ~VirtioDevice() = default;

    virtual void attach(VirtioTransport& transport) = 0;

    virtual uint32_t device_id() const = 0;
    // Device-type feature bits offered (the transport adds ring and VERSION_1 bits).
    virtual uint64_t device_features() const = 0;
    // Last word before FEATURES_OK: the device may refuse a feature combination.
    virtual bool accept_features(uint64_t features, std::string& why_not) const = 0;
    // QueueNumMax for queue `index` under `features`; 0 when the queue does not exist.
    virtual uint32_t queue_num_max(unsigned int index, uint64_t features) const = 0;

    virtual uint32_t config_size() const = 0;
    // Config-space access of `width` (1, 2 or 4) bytes at naturally aligned `offset`
    // (little-endian value). False when the access falls outside the config space.
    virtual bool read_config(uint32_t offset, unsigned int width, uint32_t& value) = 0;
    virtual bool write_config(uint32_t offset, unsigned int width, uint32_t value) = 0;

    // The driver set DRIVER_OK.
    virtual void driver_ok() = 0;
    // QueueNotify for `index`; `delay` is the notifying initiator's time offset.
    virtual void queue_notify(unsigned int index, const sc_core::sc_time& delay) = 0;
    // The driver reset one queue (QueueReset) or the whole device (Status = 0).
    virtual void queue_reset(unsigned int index) = 0;
    virtual void reset() = 0;
};

}  // namespace vbsim::models
