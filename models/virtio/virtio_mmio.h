#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/interconnect/bus_accessor.h"
#include "models/tracing/scheduled_level.h"
#include "models/virtio/dma_port.h"
#include "models/virtio/split_virtqueue.h"
#include "models/virtio/virtio_device.h"
#include "models/virtio/virtio_mmio_observer.h"
#include "spec/virtio.h"

namespace vbsim::models {

struct VirtioMmioParams {
    uint32_t version = 2;             // 2 = modern, 1 = legacy register layout
    uint32_t vendor_id = 0x4d534256;  // "VBSM"
    bool offer_event_idx = true;      // RING_EVENT_IDX
    bool offer_indirect = true;       // RING_INDIRECT_DESC
    bool offer_ring_reset = false;    // RING_RESET: QueueReset (modern only)
    sc_core::sc_time register_latency = sc_core::sc_time(50, sc_core::SC_NS);
    sc_core::sc_time interrupt_latency = sc_core::sc_time(1, sc_core::SC_US);
};

// Protocol errors the transport saw from the driver, for reports and tests.
struct VirtioMmioCounters {
    uint64_t register_reads = 0;
    uint64_t register_writes = 0;
    uint64_t bad_accesses = 0;    // wrong width, alignment, offset: TLM error
    uint64_t ignored_writes = 0;  // read-only or out-of-sequence writes
    uint64_t guest_errors = 0;    // served anyway, as QEMU does (see guest_error())
    uint64_t notifies = 0;
    static constexpr unsigned int kCountedQueues = spec::mmio::kMaxQueues;
    std::array<uint64_t, kCountedQueues> queue_notifies{};  // notifies by queue index
    uint64_t early_notifies = 0;     // before DRIVER_OK: deferred until DRIVER_OK
    uint64_t interrupts_raised = 0;  // rising edges of the interrupt line
    // InterruptStatus bits newly set, by cause (a cause already pending is not counted).
    uint64_t used_buffer_interrupts = 0;
    uint64_t config_interrupts = 0;
    uint64_t device_resets = 0;
    uint64_t needs_reset_events = 0;
    uint64_t dma_transactions = 0;  // bus transactions and DMI copies
    uint64_t dma_bytes = 0;
    uint64_t dma_errors = 0;
    // Rises and drops the guest acknowledged ahead, given to the trace only (see
    // keep_pulses_seen_ahead_off_the_line()).
    uint64_t pulses_folded = 0;
    // Line updates queued by the guest ahead whose wake-up waited for it to go back in step
    // (see defer_line_wakeups_of()).
    uint64_t line_wakeups_deferred = 0;
};

// The virtio-mmio transport: the 0x200-byte register window (legacy or modern
// layout), DMA into guest memory for the device's virtqueues, and a level interrupt
// that is high while InterruptStatus is non-zero.
class VirtioMmio : public sc_core::sc_module, public VirtioTransport, private DmaPort {
  public:
    tlm_utils::simple_target_socket<VirtioMmio> target_socket;  // registers
    tlm_utils::simple_initiator_socket<VirtioMmio> dma_socket;  // guest memory
    sc_core::sc_out<bool> irq;

    VirtioMmio(const sc_core::sc_module_name& name, const VirtioMmioParams& params,
               VirtioDevice& device);

