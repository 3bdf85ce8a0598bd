#include "plugin/builtin_modules.h"

#include <stdexcept>

#include "models/balloon/virtio_balloon_mmio.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/params/units.h"
#include "plugin/socket_binding.h"
#include "spec/virtio.h"

namespace vbsim::plugin {

namespace {

using models::BalloonDeviceParams;
using models::VirtioBalloonMmioParams;

// ---- virtio_balloon_mmio --------------------------------------------------------------

void read_costs(ParameterSet& set, const std::string& prefix,
                BalloonDeviceParams::BufferCosts& costs) {
    set.read_time(prefix + ".transport", costs.transport,
                  "per buffer: exit, ring, notify, host pop, used return");
    set.read_time(prefix + ".host_per_buffer", costs.host_per_buffer,
                  "host work per buffer beyond the transport");
    set.read_time(prefix + ".host_per_page", costs.host_per_page, "host work per 4 KiB page");
}

void read_balloon(ParameterSet& set, unsigned int& bus_width, VirtioBalloonMmioParams& params) {
    params::ParamRange<uint32_t> widths;
    widths.rule_text = "32 or 64";
    widths.rule = [](const uint32_t& width) {
        return width == 32 || width == 64 ? std::string()
                                          : "expected 32 or 64, got " + std::to_string(width);
    };
    set.read_unsigned("bus_width", bus_width, "socket width in bits", widths);
    models::VirtioMmioParams& transport = params.transport;
    set.read_count("transport.version", transport.version, "2 modern, 1 legacy registers",
                   {1u, 2u, {}, {}});
    set.read_count("transport.vendor_id", transport.vendor_id, "VendorID register");
    set.read_bool("transport.offer_event_idx", transport.offer_event_idx, "offer RING_EVENT_IDX");
    set.read_bool("transport.offer_indirect", transport.offer_indirect, "offer RING_INDIRECT_DESC");
    set.read_bool("transport.offer_ring_reset", transport.offer_ring_reset,
                  "offer RING_RESET (modern only)");
    set.read_time("transport.register_latency", transport.register_latency,
                  "time of one register access");
    set.read_time("transport.interrupt_latency", transport.interrupt_latency,
                  "from used buffer to interrupt line high");
    BalloonDeviceParams& device = params.device;
    set.read_count("device.offered_features", device.offered_features,
                   "balloon feature bits offered (MUST_TELL_HOST 0, STATS_VQ 1, DEFLATE_ON_OOM 2)");
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const models::GuestRamRange& range : device.ram_ranges()) {
        ranges.emplace_back(range.base, range.bytes);
    }
    set.read_ranges("device.guest_ram", ranges,
                    "guest RAM banks as 'base size' entries; PFNs outside them are guest errors");
    device.guest_ram_ranges.clear();
    for (const auto& [base, bytes] : ranges) {
        device.guest_ram_ranges.push_back({base, bytes});
    }
    set.read_count("device.queue_num_max", device.queue_num_max, "QueueNumMax of every queue",
                   {1u, spec::vring::kMaxSize, {}, {}});
    read_costs(set, "device.inflate", device.inflate_costs);
    read_costs(set, "device.deflate", device.deflate_costs);
    set.read_time("device.stats_poll_interval", device.stats_poll_interval,
                  "how often the stats buffer is returned for fresh stats; 0 never");
}

template <unsigned int kWidth>
class BalloonModule : public PluginModule {
  public:
    BalloonModule(const std::string& instance, const VirtioBalloonMmioParams& params)
        : balloon_(instance.c_str(), params) {}

