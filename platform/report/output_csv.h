#pragma once

// timeseries.csv: one row per recorded sample, for spreadsheets and scripts.

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include <systemc>

#include "platform/run/recording.h"

namespace vbsim::platform {

// Header row, then one row per sample: time_s, host_free_bytes, then for each guest (in
// Recording::guest_names order) `<name>.<field>` for every GuestSample field. Guest names with
// commas or quotes are quoted as RFC 4180 says; a sample missing a guest leaves its cells empty
// so that every row has the same number of columns.
void write_timeseries_csv(const Recording& recording, std::ostream& out);

// One CSV cell: as is, or quoted as RFC 4180 says when it holds a comma, quote or line break.
void write_csv_cell(std::ostream& out, std::string_view text);

}  // namespace vbsim::platform
