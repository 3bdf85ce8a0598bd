// vbsim command line. Until the scenario runner lands (issue 5), `vbsim run FILE`
// checks that FILE is YAML, builds the minimal bus + memory platform and runs a
// write/read-back workload over it, printing what the models measured.

#include <cstring>
#include <iostream>
#include <string>

#include <yaml-cpp/yaml.h>
#include <systemc>

#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "platform/traffic_generator.h"

namespace {

int usage(std::ostream& out, int status) {
    out << "usage: vbsim run SCENARIO.yaml\n"
           "  Runs the minimal platform (router + 1 GiB sparse guest RAM) and prints the\n"
           "  memory and bus counters it measured.\n"
           "example: vbsim run configs/default.yaml\n";
    return status;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        return usage(std::cout, 0);
    }
    if (argc != 3 || std::strcmp(argv[1], "run") != 0) {
        return usage(std::cerr, 2);
    }
    const std::string scenario_path = argv[2];
    try {
        YAML::LoadFile(scenario_path);
    } catch (const YAML::Exception& error) {
        std::cerr << "vbsim: " << scenario_path << ": " << error.what() << "\n";
        return 2;
    }

    using vbsim::models::Memory;
    using vbsim::models::MemoryParams;
    using vbsim::models::Router;
    using vbsim::models::RouterParams;
    using vbsim::platform::TrafficGenerator;

    constexpr uint64_t kRamBase = 0x80000000;
    MemoryParams memory_params;
    RouterParams router_params;
    router_params.regions.push_back({"ram", kRamBase, memory_params.size, 0});

    TrafficGenerator generator("generator", {kRamBase, 4096, 1024, 256});
    Router bus("bus", router_params);
    Memory ram("ram", memory_params);
    generator.socket.bind(bus.target_socket);
    bus.initiator_socket.bind(ram.socket);

    sc_core::sc_start();

    const auto& result = generator.result();
    const auto& counters = ram.counters();
    std::cout << "scenario:          " << scenario_path << "\n"
              << "bursts verified:   " << result.bursts_verified << " of " << result.bursts_written
              << "\n"
              << "memory reads:      " << counters.reads << " (" << counters.bytes_read
              << " bytes)\n"
              << "memory writes:     " << counters.writes << " (" << counters.bytes_written
              << " bytes)\n"
              << "resident pages:    " << ram.resident_pages() << " of "
              << memory_params.size / 4096 << "\n"
              << "bus busy time:     " << bus.counters("ram").busy_time << "\n"
              << "simulated time:    " << result.finished_at << "\n";
    return result.errors == 0 && result.bursts_verified == result.bursts_written ? 0 : 1;
}
