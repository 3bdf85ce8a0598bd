#pragma once

#include <string>
#include <vector>

namespace vbsim::platform {

// The vbsim command line, as parsed.
struct CliOptions {
    enum class Command { kHelp, kRun, kCheck } command = Command::kHelp;
    std::vector<std::string> files;
    std::vector<std::string> overrides;  // --set path=value
    std::string output_directory;        // --out; empty = the scenario's own
    bool profile = false;                // wall-clock figures in summary.json
    bool quiet = false;                  // no progress line, no summary table
};

// False (with `error` set) when the arguments make no sense.
bool parse_cli(const std::vector<std::string>& arguments, CliOptions& options, std::string& error);
const char* cli_usage();

// Runs the command; returns the process exit status: 0 all checks passed, 1 a check
// failed, 2 bad arguments or a scenario that does not load.
int run_cli(const CliOptions& options);

}  // namespace vbsim::platform
