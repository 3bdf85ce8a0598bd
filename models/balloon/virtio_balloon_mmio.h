#pragma once

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/balloon/balloon_device.h"
#include "models/virtio/virtio_mmio.h"

namespace vbsim::models {

struct VirtioBalloonMmioParams {
    VirtioMmioParams transport;
    BalloonDeviceParams device;
};

// A virtio memory balloon on virtio-mmio, as one module to drop into a platform: a target
// socket for the 0x200-byte register window, an initiator socket for DMA into guest RAM, an
// interrupt output and a reset input. Both sockets are kBusWidth bits wide (64 binds to the
// usual tlm_initiator_socket<> buses, 32 to vbsim's own Router); the payloads are the same
// base-protocol payloads at any width, so they pass through unchanged.
//
// `irq` may stay unbound (the interrupt is then not seen) or be bound to an
// sc_signal<bool>: high while InterruptStatus is non-zero. `reset` may stay unbound; a rising
// edge resets the device as a Status = 0 write does.
template <unsigned int kBusWidth = 64>
class VirtioBalloonMmio : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<VirtioBalloonMmio, kBusWidth> target_socket;
    tlm_utils::simple_initiator_socket<VirtioBalloonMmio, kBusWidth> dma_socket;
    sc_core::sc_port<sc_core::sc_signal_inout_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND> irq;
    sc_core::sc_port<sc_core::sc_signal_in_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND> reset;

    VirtioBalloonMmio(const sc_core::sc_module_name& name, const VirtioBalloonMmioParams& params)
        : sc_core::sc_module(name),
          target_socket("target_socket"),
          dma_socket("dma_socket"),
          irq("irq"),
          reset("reset"),
          device_("device", params.device),
          transport_("transport", params.transport, device_),
          transport_registers_("transport_registers"),
          transport_dma_("transport_dma"),
          irq_line_("irq_line") {
        target_socket.register_b_transport(this, &VirtioBalloonMmio::register_access);
        target_socket.register_transport_dbg(this, &VirtioBalloonMmio::register_debug);
        transport_dma_.register_b_transport(this, &VirtioBalloonMmio::dma_access);
        transport_dma_.register_transport_dbg(this, &VirtioBalloonMmio::dma_debug);
        transport_dma_.register_get_direct_mem_ptr(this, &VirtioBalloonMmio::dma_direct);
        dma_socket.register_invalidate_direct_mem_ptr(this, &VirtioBalloonMmio::dma_invalidate);
        transport_registers_.bind(transport_.target_socket);
        transport_.dma_socket.bind(transport_dma_);
        transport_.irq.bind(irq_line_);

        SC_HAS_PROCESS(VirtioBalloonMmio);
        SC_METHOD(drive_irq);
        sensitive << irq_line_;
        dont_initialize();
        SC_THREAD(watch_reset);
    }

    // Host-facing API (target, pages held, stats, observers) and counters.
    BalloonDevice& device() { return device_; }
    const BalloonDevice& device() const { return device_; }
    // Transport state and counters (status, interrupt status, guest errors, DMA).
    VirtioMmio& transport() { return transport_; }
    const VirtioMmio& transport() const { return transport_; }
    bool interrupt_level() const { return irq_line_.read(); }

  private:
    // Registers: straight into the transport's own target socket.
    void register_access(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        transport_registers_->b_transport(trans, delay);
    }
    unsigned int register_debug(tlm::tlm_generic_payload& trans) {
        return transport_registers_->transport_dbg(trans);
    }

    // DMA: the transport's accesses go out of dma_socket as they are; DMI grants and
    // invalidations pass both ways.
    void dma_access(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
        dma_socket->b_transport(trans, delay);
    }
    unsigned int dma_debug(tlm::tlm_generic_payload& trans) {
        return dma_socket->transport_dbg(trans);
    }
    bool dma_direct(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
        return dma_socket->get_direct_mem_ptr(trans, dmi);
    }
    void dma_invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
        transport_dma_->invalidate_direct_mem_ptr(start, end);
    }

    void drive_irq() {
        if (irq.size() != 0) {
            irq->write(irq_line_.read());
        }
    }
    void watch_reset() {
        if (reset.size() == 0) {
            return;
        }
        while (true) {
            wait(reset->posedge_event());
            transport_.hardware_reset();
        }
    }

    BalloonDevice device_;
    VirtioMmio transport_;
    // The transport's own 32-bit sockets, bound inside: the payloads pass through as they are.
    tlm_utils::simple_initiator_socket<VirtioBalloonMmio> transport_registers_;
    tlm_utils::simple_target_socket<VirtioBalloonMmio> transport_dma_;
    sc_core::sc_signal<bool> irq_line_;
};

}  // namespace vbsim::models
