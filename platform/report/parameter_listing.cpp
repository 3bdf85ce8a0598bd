#include "platform/report/parameter_listing.h"

#include "models/params/broker.h"
#include "platform/config/model_parameters.h"
#include "platform/report/json_writer.h"

namespace vbsim::platform {

namespace {

std::vector<ParameterRow> rows_of(const std::string& guest,
                                  const std::vector<ParameterPreset>& presets) {
    params::ParamBroker broker;
    for (const ParameterPreset& preset : presets) {
        broker.set_preset_value(preset.name, preset.value, preset.origin);
    }
    const ModelParameterTree tree(guest, broker);
    std::vector<ParameterRow> rows;
    for (const params::ParamUntyped* param : broker.get_param_handles()) {
        rows.push_back({param->name(), params::unit_name(param->unit()), param->get_value_text(),
                        param->get_default_value_text(), param->get_range_text(),
                        param->get_description(), param->is_preset_value()});
    }
    return rows;
}

// A Markdown table cell: a `|` would end the cell.
std::string cell(const std::string& text) {
    std::string escaped;
    for (const char c : text) {
        escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    }
    return escaped;
}

}  // namespace

std::vector<ParameterRow> parameter_rows(const std::vector<GuestConfig>& guests) {
    std::vector<ParameterRow> rows;
    for (const GuestConfig& guest : guests) {
        std::vector<ParameterRow> guest_rows = rows_of(guest.name, guest.parameter_presets);
        rows.insert(rows.end(), guest_rows.begin(), guest_rows.end());
    }
    return rows;
}

std::vector<ParameterRow> default_parameter_rows() {
    return rows_of("vm0", {});
}

void write_parameters_text(const std::vector<ParameterRow>& rows, std::ostream& out) {
    for (const ParameterRow& row : rows) {
        out << row.name << " = " << row.value << "  (" << row.type;
        if (row.preset) {
            out << "; default " << row.default_value;
        }
        if (!row.range.empty()) {
            out << "; " << row.range;
        }
        out << ")\n    " << row.description << "\n";
    }
}

void write_parameters_json(const std::vector<ParameterRow>& rows, std::ostream& out) {
    JsonWriter json(out);
    json.begin_array();
    for (const ParameterRow& row : rows) {
        json.begin_object();
        json.key("name");
        json.string(row.name);
        json.key("type");
        json.string(row.type);
        json.key("value");
        json.string(row.value);
        json.key("default");
        json.string(row.default_value);
        json.key("range");
        json.string(row.range);
        json.key("description");
        json.string(row.description);
        json.key("preset");
        json.boolean(row.preset);
        json.end_object();
    }
    json.end_array();
    json.finish();
}

void write_parameters_markdown(const std::vector<ParameterRow>& rows, std::ostream& out) {
    out << "| Parameter | Type | Default | Range | Meaning |\n"
        << "|-----------|------|---------|-------|---------|\n";
    for (const ParameterRow& row : rows) {
        out << "| `" << cell(row.name) << "` | " << cell(row.type) << " | `"
            << cell(row.default_value) << "` | " << cell(row.range) << " | "
            << cell(row.description) << " |\n";
    }
}

}  // namespace vbsim::platform
