#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugin/parameter_set.h"
#include "plugin/plugin_module.h"

namespace vbsim::plugin {

// Module types by name: creates one from an instance name and parameters by name. The
// built-in types (virtio_balloon_mmio, memory, router) are in builtin_modules.h.
class ModuleFactory {
  public:
    // Reads `parameters` into a Params struct and constructs the module. Called with a
    // describing ParameterSet (and an empty instance name) only to list the parameters: it
    // must then return before constructing anything.
    using Creator = std::function<std::unique_ptr<PluginModule>(const std::string& instance,
                                                                ParameterSet& parameters)>;

    void add(const std::string& type, Creator creator);
    std::vector<std::string> types() const;
    bool has(const std::string& type) const { return creators_.count(type) != 0; }
    // Throws std::invalid_argument (unknown type, unknown parameter, bad value) or
    // sc_core::sc_report (the model refused its parameters); nothing is left behind.
    std::unique_ptr<PluginModule> create(const std::string& type, const std::string& instance,
                                         ParameterSet parameters) const;
    // "name = default  -- meaning" lines, one per parameter of `type`.
    std::string describe(const std::string& type) const;

  private:
    std::map<std::string, Creator> creators_;
};

}  // namespace vbsim::plugin
