#include "platform/config/model_parameters.h"

#include <algorithm>

#include "models/balloon/balloon_device.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "models/params/closest_name.h"
#include "models/params/units.h"
#include "models/virtio/virtio_mmio.h"
#include "platform/config/feature_names.h"
#include "platform/config/guest_cpu_params.h"
#include "spec/virtio.h"
#include "sw/balloon/balloon_driver.h"

namespace vbsim::platform {

namespace {

using params::Param;
using params::ParamBroker;
using params::ParamRange;
using params::ParamUnit;
using sc_core::sc_time;

// Where a model has the same quantity, its default is the one default there is.
const models::RouterParams kRouter;
const models::MemoryParams kMemory;
const GuestCpuParams kCpu;
const models::BalloonDeviceParams kDevice;
const models::VirtioMmioParams kTransport;
const sw::balloon::BalloonDriverParams kDriver;

sc_time ns(uint64_t nanoseconds) {
    return sc_time(static_cast<double>(nanoseconds), sc_core::SC_NS);
}

std::string got(const std::string& text) {
    return ", got '" + text + "'";
}

ParamRange<uint32_t> virtqueue_size() {
    ParamRange<uint32_t> range;
    range.min = 1;
    range.max = spec::vring::kMaxSize;
    range.rule_text = "a power of 2";
    range.rule = [](const uint32_t& size) -> std::string {
        if ((size & (size - 1)) == 0) {
            return {};
        }
        return "a split virtqueue size must be a power of 2" + got(std::to_string(size));
    };
    return range;
}

ParamRange<sc_time> positive_time() {
    ParamRange<sc_time> range;
    range.rule_text = "> 0";
    range.rule = [](const sc_time& time) -> std::string {
        return time == sc_core::SC_ZERO_TIME ? "must be greater than 0" + got("0") : "";
    };
    return range;
}

ParamRange<double> positive_rate() {
    ParamRange<double> range;
    range.rule_text = "> 0";
    range.rule = [](const double& rate) -> std::string {
        return rate > 0 ? ""
                        : "must be greater than 0" +
                              got(params::format_value(rate, ParamUnit::kBandwidth));
    };
    return range;
}

ParamRange<std::vector<std::string>> feature_names() {
    ParamRange<std::vector<std::string>> range;
    range.rule_text =
        "names from must_tell_host, stats_vq, deflate_on_oom, free_page_hint, "
        "page_poison, page_reporting, each once";
    range.rule = [](const std::vector<std::string>& names) -> std::string {
        const std::vector<std::string>& known = balloon_feature_names();
        for (size_t i = 0; i < names.size(); ++i) {
            if (std::find(known.begin(), known.end(), names[i]) == known.end()) {
                std::string message = "unknown feature '" + names[i] + "'";
                if (const std::string* closest = params::closest_name(names[i], known)) {
                    message += " (did you mean '" + *closest + "'?)";
                }
                return message;
            }
            if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i),
                          names[i]) != names.begin() + static_cast<std::ptrdiff_t>(i)) {
                return "feature '" + names[i] + "' is listed twice";
            }
        }
        return {};
    };
    return range;
}

ParamRange<std::string> choice(std::vector<std::string> words, std::string rule_text) {
    ParamRange<std::string> range;
    range.rule_text = rule_text;
    range.rule = [words, rule_text](const std::string& word) -> std::string {
        if (std::find(words.begin(), words.end(), word) != words.end()) {
            return {};
        }
        std::string message = "expected " + rule_text + got(word);
        if (const std::string* closest = params::closest_name(word, words)) {
            message += " (did you mean '" + *closest + "'?)";
        }
        return message;
    };
    return range;
}

// A free page block: a power of two of at least 64 guest pages of 4 KiB (the page size is
// checked against it when the guest is built): 256 KiB up to 4 GiB.
ParamRange<uint64_t> free_page_block() {
    ParamRange<uint64_t> range;
    range.rule_text = "a power of 2 from 256KiB to 4GiB";
    range.rule = [](const uint64_t& bytes) -> std::string {
        if (bytes >= (uint64_t{256} << 10) && bytes <= (uint64_t{4} << 30) &&
            (bytes & (bytes - 1)) == 0) {
            return {};
        }
        return "expected a power of two from 256KiB to 4GiB" + got(params::format_size(bytes));
    };
    return range;
}