    const VirtioMmioParams& params() const { return params_; }
    // A reset from outside the register window (a platform reset line): as the driver's
    // Status = 0 write.
    void hardware_reset() { reset_device(); }
    const VirtioMmioCounters& counters() const { return counters_; }
    // Reports accesses, notifies, interrupts and DMA to `observer` (null: nobody).
    void set_observer(VirtioMmioObserver* observer) { observer_ = observer; }
    uint32_t status() const { return status_; }
    uint32_t interrupt_status() const { return interrupt_status_; }
    uint32_t config_generation() const { return config_generation_; }
    // Every feature bit this transport offers: device bits plus ring/version bits.
    uint64_t offered_features() const;
    const std::string& needs_reset_reason() const { return needs_reset_reason_; }
    // The interrupt line as the driver experiences it, for waveforms: high from the raise
    // until the driver's ACK at the ACK's own time. `irq` itself drops as soon as the ACK
    // arrives, and under temporal decoupling a driver running ahead ACKs in the same time
    // step as the raise, so a VCD of `irq` (sampled once per time step) misses most pulses.
    // Its drop after an ACK from ahead is given with the ACK's time, not driven then.
    models::ScheduledLevel& irq_for_trace() { return irq_trace_; }
    // When the line rises for a cause raised and not yet visible on it (the interrupt
    // latency after the cause); sc_max_time() when none is on its way.
    sc_core::sc_time interrupt_rise_due() const override { return rise_due_; }
    // For a platform whose only reader of `irq` is the guest that acknowledges it, and which
    // ignores edges before its own time: a rise and its drop that the guest acknowledged while
    // running ahead of SystemC then go to the trace only, with their times, and not through
    // SystemC (`irq` stays low across such a pulse).
    void keep_pulses_seen_ahead_off_the_line() { fold_pulses_seen_ahead_ = true; }
    // For a platform whose guest (`guest`, its CPU's thread) calls
    // give_deferred_line_wakeups() whenever it lets SystemC go on: line updates it queues
    // while running ahead wake drive_irq only then, so those that its ACK folds (above) never
    // reach SystemC's timed-event queue (a cancelled notification stays there until its time).
    void defer_line_wakeups_of(const sc_core::sc_process_handle& guest) {
        deferring_guest_ = guest;
    }
    void give_deferred_line_wakeups() {
        if (line_wakeup_owed_) {
            line_wakeup_owed_ = false;
            notify_next_update();
        }
    }

    // VirtioTransport
    SplitVirtqueue* queue(unsigned int index) override;
    DmaPort& dma() override { return *this; }
    void used_buffers(unsigned int index, const sc_core::sc_time& delay) override;
    void config_changed() override;
    using VirtioTransport::needs_reset;
    void needs_reset(const std::string& reason, const sc_core::sc_time& delay) override;
    sc_core::sc_time access_time() const override;
    void guest_error(const char* kind, const std::string& what) override;
    uint64_t negotiated_features() const override { return driver_features_; }
    bool is_legacy() const override { return params_.version == 1; }
    uint64_t reset_generation() const override { return reset_generation_; }

  private:
    static constexpr unsigned int kMaxQueues = VirtioMmioCounters::kCountedQueues;

    struct QueueRegisters {
        uint32_t num = 0;
        uint32_t align = 4096;  // legacy QueueAlign
        uint32_t pfn = 0;       // legacy QueuePFN
        bool ready = false;     // QueueReady, or legacy QueuePFN != 0
        bool reset_done = false;
        uint64_t desc = 0;
        uint64_t driver = 0;
        uint64_t device = 0;
        std::unique_ptr<SplitVirtqueue> virtqueue;
    };

    // Registers.
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);
    bool check_access(tlm::tlm_generic_payload& trans);
    bool read_register(uint32_t offset, uint32_t& value);
    bool write_register(uint32_t offset, uint32_t value, const sc_core::sc_time& delay);
    void write_status(uint32_t value);
    void write_queue_notify(uint32_t index, const sc_core::sc_time& delay);
    bool enable_queue(unsigned int index);
    void disable_queue(unsigned int index);
    void reset_device();
    void reject(tlm::tlm_generic_payload& trans, tlm::tlm_response_status status,
                const std::string& why);
    void ignore_write(uint32_t offset, const std::string& why);
    QueueRegisters* selected_queue();

