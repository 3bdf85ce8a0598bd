#pragma once

#include <functional>
#include <utility>

#include <systemc>

namespace vbsim::models {

// An sc_signal that tells one watcher of every change of its value, in the update phase that
// makes the change visible. A waveform writer can so record changes as they happen instead of
// comparing every traced value at every time step (which costs traces x time steps).
template <typename T>
class WatchedSignal : public sc_core::sc_signal<T> {
  public:
    WatchedSignal() = default;
    explicit WatchedSignal(const char* name) : sc_core::sc_signal<T>(name) {}

    // `watcher` gets the new value; it must not write signals.
    void watch(std::function<void(const T&)> watcher) { watcher_ = std::move(watcher); }

  protected:
    void update() override {
        const T before = this->m_cur_val;
        sc_core::sc_signal<T>::update();
        if (watcher_ && !(this->m_cur_val == before)) {
            watcher_(this->m_cur_val);
        }
    }

  private:
    std::function<void(const T&)> watcher_;
};

}  // namespace vbsim::models
