#include "platform/assembly/memory_estimate.h"

#include <unistd.h>

#include <algorithm>

namespace vbsim::platform {

uint64_t estimated_peak_bytes(const ScenarioConfig& config) {
    constexpr double kBaseBytes = 32.0 * (1 << 20);
    constexpr double kPerGuestBytes = 256.0 * (1 << 10);
    constexpr double kPerPageBytes = 0.75;
    constexpr double kPerGuestSampleBytes = 160.0;
    double bytes = kBaseBytes;
    for (const GuestConfig& guest : config.guests) {
        bytes += kPerGuestBytes + kPerPageBytes * static_cast<double>(guest.ram_bytes / 4096);
    }
    const double samples = config.duration / config.output.sample_interval + 1;
    bytes += kPerGuestSampleBytes * samples * static_cast<double>(config.guests.size());
    return static_cast<uint64_t>(std::min(bytes, 1.8e19));
}

uint64_t physical_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) {
        return UINT64_MAX;
    }
    return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

}  // namespace vbsim::platform
