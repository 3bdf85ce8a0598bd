#include "platform/run/time_split.h"

#include <algorithm>
#include <cstdio>

#include "platform/assembly/guest_node.h"

namespace vbsim::platform {

namespace {

sc_core::sc_time times(const sc_core::sc_time& cost, uint64_t count) {
    return cost * static_cast<double>(count);
}

uint64_t pfns_sent(const PfnsPerBuffer& histogram) {
    uint64_t pfns = 0;
    for (const auto& [pfns_per_buffer, buffers] : histogram) {
        pfns += pfns_per_buffer * buffers;
    }
    return pfns;
}

sc_core::sc_time difference(const sc_core::sc_time& end, const sc_core::sc_time& start) {
    return end > start ? end - start : sc_core::SC_ZERO_TIME;
}

}  // namespace

TimeSplit read_time_ledger(GuestNode& node) {
    const GuestConfig& config = node.config();
    const sw::balloon::BalloonDriverCounters& driver = node.driver().counters();
    const models::BalloonCounters& device = node.balloon().counters();
    const uint64_t pfns_per_page = std::max<uint64_t>(1, config.page_size / 4096);
    const uint64_t pages_inflated = driver.pfns_inflated / pfns_per_page;
    const uint64_t pages_deflated = driver.pfns_deflated / pfns_per_page;

    TimeSplit ledger;
    ledger.allocation = times(config.driver.alloc_cost_per_page, pages_inflated) +
                        times(config.driver.free_cost_per_page, pages_deflated);
    ledger.translation =
        times(config.driver.translate_cost_per_page, pages_inflated + pages_deflated);
    ledger.sending = times(config.balloon.inflate.transport_cost, device.inflate_buffers) +
                     times(config.balloon.deflate.transport_cost, device.deflate_buffers);
    ledger.host_work =
        times(config.balloon.inflate.host_per_buffer_cost, device.inflate_buffers) +
        times(config.balloon.inflate.host_per_page_cost,
              pfns_sent(device.inflate_pfns_per_buffer)) +
        times(config.balloon.deflate.host_per_buffer_cost, device.deflate_buffers) +
        times(config.balloon.deflate.host_per_page_cost, pfns_sent(device.deflate_pfns_per_buffer));
    ledger.retry_wait = times(config.driver.retry_delay, driver.retries);
    const models::VirtioMmioCounters& transport = node.transport().counters();
    ledger.interrupt_wait =
        times(config.balloon.interrupt_latency,
              transport.used_buffer_interrupts + transport.config_interrupts) +
        times(node.cpu().params().interrupt_entry_cost, node.cpu().counters().interrupts_taken);
    return ledger;
}

TimeSplit episode_split(const TimeSplit& start, const TimeSplit& end,
                        const sc_core::sc_time& elapsed) {
    TimeSplit split;
    split.allocation = difference(end.allocation, start.allocation);
    split.translation = difference(end.translation, start.translation);
    split.sending = difference(end.sending, start.sending);
    split.host_work = difference(end.host_work, start.host_work);
    split.retry_wait = difference(end.retry_wait, start.retry_wait);
    split.interrupt_wait = difference(end.interrupt_wait, start.interrupt_wait);
    split.other = difference(elapsed, split.explained());
    return split;
}

TimeSplit reached_episodes_split(const std::vector<TargetEpisode>& episodes) {
    TimeSplit sum;
    for (const TargetEpisode& episode : episodes) {
        if (!episode.reached) {
            continue;
        }
        sum.allocation += episode.split.allocation;
        sum.translation += episode.split.translation;
        sum.sending += episode.split.sending;
        sum.host_work += episode.split.host_work;
        sum.retry_wait += episode.split.retry_wait;
        sum.interrupt_wait += episode.split.interrupt_wait;
        sum.other += episode.split.other;
    }
    return sum;
}

std::string describe_time_split(const TimeSplit& split) {
    const double total = split.total().to_seconds();
    if (total <= 0) {
        return "-";
    }
    char text[160];
    const auto share = [total](const sc_core::sc_time& part) {
        return 100.0 * part.to_seconds() / total;
    };
    std::snprintf(text, sizeof text,
                  "allocation %.1f%%, translation %.1f%%, sending %.1f%%, host %.1f%%, "
                  "retry %.1f%%, interrupts %.1f%%, other %.1f%%",
                  share(split.allocation), share(split.translation), share(split.sending),
                  share(split.host_work), share(split.retry_wait), share(split.interrupt_wait),
                  share(split.other));
    return text;
}

}  // namespace vbsim::platform
