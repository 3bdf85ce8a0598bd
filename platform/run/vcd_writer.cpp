#include "platform/run/vcd_writer.h"

#include <algorithm>
#include <stdexcept>

#include "models/timing/current_time.h"

namespace vbsim::platform {

namespace {

constexpr unsigned kCodeLetters = 26;
constexpr size_t kBufferLimit = 1 << 16;

// SystemC's identifier codes: the trace's index in five base-26 letters, "aaaaa" first.
std::string code_of(size_t index) {
    std::string code(5, 'a');
    for (size_t position = 5; position-- > 0;) {
        code[position] = static_cast<char>('a' + index % kCodeLetters);
        index /= kCodeLetters;
    }
    return code;
}

// VCD viewers take no brackets in names; SystemC writes them as parentheses.
std::string without_brackets(std::string name) {
    std::replace(name.begin(), name.end(), '[', '(');
    std::replace(name.begin(), name.end(), ']', ')');
    return name;
}

std::vector<std::string> split_dots(const std::string& name) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
        const size_t dot = name.find('.', start);
        parts.push_back(name.substr(start, dot - start));
        if (dot == std::string::npos) {
            return parts;
        }
        start = dot + 1;
    }
}

}  // namespace

VcdWriter::VcdWriter(const std::string& path) : file_(std::fopen(path.c_str(), "w")) {
    if (file_ == nullptr) {
        throw std::runtime_error("cannot write " + path);
    }
}

VcdWriter::~VcdWriter() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

void VcdWriter::trace(models::WatchedSignal<bool>& signal, const std::string& name) {
    const size_t index = add(name, 1, signal.read() ? 1 : 0);
    signal.watch([this, index](const bool& value) { changed(index, value ? 1 : 0); });
}

void VcdWriter::trace(models::WatchedSignal<uint64_t>& signal, const std::string& name) {
    const size_t index = add(name, 64, signal.read());
    signal.watch([this, index](const uint64_t& value) { changed(index, value); });
}

void VcdWriter::trace(models::WatchedSignal<int64_t>& signal, const std::string& name) {
    const size_t index = add(name, 64, static_cast<uint64_t>(signal.read()));
    signal.watch(
        [this, index](const int64_t& value) { changed(index, static_cast<uint64_t>(value)); });
}

void VcdWriter::trace(models::ScheduledLevel& level, const std::string& name) {
    const size_t index = add(name, 1, level.value() ? 1 : 0);
    level.watch(
        [this, index](bool value, const sc_core::sc_time& at, const sc_core::sc_time& given) {
            scheduled_change(index, value ? 1 : 0, at, given);
        });
}

size_t VcdWriter::add(const std::string& name, unsigned width, uint64_t value) {
    const std::vector<std::string> parts = split_dots(name);
    Scope* scope = &top_;
    for (size_t part = 0; part + 1 < parts.size(); ++part) {
        scope = &scope->scopes[parts[part]];
    }
    Trace trace;
    trace.name = without_brackets(parts.back());
    trace.code = code_of(traces_.size());
    trace.width = width;
    trace.value = value;
    traces_.push_back(trace);
    scope->traces.push_back(traces_.size() - 1);
    return traces_.size() - 1;
}

void VcdWriter::changed(size_t index, uint64_t value) {
    advance_to(models::current_time());
    Trace& trace = traces_[index];
    if (!trace.scheduled.empty()) {
        trace.scheduled.clear();  // a change now replaces those given for later
    }
    set_value(trace, index, value);
}

void VcdWriter::scheduled_change(size_t index, uint64_t value, const sc_core::sc_time& at,
                                 const sc_core::sc_time& given) {
    if (at <= models::current_time()) {
        changed(index, value);
        return;
    }
    Trace& trace = traces_[index];
    while (!trace.scheduled.empty() && trace.scheduled.back().at > given) {
        trace.scheduled.pop_back();  // not reached when this one was given: replaced
    }
    trace.scheduled.push_back(Trace::Scheduled{at, value, ++next_scheduled_id_});
    if (trace.scheduled.size() == 1) {
        scheduled_.push(ScheduledChange{at, next_scheduled_id_, index});
    }
}

void VcdWriter::advance_to(const sc_core::sc_time& time) {
    apply_scheduled(time);
    step_to(time);
}

void VcdWriter::apply_scheduled(const sc_core::sc_time& bound) {
    while (!scheduled_.empty() && scheduled_.top().at < bound) {
        const ScheduledChange change = scheduled_.top();
        scheduled_.pop();
        Trace& trace = traces_[change.index];
        if (trace.scheduled.empty() || trace.scheduled.front().id != change.id) {
            continue;  // replaced by a later change
        }
        const uint64_t value = trace.scheduled.front().value;
        trace.scheduled.pop_front();
        if (!trace.scheduled.empty()) {
            const Trace::Scheduled& next = trace.scheduled.front();
            scheduled_.push(ScheduledChange{next.at, next.id, change.index});
        }
        step_to(change.at);
        set_value(trace, change.index, value);
    }
}

