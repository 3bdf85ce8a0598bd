#include "platform/assembly/guest_trace.h"

#include <cstdio>
#include <utility>

#include "platform/text/quantity_format.h"
#include "spec/virtio.h"

namespace vbsim::platform {

namespace {

namespace reg = spec::mmio;

uint64_t ps_of(const sc_core::sc_time& time) {
    return static_cast<uint64_t>(time.value() / sc_core::sc_time(1, sc_core::SC_PS).value());
}

// Register names as the recorded Linux traffic spells them.
std::string register_name(uint32_t offset, uint32_t version) {
    switch (offset) {
        case reg::kMagicValue:
            return "MagicValue";
        case reg::kVersion:
            return "Version";
        case reg::kDeviceId:
            return "DeviceID";
        case reg::kVendorId:
            return "VendorID";
        case reg::kDeviceFeatures:
            return "DeviceFeatures";
        case reg::kDeviceFeaturesSel:
            return "DeviceFeaturesSel";
        case reg::kDriverFeatures:
            return "DriverFeatures";
        case reg::kDriverFeaturesSel:
            return "DriverFeaturesSel";
        case reg::kGuestPageSize:
            return "GuestPageSize";
        case reg::kQueueSel:
            return "QueueSel";
        case reg::kQueueNumMax:
            return "QueueNumMax";
        case reg::kQueueNum:
            return "QueueNum";
        case reg::kQueueAlign:
            return "QueueAlign";
        case reg::kQueuePfn:
            return "QueuePFN";
        case reg::kQueueReady:
            return "QueueReady";
        case reg::kQueueNotify:
            return "QueueNotify";
        case reg::kInterruptStatus:
            return "InterruptStatus";
        case reg::kInterruptAck:
            return "InterruptACK";
        case reg::kStatus:
            return "Status";
        case reg::kQueueDescLow:
            return "QueueDescLow";
        case reg::kQueueDescHigh:
            return "QueueDescHigh";
        case reg::kQueueDriverLow:
            return "QueueDriverLow";
        case reg::kQueueDriverHigh:
            return "QueueDriverHigh";
        case reg::kQueueDeviceLow:
            return "QueueDeviceLow";
        case reg::kQueueDeviceHigh:
            return "QueueDeviceHigh";
        case reg::kShmSel:
            return "SHMSel";
        case reg::kShmLenLow:
            return "SHMLenLow";
        case reg::kShmLenHigh:
            return "SHMLenHigh";
        case reg::kShmBaseLow:
            return "SHMBaseLow";
        case reg::kShmBaseHigh:
            return "SHMBaseHigh";
        case reg::kQueueReset:
            return "QueueReset";
        case reg::kConfigGeneration:
            return "ConfigGeneration";
        default:
            break;
    }
    (void)version;
    if (offset >= reg::kConfig) {
        const uint32_t field = (offset - reg::kConfig) & ~3u;
        const char* names[] = {"num_pages", "actual", "free_page_hint_cmd_id", "poison_val"};
        std::string name = field / 4 < 4 ? names[field / 4] : "unknown";
        return "Config." + name;
    }
    return "unknown";
}

const char* interrupt_cause(uint32_t bits) {
    const bool used = (bits & reg::kInterruptUsedBuffer) != 0;
    const bool config = (bits & reg::kInterruptConfigChange) != 0;
    return used && config ? "used_buffer+config" : used ? "used_buffer" : "config";
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", c);
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

}  // namespace

const char* GuestTrace::queue_name(uint32_t queue) const {
    const int index = static_cast<int>(queue);
    if (index == device_.inflate_queue()) {
        return "inflateq";
    }
    if (index == device_.deflate_queue()) {
        return "deflateq";
    }
    if (index == device_.stats_queue()) {
        return "statsq";
    }
    if (index == device_.free_page_queue()) {
        return "free_pageq";
    }
    if (index == device_.reporting_queue()) {
        return "reportingq";
    }
    return "queue";
}

void GuestTrace::add_row(const sc_core::sc_time& at, const char* rw, uint64_t offset,
                         bool has_offset, std::string name, uint64_t width_bytes, uint64_t value,
                         bool has_value) {
    rows_.push_back(
        {ps_of(at), rw, offset, std::move(name), width_bytes, value, has_offset, has_value});
}

void GuestTrace::add_event(TimelineEvent::Track track, bool span, uint64_t start_ps,
                           uint64_t end_ps, std::string name, std::string args) {
    TimelineEvent event;
    event.track = track;
    event.span = span;
    event.start_ps = start_ps;
    event.duration_ps = end_ps > start_ps ? end_ps - start_ps : 0;
    event.name = std::move(name);
    event.args = std::move(args);
    timeline_.push_back(std::move(event));
}

void GuestTrace::register_access(bool write, uint32_t offset, unsigned int width_bytes,
                                 uint32_t value, const sc_core::sc_time& at) {
    add_row(at, write ? "W" : "R", offset, true, register_name(offset, version_), width_bytes,
            value, true);
}

void GuestTrace::queue_notified(uint32_t queue, const sc_core::sc_time& at) {
    add_row(at, "notify", reg::kQueueNotify, true, queue_name(queue), 0, queue, true);
}

void GuestTrace::interrupt_raised(uint32_t bits, const sc_core::sc_time& at) {
    add_row(at, "irq_raise", 0, false, interrupt_cause(bits), 0, bits, true);
    add_event(TimelineEvent::Track::kInterrupts, false, ps_of(at), ps_of(at),
              std::string("raise ") + interrupt_cause(bits), "\"bits\": " + std::to_string(bits));
}

void GuestTrace::interrupt_acked(uint32_t bits, const sc_core::sc_time& at) {
    add_row(at, "irq_ack", 0, false, interrupt_cause(bits), 0, bits, true);
    add_event(TimelineEvent::Track::kInterrupts, false, ps_of(at), ps_of(at),
              std::string("ack ") + interrupt_cause(bits), "\"bits\": " + std::to_string(bits));
}

void GuestTrace::dma(bool write, uint64_t address, size_t bytes, const sc_core::sc_time& at) {
    add_row(at, write ? "dma_write" : "dma_read", address, true, "", bytes, 0, false);
}

void GuestTrace::buffer_handled(unsigned int queue, uint64_t pfns, const sc_core::sc_time& taken_at,
                                const sc_core::sc_time& returned_at) {
    add_row(returned_at, "pfn_buffer", 0, false, queue_name(queue), pfns * 4, pfns, true);
    add_event(TimelineEvent::Track::kDevice, true, ps_of(taken_at), ps_of(returned_at),
              std::string(static_cast<int>(queue) == device_.inflate_queue()   ? "inflate "
                          : static_cast<int>(queue) == device_.deflate_queue() ? "deflate "
                                                                               : "hint ") +
                  std::to_string(pfns) + " PFNs",
              "\"queue\": " + std::to_string(queue) + ", \"pfns\": " + std::to_string(pfns));
}

void GuestTrace::report_handled(unsigned int queue, uint64_t blocks, uint64_t pages,
                                const sc_core::sc_time& taken_at,
                                const sc_core::sc_time& returned_at) {
    // mmio.csv: width_bytes = the bytes reported, value = the blocks.
    add_row(returned_at, "report_buffer", 0, false, "reporting_vq", pages * 4096, blocks, true);
    add_event(TimelineEvent::Track::kDevice, true, ps_of(taken_at), ps_of(returned_at),
              "report " + std::to_string(blocks) + " blocks",
              "\"queue\": " + std::to_string(queue) + ", \"blocks\": " + std::to_string(blocks) +
                  ", \"pages\": " + std::to_string(pages));
}

void GuestTrace::round_sent(sw::balloon::RoundKind kind, uint32_t /*pfns*/, uint64_t started_ns,
                            uint64_t /*sent_ns*/) {
    round_started_ns_[kind == sw::balloon::RoundKind::kFill ? 0 : 1] = started_ns;
}

void GuestTrace::round_acked(sw::balloon::RoundKind kind, uint32_t pfns, uint64_t now_ns) {
    const uint64_t started_ns = round_started_ns_[kind == sw::balloon::RoundKind::kFill ? 0 : 1];
    add_event(
        TimelineEvent::Track::kDriver, true, started_ns * 1000, now_ns * 1000,
        std::string(sw::balloon::round_kind_name(kind)) + " " + std::to_string(pfns) + " PFNs",
        "\"pfns\": " + std::to_string(pfns));
}

void GuestTrace::stats_posted(uint32_t entries, uint64_t now_ns) {
    add_event(TimelineEvent::Track::kDriver, false, now_ns * 1000, now_ns * 1000, "stats posted",
              "\"entries\": " + std::to_string(entries));
}

void GuestTrace::oom_release(uint64_t pfns, uint64_t now_ns) {
    add_event(TimelineEvent::Track::kDriver, false, now_ns * 1000, now_ns * 1000,
              "OOM release promised " + std::to_string(pfns) + " PFNs",
              "\"pfns\": " + std::to_string(pfns));
}

void GuestTrace::write_mmio_csv(std::ostream& out) const {
    out << "seq,t_us,rw,offset,register,width_bytes,value\n";
    uint64_t seq = 0;
    for (const Row& row : rows_) {
        out << seq++ << ',' << format_micros(row.time_ps) << ',' << row.rw << ','
            << (row.has_offset ? format_hex(row.offset) : "") << ',' << row.name << ','
            << row.width_bytes << ',' << (row.has_value ? format_hex(row.value) : "") << '\n';
    }
}

void write_timeline_json(const std::vector<std::string>& guest_names,
                         const std::vector<const GuestTrace*>& guests,
                         const std::vector<HostTimelineEvent>& host_events, std::ostream& out) {
    out << "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n";
    bool first = true;
    const auto begin = [&] {
        out << (first ? "  " : ",\n  ");
        first = false;
    };
    const auto metadata = [&](size_t pid, int tid, const char* what, const std::string& name) {
        begin();
        out << "{\"ph\": \"M\", \"pid\": " << pid << ", \"tid\": " << tid << ", \"name\": \""
            << what << "\", \"args\": {\"name\": " << json_string(name) << "}}";
    };
    metadata(0, 0, "process_name", "host");
    metadata(0, 1, "thread_name", "policy and events");
    for (const HostTimelineEvent& event : host_events) {
        begin();
        out << "{\"ph\": \"i\", \"s\": \"t\", \"pid\": 0, \"tid\": 1, \"ts\": "
            << format_micros(event.time_ps) << ", \"name\": "
            << json_string(event.guest.empty() ? event.what : event.guest + ": " + event.what)
            << "}";
    }
    for (size_t g = 0; g < guests.size(); ++g) {
        const size_t pid = g + 1;
        metadata(pid, 0, "process_name", "guest " + guest_names[g]);
        metadata(pid, static_cast<int>(TimelineEvent::Track::kDriver), "thread_name", "driver");
        metadata(pid, static_cast<int>(TimelineEvent::Track::kDevice), "thread_name", "device");
        metadata(pid, static_cast<int>(TimelineEvent::Track::kInterrupts), "thread_name",
                 "interrupts");
        for (const TimelineEvent& event : guests[g]->timeline()) {
            begin();
            out << "{\"ph\": \"" << (event.span ? "X" : "i") << "\", ";
            if (!event.span) {
                out << "\"s\": \"t\", ";
            }
            out << "\"pid\": " << pid << ", \"tid\": " << static_cast<int>(event.track)
                << ", \"ts\": " << format_micros(event.start_ps);
            if (event.span) {
                out << ", \"dur\": " << format_micros(event.duration_ps);
            }
            out << ", \"name\": " << json_string(event.name) << ", \"args\": {" << event.args
                << "}}";
        }
    }
    out << "\n]}\n";
}

}  // namespace vbsim::platform
