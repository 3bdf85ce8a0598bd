#pragma once

// trace.vcd, written from the changes of the traced signals as they happen. SystemC's own VCD
// writer compares every traced value at the end of every time step: with hundreds of guests
// that is traces x time steps, both growing with the guests, and it dominated large runs.
// This writer produces the same bytes as SystemC 2.3.4's for the kinds traced here (bool and
// 64-bit signals, one scope level per dot in the name), and costs per change only.

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "models/tracing/scheduled_level.h"
#include "models/tracing/watched_signal.h"

namespace vbsim::platform {

class VcdWriter {
  public:
    // Opens `path` for writing (a file or the VcdSink's pipe). Throws std::runtime_error when
    // it cannot. The time unit of the file is 1 ps, as set_time_unit(1, SC_PS) gives.
    explicit VcdWriter(const std::string& path);
    ~VcdWriter();
    VcdWriter(const VcdWriter&) = delete;
    VcdWriter& operator=(const VcdWriter&) = delete;

    // Before the simulation starts. `name` is dot-separated: "vm0.irq" is irq in scope vm0.
    void trace(models::WatchedSignal<bool>& signal, const std::string& name);
    void trace(models::WatchedSignal<uint64_t>& signal, const std::string& name);
    void trace(models::WatchedSignal<int64_t>& signal, const std::string& name);
    // A level whose changes come with their time, possibly ahead of SystemC's: each is written
    // in its time step, as if a process had set the level then (one the simulation does not
    // reach, at or after its end, is not written).
    void trace(models::ScheduledLevel& level, const std::string& name);

    // After the simulation: writes what is pending and the final time stamp, and closes the
    // file (as sc_close_vcd_trace_file does). Returns false if a write failed.
    bool close();

  private:
    // What a change and its write-out read sits in the first cache line: with a thousand
    // guests each trace's line is cold whenever it changes.
    struct alignas(64) Trace {
        uint64_t value = 0;    // as of the latest change
        uint64_t written = 0;  // as last written to the file
        unsigned width = 0;
        bool pending = false;  // changed in the time step not yet written
        std::string code;      // "aaaab"
        // Changes for times not yet reached (ScheduledLevel), in time order, until they are
        // or a change given at an earlier time replaces them. The first one alone is in the
        // writer's queue, with its id (an entry whose id is no longer first is dropped): the
        // queue holds a change per trace, not every one given ahead.
        struct Scheduled {
            sc_core::sc_time at;
            uint64_t value = 0;
            uint64_t id = 0;
        };
        std::deque<Scheduled> scheduled;
        std::string name;  // the last part of the dotted name
    };
    struct ScheduledChange {
        sc_core::sc_time at;
        uint64_t id = 0;  // in the order given: equal times keep it
        size_t index = 0;
        bool operator>(const ScheduledChange& other) const {
            return at != other.at ? at > other.at : id > other.id;
        }
    };
    struct Scope {
        std::vector<size_t> traces;           // in the order traced
        std::map<std::string, Scope> scopes;  // by name, as SystemC prints them
    };

    size_t add(const std::string& name, unsigned width, uint64_t value);
    void changed(size_t index, uint64_t value);
    void scheduled_change(size_t index, uint64_t value, const sc_core::sc_time& at,
                          const sc_core::sc_time& given);
    // Writes every scheduled change before `time` in its time step, then makes `time` the
    // pending one.
    void advance_to(const sc_core::sc_time& time);
    // Puts the scheduled changes before `bound` in their time steps.
    void apply_scheduled(const sc_core::sc_time& bound);
    // Makes `time` (not before the pending one) the pending time step; the header first.
    void step_to(const sc_core::sc_time& time);
    void set_value(Trace& trace, size_t index, uint64_t value);
    // The header and the initial values, at the end of the first time step.
    void write_header();
    void write_scope(const Scope& scope);
    // Writes the changes of the pending time step, if any value differs from the file's.
    void write_pending();
    void append_value(const Trace& trace);
    void append_time(const sc_core::sc_time& time);
    void flush_buffer();

    std::FILE* file_ = nullptr;
    bool failed_ = false;
    std::string buffer_;
    std::vector<Trace> traces_;
    Scope top_;
    bool header_written_ = false;
    sc_core::sc_time pending_time_ = sc_core::SC_ZERO_TIME;
    std::vector<size_t> pending_;  // indices changed at pending_time_
    std::priority_queue<ScheduledChange, std::vector<ScheduledChange>,
                        std::greater<ScheduledChange>>
        scheduled_;
    uint64_t next_scheduled_id_ = 0;
};

}  // namespace vbsim::platform
