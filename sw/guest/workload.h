#pragma once

// The memory-pressure generator a scenario describes: one process, a list of phases that grow
// and shrink anonymous memory and page cache at given rates, driven by a kernel timer tick. A
// guest may run several; the OOM killer (sw/guest/oom_killer.h) ends one with kill(). It allocates
// as a Linux task would (AllocationClass::kWorkload, through the OOM path) and reports fresh
// pages to the platform with hal.touch_memory(). Bare-metal: no allocation, the phase list
// and the objects it uses belong to the caller.

#include <stddef.h>
#include <stdint.h>

#include "sw/guest/guest_memory.h"
#include "sw/guest/kernel.h"

namespace vbsim::sw::guest {

enum class PhaseKind : uint8_t {
    // Grow the workload's anonymous memory at `rate_bytes_per_s` up to `level_bytes`.
    kAllocate,
    // Shrink it at `rate_bytes_per_s` down to `level_bytes`.
    kFree,
    // Do nothing for `duration_ns` (0: a zero-length phase).
    kHold,
    // Grow or shrink the page cache towards `level_bytes` at `rate_bytes_per_s`. Growth stops
    // at LOW (Linux recycles older cache instead), which also ends an untimed phase.
    kCache,
    // Re-touch `level_bytes` of resident memory (0: the anonymous memory held when the phase
    // starts) at `rate_bytes_per_s`: minor faults and CPU cost only, no new pages.
    kTouch,
};

struct Phase {
    PhaseKind kind = PhaseKind::kHold;
    uint64_t level_bytes = 0;       // rounded up to whole guest pages
    uint64_t rate_bytes_per_s = 0;  // 0: all at once, on the phase's first tick
    // How long the phase lasts; after reaching its level a timed phase waits out the rest.
    // 0: the phase ends once its level is reached (or its work is dropped, see Workload).
    uint64_t duration_ns = 0;
};

struct WorkloadParams {
    static constexpr uint64_t kNeverRestart = UINT64_MAX;
    uint64_t tick_ns = 1'000'000;     // period of the kernel timer that drives the phases
    uint64_t cost_per_page_ns = 250;  // guest CPU time per page allocated, cached or touched
    // After an OOM kill the process starts its phases over this long later (kNeverRestart:
    // it stays dead, as a killed Linux task does unless something restarts it).
    uint64_t restart_delay_ns = kNeverRestart;
};

struct WorkloadCounters {
    uint64_t ticks = 0;
    uint64_t pages_allocated = 0;  // anonymous pages obtained
    uint64_t pages_freed = 0;      // anonymous pages given back by kFree
    uint64_t cache_pages_grown = 0;
    uint64_t cache_pages_shrunk = 0;
    uint64_t pages_touched = 0;       // re-touched by kTouch (minor faults)
    uint64_t failed_allocations = 0;  // allocation calls that came back short
    uint64_t stalled_ticks = 0;       // ticks that waited for an OOM rescue (deferred OOM)
    uint64_t oom_kills_seen = 0;      // allocation calls ended by an OOM kill
    uint64_t oom_killed = 0;          // times the OOM killer chose this process
    uint64_t oom_freed_pages = 0;     // anonymous pages freed by those kills
    uint64_t restarts = 0;            // starts after a kill (restart_delay_ns, respawn())
    // Pages wanted but never obtained: dropped by an OOM kill, or still owed when a timed
    // phase ended or the phases were replaced.
    uint64_t unmet_demand_pages = 0;
    uint64_t touch_calls = 0;  // hal.touch_memory() calls (contiguous pages coalesced)
    uint64_t touched_bytes = 0;
    uint64_t cpu_cost_ns = 0;
    // Time spent waiting for the host to make touched pages resident (host swap); the
    // phases' rates and durations do not count it.
    uint64_t host_stall_ns = 0;
};

class Workload {
  public:
    // Addresses fetched per GuestMemory call (the array lives in the object).
    static constexpr size_t kChunkPages = 512;

    Workload(Kernel& kernel, GuestMemory& memory, const WorkloadParams& params = {});
    Workload(const Workload&) = delete;
    Workload& operator=(const Workload&) = delete;
    ~Workload();

    // Uses `phases` (count entries; the array must outlive its use, it is not copied). After
    // the last phase the workload idles, or starts over from the first with `repeat`. While
    // running, the new list starts at once from its first phase: memory already held stays,
    // owed pages are dropped (counted as unmet demand). While stopped, start() begins it.
    void set_phases(const Phase* phases, size_t count, bool repeat = false);
    // Starts the tick. The first start (or the first after set_phases() while stopped) begins
    // the first phase; after stop() (a guest freeze) it resumes where it was, the stopped time
    // not counting towards the phase's rate or duration.
    void start();
    // Stops the tick; memory stays held.
    void stop();
    // The OOM killer ended this process: its anonymous memory is freed at once, its demand
    // dropped, its tick stopped; it starts over after params.restart_delay_ns (unless stopped
    // then). Returns the pages freed. A call on a killed process does nothing.
    uint64_t kill();
    bool killed() const { return killed_; }
    // Starts a killed process over from its first phase now (a new program, or the restart
    // delay ending); on a live one, does nothing.
    void respawn();

