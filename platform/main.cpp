// vbsim: runs YAML balloon scenarios on the SystemC platform. See `vbsim --help`.

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include <systemc>

#include "platform/cli.h"

// vbsim's own main() instead of libsystemc's: SystemC prints its banner in
// sc_elab_and_sim() unless this variable is set by then, and a command-line tool's output
// should be its own words.
int main(int argc, char* argv[]) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    // A file-size limit makes writes fail (reported, exit 2) rather than kill the process.
    std::signal(SIGXFSZ, SIG_IGN);
    return sc_core::sc_elab_and_sim(argc, argv);
}

int sc_main(int argc, char* argv[]) {
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    return vbsim::platform::vbsim_main(arguments);
}
