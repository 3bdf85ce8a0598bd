// A program built against an installed vbsim's platform component: loads a scenario from
// YAML text (with a parameter set by name), runs it and prints what the balloon moved.

#include <cstdio>
#include <string>
#include <vector>

#include <vbsim/platform/config/scenario_loader.h>
#include <vbsim/platform/run/scenario_run.h>
#include <systemc>

int sc_main(int /*argc*/, char* /*argv*/[]) {
    const std::string scenario = R"(
duration: 100ms
guests:
  - {name: vm0, ram: 64MiB}
host:
  ram: 128MiB
  policy: {kind: timeline, timeline: [{at: 1ms, guest: vm0, balloon_pages: 1024}]}
output: {files: []}
)";
    vbsim::platform::ScenarioConfig config;
    std::vector<vbsim::platform::LoadError> errors;
    if (!vbsim::platform::ScenarioLoader::load_string(
            scenario, "consumer.yaml", {"vm0.driver.pfns_per_round=128"}, config, errors)) {
        for (const auto& error : errors) {
            std::fprintf(stderr, "%s\n", error.to_string().c_str());
        }
        return 1;
    }
    vbsim::platform::ScenarioRun run("scenario", config);
    run.run(false);
    const vbsim::platform::RunSummary summary = run.summarize();
    const auto& vm0 = summary.guests.at(0);
    std::printf("platform-consumer: vm0 inflated %llu pages in %llu buffers\n",
                static_cast<unsigned long long>(vm0.pages_inflated),
                static_cast<unsigned long long>(vm0.inflate_buffers));
    return vm0.pages_inflated == 1024 && vm0.inflate_buffers == 8 ? 0 : 1;
}
