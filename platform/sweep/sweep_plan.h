#pragma once

// A sweep file names a base scenario and what varies; its plan is the list of variants, each
// a full scenario: the base with `--set` overrides. docs/sweep-reference.md describes the file.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/config/scenario_loader.h"

namespace vbsim::platform {

// One value a dimension takes, as YAML text (what `--set PATH=` is given) and where it was written.
struct SweepValue {
    std::string text;
    int line = 0;  // in the sweep file, 1-based
    int column = 0;
};

// Paths varied together: a grid axis has one path, a zip axis several, the seed axis none.
struct SweepAxis {
    std::vector<std::string> paths;
    std::vector<SweepValue> path_keys;            // where each path is written (text: the path)
    std::vector<std::vector<SweepValue>> values;  // values[path][step]
    size_t steps() const { return values.empty() ? 0 : values.front().size(); }
};

struct SweepFile {
    std::string file;  // as given
    std::string name;
    // The base scenario: a file (path relative to the sweep file's folder), or written inline.
    std::string base_path;        // resolved; empty when inline
    std::string base_text;        // the scenario's text either way
    int base_line_offset = 0;     // inline: line of the base's first line in the sweep file, - 1
    int base_column_offset = 0;   // inline: its indentation
    std::vector<SweepAxis> axes;  // grid axes in file order, then the zip axis
    std::vector<uint64_t> seeds;  // empty: the base scenario's seed only
    // A variant whose values equal every path/value pair of one entry is left out.
    std::vector<std::vector<std::pair<std::string, std::string>>> excludes;
    uint64_t base_seed = 1;
};

struct SweepVariant {
    size_t index = 0;        // position in the full grid, before excludes: stable when they change
    std::string name;        // index plus the varied values; also the variant's folder name
    uint64_t base_seed = 0;  // the listed seed (or the base scenario's) it was derived from
    uint64_t seed = 0;
    std::vector<std::string> paths;   // varied paths, in column order (the plan's)
    std::vector<std::string> values;  // their values for this variant
    // What turns the base into this variant: "path=value" for each varied path, then the seed
    // and the name.
    std::vector<std::string> overrides() const;
};

struct SweepPlan {
    SweepFile file;
    std::vector<std::string> varied_paths;  // the plan's columns
    bool varies_seed = false;
    size_t grid_size = 0;  // variants before excludes
    std::vector<SweepVariant> variants;
};

// Sweeps larger than this are refused: each variant is a process and a folder.
inline constexpr size_t kMaxSweepVariants = 100'000;

// The seed a variant runs with: mixes the base seed and the variant's index (SplitMix64), so
// neighbouring variants get unrelated streams and any variant re-run alone gives the same bytes.
// Kept below 2^53 so that it reads back exactly from summary.json.
uint64_t variant_seed(uint64_t base_seed, size_t index);

// Reads and checks a sweep file: its own keys, the base scenario, and every variant through the
// scenario loader (so a value that does not fit its path is reported at the value, in the sweep
// file). True and `plan` filled when nothing is wrong; otherwise every error is appended.
bool load_sweep_plan(const std::string& path, SweepPlan& plan, std::vector<LoadError>& errors);

}  // namespace vbsim::platform
