#include "platform/child_stop_signals.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <initializer_list>

namespace vbsim::platform {

namespace {

// A plain array of sig_atomic_t: the signal handler reads it.
volatile sig_atomic_t forwarded_children[kMaxForwardedChildren] = {};

void forward_stop_signal(int signal_number) {
    for (const volatile sig_atomic_t& child : forwarded_children) {
        if (child > 0) {
            ::kill(static_cast<pid_t>(child), signal_number);
        }
    }
    // Wait until they have cleaned up: whoever waits for this process (a shell, a test, a
    // scheduler) then finds no half-written output left.
    for (const volatile sig_atomic_t& child : forwarded_children) {
        if (child > 0) {
            while (::waitpid(static_cast<pid_t>(child), nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    }
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

}  // namespace

void forward_stop_signals_to_children() {
    for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
        struct sigaction previous = {};
        if (::sigaction(signal_number, nullptr, &previous) == 0 && previous.sa_handler != SIG_IGN) {
            struct sigaction action = {};
            action.sa_handler = forward_stop_signal;
            sigemptyset(&action.sa_mask);
            ::sigaction(signal_number, &action, nullptr);
        }
    }
}

bool add_forwarded_child(pid_t child) {
    for (volatile sig_atomic_t& slot : forwarded_children) {
        if (slot == 0) {
            slot = static_cast<sig_atomic_t>(child);
            return true;
        }
    }
    return false;
}

void remove_forwarded_child(pid_t child) {
    for (volatile sig_atomic_t& slot : forwarded_children) {
        if (slot == static_cast<sig_atomic_t>(child)) {
            slot = 0;
        }
    }
}

}  // namespace vbsim::platform
