#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/exit_status.h"

namespace vbsim::platform {

// The vbsim command line, as parsed.
struct CliOptions {
    enum class Command { kHelp, kRun, kCheck, kDts, kParams } command = Command::kHelp;
    std::vector<std::string> files;
    std::vector<std::string> overrides;  // --set path=value
    std::string output_directory;        // --out; empty = the scenario's own
    bool profile = false;                // wall-clock figures in summary.json
    bool quiet = false;                  // no progress line, no summary table
    uint64_t max_memory_bytes = 0;       // --max-memory; 0 = the machine's physical memory
    bool trace = false;                  // mmio.csv per guest and timeline.json
    std::string format = "text";         // params: text, json or markdown
};

// False (with `error` set) when the arguments make no sense.
bool parse_cli(const std::vector<std::string>& arguments, CliOptions& options, std::string& error);
const char* cli_usage();

// Runs the command; returns the process exit status. Never throws.
int run_cli(const CliOptions& options);

// The whole command line (without argv[0]): parses, installs the report handler, runs,
// checks that standard output took everything. Returns the exit status.
int vbsim_main(const std::vector<std::string>& arguments);

}  // namespace vbsim::platform
