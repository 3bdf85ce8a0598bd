#pragma once

#include <string>

#include "platform/config/scenario.h"

namespace vbsim::platform {

// A device-tree source per guest of `config` (to merge into the board's tree: `&plic` is the
// board's interrupt controller), as Linux's virtio-mmio driver expects
// the device: a "virtio,mmio" node with its 0x200-byte register window and a level interrupt
// (source 1 of a RISC-V PLIC, the line vbsim's guest CPU takes it on), and the guest's RAM as
// a memory node. For `vbsim dts`; docs/integration.md explains the node.
std::string device_tree_source(const ScenarioConfig& config);

}  // namespace vbsim::platform