void VcdWriter::step_to(const sc_core::sc_time& time) {
    if (!header_written_ && time > sc_core::SC_ZERO_TIME) {
        write_header();  // the values at the end of time 0 are the initial ones
    }
    if (time != pending_time_) {
        write_pending();
        pending_time_ = time;
    }
}

void VcdWriter::set_value(Trace& trace, size_t index, uint64_t value) {
    trace.value = value;
    if (header_written_ && !trace.pending) {
        trace.pending = true;
        pending_.push_back(index);
    }
}

void VcdWriter::write_header() {
    header_written_ = true;
    buffer_ += "$date\n     (omitted for reproducible output)\n$end\n\n";
    buffer_ += "$version\n ";
    buffer_ += sc_core::sc_version();
    buffer_ += "\n$end\n\n";
    buffer_ += "$timescale\n     1 ps\n$end\n\n";
    buffer_ += "$scope module SystemC $end\n";
    write_scope(top_);
    buffer_ += "$upscope $end\n";
    buffer_ += "$enddefinitions  $end\n\n";
    buffer_ += "$comment\nAll initial values are dumped below at time 0 sec = 0 timescale units.\n";
    buffer_ += "$end\n\n";
    buffer_ += "$dumpvars\n";
    for (Trace& trace : traces_) {
        append_value(trace);
        trace.written = trace.value;
    }
    buffer_ += "$end\n\n";
}

void VcdWriter::write_scope(const Scope& scope) {
    char line[512];
    for (size_t index : scope.traces) {
        const Trace& trace = traces_[index];
        if (trace.width == 1) {
            std::snprintf(line, sizeof line, "$var wire  % 3d  %s  %s       $end\n", 1,
                          trace.code.c_str(), trace.name.c_str());
        } else {
            std::snprintf(line, sizeof line, "$var wire  % 3d  %s  %s [%u:0]  $end\n",
                          static_cast<int>(trace.width), trace.code.c_str(), trace.name.c_str(),
                          trace.width - 1);
        }
        buffer_ += line;
    }
    for (const auto& [name, child] : scope.scopes) {
        buffer_ += "$scope module " + without_brackets(name) + " $end\n";
        write_scope(child);
        buffer_ += "$upscope $end\n";
    }
}

void VcdWriter::write_pending() {
    std::sort(pending_.begin(), pending_.end());
    bool time_written = false;
    for (size_t index : pending_) {
        Trace& trace = traces_[index];
        trace.pending = false;
        if (trace.value == trace.written) {
            continue;  // changed back within the time step: SystemC compares at its end
        }
        if (!time_written) {
            append_time(pending_time_);
            time_written = true;
        }
        append_value(trace);
        trace.written = trace.value;
    }
    pending_.clear();
    if (time_written) {
        buffer_ += '\n';
    }
    if (buffer_.size() > kBufferLimit) {
        flush_buffer();
    }
}

void VcdWriter::append_value(const Trace& trace) {
    if (trace.width == 1) {
        buffer_ += trace.value != 0 ? '1' : '0';
    } else {
        // Binary without leading zeros ("b0" for zero), as SystemC strips them.
        buffer_ += 'b';
        int bit = static_cast<int>(trace.width) - 1;
        while (bit > 0 && ((trace.value >> bit) & 1) == 0) {
            --bit;
        }
        for (; bit >= 0; --bit) {
            buffer_ += ((trace.value >> bit) & 1) != 0 ? '1' : '0';
        }
        buffer_ += ' ';
    }
    buffer_ += trace.code;
    buffer_ += '\n';
}

void VcdWriter::append_time(const sc_core::sc_time& time) {
    // SystemC's arithmetic: seconds over the unit in a double, rounded, split at 10^9.
    static const double kUnit = sc_core::sc_time(1, sc_core::SC_PS).to_seconds();
    double units = time.to_seconds() / kUnit;
    units = std::min(std::max(units, 0.0), 5e17) + 0.5;
    const auto high = static_cast<unsigned>(units / 1e9);
    const double rest = units - 1e9 * high;
    const unsigned low = rest < 0 ? 0 : static_cast<unsigned>(rest);
    char line[64];
    if (high != 0) {
        std::snprintf(line, sizeof line, "#%u%09u\n", high, low);
    } else {
        std::snprintf(line, sizeof line, "#%u\n", low);
    }
    buffer_ += line;
}

void VcdWriter::flush_buffer() {
    if (!buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
        failed_ = true;
    }
    buffer_.clear();
}

bool VcdWriter::close() {
    if (file_ == nullptr) {
        return !failed_;
    }
    if (sc_core::sc_start_of_simulation_invoked()) {
        // sc_start(duration) stops before the time step at its end: a change scheduled for
        // then is not reached, as a process waiting until then would not run.
        const sc_core::sc_time end = models::current_time();
        apply_scheduled(end);
        if (!header_written_) {
            write_header();
        }
        write_pending();
        append_time(end);
    }
    flush_buffer();
    if (std::fclose(file_) != 0) {
        failed_ = true;
    }
    file_ = nullptr;
    return !failed_;
}

}  // namespace vbsim::platform
