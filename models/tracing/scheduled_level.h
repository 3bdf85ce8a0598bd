#pragma once

#include <functional>
#include <utility>

#include <systemc>

#include "models/timing/current_time.h"

namespace vbsim::models {

// A traced level whose owner knows a change before SystemC reaches its time (a model working
// ahead of SystemC): set() takes the change's time, and the watcher (a waveform writer) gets it
// at once, so nothing has to run in SystemC at that time only to show it. A change replaces one
// given earlier for a time not yet reached (the later word wins, as a re-notified event).
class ScheduledLevel {
  public:
    explicit ScheduledLevel(bool initial = false) : value_(initial) {}

    // `watcher` gets each change: the value and its time (SystemC's time or later); one with a
    // time not yet reached stands until the next change replaces it.
    void watch(std::function<void(bool value, const sc_core::sc_time& at)> watcher) {
        watcher_ = std::move(watcher);
    }

    // The level is `value` from `at` (not before SystemC's time) on.
    void set(bool value, const sc_core::sc_time& at) {
        const sc_core::sc_time& now = current_time();
        const sc_core::sc_time& when = at < now ? now : at;
        if (value == value_ && at_ <= now) {
            return;  // already so, and nothing pending to replace
        }
        value_ = value;
        at_ = when;
        if (watcher_) {
            watcher_(value, when);
        }
    }

    // The latest value given, whether or not SystemC has reached its time.
    bool value() const { return value_; }
    // Its time.
    const sc_core::sc_time& at() const { return at_; }

  private:
    bool value_;
    sc_core::sc_time at_ = sc_core::SC_ZERO_TIME;
    std::function<void(bool, const sc_core::sc_time&)> watcher_;
};

}  // namespace vbsim::models