// Real hosts poll every second or more; below a millisecond the simulation would spend its
// time on stats round trips.
ParamRange<sc_time> stats_interval() {
    ParamRange<sc_time> range;
    range.rule_text = "0 (off) or >= 1ms";
    range.rule = [](const sc_time& interval) -> std::string {
        if (interval == sc_core::SC_ZERO_TIME || interval >= sc_time(1, sc_core::SC_MS)) {
            return {};
        }
        return "must be 0 (off) or at least 1ms" + got(params::format_time(interval));
    };
    return range;
}

// The three costs of one queue's buffers.
struct BufferCostParams {
    BufferCostParams(const std::string& prefix, const models::BalloonDeviceParams::BufferCosts& d,
                     const std::string& queue, ParamBroker& broker)
        : transport_cost(
              prefix + ".transport_cost", d.transport, ParamUnit::kTime,
              "per " + queue + " buffer: VM exit, ring, notify, host pop, used return, interrupt",
              broker),
          host_per_buffer_cost(prefix + ".host_per_buffer_cost", d.host_per_buffer,
                               ParamUnit::kTime,
                               "host work per " + queue + " buffer beyond the transport", broker),
          host_per_page_cost(prefix + ".host_per_page_cost", d.host_per_page, ParamUnit::kTime,
                             "host work per 4 KiB page a " + queue + " buffer carries", broker) {}

    BalloonDeviceConfig::BufferCosts values() const {
        return {transport_cost, host_per_buffer_cost, host_per_page_cost};
    }

    Param<sc_time> transport_cost;
    Param<sc_time> host_per_buffer_cost;
    Param<sc_time> host_per_page_cost;
};

}  // namespace

