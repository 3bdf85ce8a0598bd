#pragma once

// The register and transaction trace of one guest (`vbsim run --trace`, `output.trace: true`):
// every virtio-mmio access in the columns of the recorded Linux traffic (seq, t_us, rw, offset,
// register, width_bytes, value) plus rows for queue notifies, interrupts raised and
// acknowledged, device DMA transfers and PFN buffers; and the guest's events for the Chrome
// trace-event timeline (driver rounds, stats and OOM releases; device buffers with their host
// cost; interrupts). Built only when tracing is on: untraced runs install no observer.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>

#include "models/balloon/balloon_device.h"
#include "models/virtio/virtio_mmio_observer.h"
#include "sw/balloon/balloon_driver_observer.h"

namespace vbsim::platform {

// One Chrome trace-event ("ph" X: a span, i: an instant) on a guest's track.
struct TimelineEvent {
    enum class Track : uint8_t { kDriver = 1, kDevice = 2, kInterrupts = 3 };
    Track track = Track::kDriver;
    bool span = false;
    uint64_t start_ps = 0;
    uint64_t duration_ps = 0;
    std::string name;
    std::string args;  // JSON object members, e.g. "\"pfns\": 256"
};

class GuestTrace final : public models::VirtioMmioObserver,
                         public models::BalloonObserver,
                         public sw::balloon::BalloonDriverObserver {
  public:
    // `device` names the queues: their indices follow the negotiated features.
    GuestTrace(uint32_t transport_version, const models::BalloonDevice& device)
        : version_(transport_version), device_(device) {}

    // mmio.csv: a header, then one row per event in the order they happened.
    void write_mmio_csv(std::ostream& out) const;
    const std::vector<TimelineEvent>& timeline() const { return timeline_; }

    // models::VirtioMmioObserver
    void register_access(bool write, uint32_t offset, unsigned int width_bytes, uint32_t value,
                         const sc_core::sc_time& at) override;
    void queue_notified(uint32_t queue, const sc_core::sc_time& at) override;
    void interrupt_raised(uint32_t bits, const sc_core::sc_time& at) override;
    void interrupt_acked(uint32_t bits, const sc_core::sc_time& at) override;
    void dma(bool write, uint64_t address, size_t bytes, const sc_core::sc_time& at) override;

    // models::BalloonObserver
    void buffer_handled(unsigned int queue, uint64_t pfns, const sc_core::sc_time& taken_at,
                        const sc_core::sc_time& returned_at) override;
    void report_handled(unsigned int queue, uint64_t blocks, uint64_t pages,
                        const sc_core::sc_time& taken_at,
                        const sc_core::sc_time& returned_at) override;

    // sw::balloon::BalloonDriverObserver (times in guest nanoseconds)
    void round_sent(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t started_ns,
                    uint64_t sent_ns) override;
    void round_acked(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t now_ns) override;
    void stats_posted(uint32_t entries, uint64_t now_ns) override;
    void oom_release(uint64_t pfns, uint64_t now_ns) override;

  private:
    struct Row {
        uint64_t time_ps;
        const char* rw;
        uint64_t offset;  // register offset, or guest-physical address for DMA
        std::string name;
        uint64_t width_bytes;
        uint64_t value;
        bool has_offset;
        bool has_value;
    };
    void add_row(const sc_core::sc_time& at, const char* rw, uint64_t offset, bool has_offset,
                 std::string name, uint64_t width_bytes, uint64_t value, bool has_value);
    void add_event(TimelineEvent::Track track, bool span, uint64_t start_ps, uint64_t end_ps,
                   std::string name, std::string args);
    // "inflateq", "deflateq", "statsq", "free_pageq", "reportingq", or "queue" for none.
    const char* queue_name(uint32_t queue) const;

    uint32_t version_;
    const models::BalloonDevice& device_;
    std::vector<Row> rows_;
    std::vector<TimelineEvent> timeline_;
    // Driver rounds in flight, by queue (inflate 0, deflate 1): their start.
    uint64_t round_started_ns_[2] = {};
};

// timeline.json: the Chrome trace-event format (Perfetto UI, chrome://tracing). Process 0 is
// the host (its policy and the scenario's events); process i+1 is guest i with the tracks
// driver, device and interrupts. Times in microseconds with picosecond decimals.
struct HostTimelineEvent {
    uint64_t time_ps = 0;
    std::string guest;
    std::string what;
};
void write_timeline_json(const std::vector<std::string>& guest_names,
                         const std::vector<const GuestTrace*>& guests,
                         const std::vector<HostTimelineEvent>& host_events, std::ostream& out);

}  // namespace vbsim::platform
