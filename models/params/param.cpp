#include "models/params/param.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "models/params/broker.h"
#include "models/params/units.h"

namespace vbsim::params {

namespace {

std::string hex(uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

std::string shortest(double value) {
    std::ostringstream out;
    out.precision(std::numeric_limits<double>::max_digits10);
    out << value;
    // Prefer the shortest text that reads back to the same double (0.2, not 0.2000...01).
    for (int digits = 1; digits <= std::numeric_limits<double>::max_digits10; ++digits) {
        std::ostringstream trial;
        trial.precision(digits);
        trial << value;
        if (std::stod(trial.str()) == value) {
            return trial.str();
        }
    }
    return out.str();
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

template <typename T>
std::string take(const Parsed<T>& parsed, T& out) {
    if (!parsed.ok()) {
        return parsed.error;
    }
    out = *parsed.value;
    return {};
}

}  // namespace

const char* unit_name(ParamUnit unit) {
    switch (unit) {
        case ParamUnit::kTime:
            return "time";
        case ParamUnit::kSize:
            return "size";
        case ParamUnit::kAddress:
            return "address";
        case ParamUnit::kBandwidth:
            return "rate";
        case ParamUnit::kCount:
            return "count";
        case ParamUnit::kNumber:
            return "number";
        case ParamUnit::kFraction:
            return "fraction";
        case ParamUnit::kBool:
            return "bool";
        case ParamUnit::kNames:
            return "names";
        case ParamUnit::kText:
            return "text";
    }
    return "?";
}

std::string ParamError::to_string() const {
    std::string text = origin.file;
    if (origin.line > 0) {
        text += ":" + std::to_string(origin.line) + ":" + std::to_string(origin.column);
    }
    // "--set PATH" names the key already.
    if (!origin.key_path.empty() && origin.file != "--set " + origin.key_path) {
        text += (text.empty() ? "" : ": ") + origin.key_path;
    }
    return text + (text.empty() ? "" : ": ") + message;
}

ParamUntyped::ParamUntyped(std::string name, ParamUnit unit, std::string description,
                           ParamBroker& broker)
    : name_(std::move(name)), unit_(unit), description_(std::move(description)), broker_(broker) {
    broker_.add(*this);
}

ParamUntyped::~ParamUntyped() {
    broker_.remove(*this);
}

void ParamUntyped::take_preset() {
    const ParamBroker::Preset* preset = broker_.consume(name_);
    if (preset == nullptr) {
        return;
    }
    if (std::string error = set_from_text(preset->value); !error.empty()) {
        broker_.report({name_, preset->origin, std::move(error)});
        return;
    }
    preset_ = true;
}

std::string parse_value(std::string_view text, ParamUnit /*unit*/, sc_core::sc_time& out) {
    return take(parse_time(text), out);
}

std::string parse_value(std::string_view text, ParamUnit unit, uint64_t& out) {
    switch (unit) {
        case ParamUnit::kSize:
            return take(parse_size(text), out);
        case ParamUnit::kAddress:
            return take(parse_address(text), out);
        default:
            return take(parse_count(text), out);
    }
}

std::string parse_value(std::string_view text, ParamUnit unit, uint32_t& out) {
    uint64_t wide = 0;
    if (std::string error = parse_value(text, unit, wide); !error.empty()) {
        return error;
    }
    if (wide > std::numeric_limits<uint32_t>::max()) {
        return "must be at most " + std::to_string(std::numeric_limits<uint32_t>::max()) +
               ", got '" + std::string(text) + "'";
    }
    out = static_cast<uint32_t>(wide);
    return {};
}

std::string parse_value(std::string_view text, ParamUnit unit, double& out) {
    switch (unit) {
        case ParamUnit::kBandwidth:
            return take(parse_bandwidth_bytes_per_ns(text), out);
        case ParamUnit::kFraction:
            return take(parse_fraction(text), out);
        default:
            return take(parse_number(text), out);
    }
}

std::string parse_value(std::string_view text, ParamUnit /*unit*/, bool& out) {
    // YAML 1.1's spellings, as yaml-cpp reads them.
    static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                        "on",   "On",   "ON",   "y",   "Y"};
    static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                         "off",   "Off",   "OFF",   "n",  "N"};
    for (const char* word : kTrue) {
        if (text == word) {
            out = true;
            return {};
        }
    }
    for (const char* word : kFalse) {
        if (text == word) {
            out = false;
            return {};
        }
    }
    return "expected true or false, got '" + std::string(text) + "'";
}

std::string parse_value(std::string_view text, ParamUnit /*unit*/, std::vector<std::string>& out) {
    // [a, b], a, b, or [] / nothing for none.
    std::string_view rest = trim(text);
    if (!rest.empty() && rest.front() == '[') {
        if (rest.back() != ']') {
            return "expected a list of names such as [a, b], got '" + std::string(text) + "'";
        }
        rest = trim(rest.substr(1, rest.size() - 2));
    }
    std::vector<std::string> names;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view word = trim(rest.substr(0, comma));
        if (word.empty()) {
            return "expected a list of names such as [a, b], got '" + std::string(text) + "'";
        }
        names.emplace_back(word);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    out = std::move(names);
    return {};
}

std::string parse_value(std::string_view text, ParamUnit /*unit*/, std::string& out) {
    const std::string_view word = trim(text);
    if (word.empty()) {
        return "expected a word, got nothing";
    }
    out = std::string(word);
    return {};
}

std::string format_value(const sc_core::sc_time& value, ParamUnit /*unit*/) {
    return format_time(value);
}

std::string format_value(uint64_t value, ParamUnit unit) {
    switch (unit) {
        case ParamUnit::kSize:
            return format_size(value);
        case ParamUnit::kAddress:
            return hex(value);
        default:
            return std::to_string(value);
    }
}

std::string format_value(uint32_t value, ParamUnit unit) {
    return format_value(uint64_t{value}, unit);
}

std::string format_value(double value, ParamUnit unit) {
    if (unit == ParamUnit::kBandwidth) {
        // Bytes per ns is GB/s.
        return shortest(value) + "GB/s";
    }
    return shortest(value);
}

std::string format_value(bool value, ParamUnit /*unit*/) {
    return value ? "true" : "false";
}

std::string format_value(const std::vector<std::string>& value, ParamUnit /*unit*/) {
    std::string text;
    for (const std::string& name : value) {
        text += (text.empty() ? "" : ", ") + name;
    }
    return "[" + text + "]";
}

std::string format_value(const std::string& value, ParamUnit /*unit*/) {
    return value;
}

}  // namespace vbsim::params
