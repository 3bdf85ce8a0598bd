#pragma once

// The guest's OOM killer (Linux's mm/oom_kill.c, reduced to what the model needs): when an
// allocation finds nothing left to reclaim — no DEFLATE_ON_OOM release freed or promised
// pages — it kills the process with the most memory (oom_badness() is roughly the task's RSS;
// ties go to the first in the list, as select_bad_process() keeps the first highest score)
// and frees all of its memory. Bare-metal: the process list belongs to the caller.

#include <stddef.h>
#include <stdint.h>

#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"
#include "sw/guest/workload.h"

namespace vbsim::sw::guest {

// Told of every kill: the victim's index in the process list and the pages freed.
using OomKillObserver = void (*)(void* context, size_t process, uint64_t pages_freed,
                                 uint64_t now_ns);

class OomKiller {
  public:
    // Installs itself as `memory`'s OOM kill hook. `processes` (count entries) must outlive it.
    OomKiller(Kernel& kernel, GuestMemory& memory, Workload* const* processes, size_t count);
    OomKiller(const OomKiller&) = delete;
    OomKiller& operator=(const OomKiller&) = delete;
    ~OomKiller();

    void set_observer(OomKillObserver observer, void* context) {
        observer_ = observer;
        observer_context_ = context;
    }
    uint64_t kills() const { return kills_; }

  private:
    static bool on_out_of_memory(void* context);
    // Kills the live process with the most anonymous memory; false when none is alive.
    bool kill_worst();

    Kernel& kernel_;
    GuestMemory& memory_;
    Workload* const* processes_;
    size_t count_;
    uint64_t kills_ = 0;
    OomKillObserver observer_ = nullptr;
    void* observer_context_ = nullptr;
};

}  // namespace vbsim::sw::guest
