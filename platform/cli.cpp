#include "platform/cli.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <new>

#include <systemc>

#include "platform/assembly/device_tree.h"
#include "platform/assembly/memory_estimate.h"
#include "platform/child_stop_signals.h"
#include "platform/config/scenario_loader.h"
#include "platform/config/units.h"
#include "platform/evaluate/check_evaluation.h"
#include "platform/report/output_csv.h"
#include "platform/report/output_folder.h"
#include "platform/report/output_html.h"
#include "platform/report/output_json.h"
#include "platform/report/parameter_listing.h"
#include "platform/report_handler.h"
#include "platform/run/scenario_run.h"
#include "platform/run/time_split.h"
#include "platform/sweep/sweep_cli.h"
#include "platform/text/quantity_format.h"
#include "platform/text/terminal_text.h"

namespace vbsim::platform {

namespace {

bool load(const std::string& file, const CliOptions& options, ScenarioConfig& config) {
    std::vector<LoadError> errors;
    if (!ScenarioLoader::load_file(file, options.overrides, config, errors)) {
        for (const LoadError& error : errors) {
            std::cerr << printable(error.to_string()) << "\n";
        }
        return false;
    }
    return true;
}

// Test hook: VBSIM_TEST_SIGNAL_AFTER=<file>:<signal> raises the signal right after <file> is
// written into the staging folder, to test what an interrupted run leaves behind.
// <file>:<signal>:parent sends it to the parent process instead (a several-file run or a
// sweep, which should pass it back to this process) and waits for it, at most 10 s.
void test_signal_after(const std::string& file) {
    const char* hook = std::getenv("VBSIM_TEST_SIGNAL_AFTER");
    if (hook == nullptr) {
        return;
    }
    const std::string spec = hook;
    const size_t colon = spec.find(':');
    if (colon == std::string::npos || spec.compare(0, colon, file) != 0) {
        return;
    }
    const int signal_number = std::atoi(spec.c_str() + colon + 1);
    const size_t second_colon = spec.find(':', colon + 1);
    if (second_colon == std::string::npos || spec.compare(second_colon + 1, 6, "parent") != 0) {
        std::raise(signal_number);
        return;
    }
    ::alarm(10);  // a parent that does not forward the signal fails the test, not hangs it
    const pid_t parent = ::getppid();
    if (parent > 1) {  // never init, should the parent be gone already
        ::kill(parent, signal_number);
    }
    while (true) {
        ::pause();
    }
}

// Writes one output file, checking every step: a full disk or a file-size limit is an error
// that names the file, never a silently cut file. Returns an empty string or the error.
// (No exception after the simulation has run: unwinding from there upsets AddressSanitizer,
// which cannot follow SystemC's thread stacks.)
template <typename Write>
std::string write_output(const OutputFolder& folder, const std::string& file, Write write) {
    const std::string path = folder.staging() + "/" + file;
    errno = 0;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) {
        write(out);
        out.flush();
    }
    if (out) {
        out.close();
    }
    if (!out) {
        return "cannot write " + folder.target() + "/" + file + ": " +
               std::strerror(errno != 0 ? errno : EIO);
    }
    test_signal_after(file);
    return {};
}

void print_summary(const RunSummary& summary, const std::string& directory) {
    std::printf("scenario %s: %s simulated, %zu guest(s), host %s, free min %s\n",
                printable(summary.scenario).c_str(),
                format_seconds_brief(summary.simulated_time).c_str(), summary.guests.size(),
                format_bytes_4_digits(static_cast<double>(summary.host_ram_bytes)).c_str(),
                format_bytes_4_digits(static_cast<double>(summary.host_free_min_bytes)).c_str());
    std::printf("  %-10s %10s %10s %10s %12s %12s %14s %6s %6s  %s\n", "guest", "target", "actual",
                "ballooned", "inflated", "deflated", "inflate p/s", "OOMk", "OOMd", "driver");
    for (const GuestSummary& guest : summary.guests) {
        std::printf(
            "  %-10s %10llu %10llu %10llu %12llu %12llu %14.0f %6llu %6llu  %s\n",
            printable(guest.name).c_str(),
            static_cast<unsigned long long>(guest.final_target_pages),
            static_cast<unsigned long long>(guest.final_actual_pages),
            static_cast<unsigned long long>(guest.final_ballooned_pages),
            static_cast<unsigned long long>(guest.pages_inflated),
            static_cast<unsigned long long>(guest.pages_deflated), guest.inflate_rate_pages_per_s,
            static_cast<unsigned long long>(guest.oom_kills),
            static_cast<unsigned long long>(guest.oom_deferred), guest.driver_state.c_str());
        std::printf(
            "  %-10s notifies infl/defl/stats %llu/%llu/%llu (early %llu), interrupts "
            "raised used/config %llu/%llu, PFNs:buffers infl %s defl %s, guest errors %llu\n",
            "", static_cast<unsigned long long>(guest.inflate_notifies),
            static_cast<unsigned long long>(guest.deflate_notifies),
            static_cast<unsigned long long>(guest.stats_notifies),
            static_cast<unsigned long long>(guest.early_notifies),
            static_cast<unsigned long long>(guest.used_buffer_interrupts),
            static_cast<unsigned long long>(guest.config_interrupts),
            describe_pfns_per_buffer(guest.inflate_pfns_per_buffer).c_str(),
            describe_pfns_per_buffer(guest.deflate_pfns_per_buffer).c_str(),
            static_cast<unsigned long long>(guest.guest_errors));
        std::printf("  %-10s time to targets: %s\n", "",
                    describe_time_split(reached_episodes_split(guest.episodes)).c_str());
        if (summary.host_swap || guest.host_killed != 0) {
            std::printf(
                "  %-10s host swap in/out %s/%s, stalled %.6g s%s\n", "",
                format_bytes_4_digits(static_cast<double>(guest.host_swap_in_bytes)).c_str(),
                format_bytes_4_digits(static_cast<double>(guest.host_swap_out_bytes)).c_str(),
                guest.host_swap_stall.to_seconds(),
                guest.host_killed != 0 ? ", killed by the host's OOM killer" : "");
        }
        if (guest.free_page_features) {
            std::printf(
                "  %-10s reported %llu pages in %llu buffers (kept for poison %llu), "
                "host freed by reporting/balloon %llu/%llu pages, hint rounds %llu, "
                "hinted %llu pages\n",
                "", static_cast<unsigned long long>(guest.pages_reported),
                static_cast<unsigned long long>(guest.report_buffers),
                static_cast<unsigned long long>(guest.pages_kept_for_poison),
                static_cast<unsigned long long>(guest.host_pages_freed_by_reporting),
                static_cast<unsigned long long>(guest.host_pages_freed_by_balloon),
                static_cast<unsigned long long>(guest.hint_rounds),
                static_cast<unsigned long long>(guest.hinted_pages));
        }
    }
    size_t failed = 0;
    for (const CheckResult& check : summary.checks) {
        std::printf("  %s %s: %s (bound %s)\n", check.passed ? "PASS" : "FAIL",
                    printable(check.name).c_str(), printable(check.measured).c_str(),
                    printable(check.bound).c_str());
        failed += check.passed ? 0 : 1;
    }
    std::printf("  checks: %zu of %zu passed; outputs in %s\n", summary.checks.size() - failed,
                summary.checks.size(), printable(directory).c_str());
}

// Simulates one loaded scenario into `destination`; returns the exit status.
int run_one(ScenarioConfig config, const std::string& destination, const CliOptions& options) {
    config.output.trace = config.output.trace || options.trace;
    OutputFolder folder(destination);
    config.output.directory = folder.staging();

    const auto wall_start = std::chrono::steady_clock::now();
    ScenarioRun run("scenario", config);
    run.run(!options.quiet && isatty(STDERR_FILENO) != 0);
    const auto failed = [](const std::string& error) {
        std::cerr << "vbsim: " << printable(error) << "\n";
        return kExitBadInput;  // the staging folder goes with `folder`
    };
    if (const std::string error = run.finish(); !error.empty()) {
        return failed("cannot write " + folder.target() + "/trace.vcd: " + error);
    }
    if (config.output.trace_vcd) {
        test_signal_after("trace.vcd");
    }
    RunSummary summary = run.summarize();
    summary.checks = evaluate_checks(config.checks, summary, run.recording());
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

    std::string error;
    if (error.empty() && config.output.timeseries_csv) {
        error = write_output(folder, "timeseries.csv", [&](std::ostream& out) {
            write_timeseries_csv(run.recording(), out);
        });
    }
    if (error.empty() && config.output.summary_json) {
        error = write_output(folder, "summary.json",
                             [&](std::ostream& out) { write_summary_json(summary, out); });
    }
    if (error.empty() && config.output.report_html) {
        error = write_output(folder, "report.html", [&](std::ostream& out) {
            write_report_html(run.recording(), summary, out);
        });
    }
    if (config.output.trace) {
        for (size_t i = 0; error.empty() && i < run.guest_count(); ++i) {
            error = write_output(folder, run.mmio_trace_file_name(i),
                                 [&](std::ostream& out) { run.write_mmio_trace(i, out); });
        }
        if (error.empty()) {
            error = write_output(folder, "timeline.json",
                                 [&](std::ostream& out) { run.write_timeline(out); });
        }
    }
    if (error.empty()) {
        error = folder.commit();
    }
    if (!error.empty()) {
        return failed(error);
    }
    if (!options.quiet) {
        print_summary(summary, folder.target());
    }
    for (const CheckResult& check : summary.checks) {
        if (!check.passed) {
            std::cerr << "FAIL " << printable(config.name) << ": " << printable(check.name)
                      << ": measured " << printable(check.measured) << ", bound "
                      << printable(check.bound) << "\n";
        }
    }
    return summary.all_checks_passed() ? kExitChecksPassed : kExitCheckFailed;
}

// Runs `body`, turning whatever it throws into a message on stderr and an exit status.
template <typename Body>
int guarded(Body body) {
    try {
        return body();
    } catch (const OutputError& error) {
        std::cerr << "vbsim: " << printable(error.what()) << "\n";
        return kExitBadInput;
    } catch (const std::bad_alloc&) {
        std::cerr << "vbsim: out of memory; run fewer or smaller guests, or a shorter scenario\n";
        return kExitBadInput;
    } catch (const sc_core::sc_report& report) {
        // SystemC turns an exception escaping a simulation process into a report, and
        // reports a thread stack it cannot map.
        if (std::strstr(report.get_msg(), "bad_alloc") != nullptr ||
            std::strstr(report.get_msg(), "failed to allocate") != nullptr) {
            std::cerr << "vbsim: out of memory; run fewer or smaller guests, or a shorter "
                         "scenario\n";
            return kExitBadInput;
        }
        std::cerr << "vbsim: internal error: " << printable(report.get_msg_type()) << ": "
                  << printable(report.get_msg()) << "\n";
        return kExitInternalError;
    } catch (const std::exception& error) {
        std::cerr << "vbsim: internal error: " << printable(error.what()) << "\n";
        return kExitInternalError;
    } catch (...) {
        std::cerr << "vbsim: internal error: an unknown exception\n";
        return kExitInternalError;
    }
}

// Where each scenario's files go; false (reported) when two would share a folder.
bool destinations(const std::vector<std::string>& files, const std::vector<ScenarioConfig>& configs,
                  const CliOptions& options, std::vector<std::string>& out) {
    const bool several = configs.size() > 1;
    std::map<std::string, size_t> owner;
    for (size_t i = 0; i < configs.size(); ++i) {
        std::string destination = configs[i].output.directory.empty()
                                      ? "vbsim-out/" + safe_folder_name(configs[i].name)
                                      : configs[i].output.directory;
        if (!options.output_directory.empty()) {
            destination = several
                              ? options.output_directory + "/" + safe_folder_name(configs[i].name)
                              : options.output_directory;
        }
        std::filesystem::path folder = std::filesystem::absolute(destination).lexically_normal();
        if (!folder.has_filename()) {
            folder = folder.parent_path();  // "out/" is the folder "out"
        }
        const std::string key = folder.string();
        const auto [place, fresh] = owner.emplace(key, i);
        if (!fresh) {
            std::cerr << "vbsim: " << printable(files[place->second]) << " and "
                      << printable(files[i]) << " would both write " << printable(destination)
                      << (options.output_directory.empty()
                              ? ": give each its own output.directory, or use --out DIR\n"
                              : ": give the scenarios different names\n");
            return false;
        }
        out.push_back(destination);
    }
    // A folder inside another's would be swept away when the outer one is replaced whole.
    for (const auto& [key, index] : owner) {
        for (std::filesystem::path parent = std::filesystem::path(key).parent_path();
             parent.has_relative_path(); parent = parent.parent_path()) {
            const auto outer = owner.find(parent.string());
            if (outer == owner.end()) {
                continue;
            }
            std::cerr << "vbsim: " << printable(files[index]) << " would write "
                      << printable(out[index]) << " inside " << printable(out[outer->second])
                      << ", the output folder of " << printable(files[outer->second])
                      << ": give each its own output.directory, or use --out DIR\n";
            return false;
        }
    }
    return true;
}

// False (reported) when a scenario's model would not fit the memory allowed.
bool fits_in_memory(const std::vector<std::string>& files,
                    const std::vector<ScenarioConfig>& configs, const CliOptions& options) {
    const bool given = options.max_memory_bytes != 0;
    const uint64_t limit = given ? options.max_memory_bytes : physical_memory_bytes();
    bool fits = true;
    for (size_t i = 0; i < configs.size(); ++i) {
        const uint64_t needed = estimated_peak_bytes(configs[i]);
        if (needed > limit) {
            uint64_t guest_ram = 0;
            for (const GuestConfig& guest : configs[i].guests) {
                guest_ram += guest.ram_bytes;
            }
            std::cerr << "vbsim: " << printable(files[i]) << ": the model would need about "
                      << format_bytes_4_digits(static_cast<double>(needed)) << " of memory ("
                      << configs[i].guests.size() << " guest(s) with "
                      << format_bytes_4_digits(static_cast<double>(guest_ram))
                      << " of RAM, and the samples), more than the "
                      << format_bytes_4_digits(static_cast<double>(limit)) << " allowed ("
                      << (given ? "--max-memory" : "this machine's memory")
                      << "): use smaller guests or a longer output.sample_interval, or allow "
                         "more with --max-memory SIZE\n";
            fits = false;
        }
    }
    return fits;
}

// `vbsim params`: the parameters of the scenario's guests, or of one default guest.
int list_parameters(const CliOptions& options) {
    std::vector<ParameterRow> rows;
    if (options.files.empty()) {
        if (!options.overrides.empty()) {
            std::cerr << "vbsim: params: --set needs a scenario file\n";
            return kExitBadInput;
        }
        rows = default_parameter_rows();
    } else {
        ScenarioConfig config;
        if (!load(options.files[0], options, config)) {
            return kExitBadInput;
        }
        rows = parameter_rows(config.guests);
    }
    if (options.format == "json") {
        write_parameters_json(rows, std::cout);
    } else if (options.format == "markdown") {
        write_parameters_markdown(rows, std::cout);
    } else {
        write_parameters_text(rows, std::cout);
    }
    return kExitChecksPassed;
}

int run_scenarios(const CliOptions& options) {
    // Every file is read and checked before anything runs.
    std::vector<ScenarioConfig> configs(options.files.size());
    bool loaded = true;
    for (size_t i = 0; i < options.files.size(); ++i) {
        loaded = load(options.files[i], options, configs[i]) && loaded;
    }
    if (options.command == CliOptions::Command::kCheck) {
        for (size_t i = 0; i < options.files.size(); ++i) {
            if (!configs[i].source.empty()) {
                std::cout << printable(options.files[i]) << ": ok (" << configs[i].guests.size()
                          << " guest(s), " << configs[i].events.size() << " event(s), "
                          << configs[i].checks.size() << " check(s))\n";
            }
        }
        return loaded ? kExitChecksPassed : kExitBadInput;
    }
    if (options.command == CliOptions::Command::kDts) {
        if (!loaded) {
            return kExitBadInput;
        }
        for (const ScenarioConfig& config : configs) {
            std::cout << device_tree_source(config);
        }
        return kExitChecksPassed;
    }
    std::vector<std::string> folders;
    if (!loaded || !destinations(options.files, configs, options, folders)) {
        if (!loaded && configs.size() > 1) {
            std::cerr << "vbsim: nothing was run\n";
        }
        return kExitBadInput;
    }
    if (!fits_in_memory(options.files, configs, options)) {
        return kExitBadInput;
    }
    if (configs.size() == 1) {
        return run_one(std::move(configs[0]), folders[0], options);
    }
    // SystemC elaborates once per process: each scenario runs in a child of its own.
    int status = kExitChecksPassed;
    forward_stop_signals_to_children();
    for (size_t i = 0; i < configs.size(); ++i) {
        std::cout.flush();
        std::fflush(stdout);
        const pid_t child = fork();
        if (child > 0) {
            // A stop signal now goes on to this scenario's child, which removes its staging
            // folder, and then stops this process too.
            add_forwarded_child(child);
        }
        if (child == 0) {
            const int child_status =
                guarded([&] { return run_one(configs[i], folders[i], options); });
            std::fflush(stdout);
            std::_Exit(child_status);
        }
        int child_status = 0;
        const bool waited = child > 0 && waitpid(child, &child_status, 0) >= 0;
        if (child > 0) {
            remove_forwarded_child(child);
        }
        if (!waited || !WIFEXITED(child_status)) {
            std::cerr << "vbsim: " << printable(options.files[i])
                      << ": the simulation did not finish"
                      << (child > 0 && WIFSIGNALED(child_status)
                              ? std::string(" (") + strsignal(WTERMSIG(child_status)) + ")"
                              : std::string())
                      << "\n";
            status = std::max(status, kExitInternalError);
            continue;
        }
        status = std::max(status, WEXITSTATUS(child_status));
    }
    return status;
}

}  // namespace

