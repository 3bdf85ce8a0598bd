#include "platform/sweep/sweep_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "platform/child_stop_signals.h"
#include "platform/exit_status.h"
#include "platform/sweep/atomic_file.h"

namespace vbsim::platform {

namespace {

namespace fs = std::filesystem;

std::string base_file(const SweepPlan& plan, const std::string& folder) {
    return plan.file.base_path.empty() ? folder + "/base.yaml" : plan.file.base_path;
}

std::string plan_yaml(const SweepPlan& plan) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "sweep" << YAML::Value << plan.file.name;
    out << YAML::Key << "varied" << YAML::Value << YAML::Flow << plan.varied_paths;
    out << YAML::Key << "varies_seed" << YAML::Value << plan.varies_seed;
    out << YAML::Key << "grid_size" << YAML::Value << plan.grid_size;
    out << YAML::Key << "variants" << YAML::Value << YAML::BeginSeq;
    for (const SweepVariant& variant : plan.variants) {
        out << YAML::Flow << YAML::BeginMap;
        out << YAML::Key << "index" << YAML::Value << variant.index;
        out << YAML::Key << "name" << YAML::Value << variant.name;
        out << YAML::Key << "seed" << YAML::Value << variant.seed;
        out << YAML::Key << "base_seed" << YAML::Value << variant.base_seed;
        out << YAML::Key << "values" << YAML::Value << YAML::Flow << variant.values;
        out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::vector<std::string> run_arguments(const SweepPlan& plan, const SweepVariant& variant,
                                       const SweepRunOptions& options) {
    std::vector<std::string> arguments = {options.vbsim_binary,
                                          "run",
                                          base_file(plan, options.folder),
                                          "--out",
                                          options.folder + "/variants/" + variant.name,
                                          "--quiet"};
    for (const std::string& override_text : variant.overrides()) {
        arguments.push_back("--set");
        arguments.push_back(override_text);
    }
    return arguments;
}

// Starts one variant; returns its pid, or -1 (reported).
pid_t start_variant(const SweepPlan& plan, const SweepVariant& variant,
                    const SweepRunOptions& options) {
    const std::vector<std::string> arguments = run_arguments(plan, variant, options);
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    const std::string log = options.folder + "/logs/" + variant.name + ".stderr";
    std::cout.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t child = ::fork();
    if (child == 0) {
        const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (log_fd < 0 || null_fd < 0 || ::dup2(log_fd, STDERR_FILENO) < 0 ||
            ::dup2(null_fd, STDOUT_FILENO) < 0) {
            std::_Exit(kExitInternalError);
        }
        ::execv(argv[0], argv.data());
        const std::string message =
            "vbsim sweep: cannot run " + arguments[0] + ": " + std::strerror(errno) + "\n";
        [[maybe_unused]] const ssize_t written =
            ::write(STDERR_FILENO, message.data(), message.size());
        std::_Exit(kExitInternalError);
    }
    if (child < 0) {
        std::cerr << "vbsim sweep: cannot start variant " << variant.name << ": "
                  << std::strerror(errno) << "\n";
    }
    return child;
}

std::string format_eta(double seconds) {
    const long total = static_cast<long>(seconds + 0.5);
    char text[32];
    if (total >= 3600) {
        std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, total / 60 % 60);
    } else if (total >= 60) {
        std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
    } else {
        std::snprintf(text, sizeof text, "%lds", total);
    }
    return text;
}

}  // namespace

std::string variant_fingerprint(const SweepPlan& plan, const SweepVariant& variant) {
    uint64_t hash = 0xcbf29ce484222325ull;
    const auto mix = [&](const std::string& text) {
        for (const char c : text) {
            hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
        }
        hash = (hash ^ 0xffu) * 0x100000001b3ull;  // separator: "ab","c" differs from "a","bc"
    };
    mix(plan.file.base_text);
    for (const std::string& override_text : variant.overrides()) {
        mix(override_text);
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

VariantState read_variant_state(const std::string& folder, const std::string& name) {
    VariantState state;
    std::ifstream in(folder + "/state/" + name);
    std::string fingerprint;
    int status = 0;
    double wall = 0;
    if (in >> fingerprint >> status >> wall) {
        state.present = true;
        state.fingerprint = fingerprint;
        state.exit_status = status;
        state.wall_seconds = wall;
    }
    return state;
}

bool variant_complete(const std::string& folder, const SweepPlan& plan,
                      const SweepVariant& variant) {
    const VariantState state = read_variant_state(folder, variant.name);
    std::error_code error;
    return state.present && state.fingerprint == variant_fingerprint(plan, variant) &&
           (state.exit_status == kExitChecksPassed || state.exit_status == kExitCheckFailed) &&
           fs::is_regular_file(folder + "/variants/" + variant.name + "/summary.json", error);
}

namespace {

// The sweep name a folder's plan.yaml records; empty when it records none or is unreadable
// (a damaged plan is rewritten).
std::string recorded_sweep_name(const std::string& plan_file) {
    try {
        const YAML::Node plan = YAML::LoadFile(plan_file);
        if (plan.IsMap() && plan["sweep"] && plan["sweep"].IsScalar()) {
            return plan["sweep"].as<std::string>();
        }
    } catch (const YAML::Exception&) {
    }
    return "";
}

}  // namespace

std::string prepare_sweep_folder(const SweepPlan& plan, const std::string& folder) {
    std::error_code error;
    if (fs::exists(folder, error)) {
        if (!fs::is_directory(folder, error)) {
            return folder + " exists and is not a folder";
        }
        const bool ours = fs::exists(folder + "/plan.yaml", error);
        if (!ours && !fs::is_empty(folder, error)) {
            return folder + " holds files that are not a sweep's: give an empty or new folder";
        }
        // Another sweep's variants would stay in the folder beside this one's.
        const std::string previous = ours ? recorded_sweep_name(folder + "/plan.yaml") : "";
        if (!previous.empty() && previous != plan.file.name) {
            return folder + " holds the results of sweep '" + previous + "', not '" +
                   plan.file.name + "': give an empty or new folder";
        }
    }
    for (const char* sub : {"", "/variants", "/logs", "/state"}) {
        fs::create_directories(folder + sub, error);
        if (error) {
            return "cannot make " + folder + sub + ": " + error.message();
        }
    }
    if (plan.file.base_path.empty()) {
        if (std::string failure = write_file_atomically(folder + "/base.yaml", plan.file.base_text);
            !failure.empty()) {
            return failure;
        }
    }
    return write_file_atomically(folder + "/plan.yaml", plan_yaml(plan));
}

std::vector<std::string> variant_folders_not_in_plan(const SweepPlan& plan,
                                                     const std::string& folder) {
    std::set<std::string> planned;
    for (const SweepVariant& variant : plan.variants) {
        planned.insert(variant.name);
    }
    std::vector<std::string> stale;
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder + "/variants", error)) {
        const std::string name = entry.path().filename().string();
        // Names starting with '.' are staging folders of variants being written.
        if (!name.empty() && name[0] != '.' && planned.count(name) == 0) {
            stale.push_back(name);
        }
    }
    std::sort(stale.begin(), stale.end());
    return stale;
}

std::vector<size_t> variants_of_task(const SweepPlan& plan, size_t task, size_t per_task) {
    std::vector<size_t> positions;
    const size_t first = task * per_task;
    for (size_t i = first; i < plan.variants.size() && i < first + per_task; ++i) {
        positions.push_back(i);
    }
    return positions;
}

int run_sweep_variants(const SweepPlan& plan, const SweepRunOptions& options) {
    std::vector<size_t> positions;
    if (options.task) {
        positions = variants_of_task(plan, *options.task, options.per_task);
    } else {
        for (size_t i = 0; i < plan.variants.size(); ++i) {
            positions.push_back(i);
        }
    }
    std::vector<size_t> pending;
    size_t skipped = 0;
    int worst = kExitChecksPassed;
    for (const size_t position : positions) {
        if (variant_complete(options.folder, plan, plan.variants[position])) {
            ++skipped;
            worst = std::max(
                worst,
                read_variant_state(options.folder, plan.variants[position].name).exit_status);
        } else {
            pending.push_back(position);
        }
    }
    forward_stop_signals_to_children();
    const unsigned jobs = std::clamp<unsigned>(options.jobs, 1, kMaxForwardedChildren);
    std::map<pid_t, std::pair<size_t, std::chrono::steady_clock::time_point>> running;
    size_t done = 0;
    size_t failed = 0;
    const auto started = std::chrono::steady_clock::now();
    const auto show_progress = [&] {
        if (!options.progress) {
            return;
        }
        std::string line = "\rsweep: " + std::to_string(done + skipped) + "/" +
                           std::to_string(positions.size()) + " done";
        if (skipped > 0) {
            line += " (" + std::to_string(skipped) + " from before)";
        }
        line += ", " + std::to_string(failed) + " failed";
        if (done > 0 && done < pending.size()) {
            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            line += ", ETA " + format_eta(elapsed / static_cast<double>(done) *
                                          static_cast<double>(pending.size() - done));
        }
        std::cerr << line << "   " << std::flush;
    };
    show_progress();
    size_t next = 0;
    while (next < pending.size() || !running.empty()) {
        while (next < pending.size() && running.size() < jobs) {
            const SweepVariant& variant = plan.variants[pending[next++]];
            std::error_code ignored;
            fs::remove(options.folder + "/state/" + variant.name, ignored);
            const pid_t child = start_variant(plan, variant, options);
            if (child < 0) {
                worst = std::max(worst, kExitInternalError);
                ++failed;
                ++done;
                continue;
            }
            running.emplace(child,
                            std::make_pair(pending[next - 1], std::chrono::steady_clock::now()));
            add_forwarded_child(child);
        }
        if (running.empty()) {
            break;
        }
        int wait_status = 0;
        const pid_t child = ::waitpid(-1, &wait_status, 0);
        if (child < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        const auto entry = running.find(child);
        if (entry == running.end()) {
            continue;
        }
        remove_forwarded_child(child);
        const SweepVariant& variant = plan.variants[entry->second.first];
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - entry->second.second)
                .count();
        running.erase(entry);
        const int status = WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
                           : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
                                                      : kExitInternalError;
        ++done;
        const bool ran = status == kExitChecksPassed || status == kExitCheckFailed;
        if (!ran) {
            ++failed;
            if (options.progress) {
                std::cerr << "\n";
            }
            std::cerr << "vbsim sweep: variant " << variant.name << " failed (exit status "
                      << status << "); its stderr: " << options.folder << "/logs/" << variant.name
                      << ".stderr\n";
        }
        if (status == kExitCheckFailed) {
            if (options.progress) {
                std::cerr << "\n";
            }
            std::cerr << "vbsim sweep: variant " << variant.name
                      << ": a check failed; its stderr: " << options.folder << "/logs/"
                      << variant.name << ".stderr\n";
        }
        worst = std::max(worst, ran ? status : std::min(status, kExitInternalError));
        char wall_text[32];
        std::snprintf(wall_text, sizeof wall_text, "%.3f", wall);
        const std::string state = variant_fingerprint(plan, variant) + "\n" +
                                  std::to_string(status) + "\n" + wall_text + "\n";
        if (const std::string error =
                write_file_atomically(options.folder + "/state/" + variant.name, state);
            !error.empty()) {
            std::cerr << "vbsim sweep: " << error << "\n";
            worst = std::max(worst, kExitBadInput);
        }
        const std::string log = options.folder + "/logs/" + variant.name + ".stderr";
        std::error_code error;
        if (fs::exists(log, error) && fs::file_size(log, error) == 0) {
            fs::remove(log, error);
        }
        show_progress();
    }
    if (options.progress) {
        std::cerr << "\n";
    }
    if (options.report) {
        std::cerr << "vbsim sweep: " << done << " variant(s) run, " << skipped
                  << " already complete (not run again)\n";
    }
    return worst;
}

}  // namespace vbsim::platform
