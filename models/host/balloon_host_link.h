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
    void pages_inflated(const uint32_t* pfns, size_t count) override {
        host_.release_frames(guest_, pfns, count);
    }

    void pages_deflated(const uint32_t* pfns, size_t count) override {
        host_.reclaim_frames(guest_, pfns, count);
    }

  private:
    HostMemory& host_;
    GuestId guest_;
};

}  // namespace vbsim::models
