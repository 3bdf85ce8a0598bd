// `vbsim params` and parameters set by name, through the real executable.

#include <string>
#include <vector>

#include "tests/support/vbsim_process.h"

namespace vbsim::test_support {
namespace {

// The line of `name` in `vbsim params` text output, or "".
std::string line_of(const std::string& listing, const std::string& name) {
    const size_t start = listing.find(name + " = ");
    if (start == std::string::npos || (start > 0 && listing[start - 1] != '\n')) {
        return {};
    }
    return listing.substr(start, listing.find('\n', start) - start);
}

TEST_F(VbsimProcess, ParamsListsTheDefaultGuestsParametersWithTypesAndRanges) {
    const Outcome listed = run({"params"});
    ASSERT_EQ(listed.status, 0) << listed.err;
    EXPECT_EQ(line_of(listed.out, "vm0.balloon.inflate.transport_cost"),
              "vm0.balloon.inflate.transport_cost = 385us  (time)");
    EXPECT_EQ(line_of(listed.out, "vm0.driver.queue_size"),
              "vm0.driver.queue_size = 128  (count; 1..32768, a power of 2)");
    EXPECT_EQ(line_of(listed.out, "vm0.memory.bandwidth"),
              "vm0.memory.bandwidth = 16GB/s  (rate; > 0)");
    EXPECT_NE(listed.out.find("\n    guest RAM read latency\n"), std::string::npos);
    // 8 platform + 4 balloon + 4 x 3 buffer costs + 3 balloon + 14 driver parameters.
    size_t lines = 0;
    for (const char c : listed.out) {
        lines += c == '\n';
    }
    EXPECT_EQ(lines, 2u * 41u);
}

TEST_F(VbsimProcess, ParamsOfAScenarioShowItsValuesAndDefaults) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome listed =
        run({"params", file, "--set", "vm0.balloon.queue_num_max=64", "--format", "json"});
    ASSERT_EQ(listed.status, 0) << listed.err;
    EXPECT_NE(listed.out.find("\"name\": \"vm0.balloon.queue_num_max\",\n    \"type\": \"count\",\n"
                              "    \"value\": \"64\",\n    \"default\": \"128\""),
              std::string::npos)
        << listed.out;
    EXPECT_EQ(listed.out.front(), '[');
    EXPECT_EQ(listed.out.substr(listed.out.size() - 2), "]\n");
}

TEST_F(VbsimProcess, ParamsRefusesAMisspeltNameAndABadFormat) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome misspelt = run({"params", file, "--set", "vm0.balloon.queue_num_mx=64"});
    EXPECT_EQ(misspelt.status, 2);
    EXPECT_NE(misspelt.err.find("did you mean 'vm0.balloon.queue_num_max'?"), std::string::npos)
        << misspelt.err;
    EXPECT_EQ(misspelt.out, "");
    const Outcome format = run({"params", "--format", "yaml"});
    EXPECT_EQ(format.status, 2);
    EXPECT_NE(format.err.find("--format: expected text, json or markdown, got 'yaml'"),
              std::string::npos);
}

TEST_F(VbsimProcess, ASetByNameChangesTheResultAndAMisspeltOneRunsNothing) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome plain = run({"run", file, "--quiet", "--out", dir_ / "plain"});
    ASSERT_EQ(plain.status, 0) << plain.err;
    // 4096 PFNs in 16 buffers; a millisecond more per buffer delays the target by 16 ms.
    const Outcome slow = run({"run", file, "--quiet", "--out", dir_ / "slow", "--set",
                              "vm0.balloon.inflate.host_per_buffer_cost=1ms"});
    ASSERT_EQ(slow.status, 0) << slow.err;
    const std::string before = read_file(dir_ / "plain" / "summary.json");
    const std::string after = read_file(dir_ / "slow" / "summary.json");
    const auto seconds_after = [](const std::string& json, const std::string& key) {
        const size_t at = json.find("\"" + key + "\": ");
        return at == std::string::npos ? -1.0 : std::stod(json.substr(at + key.size() + 4));
    };
    const double settle_before = seconds_after(before, "time_to_target_s");
    const double settle_after = seconds_after(after, "time_to_target_s");
    ASSERT_GT(settle_before, 0.0) << before;
    EXPECT_NEAR(settle_after - settle_before, 0.016, 0.0005);

    const Outcome misspelt = run({"run", file, "--quiet", "--out", dir_ / "bad", "--set",
                                  "vm0.balloon.inflate.host_per_bufer_cost=1ms"});
    EXPECT_EQ(misspelt.status, 2);
    EXPECT_NE(misspelt.err.find("(did you mean 'vm0.balloon.inflate.host_per_buffer_cost'?)"),
              std::string::npos)
        << misspelt.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

}  // namespace
}  // namespace vbsim::test_support
