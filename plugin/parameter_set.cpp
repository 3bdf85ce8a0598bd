#include "plugin/parameter_set.h"

#include <sstream>
#include <stdexcept>

#include "models/params/units.h"

namespace vbsim::plugin {

namespace {

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        result.push_back(word);
    }
    return result;
}

std::string hex(uint64_t value) {
    std::ostringstream text;
    text << "0x" << std::hex << value;
    return text.str();
}

}  // namespace

ParameterSet::ParameterSet(std::map<std::string, std::string> values)
    : values_(std::move(values)), broker_(std::make_unique<params::ParamBroker>()) {}

ParameterSet ParameterSet::describing() {
    ParameterSet set;
    set.describing_ = true;
    return set;
}

void ParameterSet::begin(const std::string& instance) {
    prefix_ = instance + ".";
    for (const auto& [name, value] : values_) {
        params::PresetOrigin origin;
        origin.key_path = name;  // as the host wrote it
        broker_->set_preset_value(prefix_ + name, value, origin);
    }
}

template <typename T>
void ParameterSet::read(const std::string& name, T& value, params::ParamUnit unit,
                        const char* meaning, params::ParamRange<T> range) {
    auto param = std::make_unique<params::Param<T>>(prefix_ + name, value, unit, meaning, *broker_,
                                                    std::move(range));
    if (describing_) {
        const std::string range_text = param->get_range_text();
        description_ += name + " = " + param->get_default_value_text() + "  -- " + meaning +
                        (range_text.empty() ? "" : " [" + range_text + "]") + "\n";
    }
    value = param->get_value();
    declared_.push_back(std::move(param));
}

void ParameterSet::read_count(const std::string& name, uint64_t& value, const char* meaning,
                              params::ParamRange<uint64_t> range) {
    read(name, value, params::ParamUnit::kCount, meaning, std::move(range));
}

void ParameterSet::read_count(const std::string& name, uint32_t& value, const char* meaning,
                              params::ParamRange<uint32_t> range) {
    read(name, value, params::ParamUnit::kCount, meaning, std::move(range));
}

void ParameterSet::read_unsigned(const std::string& name, unsigned int& value, const char* meaning,
                                 params::ParamRange<uint32_t> range) {
    uint32_t narrow = value;
    read(name, narrow, params::ParamUnit::kCount, meaning, std::move(range));
    value = narrow;
}

void ParameterSet::read_bool(const std::string& name, bool& value, const char* meaning) {
    read(name, value, params::ParamUnit::kBool, meaning);
}

void ParameterSet::read_size(const std::string& name, uint64_t& value, const char* meaning) {
    read(name, value, params::ParamUnit::kSize, meaning);
}

void ParameterSet::read_time(const std::string& name, sc_core::sc_time& value,
                             const char* meaning) {
    read(name, value, params::ParamUnit::kTime, meaning);
}

void ParameterSet::read_number(const std::string& name, double& value, const char* meaning) {
    read(name, value, params::ParamUnit::kNumber, meaning);
}

void ParameterSet::read_ranges(const std::string& name,
                               std::vector<std::pair<uint64_t, uint64_t>>& value,
                               const char* meaning) {
    std::vector<std::string> entries;
    for (const auto& [base, bytes] : value) {
        entries.push_back(hex(base) + " " + params::format_size(bytes));
    }
    read(name, entries, params::ParamUnit::kNames, meaning);
    std::vector<std::pair<uint64_t, uint64_t>> parsed;
    for (const std::string& entry : entries) {
        const std::vector<std::string> fields = words(entry);
        const params::Parsed<uint64_t> base =
            fields.size() == 2 ? params::parse_address(fields[0]) : params::Parsed<uint64_t>{};
        const params::Parsed<uint64_t> bytes =
            fields.size() == 2 ? params::parse_size(fields[1]) : params::Parsed<uint64_t>{};
        if (!base.ok() || !bytes.ok()) {
            throw std::invalid_argument(
                name + ": expected 'base size' entries such as '0x80000000 1GiB', got '" + entry +
                "'");
        }
        parsed.emplace_back(*base.value, *bytes.value);
    }
    value = std::move(parsed);
}

void ParameterSet::read_records(const std::string& name,
                                std::vector<std::vector<std::string>>& value, const char* meaning) {
    std::vector<std::string> entries;
    read(name, entries, params::ParamUnit::kNames, meaning);
    value.clear();
    for (const std::string& entry : entries) {
        value.push_back(words(entry));
    }
}

void ParameterSet::check_all_read() const {
    std::string text;
    for (const params::ParamError& error : broker_->check()) {
        text += (text.empty() ? "" : "; ") + error.to_string();
    }
    if (!text.empty()) {
        throw std::invalid_argument(text);
    }
}

}  // namespace vbsim::plugin
