#pragma once

// Evaluate stage: a scenario's checks measured against what a run summarised and recorded.
// Free functions of plain data: no simulation needed to call them.

#include <cstdint>
#include <vector>

#include "platform/config/check_schema.h"
#include "platform/config/scenario.h"
#include "platform/run/recording.h"

namespace vbsim::platform {

// The counter's value in `guest`'s summary.
uint64_t summary_counter_value(const GuestSummary& guest, SummaryCounter counter);

// One result per check and guest it applies to (a check without a guest applies to each
// guest in turn, named "<check> [<guest>]"), in the order of `checks`.
std::vector<CheckResult> evaluate_checks(const std::vector<CheckConfig>& checks,
                                         const RunSummary& summary, const Recording& recording);

}  // namespace vbsim::platform