    sc_core::sc_module& module() override { return balloon_; }
    sc_core::sc_object* port(const std::string& name) override {
        if (name == "target_socket") {
            return &balloon_.target_socket;
        }
        if (name == "dma_socket") {
            return &balloon_.dma_socket;
        }
        if (name == "irq") {
            return &balloon_.irq;
        }
        if (name == "reset") {
            return &balloon_.reset;
        }
        return nullptr;
    }
    void bind(const std::string& name, sc_core::sc_object& peer) override {
        if (name == "target_socket") {
            bind_target_socket<kWidth>(balloon_.target_socket, peer);
        } else if (name == "dma_socket") {
            bind_initiator_socket<kWidth>(balloon_.dma_socket, peer);
        } else if (name == "irq") {
            bind_signal_port<sc_core::sc_signal_inout_if<bool>>(balloon_.irq, peer,
                                                                "an sc_signal<bool>");
        } else if (name == "reset") {
            bind_signal_port<sc_core::sc_signal_in_if<bool>>(balloon_.reset, peer, "a bool signal");
        } else {
            throw std::invalid_argument("no port '" + name +
                                        "' (target_socket, dma_socket, irq, reset)");
        }
    }
    bool counter(const std::string& name, uint64_t& value) const override {
        const models::BalloonCounters& device = balloon_.device().counters();
        const models::VirtioMmioCounters& transport = balloon_.transport().counters();
        const std::map<std::string, uint64_t> counters = {
            {"pages_held", balloon_.device().ballooned_pages()},
            {"target_pages", balloon_.device().target_pages()},
            {"actual_pages", balloon_.device().actual_pages()},
            {"inflate_buffers", device.inflate_buffers},
            {"deflate_buffers", device.deflate_buffers},
            {"pages_inflated", device.pages_inflated},
            {"pages_deflated", device.pages_deflated},
            {"pfns_out_of_range", device.pfns_out_of_range},
            {"buffers_out_of_range", device.buffers_out_of_range},
            {"pfns_already_ballooned", device.pfns_already_ballooned},
            {"pfns_not_ballooned", device.pfns_not_ballooned},
            {"status", balloon_.transport().status()},
            {"interrupt_status", balloon_.transport().interrupt_status()},
            {"register_reads", transport.register_reads},
            {"register_writes", transport.register_writes},
            {"bad_accesses", transport.bad_accesses},
            {"guest_errors", transport.guest_errors},
            {"notifies", transport.notifies},
            {"interrupts_raised", transport.interrupts_raised},
            {"device_resets", transport.device_resets},
            {"needs_reset_events", transport.needs_reset_events},
            {"dma_transactions", transport.dma_transactions},
            {"dma_bytes", transport.dma_bytes},
            {"dma_errors", transport.dma_errors},
        };
        const auto found = counters.find(name);
        if (found == counters.end()) {
            return false;
        }
        value = found->second;
        return true;
    }
    models::BalloonDevice* balloon() override { return &balloon_.device(); }

  private:
    models::VirtioBalloonMmio<kWidth> balloon_;
};

std::unique_ptr<PluginModule> create_balloon(const std::string& instance, ParameterSet& set) {
    unsigned int bus_width = 64;
    VirtioBalloonMmioParams params;
    read_balloon(set, bus_width, params);
    if (instance.empty()) {
        return nullptr;  // describing
    }
    set.check_all_read();
    if (bus_width == 64) {
        return std::make_unique<BalloonModule<64>>(instance, params);
    }
    if (bus_width == 32) {
        return std::make_unique<BalloonModule<32>>(instance, params);
    }
    throw std::invalid_argument("bus_width: expected 32 or 64, got " + std::to_string(bus_width));
}

// ---- memory ---------------------------------------------------------------------------

class MemoryModule : public PluginModule {
  public:
    MemoryModule(const std::string& instance, const models::MemoryParams& params)
        : memory_(instance.c_str(), params) {}
    sc_core::sc_module& module() override { return memory_; }
    sc_core::sc_object* port(const std::string& name) override {
        return name == "socket" ? &memory_.socket : nullptr;
    }
    void bind(const std::string& name, sc_core::sc_object& peer) override {
        if (name != "socket") {
            throw std::invalid_argument("no port '" + name + "' (socket)");
        }
        bind_target_socket<32>(memory_.socket, peer);
    }
    bool counter(const std::string& name, uint64_t& value) const override {
        const models::MemoryCounters& counters = memory_.counters();
        const std::map<std::string, uint64_t> named = {
            {"reads", counters.reads},           {"writes", counters.writes},
            {"bytes_read", counters.bytes_read}, {"bytes_written", counters.bytes_written},
            {"dmi_grants", counters.dmi_grants},
        };
        const auto found = named.find(name);
        if (found == named.end()) {
            return false;
        }
        value = found->second;
        return true;
    }

