#include "platform/report/output_html.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/config/units.h"
#include "platform/report/html_text.h"
#include "platform/report/svg_chart.h"
#include "platform/run/time_split.h"
#include "platform/text/quantity_format.h"

namespace vbsim::platform {
namespace {

// Beyond this the list stops being read; the events are in the run's own logs.
constexpr std::size_t kMaxEventsListed = 1000;
constexpr std::size_t kMaxEpisodesListed = 200;

constexpr const char* kStyle = R"(
:root{color-scheme:light}
body{margin:0;background:#f3f4f6;color:#1d2330;
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:22px 28px 48px}
h1{font-size:24px;margin:0 0 2px}
h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:1px solid #d5d9df}
h2 small{font-weight:400;font-size:13px;color:#566070;margin-left:8px}
.desc{color:#3f4756;margin:2px 0 10px;max-width:80ch}
.meta{display:flex;flex-wrap:wrap;gap:4px 22px;color:#566070}
.meta b{color:#1d2330;font-weight:600}
.verdict{margin:16px 0 4px;padding:10px 14px;border-radius:6px;font-weight:600}
.verdict.pass{background:#e2f4e7;color:#16622c;border:1px solid #a6d9b3}
.verdict.fail{background:#fde7e7;color:#a01b1b;border:1px solid #efaaaa}
.verdict.none{background:#eef0f3;color:#3f4756;border:1px solid #d5d9df}
table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums;width:100%}
th,td{padding:5px 10px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eceff3;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap}
tr.fail td{background:#fdeaea}
tr.fail td:first-child{box-shadow:inset 4px 0 #d62728}
.badge{display:inline-block;min-width:36px;text-align:center;padding:1px 8px;border-radius:10px;
 font-size:12px;font-weight:700}
.badge.pass{background:#d3efda;color:#16622c}
.badge.fail{background:#d62728;color:#fff}
.box{background:#fff;border:1px solid #d9dde3;border-radius:6px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px}
figure{margin:0;padding:10px 12px 6px}
figcaption{font-weight:600;margin-bottom:2px}
figcaption small{font-weight:400;color:#566070}
svg.plot{display:block;width:100%;height:auto}
svg.plot text{font-size:12px;fill:#4a5262}
table.metrics{width:auto;min-width:60%}
table.metrics td{min-width:11em}
th.time{width:9em}
th.guest{width:12em}
.scroll{max-height:420px;overflow:auto}
.scroll th{position:sticky;top:0}
.muted{color:#7a8292}
.warn{color:#a01b1b;font-weight:600}
.note{color:#566070;font-size:13px;margin:6px 0 0}
footer{margin-top:36px;color:#7a8292;font-size:12px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
)";

// Already HTML: the unit may be an entity.
std::string format_duration(double seconds) {
    if (seconds == 0) {
        return "0 s";
    }
    const HtmlTimeUnit unit = html_time_unit(seconds);
    return format_significant(seconds / unit.seconds) + " " + unit.name;
}

std::string format_rate(double pages_per_s) {
    if (!std::isfinite(pages_per_s)) {
        return "&#8211;";
    }
    if (pages_per_s >= 1e6) {
        return format_significant(pages_per_s / 1e6) + " M pages/s";
    }
    if (pages_per_s >= 1e4) {
        return format_significant(pages_per_s / 1e3) + " k pages/s";
    }
    return format_significant(pages_per_s) + " pages/s";
}

std::string format_pages(uint64_t pages, uint32_t page_size) {
    return format_grouped(pages) + " <span class=\"muted\">(" +
           format_bytes(static_cast<double>(pages) * page_size) + ")</span>";
}

// ---- sections ---------------------------------------------------------------------------------

const GuestSummary* find_guest(const RunSummary& summary, const std::string& name) {
    for (const GuestSummary& guest : summary.guests) {
        if (guest.name == name) {
            return &guest;
        }
    }
    return nullptr;
}

std::string transport_name(uint32_t version) {
    if (version == 1) {
        return "virtio-mmio v1 (legacy)";
    }
    if (version == 2) {
        return "virtio-mmio v2 (modern)";
    }
    return "virtio-mmio v" + std::to_string(version);
}

void write_header(std::ostream& out, const Recording& recording, const RunSummary& summary) {
    out << "<header>\n<h1>" << escape_html(summary.scenario) << "</h1>\n";
    if (!summary.description.empty()) {
        out << "<p class=\"desc\">" << escape_html(summary.description) << "</p>\n";
    }
    out << "<div class=\"meta\">"
        << "<span>seed <b>" << std::to_string(summary.seed) << "</b></span>"
        << "<span>simulated <b>" << format_duration(time_in_seconds(summary.simulated_time))
        << "</b></span>"
        << "<span>guests <b>" << std::to_string(recording.guest_names.size()) << "</b></span>"
        << "<span>samples <b>" << format_grouped(recording.samples.size()) << "</b></span>"
        << "<span>host RAM <b>" << format_bytes(static_cast<double>(summary.host_ram_bytes))
        << "</b></span>"
        << "<span>overcommit <b>"
        << (std::isfinite(summary.overcommit_ratio) ? format_trimmed(summary.overcommit_ratio, 2)
                                                    : std::string("&#8211;"))
        << "&#215;</b></span>"
        << "<span>host free min <b>"
        << format_bytes(static_cast<double>(summary.host_free_min_bytes)) << "</b> at <b>"
        << format_duration(time_in_seconds(summary.host_free_min_at)) << "</b></span>"
        << "<span>host free at end <b>"
        << format_bytes(static_cast<double>(summary.host_free_final_bytes)) << "</b></span>";
    if (summary.has_profile) {
        out << "<span>wall <b>" << format_significant(summary.wall_seconds) << " s</b></span>"
            << "<span><b>" << format_rate(summary.pages_per_wall_second) << "</b> wall</span>"
            << "<span><b>" << format_significant(summary.transactions_per_wall_second / 1e6)
            << " M</b> transactions/s wall</span>";
    }
    out << "</div>\n";

    std::size_t failed = 0;
    for (const CheckResult& check : summary.checks) {
        failed += check.passed ? 0 : 1;
    }
    if (summary.checks.empty()) {
        out << "<div class=\"verdict none\">No checks in this scenario</div>\n";
    } else if (failed == 0) {
        out << "<div class=\"verdict pass\">All " << std::to_string(summary.checks.size())
            << " checks passed</div>\n";
    } else {
        out << "<div class=\"verdict fail\">" << std::to_string(failed) << " of "
            << std::to_string(summary.checks.size()) << " checks FAILED</div>\n";
    }
    out << "</header>\n";
}

void write_checks(std::ostream& out, const RunSummary& summary) {
    out << "<h2>Checks</h2>\n";
    if (summary.checks.empty()) {
        out << "<p class=\"note\">This scenario asserts nothing.</p>\n";
        return;
    }
    out << "<table class=\"box\"><thead><tr><th>Check</th><th>Result</th><th>Measured</th>"
           "<th>Bound</th></tr></thead><tbody>\n";
    for (const CheckResult& check : summary.checks) {
        out << (check.passed ? "<tr>" : "<tr class=\"fail\">") << "<td>" << escape_html(check.name)
            << "</td><td>"
            << (check.passed ? "<span class=\"badge pass\">PASS</span>"
                             : "<span class=\"badge fail\">FAIL</span>")
            << "</td><td>" << escape_html(check.measured) << "</td><td>" << escape_html(check.bound)
            << "</td></tr>\n";
    }
    out << "</tbody></table>\n";
}

template <typename Field>
std::vector<double> column(const Recording& recording, std::size_t guest, Field field,
                           double scale = 1) {
    std::vector<double> values;
    values.reserve(recording.samples.size());
    for (const Sample& sample : recording.samples) {
        values.push_back(guest < sample.guests.size()
                             ? static_cast<double>(sample.guests[guest].*field) * scale
                             : 0.0);
    }
    return values;
}

void write_host(std::ostream& out, const Recording& recording, const std::vector<double>& times) {
    Plot plot;
    plot.width = kWidePlotWidth;
    plot.title = "Host free memory";
    plot.subtitle = "below zero the host is overcommitted and short";
    plot.zero_line = true;
    std::vector<double> free;
    free.reserve(recording.samples.size());
    for (const Sample& sample : recording.samples) {
        free.push_back(static_cast<double>(sample.host_free_bytes));
    }
    plot.series.push_back({"host free", "#1f77b4", "", 1.8, std::move(free)});
    if (recording.host_ram_bytes > 0) {
        plot.series.push_back(
            {"host RAM", "#8a919c", "5 4", 1.2,
             std::vector<double>(times.size(), static_cast<double>(recording.host_ram_bytes))});
    }
    out << "<h2>Host</h2>\n";
    write_plot(out, times, plot);
}

// One episode's split (platform/run/time_split.h) as shares of its time.
void write_time_split_cell(std::ostream& out, const TimeSplit& split) {
    out << "<td>" << escape_html(describe_time_split(split)) << "</td>";
}

void write_episodes(std::ostream& out, const GuestSummary& guest) {
    out << "<figure class=\"box\"><figcaption>Target changes <small>time to target is until "
           "actual == target</small></figcaption>\n";
    if (guest.episodes.empty()) {
        out << "<p class=\"note\">The target never changed.</p></figure>\n";
        return;
    }
    out << "<div class=\"scroll\"><table><thead><tr><th class=\"num\">Set at</th>"
           "<th class=\"num\">From pages</th><th class=\"num\">To pages</th>"
           "<th class=\"num\">Reached at</th><th class=\"num\">Time to target</th>"
           "<th>Where the time went</th></tr></thead>"
           "<tbody>\n";
    const std::size_t shown = std::min(guest.episodes.size(), kMaxEpisodesListed);
    for (std::size_t i = 0; i < shown; ++i) {
        const TargetEpisode& episode = guest.episodes[i];
        out << "<tr><td class=\"num\">" << format_duration(time_in_seconds(episode.set_at))
            << "</td><td class=\"num\">" << format_grouped(episode.from_pages)
            << "</td><td class=\"num\">" << format_grouped(episode.to_pages) << "</td>";
        if (episode.reached) {
            out << "<td class=\"num\">" << format_duration(time_in_seconds(episode.reached_at))
                << "</td><td class=\"num\">"
                << format_duration(time_in_seconds(episode.reached_at) -
                                   time_in_seconds(episode.set_at))
                << "</td>";
        } else {
            out << "<td class=\"num warn\">not reached</td><td class=\"num\">&#8211;</td>";
        }
        write_time_split_cell(out, episode.split);
        out << "</tr>\n";
    }
    out << "</tbody></table></div>\n";
    if (shown < guest.episodes.size()) {
        out << "<p class=\"note\">" << std::to_string(guest.episodes.size() - shown)
            << " more target changes not listed; summary.json has them all.</p>\n";
    }
    out << "</figure>\n";
}

void write_guest(std::ostream& out, const Recording& recording, const RunSummary& summary,
                 std::size_t index, const std::vector<double>& times) {
    const std::string& name = recording.guest_names[index];
    const GuestSummary* guest = find_guest(summary, name);
    const uint32_t page_size = guest != nullptr && guest->page_size > 0 ? guest->page_size : 4096;
    const double page_bytes = page_size;

    out << "<h2>Guest " << escape_html(name) << "<small>";
    if (index < recording.guest_ram_bytes.size()) {
        out << format_bytes(static_cast<double>(recording.guest_ram_bytes[index])) << " RAM";
    }
    if (guest != nullptr) {
        out << " &#183; " << format_bytes(page_bytes) << " pages &#183; "
            << transport_name(guest->transport_version) << " &#183; driver "
            << escape_html(guest->driver_state);
        if (!guest->negotiated_features.empty()) {
            out << " &#183; " << escape_html(guest->negotiated_features);
        }
    }
    out << "</small></h2>\n<div class=\"grid\">\n";

    Plot balloon;
    balloon.title = "Balloon: target vs actual vs ballooned";
    balloon.subtitle = "as memory (pages &#215; " + format_bytes(page_bytes) + ")";
    balloon.series.push_back({"target", "#3b4250", "6 4", 1.6,
                              column(recording, index, &GuestSample::target_pages, page_bytes)});
    balloon.series.push_back({"actual (driver)", "#1f77b4", "", 1.8,
                              column(recording, index, &GuestSample::actual_pages, page_bytes)});
    balloon.series.push_back({"ballooned (device)", "#ff7f0e", "", 7,
                              column(recording, index, &GuestSample::ballooned_pages, page_bytes),
                              0.35});
    write_plot(out, times, balloon);

    Plot memory;
    memory.title = "Guest memory";
    memory.subtitle = "MemFree, MemAvailable, MemTotal as the guest sees them";
    memory.series.push_back(
        {"free", "#2ca02c", "", 1.8, column(recording, index, &GuestSample::free_bytes)});
    memory.series.push_back(
        {"available", "#17a2b8", "", 1.6, column(recording, index, &GuestSample::available_bytes)});
    memory.series.push_back(
        {"total", "#8a919c", "5 4", 1.2, column(recording, index, &GuestSample::total_bytes)});
    uint64_t previous_kills = 0;
    for (std::size_t i = 0; i < recording.samples.size(); ++i) {
        const auto& guests = recording.samples[i].guests;
        if (index < guests.size()) {
            if (guests[index].oom_kills > previous_kills) {
                memory.markers.push_back(times[i]);
            }
            previous_kills = guests[index].oom_kills;
        }
    }
    memory.marker_label = "OOM kill";
    write_plot(out, times, memory);

    Plot workload;
    workload.title = "Workload: demand vs held";
    workload.subtitle = "what it is heading for, and what it holds";
    workload.series.push_back(
        {"demand", "#6a3d9a", "6 4", 1.6, column(recording, index, &GuestSample::demand_bytes)});
    workload.series.push_back(
        {"held", "#e377c2", "", 5, column(recording, index, &GuestSample::workload_bytes), 0.6});
    write_plot(out, times, workload);

    if (guest != nullptr) {
        write_episodes(out, *guest);
    }
    out << "</div>\n";
}

void write_guest_table(std::ostream& out, const RunSummary& summary) {
    if (summary.guests.empty()) {
        return;
    }
    out << "<h2>Summary</h2>\n<table class=\"box metrics\"><thead><tr><th></th>";
    for (const GuestSummary& guest : summary.guests) {
        out << "<th class=\"num\">" << escape_html(guest.name) << "</th>";
    }
    out << "</tr></thead><tbody>\n";
    // One metric per row, guests in columns: a few guests and many metrics read best this way.
    const auto row = [&](const char* label, auto cell) {
        out << "<tr><th>" << label << "</th>";
        for (const GuestSummary& guest : summary.guests) {
            out << "<td class=\"num\">" << cell(guest) << "</td>";
        }
        out << "</tr>\n";
    };
    const auto count = [](uint64_t value) { return format_grouped(value); };
    const auto alarm = [](uint64_t value) {
        return value > 0 ? "<span class=\"warn\">" + format_grouped(value) + "</span>"
                         : format_grouped(value);
    };
    row("Driver state", [](const GuestSummary& g) {
        const bool bad = g.driver_state == "failed";
        return bad ? "<span class=\"warn\">" + escape_html(g.driver_state) + "</span>"
                   : escape_html(g.driver_state);
    });
    row("Final target",
        [](const GuestSummary& g) { return format_pages(g.final_target_pages, g.page_size); });
    row("Final actual",
        [](const GuestSummary& g) { return format_pages(g.final_actual_pages, g.page_size); });
    row("Final ballooned",
        [](const GuestSummary& g) { return format_pages(g.final_ballooned_pages, g.page_size); });
    row("Pages inflated / deflated", [&](const GuestSummary& g) {
        return count(g.pages_inflated) + " / " + count(g.pages_deflated);
    });
    row("Inflate / deflate buffers", [&](const GuestSummary& g) {
        return count(g.inflate_buffers) + " / " + count(g.deflate_buffers);
    });
    row("Inflate rate",
        [](const GuestSummary& g) { return format_rate(g.inflate_rate_pages_per_s); });
    row("Deflate rate",
        [](const GuestSummary& g) { return format_rate(g.deflate_rate_pages_per_s); });
    row("Target reached", [](const GuestSummary& g) {
        std::size_t reached = 0;
        double worst = 0;
        for (const TargetEpisode& episode : g.episodes) {
            if (episode.reached) {
                ++reached;
                worst = std::max(
                    worst, time_in_seconds(episode.reached_at) - time_in_seconds(episode.set_at));
            }
        }
        if (g.episodes.empty()) {
            return std::string("&#8211;");
        }
        std::string text = std::to_string(reached) + " of " + std::to_string(g.episodes.size());
        if (reached < g.episodes.size()) {
            text = "<span class=\"warn\">" + text + "</span>";
        }
        return reached > 0 ? text + ", slowest " + format_duration(worst) : text;
    });
    row("Notifies", [&](const GuestSummary& g) { return count(g.notifies); });
    row("Interrupts", [&](const GuestSummary& g) { return count(g.interrupts); });
    row("Config changes", [&](const GuestSummary& g) { return count(g.config_changes); });
    row("Bus transactions", [&](const GuestSummary& g) { return count(g.bus_transactions); });
    row("Bus utilisation", [](const GuestSummary& g) {
        return std::isfinite(g.bus_utilisation) ? format_significant(g.bus_utilisation * 100) + " %"
                                                : std::string("&#8211;");
    });
    row("DMA",
        [](const GuestSummary& g) { return format_bytes(static_cast<double>(g.dma_bytes)); });
    row("OOM kills", [&](const GuestSummary& g) { return alarm(g.oom_kills); });
    row("OOM deferred (balloon deflated)", [&](const GuestSummary& g) {
        return count(g.oom_deferred) + " <span class=\"muted\">(" + count(g.oom_deflations) +
               " deflations)</span>";
    });
    row("Allocation stalls", [&](const GuestSummary& g) { return count(g.alloc_stalls); });
    row("Balloon allocation failures / retries", [&](const GuestSummary& g) {
        return count(g.balloon_alloc_failures) + " / " + count(g.retries);
    });
    row("Stats updates", [&](const GuestSummary& g) { return count(g.stats_updates); });
    row("Driver rounds / actual writes",
        [&](const GuestSummary& g) { return count(g.rounds) + " / " + count(g.actual_writes); });
    row("Invalid PFNs", [&](const GuestSummary& g) { return alarm(g.invalid_pfns); });
    row("NEEDS_RESET events", [&](const GuestSummary& g) { return alarm(g.needs_reset_events); });
    row("Notifies inflateq / deflateq / statsq (early)", [&](const GuestSummary& g) {
        return count(g.inflate_notifies) + " / " + count(g.deflate_notifies) + " / " +
               count(g.stats_notifies) + " (" + count(g.early_notifies) + ")";
    });
    row("Interrupts raised: used buffer / config", [&](const GuestSummary& g) {
        return count(g.used_buffer_interrupts) + " / " + count(g.config_interrupts);
    });
    row("PFNs per buffer (PFNs:buffers) inflate / deflate", [](const GuestSummary& g) {
        return describe_pfns_per_buffer(g.inflate_pfns_per_buffer) + " / " +
               describe_pfns_per_buffer(g.deflate_pfns_per_buffer);
    });
    row("Guest errors", [&](const GuestSummary& g) { return alarm(g.guest_errors); });
    const bool free_pages = std::any_of(summary.guests.begin(), summary.guests.end(),
                                        [](const GuestSummary& g) { return g.free_page_features; });
    if (free_pages) {
        row("Pages reported (4 KiB) / buffers / kept for poison", [&](const GuestSummary& g) {
            return count(g.pages_reported) + " / " + count(g.report_buffers) + " / " +
                   count(g.pages_kept_for_poison);
        });
        row("Reported at the end / reported blocks reused", [&](const GuestSummary& g) {
            return count(g.reported_pages_final) + " / " + count(g.reported_blocks_reused);
        });
        row("Host memory returned by reporting / by the balloon", [](const GuestSummary& g) {
            return format_bytes(static_cast<double>(g.host_pages_freed_by_reporting * 4096)) +
                   " / " + format_bytes(static_cast<double>(g.host_pages_freed_by_balloon * 4096));
        });
        row("Free page hint rounds / pages hinted", [&](const GuestSummary& g) {
            return count(g.hint_rounds) + " / " + count(g.hinted_pages);
        });
    }
    out << "</tbody></table>\n";
}

void write_events(std::ostream& out, const Recording& recording) {
    out << "<h2>Events</h2>\n";
    if (recording.events.empty()) {
        out << "<p class=\"note\">No events.</p>\n";
        return;
    }
    // One unit and microsecond precision for the whole column, so that times line up.
    const HtmlTimeUnit unit = html_time_unit(time_in_seconds(recording.events.back().time));
    const int decimals = static_cast<int>(std::lround(std::log10(unit.seconds / 1e-6)));
    out << "<div class=\"box scroll\"><table><thead><tr><th class=\"num time\">Time</th>"
           "<th class=\"guest\">Guest</th><th>Event</th></tr></thead><tbody>\n";
    const std::size_t shown = std::min(recording.events.size(), kMaxEventsListed);
    for (std::size_t i = 0; i < shown; ++i) {
        const EventRecord& event = recording.events[i];
        out << "<tr><td class=\"num\">"
            << format_fixed(time_in_seconds(event.time) / unit.seconds, std::max(decimals, 0))
            << " " << unit.name << "</td><td>"
            << (event.guest.empty() ? std::string("<span class=\"muted\">host</span>")
                                    : escape_html(event.guest))
            << "</td><td>" << escape_html(event.what) << "</td></tr>\n";
    }
    out << "</tbody></table></div>\n";
    if (shown < recording.events.size()) {
        out << "<p class=\"note\">" << std::to_string(recording.events.size() - shown)
            << " more events not listed.</p>\n";
    }
}

}  // namespace

void write_report_html(const Recording& recording, const RunSummary& summary, std::ostream& out) {
    std::vector<double> times;
    times.reserve(recording.samples.size());
    for (const Sample& sample : recording.samples) {
        times.push_back(time_in_seconds(sample.time));
    }

    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>vbsim: "
        << escape_html(summary.scenario) << "</title>\n<style>" << kStyle << "</style>\n</head>\n"
        << "<body>\n<main>\n";
    write_header(out, recording, summary);
    write_checks(out, summary);
    write_host(out, recording, times);
    for (std::size_t g = 0; g < recording.guest_names.size(); ++g) {
        write_guest(out, recording, summary, g, times);
    }
    write_guest_table(out, summary);
    write_events(out, recording);
    out << "<footer>vbsim report &#183; scenario " << escape_html(summary.scenario)
        << " &#183; seed " << std::to_string(summary.seed)
        << "</footer>\n</main>\n</body>\n</html>\n";
}

}  // namespace vbsim::platform
