#pragma once

// How much memory a run will hold, estimated from its scenario before anything is built, so
// that a scenario too large for the machine is refused politely instead of running out of
// memory part-way.

#include <cstdint>

#include "platform/config/scenario.h"

namespace vbsim::platform {

// Peak bytes of a run: a fixed base, per guest its fixed structures plus 0.75 bytes per 4 KiB
// page of RAM (the allocator's, driver's, device's and host's page bitmaps; a 1 TiB guest
// half ballooned measured 170 MiB, bench/RESULTS.md), and 160 bytes per recorded guest sample.
uint64_t estimated_peak_bytes(const ScenarioConfig& config);

// The default limit for estimated_peak_bytes: the machine's physical memory.
uint64_t physical_memory_bytes();

}  // namespace vbsim::platform
