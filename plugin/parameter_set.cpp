#include "plugin/parameter_set.h"

#include <sstream>
#include <stdexcept>

#include "platform/units.h"

namespace vbsim::plugin {

namespace {

std::string trim(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) {
        parts.push_back(trim(part));
    }
    return parts;
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        result.push_back(word);
    }
    return result;
}

template <typename T>
T parsed_or_fail(const std::string& name, const platform::Parsed<T>& parsed) {
    if (!parsed.ok()) {
        throw std::invalid_argument(name + ": " + parsed.error);
    }
    return *parsed.value;
}

std::string hex(uint64_t value) {
    std::ostringstream text;
    text << "0x" << std::hex << value;
    return text.str();
}

}  // namespace

ParameterSet ParameterSet::describing() {
    ParameterSet set;
    set.describing_ = true;
    return set;
}

void ParameterSet::fail(const std::string& name, const std::string& why) {
    throw std::invalid_argument(name + ": " + why);
}

const std::string* ParameterSet::take(const std::string& name, const std::string& current,
                                      const char* meaning) {
    if (describing_) {
        description_ += name + " = " + current + "  -- " + meaning + "\n";
        return nullptr;
    }
    read_.insert(name);
    const auto found = values_.find(name);
    return found == values_.end() ? nullptr : &found->second;
}

void ParameterSet::read_count(const std::string& name, uint64_t& value, const char* meaning) {
    if (const std::string* text = take(name, std::to_string(value), meaning)) {
        value = parsed_or_fail(name, platform::parse_count(*text));
    }
}

void ParameterSet::read_count(const std::string& name, uint32_t& value, const char* meaning) {
    uint64_t wide = value;
    read_count(name, wide, meaning);
    if (wide > UINT32_MAX) {
        fail(name, "expected a whole number below 2^32, got '" + values_.at(name) + "'");
    }
    value = static_cast<uint32_t>(wide);
}

void ParameterSet::read_unsigned(const std::string& name, unsigned int& value,
                                 const char* meaning) {
    uint32_t narrow = value;
    read_count(name, narrow, meaning);
    value = narrow;
}

void ParameterSet::read_bool(const std::string& name, bool& value, const char* meaning) {
    if (const std::string* text = take(name, value ? "true" : "false", meaning)) {
        if (*text == "true" || *text == "1") {
            value = true;
        } else if (*text == "false" || *text == "0") {
            value = false;
        } else {
            fail(name, "expected true or false, got '" + *text + "'");
        }
    }
}

void ParameterSet::read_size(const std::string& name, uint64_t& value, const char* meaning) {
    if (const std::string* text = take(name, platform::format_size(value), meaning)) {
        value = parsed_or_fail(name, platform::parse_size(*text));
    }
}

void ParameterSet::read_time(const std::string& name, sc_core::sc_time& value,
                             const char* meaning) {
    if (const std::string* text = take(name, platform::format_time(value), meaning)) {
        value = parsed_or_fail(name, platform::parse_time(*text));
    }
}

void ParameterSet::read_number(const std::string& name, double& value, const char* meaning) {
    std::ostringstream current;
    current << value;
    if (const std::string* text = take(name, current.str(), meaning)) {
        value = parsed_or_fail(name, platform::parse_number(*text));
    }
}

void ParameterSet::read_ranges(const std::string& name,
                               std::vector<std::pair<uint64_t, uint64_t>>& value,
                               const char* meaning) {
    std::string current;
    for (const auto& [base, bytes] : value) {
        current += (current.empty() ? "" : ", ") + hex(base) + " " + platform::format_size(bytes);
    }
    const std::string* text = take(name, current, meaning);
    if (text == nullptr) {
        return;
    }
    value.clear();
    for (const std::string& entry : split(*text, ',')) {
        const std::vector<std::string> fields = words(entry);
        if (fields.size() != 2) {
            fail(name,
                 "expected 'base size' entries such as '0x80000000 1GiB', got '" + entry + "'");
        }
        value.emplace_back(parsed_or_fail(name, platform::parse_address(fields[0])),
                           parsed_or_fail(name, platform::parse_size(fields[1])));
    }
}

void ParameterSet::read_records(const std::string& name,
                                std::vector<std::vector<std::string>>& value, const char* meaning) {
    const std::string* text = take(name, "", meaning);
    if (text == nullptr) {
        return;
    }
    value.clear();
    for (const std::string& entry : split(*text, ',')) {
        value.push_back(words(entry));
    }
}

void ParameterSet::check_all_read() const {
    std::string unknown;
    for (const auto& entry : values_) {
        if (read_.count(entry.first) == 0) {
            unknown += (unknown.empty() ? "'" : ", '") + entry.first + "'";
        }
    }
    if (!unknown.empty()) {
        throw std::invalid_argument("unknown parameter " + unknown);
    }
}

}  // namespace vbsim::plugin
