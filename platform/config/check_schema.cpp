#include "platform/config/check_schema.h"

namespace vbsim::platform {

const char* check_kind_name(CheckKind kind) {
    switch (kind) {
        case CheckKind::kActualReachesTargetBy:
            return "actual_reaches_target_by";
        case CheckKind::kNoOomKills:
            return "no_oom_kills";
        case CheckKind::kMaxOomKills:
            return "max_oom_kills";
        case CheckKind::kTimeToTargetBelow:
            return "time_to_target_below";
        case CheckKind::kTimeToTargetAbove:
            return "time_to_target_above";
        case CheckKind::kHostFreeNeverBelow:
            return "host_free_never_below";
        case CheckKind::kInflateRateAbove:
            return "inflate_rate_above";
        case CheckKind::kBallooned:
            return "ballooned";
        case CheckKind::kCounterAtLeast:
            return "counter_at_least";
        case CheckKind::kCounterAtMost:
            return "counter_at_most";
    }
    return "check";
}

const char* summary_counter_name(SummaryCounter counter) {
    switch (counter) {
        case SummaryCounter::kPagesInflated:
            return "pages_inflated";
        case SummaryCounter::kPagesDeflated:
            return "pages_deflated";
        case SummaryCounter::kInflateBuffers:
            return "inflate_buffers";
        case SummaryCounter::kDeflateBuffers:
            return "deflate_buffers";
        case SummaryCounter::kNotifies:
            return "notifies";
        case SummaryCounter::kInterrupts:
            return "interrupts";
        case SummaryCounter::kConfigChanges:
            return "config_changes";
        case SummaryCounter::kBusTransactions:
            return "bus_transactions";
        case SummaryCounter::kDmaBytes:
            return "dma_bytes";
        case SummaryCounter::kOomKills:
            return "oom_kills";
        case SummaryCounter::kOomDeferred:
            return "oom_deferred";
        case SummaryCounter::kOomDeflations:
            return "oom_deflations";
        case SummaryCounter::kAllocStalls:
            return "alloc_stalls";
        case SummaryCounter::kBalloonAllocFailures:
            return "balloon_alloc_failures";
        case SummaryCounter::kRetries:
            return "retries";
        case SummaryCounter::kStatsUpdates:
            return "stats_updates";
        case SummaryCounter::kActualWrites:
            return "actual_writes";
        case SummaryCounter::kRounds:
            return "rounds";
        case SummaryCounter::kInvalidPfns:
            return "invalid_pfns";
        case SummaryCounter::kNeedsResetEvents:
            return "needs_reset_events";
        case SummaryCounter::kFinalTargetPages:
            return "final_target_pages";
        case SummaryCounter::kFinalActualPages:
            return "final_actual_pages";
        case SummaryCounter::kFinalBalloonedPages:
            return "final_ballooned_pages";
        case SummaryCounter::kReportBuffers:
            return "report_buffers";
        case SummaryCounter::kPagesReported:
            return "pages_reported";
        case SummaryCounter::kPagesKeptForPoison:
            return "pages_kept_for_poison";
        case SummaryCounter::kReportedPagesFinal:
            return "reported_pages_final";
        case SummaryCounter::kReportedBlocksReused:
            return "reported_blocks_reused";
        case SummaryCounter::kHintRounds:
            return "hint_rounds";
        case SummaryCounter::kHintedPages:
            return "hinted_pages";
        case SummaryCounter::kHostPagesFreedByReporting:
            return "host_pages_freed_by_reporting";
        case SummaryCounter::kHostPagesFreedByBalloon:
            return "host_pages_freed_by_balloon";
        case SummaryCounter::kHostSwapInBytes:
            return "host_swap_in_bytes";
        case SummaryCounter::kHostSwapOutBytes:
            return "host_swap_out_bytes";
        case SummaryCounter::kHostKilled:
            return "host_killed";
    }
    return "counter";
}

bool find_summary_counter(const std::string& name, SummaryCounter& counter) {
    for (size_t i = 0; i < kSummaryCounterCount; ++i) {
        const auto candidate = static_cast<SummaryCounter>(i);
        if (name == summary_counter_name(candidate)) {
            counter = candidate;
            return true;
        }
    }
    return false;
}

const std::vector<std::string>& summary_counter_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> all;
        for (size_t i = 0; i < kSummaryCounterCount; ++i) {
            all.emplace_back(summary_counter_name(static_cast<SummaryCounter>(i)));
        }
        return all;
    }();
    return names;
}

}  // namespace vbsim::platform
