#include "platform/cli.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "platform/output_csv.h"
#include "platform/output_html.h"
#include "platform/output_json.h"
#include "platform/scenario_loader.h"
#include "platform/scenario_run.h"

namespace vbsim::platform {

namespace {

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (std::abs(bytes) >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.4g %s", bytes, units[unit]);
    return text;
}

bool load(const std::string& file, const CliOptions& options, ScenarioConfig& config) {
    std::vector<LoadError> errors;
    if (!ScenarioLoader::load_file(file, options.overrides, config, errors)) {
        for (const LoadError& error : errors) {
            std::cerr << error.to_string() << "\n";
        }
        return false;
    }
    return true;
}

void print_summary(const RunSummary& summary, const std::string& directory) {
    std::printf("scenario %s: %.6g s simulated, %zu guest(s), host %s, free min %s\n",
                summary.scenario.c_str(), summary.simulated_time.to_seconds(),
                summary.guests.size(),
                human_bytes(static_cast<double>(summary.host_ram_bytes)).c_str(),
                human_bytes(static_cast<double>(summary.host_free_min_bytes)).c_str());
    std::printf("  %-10s %10s %10s %10s %12s %12s %14s %6s %6s  %s\n", "guest", "target", "actual",
                "ballooned", "inflated", "deflated", "inflate p/s", "OOMk", "OOMd", "driver");
    for (const GuestSummary& guest : summary.guests) {
        std::printf(
            "  %-10s %10llu %10llu %10llu %12llu %12llu %14.4g %6llu %6llu  %s\n",
            guest.name.c_str(), static_cast<unsigned long long>(guest.final_target_pages),
            static_cast<unsigned long long>(guest.final_actual_pages),
            static_cast<unsigned long long>(guest.final_ballooned_pages),
            static_cast<unsigned long long>(guest.pages_inflated),
            static_cast<unsigned long long>(guest.pages_deflated), guest.inflate_rate_pages_per_s,
            static_cast<unsigned long long>(guest.oom_kills),
            static_cast<unsigned long long>(guest.oom_deferred), guest.driver_state.c_str());
        std::printf(
            "  %-10s notifies infl/defl/stats %llu/%llu/%llu (early %llu), interrupts "
            "used/config %llu/%llu, PFNs:buffers infl %s defl %s, guest errors %llu\n",
            "", static_cast<unsigned long long>(guest.inflate_notifies),
            static_cast<unsigned long long>(guest.deflate_notifies),
            static_cast<unsigned long long>(guest.stats_notifies),
            static_cast<unsigned long long>(guest.early_notifies),
            static_cast<unsigned long long>(guest.used_buffer_interrupts),
            static_cast<unsigned long long>(guest.config_interrupts),
            describe_pfns_per_buffer(guest.inflate_pfns_per_buffer).c_str(),
            describe_pfns_per_buffer(guest.deflate_pfns_per_buffer).c_str(),
            static_cast<unsigned long long>(guest.guest_errors));
    }
    size_t failed = 0;
    for (const CheckResult& check : summary.checks) {
        std::printf("  %s %s: %s (bound %s)\n", check.passed ? "PASS" : "FAIL", check.name.c_str(),
                    check.measured.c_str(), check.bound.c_str());
        failed += check.passed ? 0 : 1;
    }
    std::printf("  checks: %zu of %zu passed; outputs in %s\n", summary.checks.size() - failed,
                summary.checks.size(), directory.c_str());
}

int run_one(const std::string& file, const CliOptions& options, bool several) {
    ScenarioConfig config;
    if (!load(file, options, config)) {
        return 2;
    }
    if (!options.output_directory.empty()) {
        config.output.directory =
            several ? options.output_directory + "/" + config.name : options.output_directory;
    }
    std::error_code error;
    std::filesystem::create_directories(config.output.directory, error);
    if (error) {
        std::cerr << "vbsim: cannot create " << config.output.directory << ": " << error.message()
                  << "\n";
        return 2;
    }

    const auto wall_start = std::chrono::steady_clock::now();
    ScenarioRun run("scenario", config);
    run.run(!options.quiet && isatty(STDERR_FILENO) != 0);
    run.finish();
    RunSummary summary = run.summarize();
    if (options.profile) {
        summary.has_profile = true;
        summary.wall_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        double pages = 0;
        double transactions = 0;
        for (const GuestSummary& guest : summary.guests) {
            pages += static_cast<double>(guest.pages_inflated + guest.pages_deflated);
            transactions += static_cast<double>(guest.bus_transactions);
        }
        summary.pages_per_wall_second = summary.wall_seconds > 0 ? pages / summary.wall_seconds : 0;
        summary.transactions_per_wall_second =
            summary.wall_seconds > 0 ? transactions / summary.wall_seconds : 0;
    }

    const std::string& directory = config.output.directory;
    if (config.output.timeseries_csv) {
        std::ofstream out(directory + "/timeseries.csv");
        write_timeseries_csv(run.recording(), out);
    }
    if (config.output.summary_json) {
        std::ofstream out(directory + "/summary.json");
        write_summary_json(summary, out);
    }
    if (config.output.report_html) {
        std::ofstream out(directory + "/report.html");
        write_report_html(run.recording(), summary, out);
    }
    if (!options.quiet) {
        print_summary(summary, directory);
    }
    for (const CheckResult& check : summary.checks) {
        if (!check.passed) {
            std::cerr << "FAIL " << config.name << ": " << check.name << ": measured "
                      << check.measured << ", bound " << check.bound << "\n";
        }
    }
    return summary.all_checks_passed() ? 0 : 1;
}

}  // namespace

const char* cli_usage() {
    return "usage: vbsim run SCENARIO.yaml... [--out DIR] [--set PATH=VALUE]... [--profile] "
           "[--quiet]\n"
           "       vbsim check SCENARIO.yaml... [--set PATH=VALUE]...\n"
           "       vbsim --help\n"
           "\n"
           "run    simulates each scenario and writes timeseries.csv, summary.json, trace.vcd\n"
           "       and report.html into its output directory (output.directory, or --out)\n"
           "check  validates the scenarios without simulating\n"
           "\n"
           "  --out DIR          output directory (one subdirectory per scenario when several)\n"
           "  --set PATH=VALUE   override a scenario value, e.g. --set guests[0].ram=2GiB\n"
           "  --profile          add wall-clock speed figures to summary.json\n"
           "  --quiet            no progress line and no summary table\n"
           "\n"
           "Exit status: 0 when every check passed, 1 when a check failed, 2 for bad input.\n"
           "\n"
           "examples:\n"
           "  vbsim run configs/default.yaml\n"
           "  vbsim run configs/default.yaml --out /tmp/run --set guests[0].ram=2GiB\n"
           "  vbsim check configs/*.yaml\n";
}

bool parse_cli(const std::vector<std::string>& arguments, CliOptions& options, std::string& error) {
    if (arguments.empty()) {
        error = "no command";
        return false;
    }
    size_t index = 0;
    const std::string& command = arguments[index++];
    if (command == "--help" || command == "-h" || command == "help") {
        options.command = CliOptions::Command::kHelp;
        return true;
    }
    if (command == "run") {
        options.command = CliOptions::Command::kRun;
    } else if (command == "check") {
        options.command = CliOptions::Command::kCheck;
    } else {
        error = "unknown command '" + command + "'";
        return false;
    }
    while (index < arguments.size()) {
        const std::string& argument = arguments[index++];
        auto value = [&](std::string& into) {
            if (index >= arguments.size()) {
                error = argument + " needs a value";
                return false;
            }
            into = arguments[index++];
            return true;
        };
        if (argument == "--help" || argument == "-h") {
            options.command = CliOptions::Command::kHelp;
            return true;
        } else if (argument == "--out") {
            if (!value(options.output_directory)) {
                return false;
            }
        } else if (argument == "--set") {
            std::string override_text;
            if (!value(override_text)) {
                return false;
            }
            options.overrides.push_back(override_text);
        } else if (argument.rfind("--set=", 0) == 0) {
            options.overrides.push_back(argument.substr(6));
        } else if (argument == "--profile") {
            options.profile = true;
        } else if (argument == "--quiet") {
            options.quiet = true;
        } else if (argument.rfind("--", 0) == 0) {
            error = "unknown option '" + argument + "'";
            return false;
        } else {
            options.files.push_back(argument);
        }
    }
    if (options.files.empty()) {
        error = "no scenario file given";
        return false;
    }
    return true;
}

int run_cli(const CliOptions& options) {
    if (options.command == CliOptions::Command::kHelp) {
        std::cout << cli_usage();
        return 0;
    }
    if (options.command == CliOptions::Command::kCheck) {
        int status = 0;
        for (const std::string& file : options.files) {
            ScenarioConfig config;
            if (load(file, options, config)) {
                std::cout << file << ": ok (" << config.guests.size() << " guest(s), "
                          << config.events.size() << " event(s), " << config.checks.size()
                          << " check(s))\n";
            } else {
                status = 2;
            }
        }
        return status;
    }
    if (options.files.size() == 1) {
        return run_one(options.files[0], options, false);
    }
    // SystemC elaborates once per process: each scenario runs in a child of its own.
    int status = 0;
    for (const std::string& file : options.files) {
        std::cout.flush();
        const pid_t child = fork();
        if (child == 0) {
            std::_Exit(run_one(file, options, true));
        }
        int child_status = 0;
        if (child < 0 || waitpid(child, &child_status, 0) < 0 || !WIFEXITED(child_status)) {
            std::cerr << "vbsim: " << file << ": the simulation did not finish\n";
            status = std::max(status, 2);
            continue;
        }
        status = std::max(status, WEXITSTATUS(child_status));
    }
    return status;
}

}  // namespace vbsim::platform
