#include "platform/sweep/sweep_cli.h"

#include <unistd.h>

#include <climits>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "platform/exit_status.h"
#include "platform/sweep/sweep_plan.h"
#include "platform/sweep/sweep_results.h"
#include "platform/sweep/sweep_runner.h"
#include "platform/sweep/sweep_slurm.h"
#include "platform/text/terminal_text.h"

namespace vbsim::platform {

namespace {

namespace fs = std::filesystem;

struct SweepCommand {
    std::string verb;    // check, run, collect
    std::string target;  // the sweep file, or the folder for collect
    std::string folder;  // --out
    unsigned jobs = 0;   // 0: one per core
    bool quiet = false;
    std::string backend = "local";
    SlurmOptions slurm;
    size_t per_task = 0;
    std::optional<size_t> array_task;
    std::optional<size_t> only;  // --only INDEX
};

bool parse_count(const std::string& text, size_t& value) {
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        return false;
    }
    value = std::stoul(text);
    return true;
}

bool parse(const std::vector<std::string>& arguments, SweepCommand& command, std::string& error) {
    if (arguments.empty()) {
        error = "sweep needs a command: check, run or collect";
        return false;
    }
    command.verb = arguments[0];
    if (command.verb != "check" && command.verb != "run" && command.verb != "collect") {
        error = "unknown sweep command '" + command.verb + "' (check, run or collect)";
        return false;
    }
    for (size_t i = 1; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        const auto value = [&](std::string& into) {
            if (i + 1 >= arguments.size()) {
                error = argument + " needs a value";
                return false;
            }
            into = arguments[++i];
            return true;
        };
        const auto count = [&](size_t& into, size_t minimum) {
            std::string text;
            if (!value(text)) {
                return false;
            }
            if (!parse_count(text, into) || into < minimum) {
                error = argument + ": expected a whole number of at least " +
                        std::to_string(minimum) + ", got '" + text + "'";
                return false;
            }
            return true;
        };
        const bool run_only = argument != "--quiet";
        if (run_only && command.verb != "run" && argument.rfind("--", 0) == 0) {
            error = argument + " is an option of 'sweep run'";
            return false;
        }
        size_t number = 0;
        std::string text;
        if (argument == "--out") {
            if (!value(command.folder)) {
                return false;
            }
        } else if (argument == "--jobs") {
            if (!count(number, 1)) {
                return false;
            }
            command.jobs = static_cast<unsigned>(std::min<size_t>(number, 256));
        } else if (argument == "--quiet") {
            command.quiet = true;
        } else if (argument == "--backend") {
            if (!value(command.backend)) {
                return false;
            }
            if (command.backend != "local" && command.backend != "slurm") {
                error = "--backend: 'local' or 'slurm', got '" + command.backend + "'";
                return false;
            }
        } else if (argument == "--slurm-opt") {
            if (!value(text)) {
                return false;
            }
            command.slurm.sbatch_options.push_back(text);
        } else if (argument == "--no-wait") {
            command.slurm.wait = false;
        } else if (argument == "--per-task") {
            if (!count(command.per_task, 1)) {
                return false;
            }
        } else if (argument == "--array-task") {
            if (!count(number, 0)) {
                return false;
            }
            command.array_task = number;
        } else if (argument == "--only") {
            if (!count(number, 0)) {
                return false;
            }
            command.only = number;
        } else if (argument.rfind("--", 0) == 0) {
            error = "unknown option '" + argument + "'";
            return false;
        } else if (command.target.empty()) {
            command.target = argument;
        } else {
            error = "one sweep at a time: '" + argument + "' is one argument too many";
            return false;
        }
    }
    if (command.target.empty()) {
        error = command.verb == "collect" ? "sweep collect needs the sweep folder"
                                          : "sweep " + command.verb + " needs a sweep file";
        return false;
    }
    if (command.verb == "run" && command.folder.empty()) {
        error = "sweep run needs --out DIR, the sweep folder";
        return false;
    }
    const bool slurm_options = !command.slurm.sbatch_options.empty() || !command.slurm.wait;
    if (command.backend != "slurm" && slurm_options) {
        error = "--slurm-opt and --no-wait go with --backend slurm";
        return false;
    }
    if (command.array_task && command.per_task == 0) {
        error = "--array-task goes with --per-task (it is how Slurm array tasks are run)";
        return false;
    }
    if (command.only && (command.backend == "slurm" || command.array_task)) {
        error = "--only runs one variant here: not with --backend slurm or --array-task";
        return false;
    }
    return true;
}

bool load(const std::string& file, SweepPlan& plan) {
    std::vector<LoadError> errors;
    if (load_sweep_plan(file, plan, errors)) {
        return true;
    }
    for (const LoadError& error : errors) {
        std::cerr << printable(error.to_string()) << "\n";
    }
    return false;
}

std::string own_executable() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    return error ? std::string() : self.string();
}

