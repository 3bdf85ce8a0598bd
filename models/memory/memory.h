#pragma once

#include <cstdint>
#include <unordered_set>

#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include "models/memory/sparse_store.h"

namespace vbsim::models {

struct MemoryParams {
    uint64_t size = uint64_t{1} << 30;  // bytes; up to 1 TiB and beyond, allocated sparsely
    sc_core::sc_time read_latency = sc_core::sc_time(20, sc_core::SC_NS);
    sc_core::sc_time write_latency = sc_core::sc_time(20, sc_core::SC_NS);
    double bandwidth_bytes_per_ns = 16.0;  // burst cost = length / bandwidth; 0 = unlimited
    bool dmi_enabled = true;               // false: every access goes through b_transport
    bool read_only = false;                // ROM: writes get TLM_COMMAND_ERROR_RESPONSE
    uint64_t backing_page_size = SparseStore::kDefaultPageSize;  // also the DMI granule
};

struct MemoryCounters {
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t dmi_grants = 0;
    uint64_t dmi_invalidations = 0;
    uint64_t errors = 0;
};

// Guest RAM as a loosely-timed TLM-2.0 target: sparse backing, latency plus
// bandwidth annotated on each transaction, DMI per backing page, debug access.
class Memory : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<Memory> socket;

    Memory(const sc_core::sc_module_name& name, const MemoryParams& params);

    const MemoryParams& params() const { return params_; }
    const MemoryCounters& counters() const { return counters_; }
    uint64_t resident_pages() const { return store_.resident_pages(); }
    uint64_t size() const { return params_.size; }

    // Time a transfer of `bytes` costs on top of the access latency.
    sc_core::sc_time transfer_time(uint64_t bytes) const;

    // Revokes DMI granted over [start, end] (inclusive, local addresses).
    void invalidate_dmi(uint64_t start, uint64_t end);
    // Switching DMI off revokes every pointer handed out so far.
    void set_dmi_enabled(bool enabled);

  private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
    unsigned int transport_dbg(tlm::tlm_generic_payload& trans);

    // Checks range, streaming width and byte enables; sets the error response and
    // returns false when the payload cannot be served.
    bool validate(tlm::tlm_generic_payload& trans) const;
    // Performs the access without timing or counters.
    void access(tlm::tlm_generic_payload& trans);
    // Pages about to change must not stay mapped to the shared zero page.
    void revoke_zero_grants(uint64_t address, uint64_t length);

    MemoryParams params_;
    SparseStore store_;
    MemoryCounters counters_;
    std::unordered_set<uint64_t> zero_granted_pages_;
    bool dmi_granted_ = false;
};

}  // namespace vbsim::models
