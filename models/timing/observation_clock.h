#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <systemc>

namespace vbsim::models {

// Gives what happens at one simulated instant a defined order. SystemC runs the processes
// woken at the same time in the order of its timed-event queue, which depends on the whole
// history of notifications: any change in how often a model waits would reorder a sampler,
// a policy and a guest at a shared instant, and move results. Observers (samplers, host
// policies, scenario events) therefore wait here instead of on a plain timeout: at their time
// they resume only once every other process has nothing left to do at that instant, one
// observer at a time, by rank (then by registration), each after the previous one's own
// activity at that instant has settled.
//
// It also tells guests how far they may run ahead of SystemC time (lookahead): nothing is
// observed before next_observation(), and nothing that needs the guests in step (rather than
// their own record of the moment, see add_observer()) before next_bounding_observation().
class ObservationClock : public sc_core::sc_module {
  public:
    using ObserverId = size_t;
    using SettledListener = std::function<void(const sc_core::sc_time& now)>;

    explicit ObservationClock(const sc_core::sc_module_name& name);
    ~ObservationClock() override;

    // Observers due at the same instant resume in increasing rank, then registration order.
    // One that does not bound lookahead reads guests that ran past its time from what each
    // recorded as it passed (a sampler): guests need not stop for it.
    ObserverId add_observer(unsigned int rank, bool bounds_lookahead = true);
    // From the observer's own SC_THREAD: returns at `at` (or now, if `at` has passed) once the
    // instant has settled and the observers ranked before it have run.
    void wait_until(ObserverId observer, const sc_core::sc_time& at);
    // The earliest time an observer waits for, or sc_max_time() when none waits.
    const sc_core::sc_time& next_observation() const { return next_observation_; }
    // The earliest time an observer that bounds lookahead waits for (sc_max_time(): none).
    const sc_core::sc_time& next_bounding_observation() const { return next_bounding_observation_; }
    // Runs at every instant that has observers, once it has settled and before they resume.
    void on_settled(SettledListener listener) { settled_listeners_.push_back(std::move(listener)); }

  private:
    struct Observer {
        unsigned int rank = 0;
        bool bounds_lookahead = true;
        bool waiting = false;
        sc_core::sc_time due;
        sc_core::sc_event resume;
    };

    void dispatcher();
    // Delta cycles until no process, delta notification or channel update is left at now.
    void settle();
    void update_next_observation();

    std::vector<std::unique_ptr<Observer>> observers_;  // by id
    std::vector<ObserverId> order_;                     // ids by (rank, id)
    std::vector<SettledListener> settled_listeners_;
    sc_core::sc_time next_observation_ = sc_core::sc_max_time();
    sc_core::sc_time next_bounding_observation_ = sc_core::sc_max_time();
    sc_core::sc_time dispatcher_wakes_at_ = sc_core::sc_max_time();  // its pending timeout
    bool dispatcher_idle_ = false;                                   // waiting for a first observer
    sc_core::sc_event observer_added_;
};

}  // namespace vbsim::models
