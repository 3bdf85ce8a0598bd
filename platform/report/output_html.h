#pragma once

// report.html: one self-contained page an architect can look at rather than read.

#include <ostream>

#include "platform/run/recording.h"

namespace vbsim::platform {

// Writes a single HTML page with inline CSS and inline SVG plots and nothing fetched from
// anywhere: the verdict and checks table, host free memory over time, per guest the balloon
// (target, actual, ballooned), guest free/available memory with OOM kills marked, and workload
// demand vs held, then the per-guest summary table and the events list. Series longer than about
// a thousand points are reduced min/max-preserving so large runs stay small; the event list is
// capped. The page carries no dates or ids, so identical inputs give identical bytes.
void write_report_html(const Recording& recording, const RunSummary& summary, std::ostream& out);

}  // namespace vbsim::platform
