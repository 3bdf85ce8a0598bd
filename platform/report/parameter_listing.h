#pragma once

// `vbsim params`: every model parameter of the guests a scenario builds (or of one default
// guest "vm0"), with its type, value, default, allowed range and description.

#include <ostream>
#include <string>
#include <vector>

#include "platform/config/scenario.h"

namespace vbsim::platform {

struct ParameterRow {
    std::string name;  // full: "vm0.balloon.inflate.transport_cost"
    std::string type;  // time, size, ...
    std::string value;
    std::string default_value;
    std::string range;  // "" when any value of the type is taken
    std::string description;
    bool preset = false;  // the value came from the scenario or --set
};

// The rows of every guest, guest by guest, each in declaration order.
std::vector<ParameterRow> parameter_rows(const std::vector<GuestConfig>& guests);
// The rows of one guest named "vm0" with no presets.
std::vector<ParameterRow> default_parameter_rows();

// One parameter a line: name = value (type; default; range) and the description below it.
void write_parameters_text(const std::vector<ParameterRow>& rows, std::ostream& out);
// A JSON array of objects with the row's fields, for tools.
void write_parameters_json(const std::vector<ParameterRow>& rows, std::ostream& out);
// A Markdown table (name, type, default, range, meaning): docs/scenario-reference.md's
// generated section.
void write_parameters_markdown(const std::vector<ParameterRow>& rows, std::ostream& out);

}  // namespace vbsim::platform
