#include "models/timing/observation_clock.h"

#include <algorithm>

#include "models/timing/current_time.h"

namespace vbsim::models {

ObservationClock::ObservationClock(const sc_core::sc_module_name& name) : sc_module(name) {
    SC_HAS_PROCESS(ObservationClock);
    SC_THREAD(dispatcher);
}

ObservationClock::~ObservationClock() = default;

ObservationClock::ObserverId ObservationClock::add_observer(unsigned int rank,
                                                            bool bounds_lookahead) {
    const ObserverId id = observers_.size();
    observers_.push_back(std::make_unique<Observer>());
    observers_.back()->rank = rank;
    observers_.back()->bounds_lookahead = bounds_lookahead;
    order_.push_back(id);
    std::stable_sort(order_.begin(), order_.end(), [this](ObserverId a, ObserverId b) {
        return observers_[a]->rank < observers_[b]->rank;
    });
    return id;
}

void ObservationClock::wait_until(ObserverId id, const sc_core::sc_time& at) {
    Observer& observer = *observers_.at(id);
    observer.due = std::max(at, models::current_time());
    observer.waiting = true;
    update_next_observation();
    // Observers normally wait again while the dispatcher runs their instant; one that waits
    // from elsewhere (at start-up) may be earlier than the dispatcher's next wake.
    if (dispatcher_idle_ || observer.due < dispatcher_wakes_at_) {
        observer_added_.notify(sc_core::SC_ZERO_TIME);
    }
    sc_core::wait(observer.resume);
}

void ObservationClock::update_next_observation() {
    next_observation_ = sc_core::sc_max_time();
    next_bounding_observation_ = sc_core::sc_max_time();
    for (const auto& observer : observers_) {
        if (!observer->waiting) {
            continue;
        }
        next_observation_ = std::min(next_observation_, observer->due);
        if (observer->bounds_lookahead) {
            next_bounding_observation_ = std::min(next_bounding_observation_, observer->due);
        }
    }
}

void ObservationClock::settle() {
    while (sc_core::sc_pending_activity_at_current_time()) {
        sc_core::wait(sc_core::SC_ZERO_TIME);
    }
}

void ObservationClock::dispatcher() {
    for (;;) {
        const sc_core::sc_time now = models::current_time();
        if (next_observation_ == sc_core::sc_max_time()) {
            dispatcher_idle_ = true;
            sc_core::wait(observer_added_);
            dispatcher_idle_ = false;
            continue;
        }
        if (next_observation_ > now) {
            dispatcher_wakes_at_ = next_observation_;
            sc_core::wait(next_observation_ - now, observer_added_);
            dispatcher_wakes_at_ = sc_core::sc_max_time();
            continue;
        }
        settle();
        for (const SettledListener& listener : settled_listeners_) {
            listener(now);
        }
        // One observer at a time: the next one sees what the previous one caused here.
        for (const ObserverId id : order_) {
            Observer& observer = *observers_[id];
            if (!observer.waiting || observer.due > now) {
                continue;
            }
            observer.waiting = false;
            observer.resume.notify();
            sc_core::wait(sc_core::SC_ZERO_TIME);  // it runs, and waits again (or ends)
            settle();
        }
        update_next_observation();
    }
}

}  // namespace vbsim::models
