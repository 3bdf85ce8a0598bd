#pragma once

#include <cstddef>
#include <cstdint>

#include "models/balloon/balloon_device.h"
#include "models/host/host_memory.h"

namespace vbsim::models {

// Connects one guest's balloon device to the host RAM pool: pages the host takes
// on inflate stop costing host memory; pages given back on deflate cost again once
// the guest touches them.
class BalloonHostLink : public BalloonObserver {
  public:
    BalloonHostLink(HostMemory& host, GuestId guest) : host_(host), guest_(guest) {}

    // One host call per buffer, not per PFN.
    void pages_inflated(const uint32_t* pfns, size_t count, const sc_core::sc_time& at) override {
        host_.release_frames(guest_, pfns, count, at);
    }

    void pages_deflated(const uint32_t* pfns, size_t count, const sc_core::sc_time& at) override {
        host_.reclaim_frames(guest_, pfns, count, at);
    }

    // Free page reporting: the host discards the block as it does an inflated page, but the
    // guest keeps it and may touch it again at any time (a host fault brings it back).
    void pages_reported(uint64_t address, uint64_t bytes) override {
        pages_freed_by_reporting_ += host_.release_address_range(guest_, address, bytes).changed;
    }

    // Resident host pages that reporting handed back (the rest of HostGuestCounters'
    // pages_freed came from inflates).
    uint64_t pages_freed_by_reporting() const { return pages_freed_by_reporting_; }

  private:
    HostMemory& host_;
    GuestId guest_;
    uint64_t pages_freed_by_reporting_ = 0;
};

}  // namespace vbsim::models
