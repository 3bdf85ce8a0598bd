#include "models/virtio/virtio_mmio.h"

#include <algorithm>
#include <sstream>

#include "models/timing/current_time.h"
#include "models/timing/initiator_time.h"
#include "models/timing/max_time.h"
#include "spec/little_endian.h"
#include "spec/virtio.h"

namespace vbsim::models {

namespace {

namespace reg = spec::mmio;

constexpr const char* kReportType = "vbsim/virtio-mmio";

bool is_power_of_two(uint64_t value) {
    return value != 0 && (value & (value - 1)) == 0;
}

std::string hex(uint64_t value) {
    std::ostringstream text;
    text << "0x" << std::hex << value;
    return text.str();
}

// Register and config values are little-endian on the bus; widths are 1, 2 or 4 bytes.
uint32_t load_le(const unsigned char* data, unsigned int width) {
    return static_cast<uint32_t>(spec::load_le(data, width));
}

void store_le(unsigned char* data, unsigned int width, uint32_t value) {
    spec::store_le(data, width, value);
}

}  // namespace

VirtioMmio::VirtioMmio(const sc_core::sc_module_name& name, const VirtioMmioParams& params,
                       VirtioDevice& device)
    : sc_core::sc_module(name),
      target_socket("target_socket"),
      dma_socket("dma_socket"),
      irq("irq"),
      params_(params),
      device_(device) {
    if (params_.version != reg::kVersionLegacy && params_.version != reg::kVersionModern) {
        SC_REPORT_ERROR(kReportType, "virtio-mmio version must be 1 (legacy) or 2 (modern)");
    }
    target_socket.register_b_transport(this, &VirtioMmio::b_transport);
    target_socket.register_transport_dbg(this, &VirtioMmio::transport_dbg);
    dma_socket.register_invalidate_direct_mem_ptr(this, &VirtioMmio::invalidate_dmi);

    SC_HAS_PROCESS(VirtioMmio);
    SC_METHOD(drive_irq);
    sensitive << irq_update_event_ << ahead_event_;
    dont_initialize();

    device_.attach(*this);
}

uint64_t VirtioMmio::offered_features() const {
    uint64_t features = device_.device_features();
    if (params_.offer_event_idx) {
        features |= spec::feature::bit(spec::feature::kRingEventIdx);
    }
    if (params_.offer_indirect) {
        features |= spec::feature::bit(spec::feature::kRingIndirectDesc);
    }
    if (params_.version == reg::kVersionModern) {
        features |= spec::feature::bit(spec::feature::kVersion1);
        if (params_.offer_ring_reset) {
            features |= spec::feature::bit(spec::feature::kRingReset);
        }
    }
    return features;
}

// ---- register window ------------------------------------------------------------

void VirtioMmio::reject(tlm::tlm_generic_payload& trans, tlm::tlm_response_status status,
                        const std::string& why) {
    ++counters_.bad_accesses;
    trans.set_response_status(status);
    SC_REPORT_WARNING(kReportType, (std::string(name()) + ": " + why).c_str());
}

void VirtioMmio::ignore_write(uint32_t offset, const std::string& why) {
    ++counters_.ignored_writes;
    SC_REPORT_WARNING(
        kReportType,
        (std::string(name()) + ": write to " + hex(offset) + " ignored: " + why).c_str());
}

bool VirtioMmio::check_access(tlm::tlm_generic_payload& trans) {
    const uint64_t offset = trans.get_address();
    const unsigned int length = trans.get_data_length();
    if (!trans.is_read() && !trans.is_write()) {
        reject(trans, tlm::TLM_COMMAND_ERROR_RESPONSE, "unsupported TLM command");
        return false;
    }
    if (offset >= reg::kWindowSize || length > reg::kWindowSize - offset) {
        reject(trans, tlm::TLM_ADDRESS_ERROR_RESPONSE,
               "access at " + hex(offset) + " outside the register window");
        return false;
    }
    if (trans.get_streaming_width() < length) {
        reject(trans, tlm::TLM_BURST_ERROR_RESPONSE, "streaming access to registers");
        return false;
    }
    const unsigned char* enables = trans.get_byte_enable_ptr();
    if (enables != nullptr) {
        for (unsigned int i = 0; i < length; ++i) {
            if (enables[i % trans.get_byte_enable_length()] != TLM_BYTE_ENABLED) {
                reject(trans, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE,
                       "partial byte enables on register " + hex(offset));
                return false;
            }
        }
    }
    if (offset < reg::kConfig) {
        if (length != 4 || offset % 4 != 0) {
            reject(trans, tlm::TLM_GENERIC_ERROR_RESPONSE,
                   std::to_string(length) + "-byte access at " + hex(offset) +
                       ": control registers take aligned 32-bit accesses only");
            return false;
        }
    } else if ((length != 1 && length != 2 && length != 4) || offset % length != 0) {
        // Misaligned accesses are invalid on this bus, as in QEMU's memory core; any aligned
        // width reaches the device, which decides what it serves.
        reject(trans, tlm::TLM_GENERIC_ERROR_RESPONSE,
               std::to_string(length) + "-byte access at " + hex(offset) +
                   ": config space takes aligned 8, 16 or 32-bit accesses");
        return false;
    }
    return true;
}

sc_core::sc_time VirtioMmio::access_time() const {
    return serving_access_ ? access_time_ : models::current_time();
}

void VirtioMmio::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    // The access's own "now": SystemC's, or its initiator's kernel time when that runs ahead.
    struct Serving {
        explicit Serving(VirtioMmio& transport, const tlm::tlm_generic_payload& payload)
            : mmio(transport) {
            mmio.access_time_ = access_base_time(payload);
            mmio.serving_access_ = true;
        }
        ~Serving() { mmio.serving_access_ = false; }
        Serving(const Serving&) = delete;
        Serving& operator=(const Serving&) = delete;
        VirtioMmio& mmio;
    } serving(*this, trans);
    delay += params_.register_latency;
    if (!check_access(trans)) {
        return;
    }
    const uint32_t offset = static_cast<uint32_t>(trans.get_address());
    const unsigned int width = trans.get_data_length();
    unsigned char* data = trans.get_data_ptr();

