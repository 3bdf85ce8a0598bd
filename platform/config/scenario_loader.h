#pragma once

// Reads a scenario file (YAML) into a ScenarioConfig and validates it completely before any
// simulation starts. Every problem found is reported, each with the place it was found
// (file:line:column of the offending node, or the `--set` override that caused it), the key
// path and what was expected. docs/scenario-reference.md lists the keys.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/config/scenario.h"

namespace vbsim::platform {

struct LoadError {
    std::string file;  // the scenario file, or "--set PATH" when an override is at fault
    int line = 0;      // 1-based; 0 when there is no position (unreadable file, override)
    int column = 0;
    std::string key_path;  // e.g. guests[1].workload.phases[0].rate; empty for syntax errors
    std::string message;

    // "file:line:column: key.path: message", leaving out the parts that are empty.
    std::string to_string() const;
};

// The balloon size in 4 KiB balloon pages that `target` asks of a guest with
// `guest_ram_bytes` of RAM. Byte forms round down to whole pages, as QEMU does
// (balloon = (ram - guest_ram) >> 12); a guest_ram above the RAM gives 0.
uint64_t target_pages(const TargetSpec& target, uint64_t guest_ram_bytes);

// Scenario files larger than this are refused before they are parsed.
inline constexpr size_t kMaxScenarioFileBytes = size_t{64} << 20;
// ...and so are those holding more YAML values (scalars, lists, mappings) than this: parsed,
// each takes about 500 bytes, so this keeps a scenario's tree below about 500 MB.
inline constexpr size_t kMaxScenarioValues = 1'000'000;

class ScenarioLoader {
  public:
    // Reads `path`, applies `overrides` ("key.path=value", YAML value) to the tree, then
    // converts and validates. Returns true and fills `out` when no error was found;
    // otherwise appends every error found to `errors` and leaves `out` untouched.
    static bool load_file(const std::string& path, const std::vector<std::string>& overrides,
                          ScenarioConfig& out, std::vector<LoadError>& errors);
    // As load_file, for text in memory; `name_for_errors` stands in for the file name.
    static bool load_string(const std::string& text, const std::string& name_for_errors,
                            const std::vector<std::string>& overrides, ScenarioConfig& out,
                            std::vector<LoadError>& errors);
};

}  // namespace vbsim::platform
