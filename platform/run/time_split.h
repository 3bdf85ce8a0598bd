#pragma once

// Where a guest's ballooning time goes (issue 11): cumulative simulated time per part, from
// the models' counters and the scenario's costs, so a target episode's split is the
// difference of two readings. The parts follow docs/timing-defaults.md.

#include <string>
#include <vector>

#include <systemc>

#include "platform/run/recording.h"

namespace vbsim::platform {

class GuestNode;

// Cumulative time per part for `node` now: guest allocation (inflate) and free (deflate) per
// page, PFN bookkeeping and address translation per page, the transport's sending cost per
// buffer, the host's per-buffer and per-page work, the allocation retry delays waited out,
// and interrupt latency plus entry. TimeSplit::other stays 0 (only an episode has a rest).
TimeSplit read_time_ledger(GuestNode& node);

// The split of an episode `elapsed` long between the readings `start` and `end`: the
// differences, and `other` the time none of them explains (per-round CPU work, register
// accesses, bus and DMA, idle time), never negative.
TimeSplit episode_split(const TimeSplit& start, const TimeSplit& end,
                        const sc_core::sc_time& elapsed);

// The parts of every reached episode added up (what the summary table shows).
TimeSplit reached_episodes_split(const std::vector<TargetEpisode>& episodes);

// "allocation 6.5%, translation 6.0%, sending 67.4%, host 19.3%, retry 0.0%, interrupts 0.4%,
// other 0.5%" of split.total(); "-" when it is zero.
std::string describe_time_split(const TimeSplit& split);

}  // namespace vbsim::platform