  private:
    models::Memory memory_;
};

std::unique_ptr<PluginModule> create_memory(const std::string& instance, ParameterSet& set) {
    models::MemoryParams params;
    set.read_size("size", params.size, "bytes, allocated sparsely");
    set.read_time("read_latency", params.read_latency, "per access");
    set.read_time("write_latency", params.write_latency, "per access");
    set.read_number("bandwidth_bytes_per_ns", params.bandwidth_bytes_per_ns,
                    "burst cost = length / bandwidth; 0 unlimited");
    set.read_bool("dmi_enabled", params.dmi_enabled, "grant DMI pointers");
    set.read_bool("read_only", params.read_only, "ROM: writes are refused");
    if (instance.empty()) {
        return nullptr;
    }
    set.check_all_read();
    return std::make_unique<MemoryModule>(instance, params);
}

// ---- router ---------------------------------------------------------------------------

class RouterModule : public PluginModule {
  public:
    RouterModule(const std::string& instance, const models::RouterParams& params)
        : router_(instance.c_str(), params) {}
    sc_core::sc_module& module() override { return router_; }
    sc_core::sc_object* port(const std::string& name) override {
        if (name == "target_socket") {
            return &router_.target_socket;
        }
        return name == "initiator_socket" ? &router_.initiator_socket : nullptr;
    }
    void bind(const std::string& name, sc_core::sc_object& peer) override {
        if (name == "target_socket") {
            bind_target_socket<32>(router_.target_socket, peer);
        } else if (name == "initiator_socket") {
            bind_initiator_socket<32>(router_.initiator_socket, peer);
        } else {
            throw std::invalid_argument("no port '" + name + "' (target_socket, initiator_socket)");
        }
    }
    bool counter(const std::string& name, uint64_t& value) const override {
        if (name != "unmapped_accesses") {
            return false;
        }
        value = router_.unmapped_accesses();
        return true;
    }

  private:
    models::Router router_;
};

std::unique_ptr<PluginModule> create_router(const std::string& instance, ParameterSet& set) {
    models::RouterParams params;
    set.read_time("hop_latency", params.hop_latency, "each way through the bus");
    std::vector<std::vector<std::string>> regions;
    set.read_records("regions", regions,
                     "'name base size target_port' entries, e.g. 'ram 0x80000000 1GiB 0'");
    if (instance.empty()) {
        return nullptr;
    }
    for (const std::vector<std::string>& fields : regions) {
        if (fields.size() != 4) {
            throw std::invalid_argument(
                "regions: expected 'name base size target_port' entries, got " +
                std::to_string(fields.size()) + " fields");
        }
        const params::Parsed<uint64_t> base = params::parse_address(fields[1]);
        const params::Parsed<uint64_t> size = params::parse_size(fields[2]);
        const params::Parsed<uint64_t> port = params::parse_count(fields[3]);
        for (const std::string* error : {&base.error, &size.error, &port.error}) {
            if (!error->empty()) {
                throw std::invalid_argument("regions: " + fields[0] + ": " + *error);
            }
        }
        models::RouterRegion region;
        region.name = fields[0];
        region.base = *base.value;
        region.size = *size.value;
        region.target_port = static_cast<unsigned int>(*port.value);
        params.regions.push_back(region);
    }
    set.check_all_read();
    return std::make_unique<RouterModule>(instance, params);
}

ModuleFactory make_builtin_modules() {
    ModuleFactory factory;
    factory.add("virtio_balloon_mmio", create_balloon);
    factory.add("memory", create_memory);
    factory.add("router", create_router);
    return factory;
}

}  // namespace

const ModuleFactory& builtin_modules() {
    static const ModuleFactory factory = make_builtin_modules();
    return factory;
}

}  // namespace vbsim::plugin