struct ModelParameterTree::Params {
    Params(const std::string& g, ParamBroker& broker)
        : hop_latency(g + ".bus.hop_latency", kRouter.hop_latency, ParamUnit::kTime,
                      "delay the router adds to each access, each way", broker),
          read_latency(g + ".memory.read_latency", kMemory.read_latency, ParamUnit::kTime,
                       "guest RAM read latency", broker),
          write_latency(g + ".memory.write_latency", kMemory.write_latency, ParamUnit::kTime,
                        "guest RAM write latency", broker),
          bandwidth(g + ".memory.bandwidth", kMemory.bandwidth_bytes_per_ns, ParamUnit::kBandwidth,
                    "guest RAM bandwidth (scenario files may give bandwidth_bytes_per_ns as a "
                    "plain number instead)",
                    broker, positive_rate()),
          dmi(g + ".memory.dmi", kMemory.dmi_enabled, ParamUnit::kBool,
              "grant DMI; false puts every access on the bus", broker),
          quantum(g + ".cpu.quantum", kCpu.quantum, ParamUnit::kTime,
                  "temporal-decoupling quantum of the guest CPU (0 = none)", broker),
          interrupt_entry_cost(g + ".cpu.interrupt_entry_cost", kCpu.interrupt_entry_cost,
                               ParamUnit::kTime, "guest CPU time to enter an interrupt handler",
                               broker),
          lookahead(g + ".cpu.lookahead", kCpu.lookahead, ParamUnit::kBool,
                    "run the guest ahead of SystemC time until anything can reach or observe "
                    "it (same results, faster with many guests)",
                    broker),
          // QEMU's virt machine places its first virtio-mmio window here.
          mmio_base(g + ".balloon.mmio_base", 0x10001000, ParamUnit::kAddress,
                    "base of the balloon's 0x200-byte virtio-mmio window", broker),
          transport(g + ".balloon.transport", kTransport.version == 2 ? "modern" : "legacy",
                    ParamUnit::kText,
                    "virtio-mmio register layout (scenario files may give version: 2 or 1)", broker,
                    choice({"modern", "legacy", "2", "1"}, "modern or legacy (or 2 or 1)")),
          offered_features(g + ".balloon.offered_features",
                           balloon_feature_names_of(kDevice.offered_features), ParamUnit::kNames,
                           "device-type features the device offers", broker, feature_names()),
          queue_num_max(g + ".balloon.queue_num_max", kDevice.queue_num_max, ParamUnit::kCount,
                        "QueueNumMax of each virtqueue", broker, virtqueue_size()),
          inflate(g + ".balloon.inflate", kDevice.inflate_costs, "inflate", broker),
          deflate(g + ".balloon.deflate", kDevice.deflate_costs, "deflate", broker),
          report(g + ".balloon.report", kDevice.report_costs, "reporting_vq", broker),
          hint(g + ".balloon.hint", kDevice.hint_costs, "free_page_vq", broker),
          // The model polls never by default; a platform's host asks every second, as QEMU's
          // guest-stats-polling-interval is usually set.
          stats_poll_interval(g + ".balloon.stats_poll_interval", sc_time(1, sc_core::SC_SEC),
                              ParamUnit::kTime, "how often the host asks for statistics; 0 = never",
                              broker, stats_interval()),
          interrupt_latency(g + ".balloon.interrupt_latency", kTransport.interrupt_latency,
                            ParamUnit::kTime, "device interrupt to guest CPU", broker),
          register_latency(g + ".balloon.register_latency", kTransport.register_latency,
                           ParamUnit::kTime, "per virtio-mmio register access", broker),
          features(g + ".driver.features", balloon_feature_names_of(kDriver.driver_features),
                   ParamUnit::kNames,
                   "features the driver supports (negotiated = offered and these, then "
                   "Linux's validation)",
                   broker, feature_names()),
          event_idx(g + ".driver.event_idx", kDriver.use_event_idx, ParamUnit::kBool,
                    "negotiate VIRTIO_F_RING_EVENT_IDX", broker),
          queue_size(g + ".driver.queue_size", kDriver.queue_size, ParamUnit::kCount,
                     "virtqueue size the driver asks for", broker, virtqueue_size()),
          pfns_per_round(g + ".driver.pfns_per_round", kDriver.pfns_per_round, ParamUnit::kCount,
                         "PFNs per inflate/deflate buffer", broker,
                         ParamRange<uint32_t>{1u, spec::balloon::kMaxPfnsPerBuffer, {}, {}}),
          // A zero delay would retry a failing allocation forever at one instant.
          retry_delay(g + ".driver.retry_delay", ns(kDriver.retry_delay_ns), ParamUnit::kTime,
                      "wait after a failed balloon allocation", broker, positive_time()),
          oom_release_pages(g + ".driver.oom_release_pages",
                            static_cast<uint32_t>(kDriver.oom_release_pages), ParamUnit::kCount,
                            "4 KiB pages leaked per OOM notification (deflate_on_oom)", broker,
                            ParamRange<uint32_t>{1u, std::nullopt, {}, {}}),
          alloc_cost_per_page(g + ".driver.alloc_cost_per_page", ns(kDriver.alloc_cost_per_page_ns),
                              ParamUnit::kTime,
                              "guest CPU time per page allocated for the balloon (inflate)",
                              broker),
          free_cost_per_page(g + ".driver.free_cost_per_page", ns(kDriver.free_cost_per_page_ns),
                             ParamUnit::kTime,
                             "guest CPU time per page freed from the balloon (deflate)", broker),
          translate_cost_per_page(g + ".driver.translate_cost_per_page",
                                  ns(kDriver.translate_cost_per_page_ns), ParamUnit::kTime,
                                  "guest CPU time per page for PFN bookkeeping and address "
                                  "translation (both ways)",
                                  broker),
          cpu_cost_per_round(g + ".driver.cpu_cost_per_round", ns(kDriver.cpu_cost_per_round_ns),
                             ParamUnit::kTime,
                             "guest CPU time per buffer (and per free page hint block)", broker),
          free_page_init(
              g + ".driver.free_page_init", "none", ParamUnit::kText,
              "what freed pages hold: none, poison (0xaa) or init_on_free (zero)", broker,
              choice({"none", "poison", "init_on_free"}, "none, poison or init_on_free")),
          reporting_block(g + ".driver.reporting_block", uint64_t{4096} << kDriver.reporting.order,
                          ParamUnit::kSize, "free page reporting block (Linux: pageblock order)",
                          broker, free_page_block()),
          reporting_delay(g + ".driver.reporting_delay", ns(kDriver.reporting.delay_ns),
                          ParamUnit::kTime, "delay before a reporting pass", broker,
                          positive_time()),
          hint_block(g + ".driver.hint_block", uint64_t{4096} << kDriver.hint_order,
                     ParamUnit::kSize, "free page hint block (Linux: MAX_ORDER - 1)", broker,
                     free_page_block()) {}