int collect(const std::string& folder, bool quiet) {
    SweepResults results;
    std::string error;
    if (!read_sweep_results(folder, results, error)) {
        std::cerr << "vbsim sweep: " << printable(error) << "\n";
        return kExitBadInput;
    }
    if (std::string failure = write_sweep_results(folder, results); !failure.empty()) {
        std::cerr << "vbsim sweep: " << printable(failure) << "\n";
        return kExitBadInput;
    }
    if (!quiet) {
        std::cout << printable(folder) << "/sweep.csv: " << results.rows.size() << " variant(s), "
                  << results.failed() << " failed, " << results.check_failed()
                  << " failed a check, " << results.not_run() << " not run\n";
    }
    // As the variants' own statuses: a failed one's (bad input 2, else 3); one that did not
    // run, or ran without leaving a summary, could not run as asked (3).
    int worst = kExitChecksPassed;
    for (const SweepRow& row : results.rows) {
        int status = kExitInternalError;
        if (row.status == "check_failed") {
            status = kExitCheckFailed;
        } else if (row.status == "passed") {
            status = kExitChecksPassed;
        } else if (row.status == "failed" && row.exit_status == std::to_string(kExitBadInput)) {
            status = kExitBadInput;
        }
        worst = std::max(worst, status);
    }
    return worst;
}

int run(const SweepCommand& command) {
    SweepPlan plan;
    if (!load(command.target, plan)) {
        return kExitBadInput;
    }
    if (command.only) {
        const auto found =
            std::find_if(plan.variants.begin(), plan.variants.end(),
                         [&](const SweepVariant& v) { return v.index == *command.only; });
        if (found == plan.variants.end()) {
            std::cerr << "vbsim sweep: --only " << *command.only << ": no such variant (indices "
                      << "0.." << plan.grid_size - 1 << ", less the excluded)\n";
            return kExitBadInput;
        }
    }
    SweepRunOptions options;
    options.folder = fs::absolute(command.folder).lexically_normal().string();
    options.vbsim_binary = own_executable();
    options.jobs = command.jobs > 0
                       ? command.jobs
                       : static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
    options.progress = !command.quiet && isatty(STDERR_FILENO) != 0;
    options.report = !command.quiet && !command.array_task;
    options.per_task = command.per_task;
    options.task = command.array_task;
    if (options.vbsim_binary.empty()) {
        std::cerr << "vbsim sweep: cannot find the vbsim executable (/proc/self/exe)\n";
        return kExitInternalError;
    }
    // An array task finds the folder prepared by the submitting process.
    if (!command.array_task) {
        if (std::string error = prepare_sweep_folder(plan, options.folder); !error.empty()) {
            std::cerr << "vbsim sweep: " << printable(error) << "\n";
            return kExitBadInput;
        }
        const std::vector<std::string> stale = variant_folders_not_in_plan(plan, options.folder);
        if (!stale.empty() && !command.quiet) {
            std::cerr << "vbsim sweep: " << stale.size() << " folder(s) in "
                      << printable(options.folder)
                      << "/variants are not variants of this plan (an earlier version of the sweep;"
                      << " left in place, not in sweep.csv), e.g. " << printable(stale.front())
                      << "\n";
        }
    }
    int status = kExitChecksPassed;
    if (command.backend == "slurm") {
        SlurmOptions slurm = command.slurm;
        slurm.per_task = command.per_task;
        bool submitted = false;
        status = run_sweep_on_slurm(plan, fs::absolute(command.target).string(), options, slurm,
                                    submitted);
        if (!submitted || !slurm.wait) {
            return status;  // nothing ran (no table that looks like results), or collect later
        }
    } else {
        if (command.only) {
            SweepPlan one = plan;
            one.variants.clear();
            for (const SweepVariant& variant : plan.variants) {
                if (variant.index == *command.only) {
                    one.variants.push_back(variant);
                }
            }
            status = run_sweep_variants(one, options);
        } else {
            status = run_sweep_variants(plan, options);
        }
        if (command.array_task) {
            return status;
        }
    }
    // The table decides too: a variant that ran but left no summary did not run as asked
    // (with --only, the others may not have run yet).
    int table = collect(options.folder, command.quiet);
    if (command.only && table != kExitBadInput) {
        table = kExitChecksPassed;
    }
    return std::max(status, table);
}

