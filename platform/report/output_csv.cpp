#include "platform/report/output_csv.h"

#include "platform/text/quantity_format.h"

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

// Only when the host has swap (Recording::host_swap), after every other column.
constexpr Column kGuestSwapColumns[] = {
    {"swap_in_bytes", &GuestSample::swap_in_bytes},
    {"swap_out_bytes", &GuestSample::swap_out_bytes},
    {"swap_stall_ns", &GuestSample::swap_stall_ns},
    {"host_killed", &GuestSample::host_killed},
};

// Only when some guest's device offers FREE_PAGE_HINT, PAGE_POISON or PAGE_REPORTING.
constexpr Column kFreePageColumns[] = {
    {"reported_bytes", &GuestSample::reported_bytes},
    {"hinted_bytes", &GuestSample::hinted_bytes},
    {"host_freed_by_reporting_bytes", &GuestSample::host_freed_by_reporting_bytes},
    {"host_freed_by_balloon_bytes", &GuestSample::host_freed_by_balloon_bytes},
};

}  // namespace

void write_csv_cell(std::ostream& out, std::string_view text) {
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

namespace {

// Host swap columns (Recording::host_swap), after every other column.
void write_swap_header(const Recording& recording, std::ostream& out) {
    if (!recording.host_swap) {
        return;
    }
    out << ",host_swap_used_bytes,host_oom_kills";
    for (const std::string& name : recording.guest_names) {
        for (const Column& column : kGuestSwapColumns) {
            out << ',';
            write_csv_cell(out, name + "." + column.name);
        }
    }
}

void write_swap_cells(const Recording& recording, const Sample& sample, std::ostream& out) {
    if (!recording.host_swap) {
        return;
    }
    out << ',' << std::to_string(sample.host_swap_used_bytes) << ','
        << std::to_string(sample.host_oom_kills);
    for (std::size_t g = 0; g < recording.guest_names.size(); ++g) {
        for (const Column& column : kGuestSwapColumns) {
            out << ',';
            if (g < sample.guests.size()) {
                out << std::to_string(sample.guests[g].*column.field);
            }
        }
    }
}

}  // namespace

// Numbers go through std::to_string rather than operator<< so that a locale imbued on the
// stream cannot add digit grouping.
void write_timeseries_csv(const Recording& recording, std::ostream& out) {
    out << "time_s,host_free_bytes";
    for (const std::string& name : recording.guest_names) {
        for (const Column& column : kGuestColumns) {
            out << ',';
            write_csv_cell(out, name + "." + column.name);
        }
        if (recording.free_page_columns) {
            for (const Column& column : kFreePageColumns) {
                out << ',';
                write_csv_cell(out, name + "." + column.name);
            }
        }
    }
    write_swap_header(recording, out);
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
            if (recording.free_page_columns) {
                for (const Column& column : kFreePageColumns) {
                    out << ',';
                    if (g < sample.guests.size()) {
                        out << std::to_string(sample.guests[g].*column.field);
                    }
                }
            }
        }
        write_swap_cells(recording, sample, out);
        out << '\n';
    }
}

}  // namespace vbsim::platform
