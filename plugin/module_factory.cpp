#include "plugin/module_factory.h"

#include <stdexcept>

namespace vbsim::plugin {

void ModuleFactory::add(const std::string& type, Creator creator) {
    creators_[type] = std::move(creator);
}

std::vector<std::string> ModuleFactory::types() const {
    std::vector<std::string> names;
    for (const auto& entry : creators_) {
        names.push_back(entry.first);
    }
    return names;
}

std::unique_ptr<PluginModule> ModuleFactory::create(const std::string& type,
                                                    const std::string& instance,
                                                    ParameterSet parameters) const {
    const auto found = creators_.find(type);
    if (found == creators_.end()) {
        throw std::invalid_argument("unknown module type '" + type + "'");
    }
    if (instance.empty()) {
        throw std::invalid_argument(type + ": the instance name is empty");
    }
    parameters.begin(instance);
    try {
        return found->second(instance, parameters);
    } catch (const std::invalid_argument& error) {
        throw std::invalid_argument(type + " '" + instance + "': " + error.what());
    }
}

std::string ModuleFactory::describe(const std::string& type) const {
    const auto found = creators_.find(type);
    if (found == creators_.end()) {
        throw std::invalid_argument("unknown module type '" + type + "'");
    }
    ParameterSet describing = ParameterSet::describing();
    found->second("", describing);
    return describing.description();
}

}  // namespace vbsim::plugin
