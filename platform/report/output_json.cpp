#include "platform/report/output_json.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/report/json_writer.h"
#include "platform/text/quantity_format.h"

namespace vbsim::platform {
namespace {

// Where the episode's simulated time went, in seconds (platform/run/time_split.h).
void write_time_split(JsonWriter& json, const TimeSplit& split) {
    json.key("time_split_s");
    json.begin_object();
    const auto part = [&](const char* name, const sc_core::sc_time& time) {
        json.key(name);
        json.seconds(time);
    };
    part("allocation", split.allocation);
    part("translation", split.translation);
    part("sending", split.sending);
    part("host_madvise", split.host_work);
    part("retry_wait", split.retry_wait);
    part("interrupt_wait", split.interrupt_wait);
    part("other", split.other);
    json.end_object();
}

void write_episode(JsonWriter& json, const TargetEpisode& episode) {
    json.begin_object();
    json.key("set_at_s");
    json.seconds(episode.set_at);
    json.key("from_pages");
    json.unsigned_number(episode.from_pages);
    json.key("to_pages");
    json.unsigned_number(episode.to_pages);
    json.key("reached");
    json.boolean(episode.reached);
    json.key("reached_at_s");
    if (episode.reached) {
        json.seconds(episode.reached_at);
    } else {
        json.null();
    }
    json.key("time_to_target_s");
    if (episode.reached && episode.reached_at >= episode.set_at) {
        json.seconds(episode.reached_at - episode.set_at);
    } else {
        json.null();
    }
    write_time_split(json, episode.split);
    json.end_object();
}

// The OOM killer's outcome per process: only for several processes or a kill, so the files of
// one-process runs without kills stay as they were.
void write_processes(JsonWriter& json, const GuestSummary& guest) {
    if (guest.processes.size() <= 1 && guest.oom_kills == 0) {
        return;
    }
    json.key("processes");
    json.begin_array();
    for (const ProcessSummary& process : guest.processes) {
        json.begin_object();
        json.key("name");
        json.string(process.name);
        json.key("oom_killed");
        json.unsigned_number(process.oom_killed);
        json.key("oom_freed_bytes");
        json.unsigned_number(process.freed_bytes);
        json.key("restarts");
        json.unsigned_number(process.restarts);
        json.key("final_bytes");
        json.unsigned_number(process.final_bytes);
        json.key("alive");
        json.boolean(process.alive);
        json.end_object();
    }
    json.end_array();
}

// The host side of memory pressure, per guest: only when the host has swap or killed this
// guest, so the files of other runs stay as they were.
void write_host_pressure(JsonWriter& json, bool host_swap, const GuestSummary& guest) {
    if (!host_swap && guest.host_killed == 0) {
        return;
    }
    json.key("host_swap_in_bytes");
    json.unsigned_number(guest.host_swap_in_bytes);
    json.key("host_swap_out_bytes");
    json.unsigned_number(guest.host_swap_out_bytes);
    json.key("host_swap_stall_s");
    json.seconds(guest.host_swap_stall);
    json.key("host_killed");
    json.boolean(guest.host_killed != 0);
}

void write_guest(JsonWriter& json, const GuestSummary& guest, bool host_swap) {
    const auto count = [&](const char* name, uint64_t value) {
        json.key(name);
        json.unsigned_number(value);
    };
    json.begin_object();
    json.key("name");
    json.string(guest.name);
    count("ram_bytes", guest.ram_bytes);
    count("page_size", guest.page_size);
    count("transport_version", guest.transport_version);
    json.key("negotiated_features");
    json.string(guest.negotiated_features);
    count("final_target_pages", guest.final_target_pages);
    count("final_actual_pages", guest.final_actual_pages);
    count("final_ballooned_pages", guest.final_ballooned_pages);
    count("pages_inflated", guest.pages_inflated);
    count("pages_deflated", guest.pages_deflated);
    count("inflate_buffers", guest.inflate_buffers);
    count("deflate_buffers", guest.deflate_buffers);
    json.key("inflate_rate_pages_per_s");
    json.whole_rate(guest.inflate_rate_pages_per_s);
    json.key("deflate_rate_pages_per_s");
    json.whole_rate(guest.deflate_rate_pages_per_s);
    json.key("episodes");
    json.begin_array();
    for (const TargetEpisode& episode : guest.episodes) {
        write_episode(json, episode);
    }
    json.end_array();
    count("notifies", guest.notifies);
    count("interrupts", guest.interrupts);
    count("config_changes", guest.config_changes);
    count("bus_transactions", guest.bus_transactions);
    json.key("bus_utilisation");
    json.real(guest.bus_utilisation);
    count("dma_bytes", guest.dma_bytes);
    count("oom_kills", guest.oom_kills);
    count("oom_deferred", guest.oom_deferred);
    count("oom_deflations", guest.oom_deflations);
    write_processes(json, guest);
    count("alloc_stalls", guest.alloc_stalls);
    count("balloon_alloc_failures", guest.balloon_alloc_failures);
    count("retries", guest.retries);
    count("stats_updates", guest.stats_updates);
    count("actual_writes", guest.actual_writes);
    count("rounds", guest.rounds);
    count("invalid_pfns", guest.invalid_pfns);
    count("needs_reset_events", guest.needs_reset_events);
    count("inflate_notifies", guest.inflate_notifies);
    count("deflate_notifies", guest.deflate_notifies);
    count("stats_notifies", guest.stats_notifies);
    count("used_buffer_interrupts", guest.used_buffer_interrupts);
    count("config_interrupts", guest.config_interrupts);
    const auto histogram = [&](const char* name, const PfnsPerBuffer& buffers) {
        json.key(name);
        json.begin_object();
        for (const auto& [pfns, count_of_buffers] : buffers) {
            count(std::to_string(pfns).c_str(), count_of_buffers);
        }
        json.end_object();
    };
    histogram("inflate_pfns_per_buffer", guest.inflate_pfns_per_buffer);
    histogram("deflate_pfns_per_buffer", guest.deflate_pfns_per_buffer);
    count("guest_errors", guest.guest_errors);
    count("early_notifies", guest.early_notifies);
    if (guest.free_page_features) {
        json.key("free_pages");
        json.begin_object();
        count("report_buffers", guest.report_buffers);
        count("pages_reported", guest.pages_reported);
        count("pages_kept_for_poison", guest.pages_kept_for_poison);
        count("reported_pages_final", guest.reported_pages_final);
        count("reported_blocks_reused", guest.reported_blocks_reused);
        count("hint_rounds", guest.hint_rounds);
        count("hinted_pages", guest.hinted_pages);
        count("host_pages_freed_by_reporting", guest.host_pages_freed_by_reporting);
        count("host_pages_freed_by_balloon", guest.host_pages_freed_by_balloon);
        count("poison_val", guest.poison_val);
        json.end_object();
    }
    json.key("driver_state");
    json.string(guest.driver_state);
    write_host_pressure(json, host_swap, guest);
    json.end_object();
}

void write_check(JsonWriter& json, const CheckResult& check) {
    json.begin_object();
    json.key("name");
    json.string(check.name);
    json.key("passed");
    json.boolean(check.passed);
    json.key("measured");
    json.string(check.measured);
    json.key("bound");
    json.string(check.bound);
    json.end_object();
}

}  // namespace

void write_summary_json(const RunSummary& summary, std::ostream& out) {
    JsonWriter json(out);
    json.begin_object();
    json.key("scenario");
    json.string(summary.scenario);
    json.key("description");
    json.string(summary.description);
    json.key("seed");
    json.unsigned_number(summary.seed);
    json.key("simulated_time_s");
    json.seconds(summary.simulated_time);
    json.key("host_ram_bytes");
    json.unsigned_number(summary.host_ram_bytes);
    json.key("host_free_min_bytes");
    json.signed_number(summary.host_free_min_bytes);
    json.key("host_free_min_at_s");
    json.seconds(summary.host_free_min_at);
    json.key("host_free_final_bytes");
    json.signed_number(summary.host_free_final_bytes);
    json.key("overcommit_ratio");
    json.real(summary.overcommit_ratio);
    if (summary.host_swap || summary.host_oom_kills > 0) {
        json.key("host_swap_max_used_bytes");
        json.unsigned_number(summary.host_swap_max_used_bytes);
        json.key("host_oom_kills");
        json.unsigned_number(summary.host_oom_kills);
    }
    json.key("all_checks_passed");
    json.boolean(summary.all_checks_passed());
    json.key("guests");
    json.begin_array();
    for (const GuestSummary& guest : summary.guests) {
        write_guest(json, guest, summary.host_swap);
    }
    json.end_array();
    json.key("checks");
    json.begin_array();
    for (const CheckResult& check : summary.checks) {
        write_check(json, check);
    }
    json.end_array();
    if (summary.has_profile) {
        json.key("profile");
        json.begin_object();
        json.key("wall_seconds");
        json.real(summary.wall_seconds);
        json.key("pages_per_wall_second");
        json.real(summary.pages_per_wall_second);
        json.key("transactions_per_wall_second");
        json.real(summary.transactions_per_wall_second);
        json.end_object();
    }
    json.end_object();
    json.finish();
}

}  // namespace vbsim::platform