int dispatch(const SweepCommand& command) {
    if (command.verb == "collect") {
        return collect(command.target, command.quiet);
    }
    if (command.verb == "check") {
        SweepPlan plan;
        if (!load(command.target, plan)) {
            return kExitBadInput;
        }
        std::cout << printable(command.target) << ": ok (" << plan.variants.size() << " variant(s)";
        if (plan.variants.size() != plan.grid_size) {
            std::cout << " of " << plan.grid_size << ", " << plan.grid_size - plan.variants.size()
                      << " excluded";
        }
        std::cout << ")\n";
        return kExitChecksPassed;
    }
    return run(command);
}

}  // namespace

const char* sweep_usage() {
    return "usage: vbsim sweep check SWEEP.yaml\n"
           "       vbsim sweep run SWEEP.yaml --out DIR [--jobs N] [--only INDEX] [--quiet]\n"
           "       vbsim sweep run SWEEP.yaml --out DIR --backend slurm [--slurm-opt OPTION]...\n"
           "                 [--per-task N] [--no-wait]\n"
           "       vbsim sweep collect DIR\n"
           "\n"
           "check    validates the sweep and every variant; prints the number of variants\n"
           "run      runs the variants not yet complete in DIR (one process each, --jobs at a\n"
           "         time, default one per core), then writes DIR/sweep.csv and DIR/sweep.html\n"
           "collect  rebuilds sweep.csv and sweep.html from DIR\n"
           "\n"
           "  --backend slurm    submit one Slurm job array (DIR must be on a shared file system)\n"
           "  --slurm-opt OPT    pass OPT to sbatch, e.g. --slurm-opt=--partition=batch\n"
           "  --per-task N       variants per array task (default: at least 10)\n"
           "  --no-wait          return once submitted; run 'vbsim sweep collect DIR' later\n"
           "  --only INDEX       run that variant alone (as it runs in the sweep)\n"
           "\n"
           "Exit status: 0 when every variant ran and passed its checks, 1 when a check failed,\n"
           "2 for bad input, 3 when a variant could not run (its stderr is in DIR/logs).\n";
}

int sweep_main(const std::vector<std::string>& arguments) {
    SweepCommand command;
    std::string error;
    if (!arguments.empty() && (arguments[0] == "--help" || arguments[0] == "-h")) {
        std::cout << sweep_usage();
        return kExitChecksPassed;
    }
    std::vector<std::string> expanded;
    for (const std::string& argument : arguments) {
        // --slurm-opt=--partition=x: the value itself starts with dashes.
        const std::string prefix = "--slurm-opt=";
        if (argument.rfind(prefix, 0) == 0) {
            expanded.push_back("--slurm-opt");
            expanded.push_back(argument.substr(prefix.size()));
        } else {
            expanded.push_back(argument);
        }
    }
    if (!parse(expanded, command, error)) {
        std::cerr << "vbsim: " << printable(error) << "\n" << sweep_usage();
        return kExitBadInput;
    }
    try {
        return dispatch(command);
    } catch (const std::exception& failure) {
        std::cerr << "vbsim sweep: internal error: " << printable(failure.what()) << "\n";
        return kExitInternalError;
    }
}

}  // namespace vbsim::platform
