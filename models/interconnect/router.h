#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <systemc>
#include <tlm>

namespace vbsim::models {

// One window of the address map: [base, base + size) goes to initiator-socket port
// `target_port` (the order in which targets were bound), at target-local address 0.
struct RouterRegion {
    std::string name;
    uint64_t base = 0;
    uint64_t size = 0;
    unsigned int target_port = 0;
};

struct RouterParams {
    sc_core::sc_time hop_latency = sc_core::sc_time(5, sc_core::SC_NS);  // each way through the bus
    std::vector<RouterRegion> regions;
};

// Per-region traffic, for bus-utilisation reports.
struct RouterRegionCounters {
    uint64_t transactions = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;
    uint64_t dmi_grants = 0;
    uint64_t debug_transactions = 0;
    sc_core::sc_time busy_time = sc_core::SC_ZERO_TIME;  // delay the target annotated
};

// A loosely-timed bus: decodes addresses, forwards with the target-local address,
// adds a hop latency, and translates DMI ranges and invalidations both ways.
class Router : public sc_core::sc_module {
  public:
    // Initiators (CPUs, DMA engines) bind here.
    tlm_utils::multi_passthrough_target_socket<Router> target_socket;
    // Targets bind here, in the order their regions name in `target_port`.
    tlm_utils::multi_passthrough_initiator_socket<Router> initiator_socket;

    Router(const sc_core::sc_module_name& name, const RouterParams& params);

    const RouterParams& params() const { return params_; }
    const std::vector<RouterRegion>& regions() const { return regions_; }
    // Counters in the same order as regions().
    const std::vector<RouterRegionCounters>& counters() const { return counters_; }
    const RouterRegionCounters& counters(const std::string& region_name) const;
    uint64_t unmapped_accesses() const { return unmapped_accesses_; }

    // Index into regions() of the region holding `address`, or -1 when unmapped.
    int decode(uint64_t address) const;

  private:
    void end_of_elaboration() override;

    void b_transport(int initiator, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    bool get_direct_mem_ptr(int initiator, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    unsigned int transport_dbg(int initiator, tlm::tlm_generic_payload& trans);
    void invalidate_direct_mem_ptr(int target, sc_dt::uint64 start, sc_dt::uint64 end);

    RouterParams params_;
    std::vector<RouterRegion> regions_;  // sorted by base
    std::vector<RouterRegionCounters> counters_;
    uint64_t unmapped_accesses_ = 0;
};

}  // namespace vbsim::models
