// vbsim: runs YAML balloon scenarios on the SystemC platform. See `vbsim --help`.

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <systemc>

#include "platform/cli.h"

int sc_main(int argc, char* argv[]) {
    // SystemC decides on its banner before sc_main runs; a command-line tool's output
    // should be its own words, so start again once with the banner switched off.
    if (std::getenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE") == nullptr) {
        setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
        execv("/proc/self/exe", argv);  // returns only on failure: then just go on
    }
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    vbsim::platform::CliOptions options;
    std::string error;
    if (!vbsim::platform::parse_cli(arguments, options, error)) {
        std::cerr << "vbsim: " << error << "\n" << vbsim::platform::cli_usage();
        return 2;
    }
    // Warnings of the models (a misbehaving guest) go to stderr, never into outputs.
    sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING,
                                            sc_core::SC_LOG | sc_core::SC_DISPLAY);
    // Informational chatter (e.g. the VCD time unit) is not for the user's terminal.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    return vbsim::platform::run_cli(options);
}
