#include "platform/report_handler.h"

#include <cstdio>
#include <exception>
#include <string>

#include <systemc>

#include "platform/text/terminal_text.h"

namespace vbsim::platform {
namespace {

bool warnings_shown = true;

const char* severity_word(sc_core::sc_severity severity) {
    switch (severity) {
        case sc_core::SC_INFO:
            return "info";
        case sc_core::SC_WARNING:
            return "warning";
        case sc_core::SC_ERROR:
            return "error";
        default:
            return "fatal error";
    }
}

void show(const sc_core::sc_report& report) {
    const std::string line = std::string("vbsim: ") + severity_word(report.get_severity()) + ": " +
                             printable(report.get_msg_type()) + ": " + printable(report.get_msg()) +
                             "\n";
    std::fputs(line.c_str(), stderr);
}

void handle_report(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
    using namespace sc_core;
    sc_actions rest = actions & ~(SC_DISPLAY | SC_LOG);
    // The command catches what is thrown and exits with a status; abort() would not.
    if ((rest & SC_ABORT) != 0) {
        rest = (rest & ~SC_ABORT) | SC_THROW;
    }
    bool display =
        (actions & SC_DISPLAY) != 0 && (report.get_severity() != SC_WARNING || warnings_shown);
    // A destructor reporting while the stack unwinds must not throw (std::terminate).
    if ((rest & SC_THROW) != 0 && std::uncaught_exceptions() > 0) {
        rest &= ~SC_THROW;
        display = true;
    }
    if (display) {
        show(report);
    }
    sc_report_handler::default_handler(report, rest);
}

}  // namespace

void install_report_handler(bool show_warnings) {
    warnings_shown = show_warnings;
    sc_core::sc_report_handler::set_actions(sc_core::SC_WARNING,
                                            sc_core::SC_LOG | sc_core::SC_DISPLAY);
    // Informational chatter (e.g. the VCD time unit) is not for the user's terminal.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    sc_core::sc_report_handler::set_handler(handle_report);
}

}  // namespace vbsim::platform
