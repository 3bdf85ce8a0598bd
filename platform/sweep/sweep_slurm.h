#pragma once

// The Slurm backend of `vbsim sweep run`: one job array whose tasks each run a chunk of the
// variants with the local runner (`vbsim sweep run ... --array-task K`), into the same sweep
// folder, which must therefore be on a file system every node sees.

#include <cstddef>
#include <string>
#include <vector>

#include "platform/sweep/sweep_runner.h"

namespace vbsim::platform {

struct SlurmOptions {
    std::vector<std::string> sbatch_options;  // --slurm-opt, passed to sbatch as they are
    bool wait = true;                         // false: submit and return (collect later)
    size_t per_task = 0;                      // variants per array task; 0: chosen
};

// Variants per array task when not given: at least 10, so that a task's start-up is shared,
// and few enough tasks for Slurm's default MaxArraySize (1001).
size_t default_variants_per_task(size_t variants);

// The batch script: array 0..tasks-1, each task running its chunk.
std::string slurm_job_script(const SweepPlan& plan, const std::string& sweep_file,
                             const SweepRunOptions& options, size_t per_task);

// Writes slurm/job.sh into the sweep folder, submits it with sbatch and (unless told not to)
// waits for the array; then reports the array tasks whose variants did not all run. Returns the
// worst exit status, as run_sweep_variants does.
int run_sweep_on_slurm(const SweepPlan& plan, const std::string& sweep_file,
                       const SweepRunOptions& options, const SlurmOptions& slurm, bool& submitted);

}  // namespace vbsim::platform