    bool running() const { return running_; }
    // Index of the current phase; phase_count() once the list is done (or empty).
    size_t phase_index() const { return phase_index_; }
    size_t phase_count() const { return phase_count_; }
    bool finished() const { return phase_index_ >= phase_count_; }
    // Passes through the whole list so far (with repeat).
    uint64_t cycles_completed() const { return cycles_completed_; }

    // Anonymous bytes the workload wants right now: the level the current kAllocate / kFree
    // phase heads to, otherwise what it holds.
    uint64_t demand_bytes() const { return demand_pages_ * page_size_; }
    uint64_t anon_bytes() const { return anon_pages_ * page_size_; }
    uint64_t anon_pages() const { return anon_pages_; }
    // What the OOM killer weighs (badness ≈ RSS): anonymous pages, with those an allocation
    // call of ours in progress has taken.
    uint64_t rss_pages() const {
        return anon_pages_ + (in_allocation_ ? memory_.pages_taken_by_current_call() : 0);
    }
    // The latest tick ended in a deferred OOM: it waits for the rescue, keeping its demand.
    bool stalled() const { return stalled_; }
    // Pages due by now that a deferred OOM left unallocated (retried next tick).
    uint64_t owed_pages() const { return owed_pages_; }
    // At most how many new pages the workload takes from `now_ns` (no tick of it pending
    // before) to `until_ns` in its current phase and in a growing phase that follows it, none
    // growing faster than `fastest_bytes_per_s`: what the rate makes due by then less what was
    // had, counted from the phase's start (a tick delayed by a stall, or a cache held at LOW,
    // catches up at once). 0 when stopped or killed.
    uint64_t growth_due_pages(uint64_t now_ns, uint64_t until_ns,
                              uint64_t fastest_bytes_per_s) const;
    const WorkloadCounters& counters() const { return counters_; }
    const WorkloadParams& params() const { return params_; }

  private:
    static void on_tick(void* context);
    static void on_restart(void* context);
    void tick();
    // Begins phase `index` at `start_ns`; past the end, the workload idles.
    void enter_phase(size_t index, uint64_t start_ns);
    // Moves past the current phase, wrapping with repeat.
    void advance(uint64_t start_ns);
    // Does the current phase's work due by `until_ns`.
    void run_phase(const Phase& phase, uint64_t until_ns);
    bool phase_work_done(const Phase& phase) const;
    // Drops what the current phase still owes, counting it as unmet demand.
    void drop_owed();
    void allocate(uint64_t pages);
    void grow_cache(uint64_t pages);
    // Coalesces fresh pages (the allocator's takes, in order) into runs for
    // hal.touch_memory(): a run of set bits at a time, not a page at a time.
    void note_fresh_chunks(const PageWord* chunks, size_t count);
    void note_fresh_run(uint64_t address, uint64_t bytes);
    void flush_touch();
    // Counts the time since `before_ns` (a HAL touch call) as the host's, not the phase's.
    void charge_host_stall(uint64_t before_ns);
    void arm_next_tick(uint64_t now_ns);

    Kernel& kernel_;
    GuestMemory& memory_;
    WorkloadParams params_;
    uint64_t page_size_;
    Timer timer_;
    Timer restart_timer_;
    const Phase* phases_ = nullptr;
    size_t phase_count_ = 0;
    bool repeat_ = false;
    bool running_ = false;
    bool held_ = true;  // not started yet, or stopped: a restart waits for start()
    bool killed_ = false;
    bool in_allocation_ = false;  // inside memory_.allocate_many()
    bool begin_on_start_ = true;  // start() begins the list instead of resuming it
    uint64_t stopped_at_ns_ = 0;
    size_t phase_index_ = 0;
    uint64_t cycles_completed_ = 0;
    // Current phase: its start, the pages it plans to move, how many it has done or dropped.
    uint64_t phase_start_ns_ = 0;
    uint64_t phase_total_pages_ = 0;
    uint64_t phase_credited_pages_ = 0;
    bool cache_grows_ = false;
    bool cache_blocked_ = false;
    bool stalled_ = false;
    uint64_t owed_pages_ = 0;
    uint64_t anon_pages_ = 0;
    uint64_t demand_pages_ = 0;
    uint64_t tick_pages_ = 0;  // pages to charge CPU time for this tick
    uint64_t run_start_ = 0;   // pending touch_memory() run
    uint64_t run_bytes_ = 0;
    PageWord chunks_[kChunkPages] = {};  // one per take, at most one per page
    WorkloadCounters counters_;
};

}  // namespace vbsim::sw::guest
