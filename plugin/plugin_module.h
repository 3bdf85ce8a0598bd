#pragma once

#include <cstdint>
#include <string>

#include <systemc>

#include "models/balloon/balloon_device.h"

namespace vbsim::plugin {

// One module the factory made, seen through names only: its sockets and ports, its counters,
// and (for a balloon) the device's host-facing API.
class PluginModule {
  public:
    virtual ~PluginModule() = default;

    virtual sc_core::sc_module& module() = 0;
    // The socket or port `name`; null when the module has none of that name.
    virtual sc_core::sc_object* port(const std::string& name) = 0;
    // Binds `name` to the host's `peer`; throws std::invalid_argument when the name is unknown
    // or the peer is of the wrong kind or width.
    virtual void bind(const std::string& name, sc_core::sc_object& peer) = 0;
    // False when the module has no counter `name`.
    virtual bool counter(const std::string& name, uint64_t& value) const = 0;
    // The balloon device, for modules that hold one.
    virtual models::BalloonDevice* balloon() { return nullptr; }
};

}  // namespace vbsim::plugin
