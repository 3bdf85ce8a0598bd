#include "sw/guest/oom_killer.h"

namespace vbsim::sw::guest {

OomKiller::OomKiller(Kernel& kernel, GuestMemory& memory, Workload* const* processes, size_t count)
    : kernel_(kernel), memory_(memory), processes_(processes), count_(count) {
    memory_.set_oom_killer(&OomKiller::on_out_of_memory, this);
}

OomKiller::~OomKiller() {
    memory_.set_oom_killer(nullptr, nullptr);
}

bool OomKiller::on_out_of_memory(void* context) {
    return static_cast<OomKiller*>(context)->kill_worst();
}

bool OomKiller::kill_worst() {
    size_t victim = count_;
    for (size_t i = 0; i < count_; ++i) {
        const Workload* process = processes_[i];
        if (process == nullptr || process->killed()) {
            continue;
        }
        if (victim == count_ || process->rss_pages() > processes_[victim]->rss_pages()) {
            victim = i;
        }
    }
    if (victim == count_) {
        return false;
    }
    const uint64_t freed = processes_[victim]->kill();
    ++kills_;
    if (observer_ != nullptr) {
        observer_(observer_context_, victim, freed, kernel_.now_ns());
    }
    return true;
}

}  // namespace vbsim::sw::guest