    Param<sc_time> hop_latency;
    Param<sc_time> read_latency;
    Param<sc_time> write_latency;
    Param<double> bandwidth;
    Param<bool> dmi;
    Param<sc_time> quantum;
    Param<sc_time> interrupt_entry_cost;
    Param<bool> lookahead;
    Param<uint64_t> mmio_base;
    Param<std::string> transport;
    Param<std::vector<std::string>> offered_features;
    Param<uint32_t> queue_num_max;
    BufferCostParams inflate;
    BufferCostParams deflate;
    BufferCostParams report;
    BufferCostParams hint;
    Param<sc_time> stats_poll_interval;
    Param<sc_time> interrupt_latency;
    Param<sc_time> register_latency;
    Param<std::vector<std::string>> features;
    Param<bool> event_idx;
    Param<uint32_t> queue_size;
    Param<uint32_t> pfns_per_round;
    Param<sc_time> retry_delay;
    Param<uint32_t> oom_release_pages;
    Param<sc_time> alloc_cost_per_page;
    Param<sc_time> free_cost_per_page;
    Param<sc_time> translate_cost_per_page;
    Param<sc_time> cpu_cost_per_round;
    Param<std::string> free_page_init;
    Param<uint64_t> reporting_block;
    Param<sc_time> reporting_delay;
    Param<uint64_t> hint_block;
};

ModelParameterTree::ModelParameterTree(const std::string& guest, ParamBroker& broker)
    : params_(std::make_unique<Params>(guest, broker)) {}

ModelParameterTree::~ModelParameterTree() = default;

ModelParameters ModelParameterTree::values() const {
    const Params& p = *params_;
    ModelParameters v;
    v.bus.hop_latency = p.hop_latency;
    v.memory.read_latency = p.read_latency;
    v.memory.write_latency = p.write_latency;
    v.memory.bandwidth_bytes_per_ns = p.bandwidth;
    v.memory.dmi = p.dmi;
    v.cpu.quantum = p.quantum;
    v.cpu.interrupt_entry_cost = p.interrupt_entry_cost;
    v.cpu.lookahead = p.lookahead;
    v.balloon.mmio_base = p.mmio_base;
    v.balloon.transport_version = transport_version(p.transport);
    v.balloon.offered_features = p.offered_features;
    v.balloon.queue_num_max = p.queue_num_max;
    v.balloon.inflate = p.inflate.values();
    v.balloon.deflate = p.deflate.values();
    v.balloon.report = p.report.values();
    v.balloon.hint = p.hint.values();
    v.balloon.stats_poll_interval = p.stats_poll_interval;
    v.balloon.interrupt_latency = p.interrupt_latency;
    v.balloon.register_latency = p.register_latency;
    v.driver.features = p.features;
    v.driver.event_idx = p.event_idx;
    v.driver.queue_size = p.queue_size;
    v.driver.pfns_per_round = p.pfns_per_round;
    v.driver.retry_delay = p.retry_delay;
    v.driver.oom_release_pages = p.oom_release_pages;
    v.driver.alloc_cost_per_page = p.alloc_cost_per_page;
    v.driver.free_cost_per_page = p.free_cost_per_page;
    v.driver.translate_cost_per_page = p.translate_cost_per_page;
    v.driver.cpu_cost_per_round = p.cpu_cost_per_round;
    v.driver.free_page_init = p.free_page_init;
    v.driver.reporting_block_bytes = p.reporting_block;
    v.driver.reporting_delay = p.reporting_delay;
    v.driver.hint_block_bytes = p.hint_block;
    return v;
}

const ModelParameters& default_model_parameters() {
    static const ModelParameters defaults = [] {
        ParamBroker broker;
        return ModelParameterTree("default", broker).values();
    }();
    return defaults;
}

uint32_t transport_version(const std::string& transport) {
    if (transport == "modern" || transport == "2") {
        return spec::mmio::kVersionModern;
    }
    if (transport == "legacy" || transport == "1") {
        return spec::mmio::kVersionLegacy;
    }
    return 0;
}

}  // namespace vbsim::platform
