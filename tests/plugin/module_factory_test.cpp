// The module factory behind the plugin: types by name, parameters by name into the models'
// Params structs, binding by port name, and every refusal with a message that names the fault.

#include <gtest/gtest.h>

#include <string>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "plugin/builtin_modules.h"

namespace vbsim::plugin {
namespace {

ParameterSet named(std::map<std::string, std::string> values) {
    return ParameterSet(std::move(values));
}

std::string creation_error(const std::string& type, ParameterSet parameters) {
    try {
        builtin_modules().create(type, "x", std::move(parameters));
    } catch (const std::exception& error) {
        return error.what();
    }
    return "created";
}

struct Initiator64 : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<Initiator64, 64> socket{"socket"};
    explicit Initiator64(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {}
};

TEST(ModuleFactory, ListsTypesAndTheirParametersWithDefaults) {
    EXPECT_EQ(builtin_modules().types(),
              (std::vector<std::string>{"memory", "router", "virtio_balloon_mmio"}));
    const std::string balloon = builtin_modules().describe("virtio_balloon_mmio");
    EXPECT_NE(balloon.find("bus_width = 64  -- socket width in bits [32 or 64]\n"),
              std::string::npos)
        << balloon;
    EXPECT_NE(balloon.find("device.guest_ram = [0x80000000 1GiB]  -- "), std::string::npos)
        << balloon;
    EXPECT_NE(balloon.find("transport.register_latency = 50ns  -- "), std::string::npos) << balloon;
    EXPECT_NE(balloon.find("device.queue_num_max = 128  -- QueueNumMax of every queue [1..32768]"),
              std::string::npos)
        << balloon;
    EXPECT_NE(builtin_modules().describe("memory").find("size = 1GiB"), std::string::npos);
}

TEST(ModuleFactory, AppliesParametersByNameToTheDevice) {
    ParameterSet parameters({{"device.guest_ram", "0x80000000 1GiB, 0x100000000 512MiB"},
                             {"device.inflate.host_per_page", "1us"},
                             {"transport.version", "1"}});
    auto module = builtin_modules().create("virtio_balloon_mmio", "balloon", std::move(parameters));
    const models::BalloonDevice* device = module->balloon();
    ASSERT_NE(device, nullptr);
    const models::BalloonDeviceParams& params = device->params();
    ASSERT_EQ(params.guest_ram_ranges.size(), 2u);
    EXPECT_EQ(params.guest_ram_ranges[1].base, 0x100000000u);
    EXPECT_EQ(params.guest_ram_ranges[1].bytes, 512u << 20);
    EXPECT_EQ(device->guest_ram_total_bytes(), (uint64_t{3} << 29));
    EXPECT_EQ(params.inflate_costs.host_per_page, sc_core::sc_time(1, sc_core::SC_US));
    uint64_t status = 1;
    EXPECT_TRUE(module->counter("status", status));
    EXPECT_EQ(status, 0u);
    EXPECT_FALSE(module->counter("no_such_counter", status));
}

TEST(ModuleFactory, RefusesUnknownTypesNamesAndBadValuesByName) {
    EXPECT_EQ(creation_error("virtio_gpu", {}), "unknown module type 'virtio_gpu'");
    EXPECT_EQ(creation_error("virtio_balloon_mmio", named({{"device.guest_rma", "1"}})),
              "virtio_balloon_mmio 'x': device.guest_rma: no parameter named 'x.device.guest_rma' "
              "(did you mean 'x.device.guest_ram'?)");
    EXPECT_EQ(
        creation_error("virtio_balloon_mmio", named({{"transport.register_latency", "fast"}})),
        "virtio_balloon_mmio 'x': transport.register_latency: expected a time such as "
        "250ns, 3ms or 1.5s, got 'fast' (no number)");
    EXPECT_EQ(creation_error("virtio_balloon_mmio", named({{"device.guest_ram", "0x80000000"}})),
              "virtio_balloon_mmio 'x': device.guest_ram: expected 'base size' entries such as "
              "'0x80000000 1GiB', got '0x80000000'");
    EXPECT_EQ(creation_error("virtio_balloon_mmio", named({{"bus_width", "16"}})),
              "virtio_balloon_mmio 'x': bus_width: expected 32 or 64, got 16");
    EXPECT_EQ(creation_error("router", named({{"regions", "ram 0x0 1GiB"}})),
              "router 'x': regions: expected 'name base size target_port' entries, got 3 fields");
    EXPECT_EQ(creation_error("virtio_balloon_mmio", named({{"device.queue_num_max", "0"}})),
              "virtio_balloon_mmio 'x': device.queue_num_max: must be between 1 and 32768, got "
              "'0'");
    // The model's own check still speaks: overlapping banks.
    EXPECT_NE(creation_error("virtio_balloon_mmio",
                             named({{"device.guest_ram", "0x0 8KiB, 0x1000 4KiB"}}))
                  .find("overlaps another range"),
              std::string::npos);
}

TEST(ModuleFactory, BindsByPortNameAndRefusesAPeerOfAnotherWidthOrKind) {
    Initiator64 cpu("cpu");
    sc_core::sc_signal<bool> line("line");
    auto narrow =
        builtin_modules().create("virtio_balloon_mmio", "narrow", named({{"bus_width", "32"}}));
    try {
        narrow->bind("target_socket", cpu.socket);
        FAIL() << "bound";
    } catch (const std::invalid_argument& error) {
        EXPECT_EQ(std::string(error.what()),
                  "'cpu.socket' is a TLM initiator socket of another width; expected a TLM "
                  "initiator socket of 32 bits");
    }
    try {
        narrow->bind("irq", cpu.socket);
        FAIL() << "bound";
    } catch (const std::invalid_argument& error) {
        EXPECT_NE(std::string(error.what()).find("expected an sc_signal<bool>"), std::string::npos)
            << error.what();
    }
    try {
        narrow->bind("interrupt", line);
        FAIL() << "bound";
    } catch (const std::invalid_argument& error) {
        EXPECT_EQ(std::string(error.what()),
                  "no port 'interrupt' (target_socket, dma_socket, irq, reset)");
    }
    auto wide = builtin_modules().create("virtio_balloon_mmio", "wide", {});
    wide->bind("target_socket", cpu.socket);
    wide->bind("irq", line);
    ASSERT_NE(wide->port("target_socket"), nullptr);
    EXPECT_STREQ(wide->port("target_socket")->name(), "wide.target_socket");
    EXPECT_EQ(wide->port("nothing"), nullptr);
}

}  // namespace
}  // namespace vbsim::plugin
