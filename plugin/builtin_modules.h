#pragma once

#include "plugin/module_factory.h"

namespace vbsim::plugin {

// The factory with vbsim's own module types: virtio_balloon_mmio, memory, router.
const ModuleFactory& builtin_modules();

}  // namespace vbsim::plugin