    if (offset >= reg::kConfig) {
        const uint32_t config_offset = offset - reg::kConfig;
        bool accepted = false;
        if (trans.is_read()) {
            ++counters_.register_reads;
            uint32_t value = 0;
            accepted = device_.read_config(config_offset, width, value);
            store_le(data, width, value);
        } else {
            ++counters_.register_writes;
            accepted = device_.write_config(config_offset, width, load_le(data, width));
        }
        if (!accepted) {
            reject(trans, tlm::TLM_ADDRESS_ERROR_RESPONSE,
                   "config access of " + std::to_string(width) + " bytes at " + hex(offset) +
                       " is past the device's config space");
            return;
        }
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        if (observer_ != nullptr) {
            observer_->register_access(trans.is_write(), offset, width, load_le(data, width),
                                       models::current_time() + delay);
        }
        return;
    }

    if (trans.is_read()) {
        ++counters_.register_reads;
        uint32_t value = 0;
        if (!read_register(offset, value)) {
            reject(trans, tlm::TLM_ADDRESS_ERROR_RESPONSE,
                   "read of " + hex(offset) + ": no such register in version " +
                       std::to_string(params_.version));
            return;
        }
        store_le(data, 4, value);
    } else {
        ++counters_.register_writes;
        if (!write_register(offset, load_le(data, 4), delay)) {
            reject(trans, tlm::TLM_ADDRESS_ERROR_RESPONSE,
                   "write of " + hex(offset) + ": no such register in version " +
                       std::to_string(params_.version));
            return;
        }
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    if (observer_ != nullptr) {
        observer_->register_access(trans.is_write(), offset, 4, load_le(data, 4),
                                   models::current_time() + delay);
    }
}

unsigned int VirtioMmio::transport_dbg(tlm::tlm_generic_payload& trans) {
    // Register reads have no side effects in virtio-mmio; writes all do, so a
    // debugger may look but not poke.
    const uint64_t offset = trans.get_address();
    if (!trans.is_read() || offset % 4 != 0 || offset >= reg::kWindowSize ||
        trans.get_data_length() < 4) {
        return 0;
    }
    uint32_t value = 0;
    const bool known =
        offset >= reg::kConfig
            ? device_.read_config(static_cast<uint32_t>(offset - reg::kConfig), 4, value)
            : read_register(static_cast<uint32_t>(offset), value);
    if (!known) {
        return 0;
    }
    store_le(trans.get_data_ptr(), 4, value);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return 4;
}

VirtioMmio::QueueRegisters* VirtioMmio::selected_queue() {
    if (queue_sel_ >= kMaxQueues || device_.queue_num_max(queue_sel_, driver_features_) == 0) {
        return nullptr;
    }
    return &queues_[queue_sel_];
}

bool VirtioMmio::read_register(uint32_t offset, uint32_t& value) {
    const bool modern = params_.version == reg::kVersionModern;
    value = 0;
    switch (offset) {
        case reg::kMagicValue:
            value = reg::kMagic;
            return true;
        case reg::kVersion:
            value = params_.version;
            return true;
        case reg::kDeviceId:
            value = device_.device_id();
            return true;
        case reg::kVendorId:
            value = params_.vendor_id;
            return true;
        case reg::kDeviceFeatures:
            if (device_features_sel_ < 2) {
                value = static_cast<uint32_t>(offered_features() >> (32 * device_features_sel_));
            }
            return true;
        case reg::kQueueNumMax:
            value =
                queue_sel_ < kMaxQueues ? device_.queue_num_max(queue_sel_, driver_features_) : 0;
            return true;
        case reg::kInterruptStatus:
            value = interrupt_status_;
            return true;
        case reg::kStatus:
            value = status_;
            return true;
        case reg::kQueuePfn:
            if (modern) {
                return false;
            }
            value = queue_sel_ < kMaxQueues ? queues_[queue_sel_].pfn : 0;
            return true;
        case reg::kQueueReady:
            if (!modern) {
                return false;
            }
            value = queue_sel_ < kMaxQueues && queues_[queue_sel_].ready ? 1 : 0;
            return true;
        case reg::kQueueReset:
            if (!modern) {
                return false;
            }
            value = queue_sel_ < kMaxQueues && queues_[queue_sel_].reset_done ? 1 : 0;
            return true;
        case reg::kShmLenLow:
        case reg::kShmLenHigh:
        case reg::kShmBaseLow:
        case reg::kShmBaseHigh:
            if (!modern) {
                return false;
            }
            value = 0xffffffff;  // no shared memory regions: length -1 means "none"
            return true;
        case reg::kConfigGeneration:
            if (!modern) {
                return false;
            }
            value = config_generation_;
            return true;
        case reg::kDeviceFeaturesSel:
        case reg::kDriverFeatures:
        case reg::kDriverFeaturesSel:
        case reg::kQueueSel:
        case reg::kQueueNum:
        case reg::kQueueNotify:
        case reg::kInterruptAck:
            break;
        case reg::kGuestPageSize:
        case reg::kQueueAlign:
            if (modern) {
                return false;
            }
            break;
        case reg::kQueueDescLow:
        case reg::kQueueDescHigh:
        case reg::kQueueDriverLow:
        case reg::kQueueDriverHigh:
        case reg::kQueueDeviceLow:
        case reg::kQueueDeviceHigh:
        case reg::kShmSel:
            if (!modern) {
                return false;
            }
            break;
        default:
            return false;
    }
    SC_REPORT_WARNING(kReportType, (std::string(name()) + ": read of write-only register " +
                                    hex(offset) + " returns 0")
                                       .c_str());
    return true;
}

bool VirtioMmio::write_register(uint32_t offset, uint32_t value, const sc_core::sc_time& delay) {
    const bool modern = params_.version == reg::kVersionModern;
    const bool features_locked =
        (status_ & (spec::status::kFeaturesOk | spec::status::kDriverOk)) != 0;
    switch (offset) {
        case reg::kMagicValue:
        case reg::kVersion:
        case reg::kDeviceId:
        case reg::kVendorId:
        case reg::kDeviceFeatures:
        case reg::kQueueNumMax:
        case reg::kInterruptStatus:
            ignore_write(offset, "read-only register");
            return true;
        case reg::kDeviceFeaturesSel:
            device_features_sel_ = value;
            return true;
        case reg::kDriverFeaturesSel:
            driver_features_sel_ = value;
            return true;
        case reg::kDriverFeatures:
            if (features_locked) {
                ignore_write(offset, "features are fixed once FEATURES_OK or DRIVER_OK is set");
            } else if (!modern && driver_features_sel_ != 0) {
                // Legacy devices have one feature word. Linux 6.1 writes word 1 (as 0) all the
                // same; QEMU drops the write and logs a guest error, as here.
                guest_error("legacy-features-word", "write to DriverFeatures word " +
                                                        std::to_string(driver_features_sel_) +
                                                        " ignored: legacy devices have one");
            } else if (driver_features_sel_ < 2) {
                const unsigned int shift = 32 * driver_features_sel_;
                driver_features_ = (driver_features_ & ~(uint64_t{0xffffffff} << shift)) |
                                   (uint64_t{value} << shift);
            }
            return true;
        case reg::kQueueSel:
            queue_sel_ = value;
            return true;
        case reg::kStatus:
            write_status(value);
            return true;
        case reg::kQueueNotify:
            write_queue_notify(value, delay);
            return true;
        case reg::kInterruptAck:
            if (observer_ != nullptr && (interrupt_status_ & value) != 0) {
                observer_->interrupt_acked(interrupt_status_ & value,
                                           models::current_time() + delay);
            }
            if ((interrupt_status_ & value) != 0) {
                acknowledge_interrupt(value, access_time_, models::current_time() + delay);
            }
            return true;
        default:
            break;
    }

    // Legacy-only and modern-only registers.
    if (!modern) {
        switch (offset) {
            case reg::kGuestPageSize:
                if (!is_power_of_two(value)) {
                    ignore_write(offset, "GuestPageSize must be a power of two");
                } else {
                    guest_page_size_ = value;
                }
                return true;
            case reg::kQueueAlign:
            case reg::kQueueNum:
            case reg::kQueuePfn: {
                QueueRegisters* queue = selected_queue();
                if (queue == nullptr) {
                    if (offset != reg::kQueuePfn || value != 0) {
                        ignore_write(offset,
                                     "queue " + std::to_string(queue_sel_) + " does not exist");
                    }
                    // QueuePFN = 0 deactivates: nothing to do for a queue that is not there.
                    return true;
                }
                if (offset == reg::kQueuePfn) {
                    disable_queue(queue_sel_);
                    queue->pfn = value;
                    if (value != 0 && !enable_queue(queue_sel_)) {
                        queue->pfn = 0;
                    }
                } else if (queue->ready) {
                    ignore_write(offset, "queue " + std::to_string(queue_sel_) + " is active");
                } else if (offset == reg::kQueueNum) {
                    queue->num = value;
                } else if (!is_power_of_two(value)) {
                    ignore_write(offset, "QueueAlign must be a power of two");
                } else {
                    queue->align = value;
                }
                return true;
            }
            default:
                return false;
        }
    }

    switch (offset) {
        case reg::kQueueNum:
        case reg::kQueueDescLow:
        case reg::kQueueDescHigh:
        case reg::kQueueDriverLow:
        case reg::kQueueDriverHigh:
        case reg::kQueueDeviceLow:
        case reg::kQueueDeviceHigh: {
            QueueRegisters* queue = selected_queue();
            if (queue == nullptr) {
                ignore_write(offset, "queue " + std::to_string(queue_sel_) + " does not exist");
                return true;
            }
            if (queue->ready) {
                ignore_write(offset, "queue " + std::to_string(queue_sel_) + " is ready");
                return true;
            }
            auto set_half = [value](uint64_t& field, bool high) {
                const unsigned int shift = high ? 32 : 0;
                field = (field & ~(uint64_t{0xffffffff} << shift)) | (uint64_t{value} << shift);
            };
            switch (offset) {
                case reg::kQueueNum:
                    queue->num = value;
                    break;
                case reg::kQueueDescLow:
                case reg::kQueueDescHigh:
                    set_half(queue->desc, offset == reg::kQueueDescHigh);
                    break;
                case reg::kQueueDriverLow:
                case reg::kQueueDriverHigh:
                    set_half(queue->driver, offset == reg::kQueueDriverHigh);
                    break;
                default:
                    set_half(queue->device, offset == reg::kQueueDeviceHigh);
                    break;
            }
            return true;
        }
        case reg::kQueueReady: {
            QueueRegisters* queue = selected_queue();
            if (queue == nullptr) {
                // Linux's del_vqs resets the device first, then writes QueueReady = 0 to every
                // queue it had, even those that exist only under the features the reset
                // cleared (statsq): deactivating a queue that is not there is a no-op.
                if (value != 0) {
                    ignore_write(offset, "queue " + std::to_string(queue_sel_) + " does not exist");
                }
            } else if (value == 0) {
                disable_queue(queue_sel_);
            } else if (!queue->ready) {
                enable_queue(queue_sel_);
            }
            return true;
        }
        case reg::kQueueReset: {
            QueueRegisters* queue = selected_queue();
            if ((driver_features_ & spec::feature::bit(spec::feature::kRingReset)) == 0) {
                // The driver may only use QueueReset with RING_RESET negotiated: a reset of a
                // live queue behind the device's back is not served.
                guest_error("queue-reset", "QueueReset of queue " + std::to_string(queue_sel_) +
                                               " ignored: RING_RESET was not negotiated");
            } else if (queue == nullptr) {
                ignore_write(offset, "queue " + std::to_string(queue_sel_) + " does not exist");
            } else if (value == 1) {
                disable_queue(queue_sel_);
                device_.queue_reset(queue_sel_);
                *queue = QueueRegisters{};
                queue->reset_done = true;
            }
            return true;
        }
        case reg::kShmSel:
            shm_sel_ = value;
            return true;
        case reg::kShmLenLow:
        case reg::kShmLenHigh:
        case reg::kShmBaseLow:
        case reg::kShmBaseHigh:
        case reg::kConfigGeneration:
            ignore_write(offset, "read-only register");
            return true;
        default:
            return false;
    }
}

void VirtioMmio::write_status(uint32_t value) {
    if (value == 0) {
        reset_device();
        return;
    }
    const uint32_t kept = status_ & spec::status::kDeviceNeedsReset;
    if ((status_ & ~kept & ~value) != 0) {
        ignore_write(reg::kStatus, "the driver may not clear status bits except by reset");
        value |= status_;
    }
    uint32_t added = value & ~status_;
    const bool modern = params_.version == reg::kVersionModern;

    if ((added & spec::status::kFeaturesOk) != 0) {
        std::string why_not;
        const uint64_t unknown = driver_features_ & ~offered_features();
        if (!modern) {
            why_not = "legacy devices have no FEATURES_OK step";
        } else if (unknown != 0) {
            why_not = "driver accepted features the device did not offer: " + hex(unknown);
        } else if ((driver_features_ & spec::feature::bit(spec::feature::kVersion1)) == 0) {
            why_not = "driver did not accept VERSION_1";
        } else {
            device_.accept_features(driver_features_, why_not);
        }
        if (!why_not.empty()) {
            SC_REPORT_WARNING(kReportType,
                              (std::string(name()) + ": FEATURES_OK refused: " + why_not).c_str());
            added &= ~spec::status::kFeaturesOk;
        }
    }
    if ((added & spec::status::kDriverOk) != 0 && modern &&
        ((status_ | added) & spec::status::kFeaturesOk) == 0) {
        ignore_write(reg::kStatus, "DRIVER_OK without FEATURES_OK");
        added &= ~spec::status::kDriverOk;
    }
    status_ |= added & ~spec::status::kDeviceNeedsReset;

    if ((added & spec::status::kDriverOk) != 0) {
        device_.driver_ok();
        // Drivers may kick before DRIVER_OK (Linux primes the stats queue so): the device
        // only must not consume buffers before it, so those kicks are delivered now.
        const uint32_t early = early_notified_queues_;
        early_notified_queues_ = 0;
        for (unsigned int index = 0; index < kMaxQueues; ++index) {
            if ((early & (1u << index)) != 0 && queues_[index].virtqueue) {
                device_.queue_notify(index, sc_core::SC_ZERO_TIME);
            }
        }
    }
}

void VirtioMmio::write_queue_notify(uint32_t value, const sc_core::sc_time& delay) {
    ++counters_.notifies;
    const uint32_t index = value & 0xffff;
    if (observer_ != nullptr) {
        observer_->queue_notified(index, models::current_time() + delay);
    }
    if (index < VirtioMmioCounters::kCountedQueues) {
        ++counters_.queue_notifies[index];
    }
    if ((status_ & spec::status::kDeviceNeedsReset) != 0) {
        return;  // a device waiting for reset does no work
    }
    if ((status_ & spec::status::kDriverOk) == 0) {
        ++counters_.early_notifies;
        if (index < kMaxQueues) {
            early_notified_queues_ |= 1u << index;
        }
        return;
    }
    if (index >= kMaxQueues || !queues_[index].virtqueue) {
        ignore_write(reg::kQueueNotify, "queue " + std::to_string(index) + " is not live");
        return;
    }
    device_.queue_notify(index, delay);
}

bool VirtioMmio::enable_queue(unsigned int index) {
    QueueRegisters& queue = queues_[index];
    const uint32_t max = device_.queue_num_max(index, driver_features_);
    const bool modern = params_.version == reg::kVersionModern;
    std::string why_not;
    if (max == 0) {
        why_not = "the queue does not exist";
    } else if (queue.num == 0 || queue.num > max || !is_power_of_two(queue.num)) {
        why_not = "QueueNum " + std::to_string(queue.num) + " is not a power of two in 1.." +
                  std::to_string(max);
    } else if (!modern && guest_page_size_ == 0) {
        why_not = "GuestPageSize was not written before QueuePFN";
    }

    VirtqueueLayout layout;
    layout.size = queue.num;
    layout.event_idx = (driver_features_ & spec::feature::bit(spec::feature::kRingEventIdx)) != 0;
    layout.indirect =
        (driver_features_ & spec::feature::bit(spec::feature::kRingIndirectDesc)) != 0;
    if (why_not.empty()) {
        if (modern) {
            layout.descriptor_table = queue.desc;
            layout.avail_ring = queue.driver;
            layout.used_ring = queue.device;
            if (queue.desc % spec::vring::kDescriptorAlign != 0 ||
                queue.driver % spec::vring::kAvailAlign != 0 ||
                queue.device % spec::vring::kUsedAlign != 0) {
                why_not = "ring addresses are not aligned (16/2/4)";
            }
        } else {
            const uint64_t base = uint64_t{queue.pfn} * guest_page_size_;
            layout.descriptor_table = base;
            layout.avail_ring = base + spec::vring::descriptor_table_bytes(queue.num);
            layout.used_ring = base + spec::vring::legacy_used_offset(queue.num, queue.align);
        }
    }
    if (!why_not.empty()) {
        SC_REPORT_WARNING(kReportType, (std::string(name()) + ": queue " + std::to_string(index) +
                                        " not enabled: " + why_not)
                                           .c_str());
        return false;
    }
    queue.virtqueue = std::make_unique<SplitVirtqueue>(static_cast<DmaPort&>(*this), layout);
    queue.ready = true;
    queue.reset_done = false;
    return true;
}

void VirtioMmio::disable_queue(unsigned int index) {
    queues_[index].virtqueue.reset();
    queues_[index].ready = false;
}

void VirtioMmio::reset_device() {
    ++counters_.device_resets;
    ++reset_generation_;
    device_.reset();
    for (unsigned int index = 0; index < kMaxQueues; ++index) {
        queues_[index] = QueueRegisters{};
    }
    status_ = 0;
    device_features_sel_ = 0;
    driver_features_sel_ = 0;
    driver_features_ = 0;
    // GuestPageSize survives a reset, as in QEMU: legacy Linux writes it once, before
    // its first reset, and never again.
    queue_sel_ = 0;
    shm_sel_ = 0;
    early_notified_queues_ = 0;
    needs_reset_reason_.clear();
    if (interrupt_status_ != 0) {
        acknowledge_interrupt(interrupt_status_, models::current_time(), models::current_time());
    }
}

// ---- VirtioTransport ------------------------------------------------------------

SplitVirtqueue* VirtioMmio::queue(unsigned int index) {
    if (index >= kMaxQueues || (status_ & spec::status::kDeviceNeedsReset) != 0) {
        return nullptr;
    }
    return queues_[index].virtqueue.get();
}

void VirtioMmio::used_buffers(unsigned int index, const sc_core::sc_time& delay) {
    SplitVirtqueue* virtqueue = queue(index);
    sc_core::sc_time read_delay = delay;  // the interrupt does not wait for this read
    if (virtqueue != nullptr && virtqueue->should_interrupt(read_delay)) {
        raise_interrupt(reg::kInterruptUsedBuffer, delay);
    }
    if (virtqueue != nullptr && virtqueue->broken()) {
        needs_reset(virtqueue->broken_reason());
    }
}

void VirtioMmio::config_changed() {
    ++config_generation_;
    // Like QEMU: no config interrupt before the driver is ready to take it.
    if ((status_ & spec::status::kDriverOk) != 0) {
        raise_interrupt(reg::kInterruptConfigChange);
    }
}

void VirtioMmio::needs_reset(const std::string& reason, const sc_core::sc_time& delay) {
    if ((status_ & spec::status::kDeviceNeedsReset) != 0) {
        return;  // report once
    }
    ++counters_.needs_reset_events;
    status_ |= spec::status::kDeviceNeedsReset;
    needs_reset_reason_ = reason;
    SC_REPORT_WARNING(kReportType,
                      (std::string(name()) + ": DEVICE_NEEDS_RESET: " + reason).c_str());
    if ((status_ & spec::status::kDriverOk) != 0) {
        ++config_generation_;
        raise_interrupt(reg::kInterruptConfigChange, delay);
    }
}

void VirtioMmio::guest_error(const char* kind, const std::string& what) {
    ++counters_.guest_errors;
    if (guest_errors_reported_.insert(kind).second) {
        SC_REPORT_WARNING(kReportType, (std::string(name()) + ": guest error (served; further " +
                                        kind + " errors are only counted): " + what)
                                           .c_str());
    }
}

// ---- interrupt line -------------------------------------------------------------

void VirtioMmio::raise_interrupt(uint32_t bits, const sc_core::sc_time& delay) {
    const uint32_t before = interrupt_status_;
    const uint32_t added = bits & ~before;
    if ((added & reg::kInterruptUsedBuffer) != 0) {
        ++counters_.used_buffer_interrupts;
    }
    if ((added & reg::kInterruptConfigChange) != 0) {
        ++counters_.config_interrupts;
    }
    interrupt_status_ |= bits;
    const sc_core::sc_time at = models::current_time() + delay;
    if (observer_ != nullptr && added != 0) {
        observer_->interrupt_raised(added, at);
    }
    change_line_status(at, bits, 0, irq_trace_low_at_);
    if (before == 0 && interrupt_status_ != 0) {
        ++counters_.interrupts_raised;
        rise_due_ = at + params_.interrupt_latency;
        update_line_at(rise_due_);
    }
}

void VirtioMmio::acknowledge_interrupt(uint32_t bits, const sc_core::sc_time& at,
                                       const sc_core::sc_time& annotated) {
    interrupt_status_ &= ~bits;
    if (interrupt_status_ != 0) {
        change_line_status(at, 0, bits, irq_trace_low_at_);
        return;
    }
    rise_due_ = max_time();
    change_line_status(at, 0, bits, annotated);
    update_line_at(at);  // a delta cycle after the access when in step
    if (fold_pulses_seen_ahead_) {
        fold_pulse_seen_ahead(at);
    }
}

void VirtioMmio::fold_pulse_seen_ahead(const sc_core::sc_time& at) {
    // Only changes all still to come, and the ACK's update the last of them.
    const sc_core::sc_time now = models::current_time();
    if (at <= now || ahead_.empty() || ahead_.front().at <= now || ahead_.back().at > at) {
        return;
    }
    // An update due now (after an ACK in step) drives the line from line_status_ as it is.
    const bool update_due_now = irq_update_pending_ && irq_update_due_ <= now;
    // drive_irq's runs to come, in their order: at each update's time, the changes queued up
    // to it; a pending irq_update_event_ after the queued changes at or before its time.
    const auto walk = [this](auto&& status_change, auto&& update) {
        bool pending_update = irq_update_pending_ && !irq_update_traced_;
        for (const AheadEvent& event : ahead_) {
            if (pending_update && event.at > irq_update_due_) {
                update(irq_update_due_);
                pending_update = false;
            }
            if (event.update) {
                update(event.at);
            } else {
                status_change(event);
            }
        }
        if (pending_update) {
            update(irq_update_due_);
        }
    };
    uint32_t status = line_status_;
    const bool start_level = update_due_now ? line_status_ != 0 : irq.read();
    bool level = start_level;
    walk([&status](const AheadEvent& event) { status = (status | event.set) & ~event.clear; },
         [&status, &level](const sc_core::sc_time&) { level = status != 0; });
    if (level != start_level) {
        return;  // the line itself moves: drive_irq does it at its time
    }
    walk(
        [this](const AheadEvent& event) {
            line_status_ = (line_status_ | event.set) & ~event.clear;
            if (event.clear != 0) {
                irq_trace_low_at_ = event.trace_low_at;
            }
        },
        [this](const sc_core::sc_time& time) {
            const bool high = line_status_ != 0;
            irq_trace_.set_as_of(high, high ? time : irq_trace_low_at_, time);
        });
    ahead_.clear();
    ahead_event_.cancel();  // drive_irq's wake-ups for them
    if (update_due_now) {
        irq_update_traced_ = true;  // it still drives the line, to the level it had
    } else {
        irq_update_event_.cancel();
        irq_update_pending_ = false;
    }
    ++counters_.pulses_folded;
}

void VirtioMmio::change_line_status(const sc_core::sc_time& at, uint32_t set, uint32_t clear,
                                    const sc_core::sc_time& trace_low_at) {
    if (at <= models::current_time() && ahead_.empty()) {
        line_status_ = (line_status_ | set) & ~clear;
        if (clear != 0) {
            irq_trace_low_at_ = trace_low_at;
        }
        return;
    }
    add_ahead(AheadEvent{at, false, set, clear, trace_low_at});
}

void VirtioMmio::update_line_at(const sc_core::sc_time& at) {
    const sc_core::sc_time now = models::current_time();
    if (at <= now) {
        irq_update_event_.notify(sc_core::SC_ZERO_TIME);
        note_irq_update(now);
    } else if (ahead_.empty()) {
        irq_update_event_.notify(at - now);  // a raise in step: the interrupt latency later
        note_irq_update(at);
    } else {
        add_ahead(AheadEvent{at, true, 0, 0, sc_core::SC_ZERO_TIME});
    }
}

void VirtioMmio::note_irq_update(const sc_core::sc_time& at) {
    // As SystemC keeps a pending notification: the earlier of two.
    if (!irq_update_pending_ || at < irq_update_due_) {
        irq_update_due_ = at;
    }
    irq_update_pending_ = true;
}

void VirtioMmio::add_ahead(const AheadEvent& event) {
    // After everything at or before its time: one guest's changes come in their order.
    const auto later = std::upper_bound(
        ahead_.begin(), ahead_.end(), event.at,
        [](const sc_core::sc_time& time, const AheadEvent& queued) { return time < queued.at; });
    ahead_.insert(later, event);
    if (event.update) {
        if (deferring_guest_.valid() &&
            sc_core::sc_get_current_process_handle() == deferring_guest_) {
            line_wakeup_owed_ = true;  // given when the guest goes back to SystemC
            ++counters_.line_wakeups_deferred;
        } else {
            notify_next_update();
        }
    }
}

void VirtioMmio::notify_next_update() {
    // Status changes alone move nothing: they wait for the update that shows them.
    for (const AheadEvent& queued : ahead_) {
        if (queued.update) {
            ahead_event_.notify(queued.at - models::current_time());
            return;
        }
    }
}

void VirtioMmio::drive_irq() {
    const sc_core::sc_time now = models::current_time();
    // What happened ahead up to now, in its order: an update sees the changes before it.
    while (!ahead_.empty() && ahead_.front().at <= now) {
        const AheadEvent event = ahead_.front();
        ahead_.pop_front();
        if (event.update) {
            update_line();
            continue;
        }
        line_status_ = (line_status_ | event.set) & ~event.clear;
        if (event.clear != 0) {
            irq_trace_low_at_ = event.trace_low_at;
        }
    }
    notify_next_update();
    if (irq_update_event_.triggered()) {
        irq_update_pending_ = false;
        update_line(!irq_update_traced_);
        irq_update_traced_ = false;
    }
}

void VirtioMmio::update_line(bool trace) {
    const sc_core::sc_time now = models::current_time();
    const bool level = line_status_ != 0;
    irq.write(level);
    if (level || interrupt_status_ == 0) {
        rise_due_ = max_time();  // risen, or its cause gone
    }
    // The trace drops at the ACK's own time, later than SystemC's when the guest ran ahead
    // or annotated the access (given now, not driven then); a rise before it replaces it.
    if (trace) {
        irq_trace_.set(level, level ? now : irq_trace_low_at_);
    }
}

// ---- DMA ------------------------------------------------------------------------

bool VirtioMmio::dma_read(uint64_t address, void* data, size_t length, sc_core::sc_time& delay) {
    if (observer_ != nullptr) {
        observer_->dma(false, address, length, models::current_time() + delay);
    }
    return count_dma(bus_.read(*dma_socket[0], address, data, length, delay));
}

bool VirtioMmio::dma_write(uint64_t address, const void* data, size_t length,
                           sc_core::sc_time& delay) {
    if (observer_ != nullptr) {
        observer_->dma(true, address, length, models::current_time() + delay);
    }
    return count_dma(bus_.write(*dma_socket[0], address, data, length, delay));
}

bool VirtioMmio::count_dma(bool ok) {
    counters_.dma_transactions = bus_.counters().transactions + bus_.counters().dmi_accesses;
    counters_.dma_bytes = bus_.counters().bytes;
    counters_.dma_errors = bus_.counters().errors;
    return ok;
}

void VirtioMmio::invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end) {
    bus_.invalidate(start, end);
}

}  // namespace vbsim::models
