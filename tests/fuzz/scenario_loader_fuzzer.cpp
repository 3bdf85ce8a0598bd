// Feeds arbitrary text to the scenario loader as a scenario file, followed by arbitrary
// `--set` overrides. Whatever the bytes, the loader must answer: either a scenario or at
// least one error, each error naming where it is, never a crash, a hang or an exception.
//
// Input layout: the scenario text, then optionally a NUL byte and the overrides, one per line.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "platform/config/scenario_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace vbsim::platform;
    const std::string input(reinterpret_cast<const char*>(data), size);
    const size_t split = input.find('\0');
    const std::string text = input.substr(0, split);
    std::vector<std::string> overrides;
    if (split != std::string::npos) {
        size_t start = split + 1;
        while (start <= input.size() && overrides.size() < 16) {
            const size_t end = std::min(input.find('\n', start), input.size());
            overrides.push_back(input.substr(start, end - start));
            start = end + 1;
        }
    }
    ScenarioConfig config;
    std::vector<LoadError> errors;
    const bool ok = ScenarioLoader::load_string(text, "fuzz.yaml", overrides, config, errors);
    if (ok == !errors.empty()) {
        std::abort();  // an answer is a scenario or errors, never both or neither
    }
    for (const LoadError& error : errors) {
        const bool from_override = error.file.rfind("--set ", 0) == 0;
        if ((error.file != "fuzz.yaml" && !from_override) || error.message.empty() ||
            error.line < 0 || error.column < 0) {
            std::abort();
        }
    }
    if (ok && (config.guests.empty() || config.duration <= sc_core::SC_ZERO_TIME)) {
        std::abort();  // a loaded scenario is runnable
    }
    return 0;
}

// libsystemc.so references sc_main; libFuzzer's own main() runs instead.
int sc_main(int, char*[]) {
    return 1;
}
