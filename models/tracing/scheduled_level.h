#pragma once

#include <functional>
#include <utility>

#include <systemc>

#include "models/timing/current_time.h"

namespace vbsim::models {

// A traced level whose owner knows a change before SystemC reaches its time (a model working
// ahead of SystemC): set() takes the change's time, and the watcher (a waveform writer) gets it
// at once, so nothing has to run in SystemC at that time only to show it. A change replaces the
// ones given earlier for a time not yet reached (the later word wins, as a re-notified event).
// Its owner may also give, ahead, the changes it would give at later times (set_as_of()): a
// model that knows nothing else reaches the level before then.
class ScheduledLevel {
  public:
    using Watcher =
        std::function<void(bool value, const sc_core::sc_time& at, const sc_core::sc_time& given)>;

    explicit ScheduledLevel(bool initial = false) : value_(initial) {}

    // `watcher` gets each change: the value, its time (SystemC's time or later) and the time
    // it was given at (SystemC's, or the one given to set_as_of()); it replaces the changes
    // given before for times after that.
    void watch(Watcher watcher) { watcher_ = std::move(watcher); }

    // The level is `value` from `at` (not before SystemC's time) on.
    void set(bool value, const sc_core::sc_time& at) { set_as_of(value, at, current_time()); }

    // set(value, at) as it would be called when SystemC's time is `given` (not before it).
    void set_as_of(bool value, const sc_core::sc_time& at, const sc_core::sc_time& given) {
        const sc_core::sc_time& when = at < given ? given : at;
        if (value == value_ && at_ <= given) {
            return;  // already so, and nothing pending to replace
        }
        value_ = value;
        at_ = when;
        if (watcher_) {
            watcher_(value, when, given);
        }
    }

    // The latest value given, whether or not SystemC has reached its time.
    bool value() const { return value_; }
    // Its time.
    const sc_core::sc_time& at() const { return at_; }

  private:
    bool value_;
    sc_core::sc_time at_ = sc_core::SC_ZERO_TIME;
    Watcher watcher_;
};

}  // namespace vbsim::models
