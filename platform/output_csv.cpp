#include "platform/output_csv.h"

#include "platform/quantity_format.h"

#include <cstddef>
#include <string_view>

namespace vbsim::platform {
namespace {

// GuestSample's fields in declaration order: the header and the rows both come from this table,
// so they cannot drift apart.
struct Column {
    const char* name;
    uint64_t GuestSample::*field;
};

constexpr Column kGuestColumns[] = {
    {"target_pages", &GuestSample::target_pages},
    {"actual_pages", &GuestSample::actual_pages},
    {"ballooned_pages", &GuestSample::ballooned_pages},
    {"free_bytes", &GuestSample::free_bytes},
    {"available_bytes", &GuestSample::available_bytes},
    {"total_bytes", &GuestSample::total_bytes},
    {"demand_bytes", &GuestSample::demand_bytes},
    {"workload_bytes", &GuestSample::workload_bytes},
    {"resident_bytes", &GuestSample::resident_bytes},
    {"oom_kills", &GuestSample::oom_kills},
    {"oom_deferred", &GuestSample::oom_deferred},
    {"alloc_stalls", &GuestSample::alloc_stalls},
    {"interrupts", &GuestSample::interrupts},
    {"notifies", &GuestSample::notifies},
    {"dma_bytes", &GuestSample::dma_bytes},
    {"bus_transactions", &GuestSample::bus_transactions},
};

void write_header_cell(std::ostream& out, std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
        out << text;
        return;
    }
    out << '"';
    for (const char c : text) {
        if (c == '"') {
            out << '"';
        }
        out << c;
    }
    out << '"';
}

}  // namespace

// Numbers go through std::to_string rather than operator<< so that a locale imbued on the
// stream cannot add digit grouping.
void write_timeseries_csv(const Recording& recording, std::ostream& out) {
    out << "time_s,host_free_bytes";
    for (const std::string& name : recording.guest_names) {
        for (const Column& column : kGuestColumns) {
            out << ',';
            write_header_cell(out, name + "." + column.name);
        }
    }
    out << '\n';

    for (const Sample& sample : recording.samples) {
        out << format_seconds(sample.time) << ',' << std::to_string(sample.host_free_bytes);
        for (std::size_t g = 0; g < recording.guest_names.size(); ++g) {
            for (const Column& column : kGuestColumns) {
                out << ',';
                if (g < sample.guests.size()) {
                    out << std::to_string(sample.guests[g].*column.field);
                }
            }
        }
        out << '\n';
    }
}

}  // namespace vbsim::platform
