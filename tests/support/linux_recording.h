#pragma once

// One recorded run of Linux 6.1's virtio_balloon on QEMU 7.2 (tests/data/linux-6.1-qemu-7.2),
// read from its CSV files into what the replay needs.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vbsim::test {

struct RecordedAccess {
    uint64_t seq = 0;
    double host_time = 0;  // seconds (wall clock of the recording host)
    double t_us = 0;       // since the first access
    bool write = false;
    uint32_t offset = 0;  // in the register window
    std::string name;     // decoded register name
    std::string phase;    // what the guest was doing ("INSMOD virtio_balloon", "READY", ...)
    std::string context;  // mmio-all.csv only: "init", "request0", ...
    unsigned int width = 4;
    uint32_t value = 0;
};

struct RecordedStats {
    double host_time = 0;  // when the buffer was read out (pmemsave)
    uint64_t buffer_address = 0;
    uint32_t buffer_length = 0;
    std::vector<std::pair<uint16_t, uint64_t>> entries;  // in wire order
};

struct Recording {
    std::vector<RecordedAccess> accesses;
    // PFN counts of the buffers QEMU popped, in order, per queue (0 inflate, 1 deflate).
    std::vector<uint32_t> buffer_pfns[2];
    uint32_t stats_buffers = 0;
    std::vector<RecordedStats> stats;  // snapshots, in time order
    std::vector<uint32_t> targets;     // num_pages of every target change, in order
};

// Reads `folder` (one of modern-full, legacy-full, modern-dod-full). Throws
// std::runtime_error naming the file and line of anything malformed.
Recording read_recording(const std::string& folder);

// Reads one access list: mmio-all.csv or init-mmio-sequence.csv (which has no host_time
// and no context column). Throws as read_recording does.
std::vector<RecordedAccess> read_accesses(const std::string& path);

}  // namespace vbsim::test
