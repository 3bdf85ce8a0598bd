#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <systemc>

#include "models/timing/observation_clock.h"

namespace vbsim::models {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

// At 10 ns, sets `value` to 3 over three delta cycles (as a device raising an interrupt
// through a signal and a method would).
class DeltaChain : public sc_core::sc_module {
  public:
    int value = 0;

    explicit DeltaChain(const sc_core::sc_module_name& name) : sc_module(name) {
        SC_HAS_PROCESS(DeltaChain);
        SC_THREAD(run);
    }

  private:
    void run() {
        wait(sc_time(10, SC_NS));
        for (int step = 1; step <= 3; ++step) {
            value = step;
            wait(sc_core::SC_ZERO_TIME);
        }
    }
};

// Waits through the clock for each of `times` and records what `read` returns there.
class Observer : public sc_core::sc_module {
  public:
    std::vector<std::string> seen;

    Observer(const sc_core::sc_module_name& name, ObservationClock& clock, unsigned int rank,
             std::vector<sc_time> times, std::function<std::string()> read,
             bool bounds_lookahead = true)
        : sc_module(name),
          clock_(clock),
          id_(clock.add_observer(rank, bounds_lookahead)),
          times_(std::move(times)),
          read_(std::move(read)) {
        SC_HAS_PROCESS(Observer);
        SC_THREAD(run);
    }

  private:
    void run() {
        for (const sc_time& at : times_) {
            clock_.wait_until(id_, at);
            seen.push_back(sc_core::sc_time_stamp().to_string() + " " + read_());
        }
    }

    ObservationClock& clock_;
    ObservationClock::ObserverId id_;
    std::vector<sc_time> times_;
    std::function<std::string()> read_;
};

TEST(ObservationClock, AnObserverSeesEverythingElseThatHappensAtItsInstant) {
    ObservationClock clock("clock");
    DeltaChain* chain = nullptr;
    const auto read = [&chain] { return std::to_string(chain->value); };
    // One observer elaborated before the model it watches, one after: both see the chain's
    // last delta cycle, whatever order SystemC would have run them in.
    Observer before("before", clock, 0, {sc_time(10, SC_NS)}, read);
    DeltaChain model("chain");
    chain = &model;
    Observer after("after", clock, 0, {sc_time(10, SC_NS)}, read);
    sc_core::sc_start(sc_time(20, SC_NS));
    EXPECT_EQ(before.seen, std::vector<std::string>{"10 ns 3"});
    EXPECT_EQ(after.seen, std::vector<std::string>{"10 ns 3"});
}

TEST(ObservationClock, ObserversAtOneInstantRunByRankEachSeeingThePreviousOnesEffects) {
    ObservationClock clock("clock");
    std::string log;
    // Rank 1 elaborated first, rank 0 second: rank 0 still runs first, and rank 1 sees
    // what it wrote.
    Observer late("late", clock, 1, {sc_time(5, SC_NS)}, [&log] {
        log += "late;";
        return log;
    });
    Observer early("early", clock, 0, {sc_time(5, SC_NS)}, [&log] {
        log += "early;";
        return log;
    });
    sc_core::sc_start(sc_time(10, SC_NS));
    EXPECT_EQ(early.seen, std::vector<std::string>{"5 ns early;"});
    EXPECT_EQ(late.seen, std::vector<std::string>{"5 ns early;late;"});
}

TEST(ObservationClock, NextObservationIsTheEarliestWaitAndAPastTimeMeansNow) {
    ObservationClock clock("clock");
    EXPECT_EQ(clock.next_observation(), sc_core::sc_max_time());
    Observer first("first", clock, 0, {sc_time(10, SC_NS), sc_time(30, SC_NS)},
                   [] { return std::string(); });
    Observer second("second", clock, 0, {sc_time(25, SC_NS), sc_time(3, SC_NS)},
                    [] { return std::string(); });
    sc_core::sc_start(sc_time(1, SC_NS));
    EXPECT_EQ(clock.next_observation(), sc_time(10, SC_NS));
    sc_core::sc_start(sc_time(10, SC_NS));  // to 11 ns
    EXPECT_EQ(clock.next_observation(), sc_time(25, SC_NS));
    sc_core::sc_start(sc_time(20, SC_NS));  // to 31 ns
    // "second" asked for 3 ns after 25 ns: it ran at 25 ns again, at once.
    EXPECT_EQ(second.seen, (std::vector<std::string>{"25 ns ", "25 ns "}));
    EXPECT_EQ(first.seen, (std::vector<std::string>{"10 ns ", "30 ns "}));
    EXPECT_EQ(clock.next_observation(), sc_core::sc_max_time());  // both are done
}

TEST(ObservationClock, AnObserverThatDoesNotBoundLookaheadIsLeftOutOfTheBoundingOne) {
    ObservationClock clock("clock");
    EXPECT_EQ(clock.next_bounding_observation(), sc_core::sc_max_time());
    const auto nothing = [] { return std::string(); };
    Observer sampler("sampler", clock, 2, {sc_time(10, SC_NS), sc_time(20, SC_NS)}, nothing, false);
    Observer policy("policy", clock, 1, {sc_time(15, SC_NS)}, nothing);
    sc_core::sc_start(sc_time(1, SC_NS));
    EXPECT_EQ(clock.next_observation(), sc_time(10, SC_NS));
    EXPECT_EQ(clock.next_bounding_observation(), sc_time(15, SC_NS));
    sc_core::sc_start(sc_time(15, SC_NS));  // to 16 ns: the policy is done
    EXPECT_EQ(clock.next_observation(), sc_time(20, SC_NS));
    EXPECT_EQ(clock.next_bounding_observation(), sc_core::sc_max_time());
    sc_core::sc_start(sc_time(10, SC_NS));  // to 26 ns
    // It still runs at its times, in its rank.
    EXPECT_EQ(sampler.seen, (std::vector<std::string>{"10 ns ", "20 ns "}));
}

}  // namespace
}  // namespace vbsim::models
