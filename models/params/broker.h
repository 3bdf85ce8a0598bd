#pragma once

// ParamBroker (CCI's cci_broker_if): preset values by full parameter name, and the handles of
// the parameters registered with it. See models/params/param.h for the whole API.

#include <map>
#include <string>
#include <vector>

#include "models/params/param.h"

namespace vbsim::params {

class ParamBroker {
  public:
    ParamBroker() = default;
    ParamBroker(const ParamBroker&) = delete;
    ParamBroker& operator=(const ParamBroker&) = delete;

    // The value text `value` ("250us", "16GB/s", "[stats_vq]") for the parameter `name`,
    // taken when that parameter is constructed. A later preset of the same name replaces it.
    void set_preset_value(const std::string& name, std::string value, PresetOrigin origin = {});
    bool has_preset_value(const std::string& name) const;
    // The preset text of `name`, or nullptr.
    const std::string* get_preset_value(const std::string& name) const;
    // Names of the presets no parameter has taken (yet), sorted.
    std::vector<std::string> get_unconsumed_preset_values() const;

    // The parameter registered as `name`, or nullptr.
    ParamUntyped* get_param_handle(const std::string& name) const;
    // Every registered parameter, in the order they were constructed.
    std::vector<ParamUntyped*> get_param_handles() const { return handles_; }

    // Presets that could not be used: values that did not parse or were out of range (in the
    // order found), then presets no parameter took, each naming the closest registered
    // parameter. Call it after the parameters were constructed.
    std::vector<ParamError> check() const;

  private:
    friend class ParamUntyped;
    struct Preset {
        std::string value;
        PresetOrigin origin;
        bool consumed = false;
    };

    void add(ParamUntyped& param);
    void remove(ParamUntyped& param);
    // The preset for `name`, now marked consumed; nullptr when there is none.
    const Preset* consume(const std::string& name);
    void report(ParamError error) { errors_.push_back(std::move(error)); }

    std::map<std::string, Preset> presets_;
    std::vector<ParamUntyped*> handles_;
    std::vector<std::string> ever_registered_;  // for suggestions once a parameter is gone
    std::vector<ParamError> errors_;
};

}  // namespace vbsim::params
