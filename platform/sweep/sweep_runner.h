#pragma once

// Runs a sweep's variants, each as its own `vbsim run` process (SystemC elaborates once per
// process), a few at a time. The sweep folder holds:
//   plan.csv               the variants: index, name, seed and the varied values
//   base.yaml              an inline base scenario, as the variants read it
//   variants/<name>/       each variant's outputs, complete or absent (as `vbsim run` writes them)
//   logs/<name>.stderr     what a variant printed on stderr, kept when not empty
//   state/<name>           how the variant ended: its fingerprint, exit status, wall seconds
// A re-run skips the variants whose outputs are complete for the same fingerprint (the base
// scenario's text and the variant's overrides) and redoes the others.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "platform/sweep/sweep_plan.h"

namespace vbsim::platform {

struct SweepRunOptions {
    std::string folder;        // the sweep folder (--out)
    std::string vbsim_binary;  // the vbsim executable each variant runs
    unsigned jobs = 1;         // variants run at once
    bool progress = false;     // a progress line on stderr
    // A Slurm array task runs only its chunk: positions [task * per_task, (task+1) * per_task)
    // of plan.variants.
    std::optional<size_t> task;
    size_t per_task = 1;
    bool report = false;  // say on stderr how many variants ran and how many were complete
};

// How a variant ended, as recorded in state/<name>.
struct VariantState {
    bool present = false;
    std::string fingerprint;
    int exit_status = 0;  // vbsim's exit status; 128+N when killed by signal N
    double wall_seconds = 0;
};

// Fingerprint of what a variant runs: the base text and its overrides (FNV-1a, hex).
std::string variant_fingerprint(const SweepPlan& plan, const SweepVariant& variant);
VariantState read_variant_state(const std::string& folder, const std::string& name);
// True when the variant ran to the end (exit 0 or 1) with this fingerprint and its outputs
// are there.
bool variant_complete(const std::string& folder, const SweepPlan& plan,
                      const SweepVariant& variant);

// Prepares the sweep folder: refuses one that is not a sweep folder and holds anything, or
// holds another sweep (its plan.yaml names another); writes plan.yaml (and base.yaml).
// Returns an empty string or the error.
std::string prepare_sweep_folder(const SweepPlan& plan, const std::string& folder);
// Variant folders left from an earlier version of the sweep: in variants/, not in the plan.
std::vector<std::string> variant_folders_not_in_plan(const SweepPlan& plan,
                                                     const std::string& folder);

// Runs the variants not yet complete. Returns the worst exit status among the variants
// (0 when every check passed; 1 when a check failed; 2 or 3 when a variant failed to run).
int run_sweep_variants(const SweepPlan& plan, const SweepRunOptions& options);

// The variants an array task runs.
std::vector<size_t> variants_of_task(const SweepPlan& plan, size_t task, size_t per_task);

}  // namespace vbsim::platform
