#include "platform/sweep/sweep_results.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "platform/exit_status.h"
#include "platform/report/output_csv.h"
#include "platform/sweep/atomic_file.h"

namespace vbsim::platform {

namespace {

namespace fs = std::filesystem;

// Guests' counters summed, integer rates averaged over the guests, times compared as numbers
// but printed as summary.json wrote them (nine decimals), so the CSV holds no new rounding.
enum class Source {
    kTopLevel,
    kGuestSum,
    kGuestMean,
    kGuestSumSeconds,
    kLongestEpisode,
    kEpisodesNotReached,
    kChecksPassed,
    kChecksFailed
};

struct MetricSource {
    SweepMetric metric;
    Source source;
    const char* key;
    // Host swap figures appear in summary.json only when the host has swap or killed a guest:
    // absent, they are 0.
    bool zero_when_absent = false;
};

const std::vector<MetricSource>& metric_sources() {
    static const std::vector<MetricSource> sources = {
        {{"simulated_time_s", "simulated time run"}, Source::kTopLevel, "simulated_time_s"},
        {{"time_to_target_max_s", "longest time to target of any reached episode"},
         Source::kLongestEpisode,
         ""},
        {{"episodes_not_reached", "target episodes that did not reach their target"},
         Source::kEpisodesNotReached,
         ""},
        {{"inflate_rate_pages_per_s", "inflate rate, mean over guests"},
         Source::kGuestMean,
         "inflate_rate_pages_per_s"},
        {{"deflate_rate_pages_per_s", "deflate rate, mean over guests"},
         Source::kGuestMean,
         "deflate_rate_pages_per_s"},
        {{"pages_inflated", "pages inflated, all guests"}, Source::kGuestSum, "pages_inflated"},
        {{"pages_deflated", "pages deflated, all guests"}, Source::kGuestSum, "pages_deflated"},
        {{"host_free_min_bytes", "lowest host free memory"},
         Source::kTopLevel,
         "host_free_min_bytes"},
        {{"oom_kills", "guest OOM kills, all guests"}, Source::kGuestSum, "oom_kills"},
        {{"oom_deflations", "deflate-on-OOM releases, all guests"},
         Source::kGuestSum,
         "oom_deflations"},
        {{"host_swap_max_used_bytes", "most host swap in use"},
         Source::kTopLevel,
         "host_swap_max_used_bytes",
         true},
        {{"host_swap_in_bytes", "bytes swapped in by the host, all guests"},
         Source::kGuestSum,
         "host_swap_in_bytes",
         true},
        {{"host_swap_out_bytes", "bytes swapped out by the host, all guests"},
         Source::kGuestSum,
         "host_swap_out_bytes",
         true},
        {{"host_swap_stall_s", "guest time stalled on host swap-ins, all guests"},
         Source::kGuestSumSeconds,
         "host_swap_stall_s",
         true},
        {{"host_oom_kills", "guests killed by the host's OOM killer"},
         Source::kTopLevel,
         "host_oom_kills",
         true},
        {{"checks_passed", "checks passed"}, Source::kChecksPassed, ""},
        {{"checks_failed", "checks failed"}, Source::kChecksFailed, ""},
    };
    return sources;
}

bool parse_integer(const std::string& text, long long& value) {
    try {
        size_t used = 0;
        value = std::stoll(text, &used);
        return used == text.size();
    } catch (const std::exception&) {
        return false;
    }
}

// "12.000250000" (summary.json's nine decimals) as nanoseconds.
bool parse_nanoseconds(const std::string& text, long long& ns) {
    const size_t dot = text.find('.');
    long long whole = 0;
    long long fraction = 0;
    if (dot == std::string::npos || text.size() - dot - 1 != 9 ||
        !parse_integer(text.substr(0, dot), whole) ||
        !parse_integer(text.substr(dot + 1), fraction)) {
        return false;
    }
    ns = whole * 1'000'000'000 + fraction;
    return true;
}

std::string format_nanoseconds(long long ns) {
    std::string fraction = std::to_string(ns % 1'000'000'000);
    fraction.insert(0, 9 - fraction.size(), '0');
    return std::to_string(ns / 1'000'000'000) + "." + fraction;
}

std::optional<std::string> metric_of(const YAML::Node& summary, const MetricSource& source) {
    const YAML::Node guests = summary["guests"];
    switch (source.source) {
        case Source::kTopLevel: {
            const YAML::Node value = summary[source.key];
            if (!value && source.zero_when_absent) {
                return "0";
            }
            return value && value.IsScalar() ? std::optional(value.Scalar()) : std::nullopt;
        }
        case Source::kGuestSumSeconds: {
            long long sum = 0;
            for (const YAML::Node& guest : guests) {
                long long ns = 0;
                const YAML::Node node = guest[source.key];
                if (!node && source.zero_when_absent) {
                    continue;
                }
                if (!node || !node.IsScalar() || !parse_nanoseconds(node.Scalar(), ns)) {
                    return std::nullopt;
                }
                sum += ns;
            }
            return format_nanoseconds(sum);
        }
        case Source::kGuestSum:
        case Source::kGuestMean: {
            if (!guests.IsSequence() || guests.size() == 0) {
                return std::nullopt;
            }
            long long sum = 0;
            for (const YAML::Node& guest : guests) {
                long long value = 0;
                const YAML::Node node = guest[source.key];
                if (!node && source.zero_when_absent) {
                    continue;
                }
                if (!node || !node.IsScalar() || !parse_integer(node.Scalar(), value)) {
                    return std::nullopt;
                }
                sum += value;
            }
            return std::to_string(source.source == Source::kGuestSum
                                      ? sum
                                      : sum / static_cast<long long>(guests.size()));
        }
        case Source::kLongestEpisode:
        case Source::kEpisodesNotReached: {
            std::optional<std::string> longest;
            double longest_seconds = -1;
            long long not_reached = 0;
            for (const YAML::Node& guest : guests) {
                for (const YAML::Node& episode : guest["episodes"]) {
                    if (!episode["reached"].as<bool>(false)) {
                        ++not_reached;
                        continue;
                    }
                    const std::string text = episode["time_to_target_s"].as<std::string>("");
                    const double seconds = episode["time_to_target_s"].as<double>(-1);
                    if (seconds > longest_seconds) {
                        longest_seconds = seconds;
                        longest = text;
                    }
                }
            }
            if (source.source == Source::kEpisodesNotReached) {
                return std::to_string(not_reached);
            }
            return longest;
        }
        case Source::kChecksPassed:
        case Source::kChecksFailed: {
            long long count = 0;
            const bool want = source.source == Source::kChecksPassed;
            for (const YAML::Node& check : summary["checks"]) {
                count += check["passed"].as<bool>(false) == want ? 1 : 0;
            }
            return std::to_string(count);
        }
    }
    return std::nullopt;
}

}  // namespace

const std::vector<SweepMetric>& sweep_metrics() {
    static const std::vector<SweepMetric> metrics = [] {
        std::vector<SweepMetric> out;
        for (const MetricSource& source : metric_sources()) {
            out.push_back(source.metric);
        }
        return out;
    }();
    return metrics;
}

size_t SweepResults::failed() const {
    return static_cast<size_t>(std::count_if(
        rows.begin(), rows.end(), [](const SweepRow& row) { return row.status == "failed"; }));
}

size_t SweepResults::check_failed() const {
    return static_cast<size_t>(std::count_if(rows.begin(), rows.end(), [](const SweepRow& row) {
        return row.status == "check_failed";
    }));
}

size_t SweepResults::not_run() const {
    return static_cast<size_t>(std::count_if(
        rows.begin(), rows.end(), [](const SweepRow& row) { return row.status == "not_run"; }));
}

bool read_sweep_results(const std::string& folder, SweepResults& results, std::string& error) {
    YAML::Node plan;
    try {
        plan = YAML::LoadFile(folder + "/plan.yaml");
    } catch (const YAML::Exception& failure) {
        error = folder + " is not a sweep folder (no readable plan.yaml: " + failure.msg + ")";
        return false;
    }
    results = SweepResults();
    try {
        results.sweep = plan["sweep"].as<std::string>();
        results.varied = plan["varied"].as<std::vector<std::string>>();
        const bool varies_seed = plan["varies_seed"].as<bool>();
        if (varies_seed) {
            // The listed value; `seed` (the variant's own, derived from it) is a column already.
            results.varied.push_back("base_seed");
        }
        for (const YAML::Node& variant : plan["variants"]) {
            SweepRow row;
            row.index = variant["index"].as<size_t>();
            row.name = variant["name"].as<std::string>();
            row.seed = variant["seed"].as<std::string>();
            row.values = variant["values"].as<std::vector<std::string>>();
            if (varies_seed) {
                row.values.push_back(variant["base_seed"].as<std::string>());
            }
            results.rows.push_back(std::move(row));
        }
    } catch (const YAML::Exception& failure) {
        error = folder + "/plan.yaml is damaged: " + failure.msg;
        return false;
    }
    for (SweepRow& row : results.rows) {
        std::ifstream state(folder + "/state/" + row.name);
        std::string fingerprint;
        int status = 0;
        std::string wall;
        row.metrics.assign(metric_sources().size(), std::nullopt);
        if (!(state >> fingerprint >> status >> wall)) {
            row.status = "not_run";
            continue;
        }
        row.exit_status = std::to_string(status);
        row.wall_seconds = wall;
        row.status = status == kExitChecksPassed  ? "passed"
                     : status == kExitCheckFailed ? "check_failed"
                                                  : "failed";
        if (row.status == "failed") {
            continue;
        }
        YAML::Node summary;
        try {
            summary = YAML::LoadFile(folder + "/variants/" + row.name + "/summary.json");
        } catch (const YAML::Exception&) {
            row.status = "not_run";  // state without outputs: removed since, or never written
            row.exit_status.clear();
            row.wall_seconds.clear();
            continue;
        }
        for (size_t i = 0; i < metric_sources().size(); ++i) {
            row.metrics[i] = metric_of(summary, metric_sources()[i]);
        }
    }
    return true;
}

void write_sweep_csv(const SweepResults& results, std::ostream& out) {
    out << "index,name,seed";
    for (const std::string& path : results.varied) {
        out << ",";
        write_csv_cell(out, path);
    }
    out << ",status,exit_status";
    for (const SweepMetric& metric : sweep_metrics()) {
        out << "," << metric.column;
    }
    out << ",wall_seconds\n";
    for (const SweepRow& row : results.rows) {
        out << row.index << ",";
        write_csv_cell(out, row.name);
        out << "," << row.seed;
        for (const std::string& value : row.values) {
            out << ",";
            write_csv_cell(out, value);
        }
        out << "," << row.status << "," << row.exit_status;
        for (const std::optional<std::string>& metric : row.metrics) {
            out << ",";
            if (metric) {
                write_csv_cell(out, *metric);
            }
        }
        out << "," << row.wall_seconds << "\n";
    }
}

std::string write_sweep_results(const std::string& folder, const SweepResults& results) {
    std::ostringstream csv;
    write_sweep_csv(results, csv);
    if (std::string error = write_file_atomically(folder + "/sweep.csv", csv.str());
        !error.empty()) {
        return error;
    }
    std::ostringstream html;
    write_sweep_html(results, html);
    return write_file_atomically(folder + "/sweep.html", html.str());
}

}  // namespace vbsim::platform
