#include "platform/sweep/sweep_slurm.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "platform/exit_status.h"

namespace vbsim::platform {

namespace {

namespace fs = std::filesystem;

// Single-quoted for sh: nothing inside is expanded.
std::string shell_quoted(const std::string& text) {
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// Runs a program, returning its exit status (128+N when killed) and its standard output.
int run_program(const std::vector<std::string>& arguments, std::string& output) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) {
        return -1;
    }
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    std::cout.flush();
    std::cerr.flush();
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        ::execvp(argv[0], argv.data());
        const std::string message =
            "vbsim sweep: cannot run " + arguments[0] + ": " + std::strerror(errno) + "\n";
        [[maybe_unused]] const ssize_t written =
            ::write(STDERR_FILENO, message.data(), message.size());
        std::_Exit(127);
    }
    ::close(pipe_fds[1]);
    if (child < 0) {
        ::close(pipe_fds[0]);
        return -1;
    }
    char buffer[4096];
    for (ssize_t got; (got = ::read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        output.append(buffer, static_cast<size_t>(got));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

size_t task_count(const SweepPlan& plan, size_t per_task) {
    return (plan.variants.size() + per_task - 1) / per_task;
}

}  // namespace

size_t default_variants_per_task(size_t variants) {
    return std::max<size_t>(10, (variants + 999) / 1000);
}

std::string slurm_job_script(const SweepPlan& plan, const std::string& sweep_file,
                             const SweepRunOptions& options, size_t per_task) {
    const std::string slurm_folder = options.folder + "/slurm";
    std::string script = "#!/bin/sh\n";
    script += "#SBATCH --job-name=" + shell_quoted("vbsim-sweep-" + plan.file.name) + "\n";
    script += "#SBATCH --array=0-" + std::to_string(task_count(plan, per_task) - 1) + "\n";
    script += "#SBATCH --output=" + shell_quoted(slurm_folder + "/task-%a.out") + "\n";
    script += "# Written by vbsim sweep run --backend slurm: each array task runs its chunk of " +
              std::to_string(per_task) + " variant(s) of " + std::to_string(plan.variants.size()) +
              "\n";
    script += "exec " + shell_quoted(options.vbsim_binary) + " sweep run " +
              shell_quoted(sweep_file) + " --out " + shell_quoted(options.folder) +
              " --quiet --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --per-task " +
              std::to_string(per_task) + " --array-task \"${SLURM_ARRAY_TASK_ID}\"\n";
    return script;
}

int run_sweep_on_slurm(const SweepPlan& plan, const std::string& sweep_file,
                       const SweepRunOptions& options, const SlurmOptions& slurm, bool& submitted) {
    submitted = false;
    const size_t per_task =
        slurm.per_task > 0 ? slurm.per_task : default_variants_per_task(plan.variants.size());
    const std::string slurm_folder = options.folder + "/slurm";
    std::error_code error;
    fs::create_directories(slurm_folder, error);
    const std::string script_path = slurm_folder + "/job.sh";
    {
        std::ofstream script(script_path, std::ios::trunc);
        script << slurm_job_script(plan, sweep_file, options, per_task);
        if (!script) {
            std::cerr << "vbsim sweep: cannot write " << script_path << "\n";
            return kExitBadInput;
        }
    }
    std::vector<std::string> sbatch = {"sbatch", "--parsable"};
    if (slurm.wait) {
        sbatch.push_back("--wait");
    }
    sbatch.insert(sbatch.end(), slurm.sbatch_options.begin(), slurm.sbatch_options.end());
    sbatch.push_back(script_path);
    std::string output;
    const int status = run_program(sbatch, output);
    std::string job = output.substr(0, output.find_first_of(";\n"));
    if (job.empty()) {
        std::cerr << "vbsim sweep: sbatch did not submit the job (exit status " << status
                  << "); is Slurm reachable from here?\n";
        return kExitBadInput;
    }
    submitted = true;
    const size_t tasks = task_count(plan, per_task);
    if (!slurm.wait) {
        std::cout << "submitted Slurm job " << job << " (" << tasks << " array task(s) for "
                  << plan.variants.size() << " variant(s)); when it has finished: vbsim sweep "
                  << "collect " << options.folder << "\n";
        return kExitChecksPassed;
    }
    // sbatch --wait fails when any task failed; which ones is read from the variants' states.
    int worst = kExitChecksPassed;
    for (size_t task = 0; task < tasks; ++task) {
        bool task_ran = true;
        for (const size_t position : variants_of_task(plan, task, per_task)) {
            const SweepVariant& variant = plan.variants[position];
            const VariantState state = read_variant_state(options.folder, variant.name);
            if (!state.present || state.fingerprint != variant_fingerprint(plan, variant)) {
                task_ran = false;
                worst = std::max(worst, kExitInternalError);
                continue;
            }
            worst = std::max(worst, std::min(state.exit_status, kExitInternalError));
        }
        if (!task_ran) {
            std::cerr << "vbsim sweep: Slurm job " << job << " array task " << task
                      << " did not run all its variants; its output: " << slurm_folder << "/task-"
                      << task << ".out\n";
        }
    }
    return worst;
}

}  // namespace vbsim::platform