const char* cli_usage() {
    return "usage: vbsim run SCENARIO.yaml... [--out DIR] [--set PATH=VALUE]... [--profile] "
           "[--quiet] [--trace]\n"
           "                 [--max-memory SIZE]\n"
           "       vbsim check SCENARIO.yaml... [--set PATH=VALUE]...\n"
           "       vbsim sweep check|run|collect ...   (vbsim sweep --help)\n"
           "       vbsim dts SCENARIO.yaml... [--set PATH=VALUE]...\n"
           "       vbsim params [SCENARIO.yaml] [--set PATH=VALUE]... [--format "
           "text|json|markdown]\n"
           "       vbsim --help\n"
           "\n"
           "run    simulates each scenario and writes timeseries.csv, summary.json, trace.vcd\n"
           "       and report.html into its output directory (output.directory, or --out)\n"
           "check  validates the scenarios without simulating\n"
           "dts    prints each guest's device-tree nodes for the balloon and its RAM\n"
           "params lists every model parameter of the scenario's guests (or of one default\n"
           "       guest vm0): full name, type, value, default, range, description\n"
           "\n"
           "  --out DIR          output directory (one subdirectory per scenario when several)\n"
           "  --set PATH=VALUE   override a scenario value, e.g. --set guests[0].ram=2GiB,\n"
           "                     or a parameter by name, e.g. --set vm0.balloon.queue_num_max=64\n"
           "  --profile          add wall-clock speed figures to summary.json\n"
           "  --max-memory SIZE  refuse scenarios whose model would need more memory than SIZE\n"
           "                     (default: this machine's memory), e.g. --max-memory 64GiB\n"
           "  --quiet            no progress line and no summary table\n"
           "  --trace            also write mmio.csv (per guest) and timeline.json\n"
           "\n"
           "Exit status: 0 when every check passed, 1 when a check failed, 2 for bad input, a\n"
           "limit, running out of memory or an output that cannot be written (nothing replaced),\n"
           "3 for an internal error, 128+N when stopped by signal N. Outputs appear in the output\n"
           "directory only when the run completed; a previous run's folder is replaced as a "
           "whole.\n"
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
    } else if (command == "dts") {
        options.command = CliOptions::Command::kDts;
    } else if (command == "params") {
        options.command = CliOptions::Command::kParams;
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
        } else if (argument == "--max-memory") {
            std::string text;
            if (!value(text)) {
                return false;
            }
            const Parsed<uint64_t> bytes = parse_size(text);
            if (!bytes.ok() || *bytes.value == 0) {
                error = "--max-memory: " + (bytes.ok() ? "must be greater than 0" : bytes.error);
                return false;
            }
            options.max_memory_bytes = *bytes.value;
        } else if (argument == "--profile") {
            options.profile = true;
        } else if (argument == "--quiet") {
            options.quiet = true;
        } else if (argument == "--trace") {
            options.trace = true;
        } else if (argument == "--format" && options.command == CliOptions::Command::kParams) {
            if (!value(options.format)) {
                return false;
            }
            if (options.format != "text" && options.format != "json" &&
                options.format != "markdown") {
                error = "--format: expected text, json or markdown, got '" + options.format + "'";
                return false;
            }
        } else if (argument.rfind("--", 0) == 0) {
            error = "unknown option '" + argument + "'";
            return false;
        } else {
            options.files.push_back(argument);
        }
    }
    if (options.command == CliOptions::Command::kParams) {
        if (options.files.size() > 1) {
            error = "params takes at most one scenario file";
            return false;
        }
        return true;
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
        return kExitChecksPassed;
    }
    if (options.command == CliOptions::Command::kParams) {
        return guarded([&] { return list_parameters(options); });
    }
    return guarded([&] { return run_scenarios(options); });
}

int vbsim_main(const std::vector<std::string>& arguments) {
    if (!arguments.empty() && arguments[0] == "sweep") {
        install_report_handler(false);
        return sweep_main(std::vector<std::string>(arguments.begin() + 1, arguments.end()));
    }
    CliOptions options;
    std::string error;
    if (!parse_cli(arguments, options, error)) {
        std::cerr << "vbsim: " << printable(error) << "\n" << cli_usage();
        return kExitBadInput;
    }
    install_report_handler(!options.quiet);
    int status = run_cli(options);
    // Results on a full or closed standard output are lost results too.
    if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
        std::cerr << "vbsim: cannot write the standard output: " << std::strerror(errno) << "\n";
        status = std::max(status, kExitBadInput);
    }
    return status;
}

}  // namespace vbsim::platform
