#pragma once

// Every parameter of the models one guest is built from, declared once (ModelParameterTree):
// full hierarchical name, type, unit, default, allowed range and description. A scenario's
// model keys (platform.bus, platform.memory, platform.cpu, platform.balloon and a guest's
// balloon and driver) are presets of these parameters; `--set <guest>.<name>=value` reaches
// them by name; `vbsim params` lists them; docs/scenario-reference.md is generated from them.
//
// The structs below only carry the values (a guest's are filled from its tree); they have no
// defaults of their own: default_model_parameters() is the tree with no presets.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/params/broker.h"
#include "models/params/param.h"

namespace vbsim::platform {

struct BusConfig {
    sc_core::sc_time hop_latency;
};

struct MemoryTimingConfig {
    sc_core::sc_time read_latency;
    sc_core::sc_time write_latency;
    double bandwidth_bytes_per_ns = 0.0;
    bool dmi = false;
};

struct CpuConfig {
    sc_core::sc_time quantum;
    sc_core::sc_time interrupt_entry_cost;
    bool lookahead = true;
};

struct BalloonDeviceConfig {
    uint64_t mmio_base = 0;
    uint32_t transport_version = 0;  // 1 legacy, 2 modern
    std::vector<std::string> offered_features;
    uint32_t queue_num_max = 0;
    // Host-side time per buffer of one queue (sources: docs/timing-defaults.md).
    struct BufferCosts {
        sc_core::sc_time transport_cost;
        sc_core::sc_time host_per_buffer_cost;
        sc_core::sc_time host_per_page_cost;
    };
    BufferCosts inflate;
    BufferCosts deflate;
    BufferCosts report;                    // reporting_vq
    BufferCosts hint;                      // free_page_vq
    sc_core::sc_time stats_poll_interval;  // 0 = off
    sc_core::sc_time interrupt_latency;
    sc_core::sc_time register_latency;
};

struct DriverConfig {
    std::vector<std::string> features;
    bool event_idx = false;
    uint32_t queue_size = 0;
    uint32_t pfns_per_round = 0;
    sc_core::sc_time retry_delay;
    uint32_t oom_release_pages = 0;
    sc_core::sc_time alloc_cost_per_page;
    sc_core::sc_time free_cost_per_page;
    sc_core::sc_time translate_cost_per_page;
    sc_core::sc_time cpu_cost_per_round;
    std::string free_page_init;  // none, poison or init_on_free
    uint64_t reporting_block_bytes = 0;
    sc_core::sc_time reporting_delay;
    uint64_t hint_block_bytes = 0;
};

// The values of one guest's model parameters.
struct ModelParameters {
    BusConfig bus;
    MemoryTimingConfig memory;
    CpuConfig cpu;
    BalloonDeviceConfig balloon;
    DriverConfig driver;
};

// A value a scenario gave one parameter, and where.
struct ParameterPreset {
    std::string name;  // full name: "vm0.balloon.inflate.transport_cost"
    std::string value;
    params::PresetOrigin origin;
};

// The sections a scenario may set, in the order `vbsim params` lists them.
inline constexpr const char* kModelSections[] = {"bus", "memory", "cpu", "balloon", "driver"};

// One guest's parameters, registered with `broker` as "<guest>.<section>.<key>" (for example
// "vm0.balloon.inflate.transport_cost"); each takes the broker's preset of its name. The
// sections are the guest's modules (GuestNode's vm0.bus, vm0.memory, vm0.cpu, vm0.balloon, whose
// transport's parameters sit with the device's), and the driver, which is software.
class ModelParameterTree {
  public:
    ModelParameterTree(const std::string& guest, params::ParamBroker& broker);
    ~ModelParameterTree();
    ModelParameterTree(const ModelParameterTree&) = delete;
    ModelParameterTree& operator=(const ModelParameterTree&) = delete;

    ModelParameters values() const;

  private:
    struct Params;
    std::unique_ptr<Params> params_;
};

// The values with no presets.
const ModelParameters& default_model_parameters();

// "modern" -> 2, "legacy" -> 1 (and "2", "1"); 0 for anything else.
uint32_t transport_version(const std::string& transport);

}  // namespace vbsim::platform
