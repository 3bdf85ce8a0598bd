#include "models/params/broker.h"

#include <algorithm>

#include "models/params/closest_name.h"

namespace vbsim::params {

void ParamBroker::set_preset_value(const std::string& name, std::string value,
                                   PresetOrigin origin) {
    if (origin.key_path.empty()) {
        origin.key_path = name;
    }
    presets_[name] = Preset{std::move(value), std::move(origin), false};
}

bool ParamBroker::has_preset_value(const std::string& name) const {
    return presets_.count(name) != 0;
}

const std::string* ParamBroker::get_preset_value(const std::string& name) const {
    const auto found = presets_.find(name);
    return found == presets_.end() ? nullptr : &found->second.value;
}

std::vector<std::string> ParamBroker::get_unconsumed_preset_values() const {
    std::vector<std::string> names;
    for (const auto& [name, preset] : presets_) {
        if (!preset.consumed) {
            names.push_back(name);
        }
    }
    return names;
}

ParamUntyped* ParamBroker::get_param_handle(const std::string& name) const {
    const auto found =
        std::find_if(handles_.begin(), handles_.end(),
                     [&](const ParamUntyped* param) { return param->name() == name; });
    return found == handles_.end() ? nullptr : *found;
}

std::vector<ParamError> ParamBroker::check() const {
    std::vector<ParamError> errors = errors_;
    for (const auto& [name, preset] : presets_) {
        if (preset.consumed) {
            continue;
        }
        std::string message = "no parameter named '" + name + "'";
        if (const std::string* closest = closest_name(name, ever_registered_)) {
            message += " (did you mean '" + *closest + "'?)";
        }
        errors.push_back({name, preset.origin, std::move(message)});
    }
    return errors;
}

void ParamBroker::add(ParamUntyped& param) {
    if (get_param_handle(param.name()) != nullptr) {
        PresetOrigin origin;
        origin.key_path = param.name();
        report({param.name(), origin, "declared twice"});
    }
    handles_.push_back(&param);
    if (std::find(ever_registered_.begin(), ever_registered_.end(), param.name()) ==
        ever_registered_.end()) {
        ever_registered_.push_back(param.name());
    }
}

void ParamBroker::remove(ParamUntyped& param) {
    handles_.erase(std::remove(handles_.begin(), handles_.end(), &param), handles_.end());
}

const ParamBroker::Preset* ParamBroker::consume(const std::string& name) {
    const auto found = presets_.find(name);
    if (found == presets_.end()) {
        return nullptr;
    }
    found->second.consumed = true;
    return &found->second;
}

}  // namespace vbsim::params