    // Interrupt line.
    // At `delay` after SystemC's time (a device working ahead of it).
    void raise_interrupt(uint32_t bits, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME);
    // The driver acknowledged `bits` at `at` (its kernel time; SystemC's unless it runs ahead),
    // the access annotated to `annotated`.
    void acknowledge_interrupt(uint32_t bits, const sc_core::sc_time& at,
                               const sc_core::sc_time& annotated);
    // A status change at `at`: the line sees it now, or when SystemC gets there.
    void change_line_status(const sc_core::sc_time& at, uint32_t set, uint32_t clear,
                            const sc_core::sc_time& trace_low_at);
    // The line follows InterruptStatus as of SystemC's time (line_status_). Status
    // changes made ahead of it (a device working ahead for its guest, the guest's ACK from
    // ahead; see models::InitiatorTime) and the line updates they cause wait in ahead_, in the
    // order they happen (time, then the order made), until SystemC reaches them.
    struct AheadEvent {
        sc_core::sc_time at;
        bool update = false;  // a line update (drive_irq's work); else a status change
        uint32_t set = 0;
        uint32_t clear = 0;
        sc_core::sc_time trace_low_at;  // an ACK's annotated time, for irq_trace_
    };
    // A line update (drive_irq) at `at`, SystemC's time or later.
    void update_line_at(const sc_core::sc_time& at);
    // irq_update_event_ was notified for `at`.
    void note_irq_update(const sc_core::sc_time& at);
    void add_ahead(const AheadEvent& event);
    // Wakes drive_irq for the earliest line update in ahead_.
    void notify_next_update();
    // After an ACK from ahead at `at` (keep_pulses_seen_ahead_off_the_line()): when the line
    // changes queued up to then end where they began, they go to the trace now, as drive_irq
    // would give them at their times, and SystemC has nothing left to do for them.
    void fold_pulse_seen_ahead(const sc_core::sc_time& at);
    // drive_irq's work: the line (and its trace, unless `trace` is false: given already) to
    // line_status_, at SystemC's time.
    void update_line(bool trace = true);
    void drive_irq();

    // DMA (DmaPort), through DMI when the memory grants it.
    bool dma_read(uint64_t address, void* data, size_t length, sc_core::sc_time& delay) override;
    bool dma_write(uint64_t address, const void* data, size_t length,
                   sc_core::sc_time& delay) override;
    bool count_dma(bool ok);
    void invalidate_dmi(sc_dt::uint64 start, sc_dt::uint64 end);

    VirtioMmioParams params_;
    VirtioDevice& device_;
    VirtioMmioCounters counters_;
    VirtioMmioObserver* observer_ = nullptr;

    uint32_t status_ = 0;
    uint32_t device_features_sel_ = 0;
    uint32_t driver_features_sel_ = 0;
    uint64_t driver_features_ = 0;
    uint32_t guest_page_size_ = 0;
    uint32_t queue_sel_ = 0;
    uint32_t shm_sel_ = 0;
    uint32_t interrupt_status_ = 0;
    uint32_t config_generation_ = 0;
    uint64_t reset_generation_ = 0;
    uint32_t early_notified_queues_ = 0;  // kicked before DRIVER_OK, served at DRIVER_OK
    std::string needs_reset_reason_;
    std::set<std::string> guest_errors_reported_;  // kinds already warned about
    std::array<QueueRegisters, kMaxQueues> queues_;

    sc_core::sc_event irq_update_event_;
    // irq_update_event_ notified and drive_irq not yet run for it: when it is due.
    bool irq_update_pending_ = false;
    sc_core::sc_time irq_update_due_ = sc_core::SC_ZERO_TIME;
    bool irq_update_traced_ = false;  // its change given to the trace by a fold
    bool fold_pulses_seen_ahead_ = false;
    sc_core::sc_process_handle deferring_guest_;
    bool line_wakeup_owed_ = false;  // notify_next_update() deferred for deferring_guest_
    ScheduledLevel irq_trace_;
    sc_core::sc_time rise_due_ = sc_core::sc_max_time();
    sc_core::sc_time irq_trace_low_at_ = sc_core::SC_ZERO_TIME;  // the last clear, annotated
    // InterruptStatus as the line follows it (see AheadEvent).
    uint32_t line_status_ = 0;
    std::deque<AheadEvent> ahead_;
    sc_core::sc_event ahead_event_;
    // The time of the register access being served (its initiator's kernel time).
    sc_core::sc_time access_time_ = sc_core::SC_ZERO_TIME;
    bool serving_access_ = false;
    BusAccessor bus_;
};

}  // namespace vbsim::models
