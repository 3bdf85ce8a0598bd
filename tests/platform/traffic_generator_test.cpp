#include <gtest/gtest.h>

#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "platform/traffic_generator.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

TEST(TrafficGenerator, WritesAndVerifiesEveryBurstThroughTheBus) {
    models::MemoryParams memory_params;
    memory_params.size = 1 << 20;
    memory_params.read_latency = sc_time(20, SC_NS);
    memory_params.write_latency = sc_time(30, SC_NS);
    memory_params.bandwidth_bytes_per_ns = 16.0;
    models::RouterParams bus_params;
    bus_params.hop_latency = sc_time(5, SC_NS);
    bus_params.regions.push_back({"ram", 0x1000, memory_params.size, 0});

    TrafficGenerator generator("generator", {0x1000, 4096, 1024, 8});
    models::Router bus("bus", bus_params);
    models::Memory ram("ram", memory_params);
    generator.socket.bind(bus.target_socket);
    bus.initiator_socket.bind(ram.socket);
    sc_core::sc_start();

    EXPECT_EQ(generator.result().bursts_written, 8u);
    EXPECT_EQ(generator.result().bursts_verified, 8u);
    EXPECT_EQ(ram.resident_pages(), 8u);
    // Each burst: write 5 + 30 + 64 ns, read 5 + 20 + 64 ns = 188 ns.
    EXPECT_EQ(generator.result().finished_at, sc_time(8 * 188, SC_NS));
}

}  // namespace
}  // namespace vbsim::platform
