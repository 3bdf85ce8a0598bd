#include "sw/guest/workload.h"

#include "sw/bits/bits.h"

namespace vbsim::sw::guest {

namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;

uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t saturating_mul(uint64_t a, uint64_t b) {
    uint64_t product = 0;
    return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

// floor(rate * ns / 1e9) without a 128-bit product: rate = qa*1e9 + ra, ns = qb*1e9 + rb, so
// rate*ns/1e9 = qa*ns + ra*qb + ra*rb/1e9 with ra*rb < 1e18. Exact from the phase start, so
// page counts do not drift with the tick.
uint64_t bytes_due(uint64_t rate_bytes_per_s, uint64_t elapsed_ns) {
    const uint64_t qa = rate_bytes_per_s / kNsPerSecond;
    const uint64_t ra = rate_bytes_per_s % kNsPerSecond;
    const uint64_t qb = elapsed_ns / kNsPerSecond;
    const uint64_t rb = elapsed_ns % kNsPerSecond;
    return saturating_add(saturating_add(saturating_mul(qa, elapsed_ns), ra * qb),
                          ra * rb / kNsPerSecond);
}

}  // namespace

Workload::Workload(Kernel& kernel, GuestMemory& memory, const WorkloadParams& params)
    : kernel_(kernel),
      memory_(memory),
      params_(params),
      // An invalid GuestMemory refuses every allocation; any page size keeps the math sane.
      page_size_(memory.page_size() != 0 ? memory.page_size() : GuestMemory::kPageSize4K),
      timer_(&Workload::on_tick, this),
      restart_timer_(&Workload::on_restart, this) {
    if (params_.tick_ns == 0) {
        params_.tick_ns = WorkloadParams{}.tick_ns;  // a zero period would never let time pass
    }
}

Workload::~Workload() {
    // The kernel links the timer intrusively: it must not outlive us in its list.
    kernel_.cancel(timer_);
    kernel_.cancel(restart_timer_);
}

void Workload::set_phases(const Phase* phases, size_t count, bool repeat) {
    phases_ = phases;
    phase_count_ = phases != nullptr ? count : 0;
    repeat_ = repeat;
    if (!running_) {
        begin_on_start_ = true;
        return;
    }
    enter_phase(0, kernel_.now_ns());
    if (finished()) {
        kernel_.cancel(timer_);
    } else if (!timer_.armed()) {
        kernel_.arm(timer_, params_.tick_ns);
    }
}

void Workload::start() {
    held_ = false;
    if (running_ || killed_) {
        return;
    }
    running_ = true;
    const uint64_t now = kernel_.now_ns();
    if (begin_on_start_) {
        begin_on_start_ = false;
        enter_phase(0, now);
    } else if (now > stopped_at_ns_) {
        // Frozen time does not count: shift the phase's start past it.
        phase_start_ns_ = saturating_add(phase_start_ns_, now - stopped_at_ns_);
    }
    if (!finished()) {
        kernel_.arm(timer_, params_.tick_ns);
    }
}

void Workload::stop() {
    held_ = true;
    if (running_) {
        stopped_at_ns_ = kernel_.now_ns();
    }
    running_ = false;
    stalled_ = false;
    kernel_.cancel(timer_);
}

void Workload::on_tick(void* context) {
    static_cast<Workload*>(context)->tick();
}

void Workload::on_restart(void* context) {
    static_cast<Workload*>(context)->respawn();
}

uint64_t Workload::kill() {
    if (killed_) {
        return 0;
    }
    const uint64_t freed = memory_.free_many(rss_pages());
    ++counters_.oom_killed;
    counters_.oom_freed_pages += freed;
    drop_owed();
    anon_pages_ = 0;
    demand_pages_ = 0;
    killed_ = true;
    stalled_ = false;
    running_ = false;
    kernel_.cancel(timer_);
    if (params_.restart_delay_ns != WorkloadParams::kNeverRestart) {
        kernel_.arm(restart_timer_, params_.restart_delay_ns);
    }
    return freed;
}

void Workload::respawn() {
    if (!killed_) {
        return;
    }
    kernel_.cancel(restart_timer_);
    killed_ = false;
    ++counters_.restarts;
    begin_on_start_ = true;
    if (!held_) {
        start();
    }
}

void Workload::tick() {
    if (!running_) {
        return;
    }
    ++counters_.ticks;
    const uint64_t now = kernel_.now_ns();
    stalled_ = false;
    tick_pages_ = 0;
    // Each phase runs at most once per tick, so zero-length phases that repeat cannot spin.
    for (size_t ran = 0; !finished() && !killed_ && ran < phase_count_; ++ran) {
        const Phase& phase = phases_[phase_index_];
        const bool timed = phase.duration_ns != 0;
        const uint64_t end = timed ? saturating_add(phase_start_ns_, phase.duration_ns) : 0;
        run_phase(phase, timed ? min_u64(now, end) : now);
        if (killed_) {
            break;
        }
        const bool over = timed ? now >= end : phase_work_done(phase);
        if (!over) {
            break;
        }
        // A timed phase hands over at its exact end, so the next one's rate counts from there.
        advance(timed ? end : now);
    }
    flush_touch();
    if (tick_pages_ > 0 && params_.cost_per_page_ns > 0) {
        const uint64_t cost = saturating_mul(params_.cost_per_page_ns, tick_pages_);
        counters_.cpu_cost_ns = saturating_add(counters_.cpu_cost_ns, cost);
        kernel_.hal().cpu_cost(cost);
    }
    if (!finished() && !killed_) {
        arm_next_tick(now);
    }
}

void Workload::arm_next_tick(uint64_t now_ns) {
    // Keep the period steady; after a long delay skip the missed ticks rather than burst.
    uint64_t next = saturating_add(timer_.deadline_ns(), params_.tick_ns);
    if (next <= now_ns) {
        next = saturating_add(now_ns, params_.tick_ns);
    }
    // A timed hold does nothing until it ends: sleep through it, waking at the first tick of
    // the same grid at or after its end, so that the phases after it see the same ticks.
    const Phase& phase = phases_[phase_index_];
    if (phase.kind == PhaseKind::kHold && phase.duration_ns != 0 && owed_pages_ == 0) {
        const uint64_t end = saturating_add(phase_start_ns_, phase.duration_ns);
        if (end > next) {
            const uint64_t periods = (end - next + params_.tick_ns - 1) / params_.tick_ns;
            next = saturating_add(next, saturating_mul(periods, params_.tick_ns));
        }
    }
    kernel_.arm_at(timer_, next);
}

void Workload::advance(uint64_t start_ns) {
    size_t next = phase_index_ + 1;
    if (next >= phase_count_) {
        ++cycles_completed_;
        if (repeat_) {
            next = 0;
        }
    }
    enter_phase(next, start_ns);
}

void Workload::enter_phase(size_t index, uint64_t start_ns) {
    drop_owed();
    stalled_ = false;
    phase_start_ns_ = start_ns;
    phase_total_pages_ = 0;
    phase_credited_pages_ = 0;
    cache_blocked_ = false;
    demand_pages_ = anon_pages_;
    if (index >= phase_count_) {
        phase_index_ = phase_count_;
        return;
    }
    phase_index_ = index;
    const Phase& phase = phases_[index];
    const uint64_t level =
        phase.level_bytes / page_size_ + (phase.level_bytes % page_size_ != 0 ? 1 : 0);
    switch (phase.kind) {
        case PhaseKind::kAllocate:
            phase_total_pages_ = level > anon_pages_ ? level - anon_pages_ : 0;
            demand_pages_ = anon_pages_ + phase_total_pages_;
            break;
        case PhaseKind::kFree:
            phase_total_pages_ = anon_pages_ > level ? anon_pages_ - level : 0;
            demand_pages_ = anon_pages_ - phase_total_pages_;
            break;
        case PhaseKind::kCache: {
            const uint64_t cache = memory_.cache_pages();
            cache_grows_ = level > cache;
            phase_total_pages_ = cache_grows_ ? level - cache : cache - level;
            break;
        }
        case PhaseKind::kTouch:
            phase_total_pages_ = phase.level_bytes != 0 ? level : anon_pages_;
            break;
        case PhaseKind::kHold:
            break;
    }
}

bool Workload::phase_work_done(const Phase& phase) const {
    if (phase.kind == PhaseKind::kCache && cache_blocked_) {
        return true;  // the cache cannot grow past LOW: as far as this phase gets
    }
    return phase_credited_pages_ >= phase_total_pages_;
}

uint64_t Workload::growth_due_pages(uint64_t now_ns, uint64_t until_ns,
                                    uint64_t fastest_bytes_per_s) const {
    if (!running_ || killed_ || phase_index_ >= phase_count_) {
        return 0;
    }
    const Phase& phase = phases_[phase_index_];
    const bool grows =
        phase.kind == PhaseKind::kAllocate || (phase.kind == PhaseKind::kCache && cache_grows_);
    if (!grows) {
        // A timed phase hands over when its time is up, and the next one's rate counts from
        // there even if its first tick comes late; an untimed one at the tick that finishes
        // its work, which is not before now.
        const uint64_t next_start = phase.duration_ns != 0
                                        ? saturating_add(phase_start_ns_, phase.duration_ns)
                                        : (now_ns > phase_start_ns_ ? now_ns : phase_start_ns_);
        if (until_ns <= next_start) {
            return 0;
        }
        return bytes_due(fastest_bytes_per_s, until_ns - next_start) / page_size_;
    }
    uint64_t due = phase_total_pages_;
    if (phase.rate_bytes_per_s != 0) {
        const uint64_t elapsed = until_ns > phase_start_ns_ ? until_ns - phase_start_ns_ : 0;
        due = min_u64(due, bytes_due(phase.rate_bytes_per_s, elapsed) / page_size_);
    }
    return due > phase_credited_pages_ ? due - phase_credited_pages_ : 0;
}

void Workload::run_phase(const Phase& phase, uint64_t until_ns) {
    uint64_t due = phase_total_pages_;
    if (phase.rate_bytes_per_s != 0) {
        const uint64_t elapsed = until_ns > phase_start_ns_ ? until_ns - phase_start_ns_ : 0;
        due = min_u64(due, bytes_due(phase.rate_bytes_per_s, elapsed) / page_size_);
    }
    if (due <= phase_credited_pages_) {
        return;
    }
    const uint64_t want = due - phase_credited_pages_;
    switch (phase.kind) {
        case PhaseKind::kAllocate:
            allocate(want);
            break;
        case PhaseKind::kFree: {
            const uint64_t freed = memory_.free_many(want);
            counters_.pages_freed += freed;
            anon_pages_ -= min_u64(freed, anon_pages_);
            // Fewer anonymous pages than expected (freed by someone else): nothing more to do.
            phase_credited_pages_ += want;
            break;
        }
        case PhaseKind::kCache:
            if (cache_grows_) {
                cache_blocked_ = false;
                grow_cache(want);
            } else {
                // kswapd may already have taken part of it: the level is what counts.
                counters_.cache_pages_shrunk += memory_.shrink_cache(want);
                phase_credited_pages_ += want;
            }
            break;
        case PhaseKind::kTouch:
            memory_.record_faults(0, want);
            counters_.pages_touched += want;
            tick_pages_ += want;
            phase_credited_pages_ += want;
            {
                const uint64_t before = kernel_.hal().now_ns();
                kernel_.hal().touch_held_memory(want * page_size_);
                charge_host_stall(before);
            }
            break;
        case PhaseKind::kHold:
            break;
    }
}

void Workload::allocate(uint64_t pages) {
    uint64_t remaining = pages;
    owed_pages_ = 0;
    while (remaining > 0) {
        const uint64_t ask = min_u64(remaining, kChunkPages);
        in_allocation_ = true;
        size_t chunks = 0;
        const uint64_t got =
            memory_.allocate_chunks(AllocationClass::kWorkload, ask, chunks_, chunks);
        in_allocation_ = false;
        note_fresh_chunks(chunks_, chunks);
        if (killed_) {
            // This process was the victim: kill() freed these pages with the rest.
            counters_.pages_allocated += got;
            tick_pages_ += got;
            ++counters_.oom_kills_seen;
            return;
        }
        anon_pages_ += got;
        phase_credited_pages_ += got;
        counters_.pages_allocated += got;
        tick_pages_ += got;
        remaining -= got;
        if (got == ask) {
            continue;
        }
        const AllocationFailure failure = memory_.last_allocation_failure();
        if (failure == AllocationFailure::kOomVictimKilled) {
            // Another process died and its memory is free: retry, as Linux's allocator does.
            continue;
        }
        ++counters_.failed_allocations;
        if (failure == AllocationFailure::kOomDeferred) {
            // The balloon is handing pages back: wait for them and keep wanting these.
            owed_pages_ = remaining;
            if (!stalled_) {
                stalled_ = true;
                ++counters_.stalled_ticks;
            }
        } else {
            // The OOM killer ended the allocating task: this tick's pages are never obtained.
            if (memory_.last_allocation_failure() == AllocationFailure::kOomKill) {
                ++counters_.oom_kills_seen;
            }
            counters_.unmet_demand_pages += remaining;
            phase_credited_pages_ += remaining;
        }
        return;
    }
}

void Workload::grow_cache(uint64_t pages) {
    uint64_t remaining = pages;
    while (remaining > 0) {
        const uint64_t ask = min_u64(remaining, kChunkPages);
        size_t chunks = 0;
        const uint64_t got = memory_.grow_cache_chunks(ask, chunks_, chunks);
        note_fresh_chunks(chunks_, chunks);
        phase_credited_pages_ += got;
        counters_.cache_pages_grown += got;
        tick_pages_ += got;
        remaining -= got;
        if (got < ask) {
            cache_blocked_ = true;
            return;
        }
    }
}

void Workload::drop_owed() {
    counters_.unmet_demand_pages += owed_pages_;
    owed_pages_ = 0;
}

void Workload::note_fresh_chunks(const PageWord* chunks, size_t count) {
    for (size_t i = 0; i < count; ++i) {
        uint64_t mask = chunks[i].mask;
        while (mask != 0) {
            // The lowest run of set bits: [first, first + length).
            const unsigned first = bits::lowest_bit(mask);
            const uint64_t above = ~(mask >> first);
            const unsigned length = above == 0 ? 64 - first : bits::lowest_bit(above);
            note_fresh_run(memory_.page_address(chunks[i].word * 64 + first),
                           uint64_t{length} * page_size_);
            mask = length == 64 ? 0 : mask & ~(((uint64_t{1} << length) - 1) << first);
        }
    }
}

void Workload::note_fresh_run(uint64_t address, uint64_t bytes) {
    if (run_bytes_ != 0 && address == run_start_ + run_bytes_) {
        run_bytes_ += bytes;
        return;
    }
    flush_touch();
    run_start_ = address;
    run_bytes_ = bytes;
}

void Workload::flush_touch() {
    if (run_bytes_ == 0) {
        return;
    }
    const uint64_t before = kernel_.hal().now_ns();
    kernel_.hal().touch_memory(run_start_, run_bytes_);
    charge_host_stall(before);
    ++counters_.touch_calls;
    counters_.touched_bytes += run_bytes_;
    run_bytes_ = 0;
}

void Workload::charge_host_stall(uint64_t before_ns) {
    // Time that passed inside a touch is the host making pages resident (its swap): the
    // process makes no progress then, so its phase clock does not count it.
    const uint64_t stalled = kernel_.hal().now_ns() - before_ns;
    if (stalled != 0) {
        phase_start_ns_ = saturating_add(phase_start_ns_, stalled);
        counters_.host_stall_ns = saturating_add(counters_.host_stall_ns, stalled);
    }
}

}  // namespace vbsim::sw::guest
