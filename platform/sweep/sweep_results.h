#pragma once

// A sweep's results, gathered from its folder alone (plan.yaml, variants/*/summary.json,
// state/*): sweep.csv, one row per variant, and sweep.html, the same table and a plot of each
// metric against each varied parameter.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace vbsim::platform {

// One headline metric of a variant, as text exactly as summary.json holds it (or computed
// from it in integers); absent when the variant has no summary or the summary lacks it.
struct SweepMetric {
    const char* column;
    const char* meaning;  // for the report's legend and docs
};
const std::vector<SweepMetric>& sweep_metrics();

struct SweepRow {
    size_t index = 0;
    std::string name;
    std::string seed;
    std::vector<std::string> values;  // the varied values, in SweepResults::varied order
    std::string status;               // passed, check_failed, failed, not_run
    std::string exit_status;          // empty when not run
    std::vector<std::optional<std::string>> metrics;  // in sweep_metrics() order
    std::string wall_seconds;                         // empty when not run
};

struct SweepResults {
    std::string sweep;
    std::vector<std::string> varied;  // parameter paths, then "seed" when the sweep varies it
    std::vector<SweepRow> rows;
    size_t failed() const;
    size_t check_failed() const;
    size_t not_run() const;
};

// Reads the sweep folder. False (with `error`) when it is not one.
bool read_sweep_results(const std::string& folder, SweepResults& results, std::string& error);

// sweep.csv: index, name, seed, the varied values, status, exit_status, the metrics,
// wall_seconds (the only column that differs between two runs of the same sweep).
void write_sweep_csv(const SweepResults& results, std::ostream& out);
void write_sweep_html(const SweepResults& results, std::ostream& out);

// Writes sweep.csv and sweep.html into the folder (each whole or not at all). Returns an
// empty string or the error.
std::string write_sweep_results(const std::string& folder, const SweepResults& results);

}  // namespace vbsim::platform
