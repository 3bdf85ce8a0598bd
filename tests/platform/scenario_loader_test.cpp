#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "models/balloon/balloon_device.h"
#include "models/interconnect/router.h"
#include "models/memory/memory.h"
#include "platform/config/feature_names.h"
#include "platform/config/scenario_loader.h"
#include "sw/balloon/balloon_driver.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_MS;
using sc_core::SC_NS;
using sc_core::SC_SEC;
using sc_core::sc_time;
using sc_core::SC_US;

constexpr uint64_t kKiB = uint64_t{1} << 10;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

std::string fixture(const char* name) {
    return std::string(VBSIM_TEST_DATA) + "/" + name;
}

struct Loaded {
    bool ok = false;
    ScenarioConfig config;
    std::vector<std::string> errors;  // LoadError::to_string() of each
    std::vector<LoadError> raw;
};

Loaded finish(bool ok, ScenarioConfig config, std::vector<LoadError> errors) {
    Loaded loaded{ok, std::move(config), {}, std::move(errors)};
    for (const LoadError& error : loaded.raw) {
        loaded.errors.push_back(error.to_string());
    }
    return loaded;
}

// Loads `text` as "t.yaml"; line 1 is the first line of `text`.
Loaded load(const std::string& text, const std::vector<std::string>& overrides = {}) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    const bool ok = ScenarioLoader::load_string(text, "t.yaml", overrides, config, errors);
    return finish(ok, std::move(config), std::move(errors));
}

Loaded load_fixture(const char* name, const std::vector<std::string>& overrides = {}) {
    ScenarioConfig config;
    std::vector<LoadError> errors;
    const bool ok = ScenarioLoader::load_file(fixture(name), overrides, config, errors);
    return finish(ok, std::move(config), std::move(errors));
}

// A valid scenario's guest and host, for tests that add one thing to it.
const std::string kGuest = "guests:\n  - name: vm0\n    ram: 1GiB\n";
const std::string kHost = "host:\n  ram: 4GiB\n";

Loaded load_ok(const std::string& text, const std::vector<std::string>& overrides = {}) {
    Loaded loaded = load(text, overrides);
    EXPECT_TRUE(loaded.ok);
    EXPECT_TRUE(loaded.errors.empty()) << ::testing::PrintToString(loaded.errors);
    return loaded;
}

void expect_errors(const std::string& text, const std::vector<std::string>& expected,
                   const std::vector<std::string>& overrides = {}) {
    const Loaded loaded = load(text, overrides);
    EXPECT_FALSE(loaded.ok);
    EXPECT_EQ(loaded.errors, expected);
}

// ---- a full scenario, and defaults --------------------------------------------------

TEST(ScenarioLoaderTest, FullScenarioParsesIntoExactValues) {
    const Loaded loaded = load_fixture("loader_full.yaml");
    ASSERT_TRUE(loaded.ok) << ::testing::PrintToString(loaded.errors);
    const ScenarioConfig& c = loaded.config;
    EXPECT_EQ(c.source, fixture("loader_full.yaml"));
    EXPECT_EQ(c.name, "full");
    EXPECT_EQ(c.description, "every key set");
    EXPECT_EQ(c.seed, 42u);
    EXPECT_EQ(c.duration, sc_time(60, SC_SEC));

    EXPECT_EQ(c.guests[0].bus.hop_latency, sc_time(7, SC_NS));
    EXPECT_EQ(c.guests[0].memory.read_latency, sc_time(30, SC_NS));
    EXPECT_EQ(c.guests[0].memory.write_latency, sc_time(40, SC_NS));
    EXPECT_EQ(c.guests[0].memory.bandwidth_bytes_per_ns, 8.0);
    EXPECT_FALSE(c.guests[0].memory.dmi);
    EXPECT_EQ(c.guests[0].cpu.quantum, sc_time(20, SC_US));
    EXPECT_EQ(c.guests[0].cpu.interrupt_entry_cost, sc_time(2, SC_US));
    ASSERT_EQ(c.guests.size(), 2u);
    const BalloonDeviceConfig& b = c.guests[1].balloon;  // vm1 keeps the platform's balloon
    EXPECT_EQ(b.mmio_base, 0x10002000u);
    EXPECT_EQ(b.transport_version, 1u);
    EXPECT_EQ(b.offered_features, (std::vector<std::string>{"must_tell_host", "stats_vq"}));
    EXPECT_EQ(b.queue_num_max, 64u);
    EXPECT_EQ(b.inflate.transport_cost, sc_time(300, SC_US));
    EXPECT_EQ(b.inflate.host_per_buffer_cost, sc_time(12, SC_US));
    EXPECT_EQ(b.inflate.host_per_page_cost, sc_time(500, SC_NS));
    EXPECT_EQ(b.deflate.transport_cost, sc_time(70, SC_US));
    EXPECT_EQ(b.deflate.host_per_buffer_cost, sc_time(4, SC_US));
    EXPECT_EQ(b.deflate.host_per_page_cost, sc_time(10, SC_NS));
    EXPECT_EQ(b.stats_poll_interval, sc_time(2, SC_SEC));
    EXPECT_EQ(b.interrupt_latency, sc_time(3, SC_US));
    EXPECT_EQ(b.register_latency, sc_time(60, SC_NS));

    ASSERT_EQ(c.guests.size(), 2u);
    const GuestConfig& g = c.guests[0];
    EXPECT_EQ(g.name, "vm0");
    EXPECT_EQ(g.ram_bytes, kGiB);
    EXPECT_EQ(g.ram_base, 0x40000000u);
    EXPECT_EQ(g.page_size, 16 * kKiB);
    EXPECT_EQ(g.resident_at_start_bytes, 512 * kMiB);
    EXPECT_EQ(g.watermarks.min_bytes, 4 * kMiB);
    EXPECT_EQ(g.watermarks.low_bytes, 5 * kMiB);
    EXPECT_EQ(g.watermarks.high_bytes, 6 * kMiB);
    // The guest's balloon starts from the platform's and changes two keys.
    EXPECT_EQ(g.balloon.transport_version, 2u);
    EXPECT_EQ(g.balloon.inflate.host_per_page_cost, sc_time(1, SC_US));
    EXPECT_EQ(g.balloon.inflate.transport_cost, sc_time(300, SC_US));  // the platform's
    EXPECT_EQ(g.balloon.deflate.transport_cost, sc_time(70, SC_US));
    EXPECT_EQ(g.balloon.mmio_base, 0x10002000u);
    EXPECT_EQ(g.balloon.queue_num_max, 64u);
    EXPECT_EQ(g.balloon.register_latency, sc_time(60, SC_NS));
    EXPECT_EQ(g.driver.features, std::vector<std::string>{"stats_vq"});
    EXPECT_FALSE(g.driver.event_idx);
    EXPECT_EQ(g.driver.queue_size, 64u);
    EXPECT_EQ(g.driver.pfns_per_round, 128u);
    EXPECT_EQ(g.driver.retry_delay, sc_time(100, SC_MS));
    EXPECT_EQ(g.driver.oom_release_pages, 128u);
    EXPECT_EQ(g.driver.alloc_cost_per_page, sc_time(175, SC_NS));
    EXPECT_EQ(g.driver.free_cost_per_page, sc_time(40, SC_NS));
    EXPECT_EQ(g.driver.translate_cost_per_page, sc_time(120, SC_NS));
    EXPECT_EQ(g.driver.cpu_cost_per_round, sc_time(3, SC_US));
    EXPECT_EQ(g.workload.tick, sc_time(2, SC_MS));
    EXPECT_EQ(g.workload.cpu_cost_per_page, sc_time(300, SC_NS));
    EXPECT_TRUE(g.workload.repeat);
    ASSERT_EQ(g.workload.phases.size(), 5u);
    const auto& p = g.workload.phases;
    EXPECT_EQ(p[0].kind, PhaseKind::kAllocate);
    EXPECT_EQ(p[0].rate_bytes_per_second, 190.0 * kMiB);
    EXPECT_EQ(p[0].level_bytes, 600 * kMiB);
    EXPECT_EQ(p[0].duration, sc_time(5, SC_SEC));
    EXPECT_EQ(p[1].kind, PhaseKind::kHold);
    EXPECT_EQ(p[1].rate_bytes_per_second, 0.0);
    EXPECT_EQ(p[1].level_bytes, 0u);
    EXPECT_EQ(p[1].duration, sc_time(10, SC_SEC));
    EXPECT_EQ(p[2].kind, PhaseKind::kFree);
    EXPECT_EQ(p[2].rate_bytes_per_second, 1.0 * kGiB);
    EXPECT_EQ(p[2].level_bytes, 100 * kMiB);
    EXPECT_EQ(p[2].duration, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(p[3].kind, PhaseKind::kCache);
    EXPECT_EQ(p[3].rate_bytes_per_second, 10e6);
    EXPECT_EQ(p[3].level_bytes, 64 * kMiB);
    EXPECT_EQ(p[4].kind, PhaseKind::kTouch);
    EXPECT_EQ(p[4].level_bytes, 32 * kMiB);
    EXPECT_EQ(p[4].duration, sc_time(1, SC_SEC));

    const GuestConfig& g1 = c.guests[1];
    EXPECT_EQ(g1.name, "vm1");
    EXPECT_EQ(g1.ram_bytes, 2 * kGiB);
    EXPECT_EQ(g1.ram_base, 0x80000000u);
    EXPECT_EQ(g1.resident_at_start_bytes, kGiB);
    EXPECT_EQ(g1.balloon.transport_version, 1u);  // the platform's
    EXPECT_EQ(g1.balloon.inflate.host_per_page_cost, sc_time(500, SC_NS));

    EXPECT_EQ(c.host.ram_bytes, 8 * kGiB);
    EXPECT_EQ(c.host.reserved_bytes, 512 * kMiB);
    EXPECT_EQ(c.host.policy, PolicyKind::kTimeline);
    ASSERT_EQ(c.host.timeline.size(), 3u);
    EXPECT_EQ(c.host.timeline[0].at, sc_time(1, SC_SEC));
    EXPECT_EQ(c.host.timeline[0].guest, "vm0");
    EXPECT_EQ(c.host.timeline[0].target.form, TargetSpec::Form::kBalloonBytes);
    EXPECT_EQ(c.host.timeline[0].target.value, 512 * kMiB);
    EXPECT_EQ(c.host.timeline[1].target.form, TargetSpec::Form::kBalloonPages);
    EXPECT_EQ(c.host.timeline[1].target.value, 1000u);
    EXPECT_EQ(c.host.timeline[2].guest, "vm1");
    EXPECT_EQ(c.host.timeline[2].target.form, TargetSpec::Form::kGuestRamBytes);
    EXPECT_EQ(c.host.timeline[2].target.value, 768 * kMiB);

    ASSERT_EQ(c.events.size(), 7u);
    EXPECT_EQ(c.events[0].at, sc_time(12, SC_MS));
    EXPECT_EQ(c.events[0].kind, EventKind::kSetTarget);
    EXPECT_EQ(c.events[0].guest, "vm0");
    EXPECT_EQ(c.events[0].target.form, TargetSpec::Form::kBalloonBytes);
    EXPECT_EQ(c.events[0].target.value, 256 * kMiB);
    EXPECT_EQ(c.events[1].kind, EventKind::kWorkload);
    EXPECT_EQ(c.events[1].guest, "vm1");
    ASSERT_EQ(c.events[1].phases.size(), 1u);
    EXPECT_EQ(c.events[1].phases[0].kind, PhaseKind::kAllocate);
    EXPECT_EQ(c.events[1].phases[0].rate_bytes_per_second, 100.0 * kMiB);
    EXPECT_EQ(c.events[1].phases[0].level_bytes, kGiB);
    EXPECT_EQ(c.events[2].kind, EventKind::kStatsRequest);
    EXPECT_EQ(c.events[3].kind, EventKind::kFreeze);
    EXPECT_EQ(c.events[4].kind, EventKind::kRestore);
    EXPECT_EQ(c.events[5].kind, EventKind::kRemove);
    EXPECT_EQ(c.events[6].kind, EventKind::kDeviceReset);
    EXPECT_EQ(c.events[6].at, sc_time(7, SC_SEC));

    ASSERT_EQ(c.checks.size(), 9u);
    const auto& k = c.checks;
    EXPECT_EQ(k[0].kind, CheckKind::kActualReachesTargetBy);
    EXPECT_EQ(k[0].name, "reached");
    EXPECT_EQ(k[0].guest, "vm0");
    EXPECT_EQ(k[0].at, sc_time(5, SC_SEC));
    EXPECT_EQ(k[1].kind, CheckKind::kNoOomKills);
    EXPECT_EQ(k[1].name, "no_oom_kills(vm0)");
    EXPECT_EQ(k[2].kind, CheckKind::kMaxOomKills);
    EXPECT_EQ(k[2].name, "max_oom_kills");
    EXPECT_EQ(k[2].guest, "");
    EXPECT_EQ(k[2].bound, 3.0);
    EXPECT_EQ(k[3].kind, CheckKind::kTimeToTargetBelow);
    EXPECT_EQ(k[3].bound_time, sc_time(2, SC_SEC));
    EXPECT_EQ(k[4].kind, CheckKind::kHostFreeNeverBelow);
    EXPECT_EQ(k[4].bound, static_cast<double>(kGiB));
    EXPECT_EQ(k[5].kind, CheckKind::kInflateRateAbove);
    EXPECT_EQ(k[5].bound, 100000.0);
    EXPECT_EQ(k[6].kind, CheckKind::kBallooned);
    EXPECT_EQ(k[6].at, sc_time(5, SC_SEC));
    EXPECT_EQ(k[6].bound, 131072.0);
    EXPECT_EQ(k[7].kind, CheckKind::kCounterAtLeast);
    EXPECT_EQ(k[7].counter, "oom_deflations");
    EXPECT_EQ(k[7].bound, 1.0);
    EXPECT_EQ(k[8].kind, CheckKind::kCounterAtMost);
    EXPECT_EQ(k[8].counter, "oom_kills");
    EXPECT_EQ(k[8].guest, "");
    EXPECT_EQ(k[8].bound, 0.0);

    EXPECT_EQ(c.output.directory, "out/full");
    EXPECT_EQ(c.output.sample_interval, sc_time(5, SC_MS));
    EXPECT_FALSE(c.output.timeseries_csv);
    EXPECT_TRUE(c.output.summary_json);
    EXPECT_FALSE(c.output.trace_vcd);
    EXPECT_TRUE(c.output.report_html);
}

// Omitted keys keep scenario.h's defaults (compared with default-constructed structs, so
// a changed default needs no change here; docs/scenario-reference.md lists the values).
TEST(ScenarioLoaderTest, DefaultsWhenOmitted) {
    const Loaded loaded = load_fixture("loader_minimal.yaml");
    ASSERT_TRUE(loaded.ok) << ::testing::PrintToString(loaded.errors);
    const ScenarioConfig& c = loaded.config;
    const ScenarioConfig d;
    EXPECT_EQ(c.name, "loader_minimal");  // the file name without its extension
    EXPECT_EQ(c.description, "");
    EXPECT_EQ(c.seed, d.seed);
    EXPECT_EQ(c.duration, d.duration);
    ASSERT_EQ(c.guests.size(), 1u);
    const ModelParameters& m = default_model_parameters();
    EXPECT_EQ(c.guests[0].bus.hop_latency, m.bus.hop_latency);
    EXPECT_EQ(c.guests[0].memory.read_latency, m.memory.read_latency);
    EXPECT_EQ(c.guests[0].memory.write_latency, m.memory.write_latency);
    EXPECT_EQ(c.guests[0].memory.bandwidth_bytes_per_ns, m.memory.bandwidth_bytes_per_ns);
    EXPECT_EQ(c.guests[0].memory.dmi, m.memory.dmi);
    EXPECT_EQ(c.guests[0].cpu.quantum, m.cpu.quantum);
    EXPECT_EQ(c.guests[0].cpu.interrupt_entry_cost, m.cpu.interrupt_entry_cost);
    const auto expect_default_balloon = [](const BalloonDeviceConfig& b) {
        const BalloonDeviceConfig e = default_model_parameters().balloon;
        EXPECT_EQ(b.mmio_base, e.mmio_base);
        EXPECT_EQ(b.transport_version, e.transport_version);
        EXPECT_EQ(b.offered_features, e.offered_features);
        EXPECT_EQ(b.queue_num_max, e.queue_num_max);
        for (const auto& [got, want] : {std::pair{b.inflate, e.inflate}, {b.deflate, e.deflate}}) {
            EXPECT_EQ(got.transport_cost, want.transport_cost);
            EXPECT_EQ(got.host_per_buffer_cost, want.host_per_buffer_cost);
            EXPECT_EQ(got.host_per_page_cost, want.host_per_page_cost);
        }
        EXPECT_EQ(b.stats_poll_interval, e.stats_poll_interval);
        EXPECT_EQ(b.interrupt_latency, e.interrupt_latency);
        EXPECT_EQ(b.register_latency, e.register_latency);
    };
    expect_default_balloon(c.guests[0].balloon);

    ASSERT_EQ(c.guests.size(), 1u);
    const GuestConfig& g = c.guests[0];
    const GuestConfig e;
    EXPECT_EQ(g.name, "vm0");
    EXPECT_EQ(g.ram_bytes, kGiB);
    EXPECT_EQ(g.ram_base, e.ram_base);
    EXPECT_EQ(g.page_size, e.page_size);
    EXPECT_EQ(g.resident_at_start_bytes, 0u);
    EXPECT_EQ(g.watermarks.min_bytes, 0u);
    EXPECT_EQ(g.watermarks.low_bytes, 0u);
    EXPECT_EQ(g.watermarks.high_bytes, 0u);
    expect_default_balloon(g.balloon);
    EXPECT_EQ(g.driver.features, e.driver.features);
    EXPECT_EQ(g.driver.event_idx, e.driver.event_idx);
    EXPECT_EQ(g.driver.queue_size, e.driver.queue_size);
    EXPECT_EQ(g.driver.pfns_per_round, e.driver.pfns_per_round);
    EXPECT_EQ(g.driver.retry_delay, e.driver.retry_delay);
    EXPECT_EQ(g.driver.oom_release_pages, e.driver.oom_release_pages);
    EXPECT_EQ(g.driver.alloc_cost_per_page, e.driver.alloc_cost_per_page);
    EXPECT_EQ(g.driver.free_cost_per_page, e.driver.free_cost_per_page);
    EXPECT_EQ(g.driver.translate_cost_per_page, e.driver.translate_cost_per_page);
    EXPECT_EQ(g.driver.cpu_cost_per_round, e.driver.cpu_cost_per_round);
    EXPECT_EQ(g.workload.tick, e.workload.tick);
    EXPECT_EQ(g.workload.cpu_cost_per_page, e.workload.cpu_cost_per_page);
    EXPECT_EQ(g.workload.repeat, e.workload.repeat);
    EXPECT_TRUE(g.workload.phases.empty());

    EXPECT_EQ(c.host.ram_bytes, 2 * kGiB);
    EXPECT_EQ(c.host.reserved_bytes, 0u);
    EXPECT_EQ(c.host.policy, PolicyKind::kNone);
    EXPECT_TRUE(c.host.timeline.empty());
    EXPECT_EQ(c.host.auto_policy.interval, d.host.auto_policy.interval);
    EXPECT_EQ(c.host.auto_policy.pressure_threshold, d.host.auto_policy.pressure_threshold);
    EXPECT_EQ(c.host.auto_policy.min_guest_free_percent, d.host.auto_policy.min_guest_free_percent);
    EXPECT_EQ(c.host.auto_policy.max_balloon_change_percent,
              d.host.auto_policy.max_balloon_change_percent);
    EXPECT_EQ(c.host.auto_policy.min_balloon_change_percent,
              d.host.auto_policy.min_balloon_change_percent);
    EXPECT_TRUE(c.events.empty());
    EXPECT_TRUE(c.checks.empty());
    EXPECT_EQ(c.output.directory, d.output.directory);
    EXPECT_EQ(c.output.sample_interval, d.output.sample_interval);
    EXPECT_TRUE(c.output.timeseries_csv);
    EXPECT_TRUE(c.output.summary_json);
    EXPECT_TRUE(c.output.trace_vcd);
    EXPECT_TRUE(c.output.report_html);
}

TEST(ScenarioLoaderTest, AutoPolicyTakesFractionsOrPercentages) {
    const Loaded loaded = load_ok(kGuest + kHost +
                                  "  policy:\n"
                                  "    kind: auto\n"
                                  "    auto: {interval: 5s, pressure_threshold: 10%,\n"
                                  "           min_guest_free_percent: 0.3,\n"
                                  "           max_balloon_change_percent: 0.1,\n"
                                  "           min_balloon_change_percent: 0.5%}\n");
    const AutoPolicyConfig& a = loaded.config.host.auto_policy;
    EXPECT_EQ(loaded.config.host.policy, PolicyKind::kAuto);
    EXPECT_EQ(a.interval, sc_time(5, SC_SEC));
    EXPECT_EQ(a.pressure_threshold, 0.1);
    EXPECT_EQ(a.min_guest_free_percent, 0.3);
    EXPECT_EQ(a.max_balloon_change_percent, 0.1);
    EXPECT_EQ(a.min_balloon_change_percent, 0.005);
}

TEST(ScenarioLoaderTest, AlternativeSpellings) {
    const Loaded loaded = load_ok(
        "platform:\n"
        "  memory: {bandwidth_bytes_per_ns: 4.5}\n"
        "  balloon: {transport: 1}\n" +
        kGuest +
        "    resident_at_start: 0x1000\n"
        "    balloon: {transport: modern}\n"
        "  - name: vm1\n"
        "    ram: 64KiB\n"
        "    page_size: 65536\n"
        "    resident_at_start: 70%\n"  // rounds down to whole guest pages
        "    balloon: {version: 1}\n" +
        kHost);
    const ScenarioConfig& c = loaded.config;
    EXPECT_EQ(c.guests[0].memory.bandwidth_bytes_per_ns, 4.5);
    EXPECT_EQ(c.guests[0].resident_at_start_bytes, 4096u);
    EXPECT_EQ(c.guests[0].balloon.transport_version, 2u);
    EXPECT_EQ(c.guests[1].page_size, 65536u);
    EXPECT_EQ(c.guests[1].resident_at_start_bytes, 0u);
    EXPECT_EQ(c.guests[1].balloon.transport_version, 1u);
}

// ---- errors: position, key path, message --------------------------------------------

TEST(ScenarioLoaderTest, UnknownKeySuggestsTheNearestKnownKey) {
    const Loaded loaded = load_fixture("loader_unknown_key.yaml");
    EXPECT_FALSE(loaded.ok);
    const std::string file = fixture("loader_unknown_key.yaml");
    EXPECT_EQ(loaded.errors,
              (std::vector<std::string>{
                  file + ":3:5: guests[0].ram: missing required key 'ram'",
                  file + ":4:5: guests[0].ramm: unknown key 'ramm' (did you mean 'ram'?)"}));
    ASSERT_EQ(loaded.raw.size(), 2u);
    EXPECT_EQ(loaded.raw[1].file, file);
    EXPECT_EQ(loaded.raw[1].line, 4);
    EXPECT_EQ(loaded.raw[1].column, 5);
    EXPECT_EQ(loaded.raw[1].key_path, "guests[0].ramm");
    EXPECT_EQ(loaded.raw[1].message, "unknown key 'ramm' (did you mean 'ram'?)");
}

TEST(ScenarioLoaderTest, ReportsEveryErrorInFileOrder) {
    const Loaded loaded = load_fixture("loader_many_errors.yaml");
    EXPECT_FALSE(loaded.ok);
    const std::string f = fixture("loader_many_errors.yaml");
    EXPECT_EQ(
        loaded.errors,
        (std::vector<std::string>{
            f + ":2:11: duration: must be greater than 0, got '0'",
            f + ":5:10: guests[0].ram: expected a size such as 512MiB or 1GiB, got '12 parsecs' "
                "(unknown unit 'parsecs')",
            f + ":6:16: guests[0].page_size: expected a page size of 4KiB, 16KiB or 64KiB, got "
                "'8KiB'",
            f + ":11:34: guests[1].workload.phases[0].rate: expected a rate such as 190MiB/s or "
                "16GB/s, got 'fast' (a rate needs a unit such as MiB/s)",
            f + ":13:8: host.ram: must be greater than 0, got '0'",
            f + ":17:7: host.policy.timeline: a timeline needs policy kind timeline, but kind is "
                "auto",
            f + ":17:25: host.policy.timeline[0].guest: unknown guest 'vm2' (did you mean "
                "'vm0'?); guests are vm0, vm1",
            f + ":19:12: checks[0].kind: expected one of actual_reaches_target_by, no_oom_kills, "
                "max_oom_kills, time_to_target_below, time_to_target_above, "
                "host_free_never_below, "
                "inflate_rate_above, ballooned, counter_at_least, counter_at_most, got "
                "'no_oom_kill' (did you mean 'no_oom_kills'?)"}));
}

TEST(ScenarioLoaderTest, YamlSyntaxErrorHasItsPosition) {
    const Loaded loaded = load_fixture("broken.yaml");
    EXPECT_FALSE(loaded.ok);
    EXPECT_EQ(loaded.errors,
              std::vector<std::string>{fixture("broken.yaml") + ":4:1: YAML syntax error: end of "
                                                                "sequence flow not found"});
    expect_errors("a: 1\n b: 2\n", {"t.yaml:2:3: YAML syntax error: illegal map value"});
}

TEST(ScenarioLoaderTest, UnreadableFile) {
    const Loaded loaded = load_fixture("no_such_file.yaml");
    EXPECT_FALSE(loaded.ok);
    EXPECT_EQ(loaded.errors, std::vector<std::string>{fixture("no_such_file.yaml") +
                                                      ": cannot read: No such file or "
                                                      "directory"});
}

// Things that are not scenario files say so, instead of "missing required key 'guests'".
TEST(ScenarioLoaderTest, NotAScenarioFile) {
    const auto errors_of = [](const std::string& path) {
        ScenarioConfig config;
        std::vector<LoadError> errors;
        EXPECT_FALSE(ScenarioLoader::load_file(path, {}, config, errors));
        std::vector<std::string> texts;
        for (const LoadError& error : errors) {
            texts.push_back(error.to_string());
        }
        return texts;
    };
    EXPECT_EQ(errors_of(VBSIM_TEST_DATA),
              std::vector<std::string>{std::string(VBSIM_TEST_DATA) +
                                       ": is a folder, not a scenario file"});
    EXPECT_EQ(errors_of("/dev/null"),
              std::vector<std::string>{"/dev/null: is a device, not a scenario file"});
    // Without the check this would read until memory runs out.
    EXPECT_EQ(errors_of("/dev/zero"),
              std::vector<std::string>{"/dev/zero: is a device, not a scenario file"});

    char folder[] = "/tmp/vbsim-loader-XXXXXX";
    ASSERT_NE(mkdtemp(folder), nullptr);
    const std::string empty = std::string(folder) + "/empty.yaml";
    std::ofstream(empty).close();
    EXPECT_EQ(errors_of(empty),
              std::vector<std::string>{
                  empty + ": is empty; a scenario needs at least 'guests' and 'host'"});
    // One byte over the 64 MiB cap (sparse: no disk space needed).
    const std::string huge = std::string(folder) + "/huge.yaml";
    std::ofstream(huge).close();
    ASSERT_EQ(truncate(huge.c_str(), static_cast<off_t>(kMaxScenarioFileBytes + 1)), 0);
    EXPECT_EQ(errors_of(huge),
              std::vector<std::string>{
                  huge + ": is larger than 64 MiB; a scenario file is a few kilobytes of YAML"});
    std::remove(empty.c_str());
    std::remove(huge.c_str());
    rmdir(folder);
}

TEST(ScenarioLoaderTest, DecimalGigabytesSuggestGibibytes) {
    expect_errors("guests:\n  - name: vm0\n    ram: 1 GB\n" + kHost,
                  {"t.yaml:3:10: guests[0].ram: '1 GB' = 1,000,000,000 bytes is not a multiple of "
                   "the page size 4KiB; did you mean 1 GiB?"});
    expect_errors("guests:\n  - name: vm0\n    ram: 1.5MB\n" + kHost,
                  {"t.yaml:3:10: guests[0].ram: '1.5MB' = 1,500,000 bytes is not a multiple of "
                   "the page size 4KiB; did you mean 1.5MiB?"});
    // A decimal size that is a whole number of pages is fine (4,096,000 = 1000 pages).
    EXPECT_EQ(
        load_ok("guests:\n  - name: vm0\n    ram: 4096kB\n" + kHost).config.guests[0].ram_bytes,
        4096000u);
}

TEST(ScenarioLoaderTest, MmioWindowMustNotOverlapTheSameGuestsRam) {
    // The platform's window (0x10001000) inside this guest's RAM: pointed at the RAM base.
    expect_errors(kGuest + "    ram_base: 0x10000000\n" + kHost,
                  {"t.yaml:4:15: guests[0].ram_base: the balloon's MMIO window [0x10001000, "
                   "0x10001200) overlaps guest RAM [0x10000000, 0x50000000)"});
    // A per-guest window inside the RAM: pointed at the window.
    expect_errors(kGuest + "    balloon: {mmio_base: 0xbffffe01}\n" + kHost,
                  {"t.yaml:4:26: guests[0].balloon.mmio_base: the balloon's MMIO window "
                   "[0xbffffe01, 0xc0000001) overlaps guest RAM [0x80000000, 0xc0000000)"});
    // Just outside, and another guest's RAM at the same addresses: fine (own address space).
    load_ok(kGuest + "    balloon: {mmio_base: 0xc0000000}\n  - {name: vm1, ram: 1GiB}\n" + kHost);
}

TEST(ScenarioLoaderTest, FeaturesMustBeKnown) {
    expect_errors(
        "platform: {balloon: {offered_features: [must_tell_host, stats_vk]}}\n" + kGuest + kHost,
        {"t.yaml:1:40: platform.balloon.offered_features: unknown feature 'stats_vk' (did you "
         "mean 'stats_vq'?)"});
    expect_errors(kGuest + "    driver: {features: [stats_vq, stats_vq]}\n" + kHost,
                  {"t.yaml:4:24: guests[0].driver.features: feature 'stats_vq' is listed twice"});
    const Loaded none =
        load_ok(kGuest + "    driver: {features: []}\n" + kHost + "output: {files: []}\n");
    EXPECT_TRUE(none.config.guests[0].driver.features.empty());
    EXPECT_FALSE(none.config.output.report_html);
    expect_errors(kGuest + kHost + "output: {files: [report.htm]}\n",
                  {"t.yaml:6:18: output.files[0]: expected one of timeseries.csv, summary.json, "
                   "trace.vcd, report.html, got 'report.htm' (did you mean 'report.html'?)"});
}

TEST(ScenarioLoaderTest, PolicySectionsNeedTheirKind) {
    expect_errors(
        kGuest + kHost + "  policy:\n    timeline:\n      - {at: 1s, guest: vm0, balloon: 1MiB}\n",
        {"t.yaml:8:7: host.policy.timeline: a timeline needs policy kind timeline, "
         "but kind is none"});
    expect_errors(kGuest + kHost + "  policy: {kind: timeline, auto: {interval: 1s}}\n",
                  {"t.yaml:6:34: host.policy.auto: auto parameters need policy kind auto, but "
                   "kind is timeline"});
    expect_errors(kGuest + kHost + "  policy: {kind: mom}\n",
                  {"t.yaml:6:18: host.policy.kind: expected one of none, timeline, auto, "
                   "balance_available, got "
                   "'mom'"});
    // A misspelt kind is the one error: its sections are not held against it.
    expect_errors(kGuest + kHost +
                      "  policy:\n    kind: timelime\n    timeline:\n"
                      "      - {at: 1s, guest: vm0, balloon: 1MiB}\n",
                  {"t.yaml:7:11: host.policy.kind: expected one of none, timeline, auto, "
                   "balance_available, got 'timelime' (did you mean 'timeline'?)"});
    // An empty timeline is harmless with any kind (a --set can empty it).
    load_ok(kGuest + kHost + "  policy: {kind: none, timeline: []}\n");
}

TEST(ScenarioLoaderTest, TargetAboveGuestRamIsRejected) {
    const std::string timeline = kGuest + kHost + "  policy:\n    kind: timeline\n    timeline:\n";
    expect_errors(timeline + "      - {at: 1s, guest: vm0, balloon: 2GiB}\n",
                  {"t.yaml:9:39: host.policy.timeline[0].balloon: is above guest vm0's RAM 1GiB, "
                   "got '2GiB' (add allow_above_ram: true if that is the point)"});
    expect_errors(timeline + "      - {at: 1s, guest: vm0, balloon_pages: 262145}\n",
                  {"t.yaml:9:45: host.policy.timeline[0].balloon_pages: is above guest vm0's "
                   "RAM 1GiB, got '262145' (add allow_above_ram: true if that is the point)"});
    expect_errors(kGuest + kHost +
                      "events:\n  - {at: 1s, kind: set_target, guest: vm0, guest_ram: 1025MiB}\n",
                  {"t.yaml:7:55: events[0].guest_ram: is above guest vm0's RAM 1GiB, got "
                   "'1025MiB' (add allow_above_ram: true if that is the point)"});
    // Exactly the RAM is possible, and an explicit opt-in allows more.
    const Loaded loaded =
        load_ok(timeline + "      - {at: 1s, guest: vm0, balloon_pages: 262144}\n" +
                "      - {at: 2s, guest: vm0, balloon_pages: 4294967295, allow_above_ram: "
                "true}\n");
    EXPECT_EQ(loaded.config.host.timeline[1].target.value, 4294967295u);
    expect_errors(timeline +
                      "      - {at: 1s, guest: vm0, balloon_pages: 4294967296, allow_above_ram: "
                      "true}\n",
                  {"t.yaml:9:45: host.policy.timeline[0].balloon_pages: does not fit the 32-bit "
                   "num_pages register (4 KiB pages)"});
}

TEST(ScenarioLoaderTest, TargetFormsConvertToBalloonPages) {
    EXPECT_EQ(target_pages({TargetSpec::Form::kBalloonBytes, 512 * kMiB}, kGiB), 131072u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kBalloonBytes, 100'000'000}, kGiB), 24414u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kBalloonPages, 1000}, kGiB), 1000u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kGuestRamBytes, 768 * kMiB}, kGiB), 65536u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kGuestRamBytes, kGiB}, kGiB), 0u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kGuestRamBytes, 0}, kGiB), 262144u);
    EXPECT_EQ(target_pages({TargetSpec::Form::kGuestRamBytes, 2 * kGiB}, kGiB), 0u);

    // The loader stores form and value; the conversion is the runner's, with the guest's RAM.
    const Loaded loaded = load_ok(kGuest + kHost +
                                  "events:\n"
                                  "  - {at: 1s, kind: set_target, guest: vm0, guest_ram: 768MiB}\n"
                                  "  - {at: 2s, kind: set_target, guest: vm0, balloon: 1.5MiB}\n");
    const TargetSpec& ram_form = loaded.config.events[0].target;
    EXPECT_EQ(ram_form.form, TargetSpec::Form::kGuestRamBytes);
    EXPECT_EQ(ram_form.value, 768 * kMiB);
    EXPECT_EQ(target_pages(ram_form, loaded.config.guests[0].ram_bytes), 65536u);
    const TargetSpec& byte_form = loaded.config.events[1].target;
    EXPECT_EQ(byte_form.form, TargetSpec::Form::kBalloonBytes);
    EXPECT_EQ(byte_form.value, 1536 * kKiB);
    EXPECT_EQ(target_pages(byte_form, kGiB), 384u);
}

// ---- --set overrides ----------------------------------------------------------------

TEST(ScenarioLoaderTest, OverridesChangeValuesBeforeValidation) {
    const Loaded loaded =
        load_fixture("loader_minimal.yaml",
                     {"guests[0].ram=2GiB", "platform.memory.dmi=false", "duration=5s",
                      "host.policy.kind=auto", "platform.cpu.quantum=1us",
                      "guests[0].driver.features=[stats_vq]", "checks=[{kind: no_oom_kills}]"});
    ASSERT_TRUE(loaded.ok) << ::testing::PrintToString(loaded.errors);
    const ScenarioConfig& c = loaded.config;
    EXPECT_EQ(c.guests[0].ram_bytes, 2 * kGiB);
    EXPECT_FALSE(c.guests[0].memory.dmi);
    EXPECT_EQ(c.duration, sc_time(5, SC_SEC));
    EXPECT_EQ(c.host.policy, PolicyKind::kAuto);
    EXPECT_EQ(c.guests[0].cpu.quantum, sc_time(1, SC_US));  // platform.cpu did not exist
    EXPECT_EQ(c.guests[0].driver.features, std::vector<std::string>{"stats_vq"});
    ASSERT_EQ(c.checks.size(), 1u);
    EXPECT_EQ(c.checks[0].kind, CheckKind::kNoOomKills);
    // The later of two overrides of one key wins.
    const Loaded twice = load_fixture("loader_minimal.yaml", {"seed=2", "seed=3"});
    EXPECT_EQ(twice.config.seed, 3u);
}

TEST(ScenarioLoaderTest, BadOverridesAreReportedAtTheOverride) {
    const Loaded loaded = load_fixture("loader_minimal.yaml", {"guests[0].ram=12 parsecs"});
    EXPECT_FALSE(loaded.ok);
    EXPECT_EQ(loaded.errors,
              std::vector<std::string>{"--set guests[0].ram: expected a size such "
                                       "as 512MiB or 1GiB, got '12 parsecs' (unknown unit "
                                       "'parsecs')"});
    ASSERT_EQ(loaded.raw.size(), 1u);
    EXPECT_EQ(loaded.raw[0].file, "--set guests[0].ram");
    EXPECT_EQ(loaded.raw[0].line, 0);

    const auto errors_of = [](const std::vector<std::string>& overrides) {
        return load_fixture("loader_minimal.yaml", overrides).errors;
    };
    EXPECT_EQ(errors_of({"guests[0].ramm=1GiB"}),
              std::vector<std::string>{"--set guests[0].ramm: unknown key 'ramm' "
                                       "(did you mean 'ram'?)"});
    EXPECT_EQ(errors_of({"guests[3].ram=1GiB"}),
              std::vector<std::string>{"--set guests[3].ram: there is no guests[3]: guests has 1 "
                                       "entries"});
    EXPECT_EQ(errors_of({"guests[0].ram"}),
              std::vector<std::string>{
                  "--set guests[0].ram: expected PATH=VALUE, such as guests[0].ram=2GiB"});
    EXPECT_EQ(errors_of({"guests..ram=1"}),
              std::vector<std::string>{"--set guests..ram: expected a key path such as "
                                       "guests[0].ram or platform.memory.dmi, got 'guests..ram'"});
    EXPECT_EQ(errors_of({"guests[0].ram.x=1"}),
              std::vector<std::string>{"--set guests[0].ram.x: guests[0].ram is '1GiB', not a "
                                       "mapping"});
    EXPECT_EQ(errors_of({"host[0]=1"}),
              std::vector<std::string>{"--set host[0]: host is not a list"});
    EXPECT_EQ(errors_of({"name=[unclosed"}),
              std::vector<std::string>{"--set name: the value is not valid YAML: end of "
                                       "sequence flow not found"});
    // A key straight after an index needs its dot.
    EXPECT_EQ(errors_of({"guests[0]ram=2GiB"}),
              std::vector<std::string>{"--set guests[0]ram: expected a key path such as "
                                       "guests[0].ram or platform.memory.dmi, got 'guests[0]ram'"});
    // A value is one YAML value, not a second document riding along.
    EXPECT_EQ(errors_of({"seed=2\n---\nguests: []"}),
              std::vector<std::string>{"--set seed: the value holds more than one YAML "
                                       "document ('---')"});
    // A key the override had to create is the override's mistake, not the file's.
    EXPECT_EQ(errors_of({"platfrom.cpu.quantum=1us"}),
              std::vector<std::string>{"--set platfrom.cpu.quantum: platfrom: unknown key "
                                       "'platfrom' (did you mean 'platform'?)"});
    // A replaced subtree: its errors belong to the override too.
    EXPECT_EQ(
        errors_of({"guests[0]={name: vm0}"}),
        std::vector<std::string>{"--set guests[0]: guests[0].ram: missing required key 'ram'"});
}

TEST(ScenarioLoaderTest, ErrorsAfterOverridesKeepFileErrorsFirst) {
    const Loaded loaded = load(
        "guests:\n  - name: vm0\n    ram: 1GiB\n    page_size: 3KiB\n" + kHost, {"host.ram=0"});
    EXPECT_EQ(loaded.errors,
              (std::vector<std::string>{
                  "t.yaml:4:16: guests[0].page_size: expected a page size of 4KiB, 16KiB or "
                  "64KiB, got '3KiB'",
                  "--set host.ram: must be greater than 0, got '0'"}));
}

TEST(ScenarioLoaderTest, LoadErrorFormat) {
    EXPECT_EQ((LoadError{"a.yaml", 3, 7, "guests[0].ram", "bad"}).to_string(),
              "a.yaml:3:7: guests[0].ram: bad");
    EXPECT_EQ((LoadError{"a.yaml", 3, 7, "", "bad"}).to_string(), "a.yaml:3:7: bad");
    EXPECT_EQ((LoadError{"--set x", 0, 0, "x", "bad"}).to_string(), "--set x: bad");
}

TEST(ScenarioLoaderTest, FailedLoadLeavesOutputUntouched) {
    ScenarioConfig config;
    config.name = "before";
    std::vector<LoadError> errors;
    EXPECT_FALSE(ScenarioLoader::load_string("guests: 1\n", "t.yaml", {}, config, errors));
    EXPECT_EQ(config.name, "before");
    EXPECT_EQ(errors.size(), 2u);
}

}  // namespace
}  // namespace vbsim::platform

namespace vbsim::platform {
namespace {

TEST(ScenarioLoaderLimits, GuestRamMustEndBelowTheLastThirtyTwoBitPfn) {
    expect_errors("guests:\n  - name: big\n    ram: 16TiB\nhost:\n  ram: 32TiB\n",
                  {"t.yaml:3:10: guests[0].ram: RAM at 0x80000000 of 16TiB ends above 16 TiB: "
                   "the balloon carries 32-bit PFNs of 4 KiB pages"});
    load_ok("guests:\n  - name: big\n    ram: 15TiB\nhost:\n  ram: 32TiB\n");
}

TEST(ScenarioLoaderLimits, StatsPollingIsOffOrAtLeastAMillisecond) {
    expect_errors(kGuest + kHost + "platform:\n  balloon: {stats_poll_interval: 10us}\n",
                  {"t.yaml:7:34: platform.balloon.stats_poll_interval: must be 0 (off) or at "
                   "least 1ms, got '10us'"});
    load_ok(kGuest + kHost + "platform:\n  balloon: {stats_poll_interval: 0}\n");
}

TEST(ScenarioLoaderLimits, AtMostAMillionSamples) {
    expect_errors(kGuest + kHost + "duration: 2s\noutput: {sample_interval: 1us}\n",
                  {"t.yaml:7:27: output.sample_interval: would record 2000000 samples "
                   "(duration / sample_interval); at most 1000000: use a sample_interval of at "
                   "least 2us"});
    load_ok(kGuest + kHost + "duration: 2s\noutput: {sample_interval: 2us}\n");
}

TEST(ScenarioLoaderLimits, AtMostTwoMillionGuestSamples) {
    const std::string three_guests =
        "guests:\n  - {name: a, ram: 1GiB}\n  - {name: b, ram: 1GiB}\n  - {name: c, ram: 1GiB}\n" +
        kHost + "duration: 1s\n";
    expect_errors(three_guests + "output: {sample_interval: 1us}\n",
                  {"t.yaml:8:27: output.sample_interval: would record 1,000,000 samples of 3 "
                   "guests = 3,000,000 guest samples (about 450 MB of timeseries.csv); at most "
                   "2,000,000: use a sample_interval of at least 1500ns"});
    load_ok(three_guests + "output: {sample_interval: 1500ns}\n");
}

TEST(ScenarioLoaderLimits, PeriodicWorkHasSaneLowerBounds) {
    const std::string guest = "guests:\n  - name: vm0\n    ram: 1GiB\n    workload:\n";
    expect_errors(guest + "      tick: 1ns\n" + kHost,
                  {"t.yaml:5:13: guests[0].workload.tick: '1ns' is below the least period for "
                   "the workload, 1us"});
    // Above the minimum but more than 100 million wake-ups over a long run.
    expect_errors(guest + "      tick: 10us\n" + kHost + "duration: 2000s\n" +
                      "output: {sample_interval: 10s}\n",
                  {"t.yaml:5:13: guests[0].workload.tick: '10us' would wake the workload "
                   "200,000,000 times in 2000s; use at least 20us"});
    load_ok(guest + "      tick: 1us\n" + kHost);

    const std::string auto_host = kGuest + kHost + "  policy:\n    kind: auto\n    auto: ";
    expect_errors(auto_host + "{interval: 1ps}\n",
                  {"t.yaml:8:22: host.policy.auto.interval: '1ps' is below the least period "
                   "for the policy, 1ms"});
    load_ok(auto_host + "{interval: 1ms}\n");
}

// A duration that is given but unusable is the only error: checks and periods are not
// measured against a stand-in duration.
TEST(ScenarioLoaderLimits, ABadDurationIsReportedAloneNotAgainstAStandIn) {
    expect_errors(kGuest + kHost +
                      "duration: 10parsecs\nchecks:\n  - {kind: "
                      "actual_reaches_target_by, guest: vm0, at: 5s}\n",
                  {"t.yaml:6:11: duration: expected a time such as 250ns, 3ms or 1.5s, got "
                   "'10parsecs' (unknown unit 'parsecs')"});
    // The failing side: a good duration still bounds a check's time.
    expect_errors(kGuest + kHost +
                      "duration: 2s\nchecks:\n  - {kind: "
                      "actual_reaches_target_by, guest: vm0, at: 5s}\n",
                  {"t.yaml:8:54: checks[0].at: is after the end of the run (duration 2s)"});
}

// A mapping with many keys is checked in linear time (it took 17 s for 100,000 before).
TEST(ScenarioLoaderLimits, ManyKeysAreReportedInOnePass) {
    std::string text = kGuest + kHost + "platform:\n";
    for (int i = 0; i < 100000; ++i) {
        text += "  k" + std::to_string(i) + ": 1\n";
    }
    text += "  k5: 2\n";
    const Loaded loaded = load(text);
    ASSERT_EQ(loaded.errors.size(), 100001u);
    EXPECT_EQ(loaded.errors[0], "t.yaml:7:3: platform.k0: unknown key 'k0'");
    EXPECT_EQ(loaded.errors[100000],
              "t.yaml:100007:3: platform.k5: duplicate key 'k5' (first on line 12)");
}

TEST(ScenarioLoaderLimits, AtMostAMillionYamlValues) {
    // 200,000 timeline entries are 1.4 million values: refused before yaml-cpp builds a tree
    // of them (about 700 MB), at the first value past the limit.
    std::string text = kGuest + kHost + "  policy:\n    kind: timeline\n    timeline:\n";
    for (int i = 0; i < 200000; ++i) {
        text += "      - {at: " + std::to_string(i) + "us, guest: vm0, balloon: 0}\n";
    }
    expect_errors(text, {"t.yaml:142863:31: more than 1,000,000 YAML values in one scenario; a "
                         "long timeline is better written as an auto policy or split into "
                         "scenarios"});
}

TEST(ScenarioLoaderTest, TheNewerBalloonFeaturesAndTheirKeys) {
    const Loaded loaded = load_ok(
        "platform: {balloon: {offered_features: [free_page_hint, page_poison, page_reporting],"
        " report: {host_per_page_cost: 1us}, hint: {transport_cost: 5us}}}\n" +
        kGuest +
        "    driver: {features: [page_reporting, page_poison], free_page_init: init_on_free,"
        " reporting_block: 4MiB, reporting_delay: 500ms, hint_block: 8MiB}\n" +
        kHost +
        "events:\n  - {at: 1s, kind: free_page_hint_start, guest: vm0}\n"
        "  - {at: 2s, kind: free_page_hint_stop, guest: vm0}\n"
        "  - {at: 3s, kind: free_page_hint_done, guest: vm0}\n");
    const GuestConfig& guest = loaded.config.guests[0];
    EXPECT_EQ(guest.balloon.offered_features,
              (std::vector<std::string>{"free_page_hint", "page_poison", "page_reporting"}));
    EXPECT_EQ(guest.balloon.report.host_per_page_cost, sc_core::sc_time(1, sc_core::SC_US));
    EXPECT_EQ(guest.balloon.hint.transport_cost, sc_core::sc_time(5, sc_core::SC_US));
    EXPECT_EQ(guest.driver.free_page_init, "init_on_free");
    EXPECT_EQ(guest.driver.reporting_block_bytes, uint64_t{4} << 20);
    EXPECT_EQ(guest.driver.reporting_delay, sc_core::sc_time(500, sc_core::SC_MS));
    EXPECT_EQ(guest.driver.hint_block_bytes, uint64_t{8} << 20);
    ASSERT_EQ(loaded.config.events.size(), 3u);
    EXPECT_EQ(loaded.config.events[0].kind, EventKind::kFreePageHintStart);
    EXPECT_EQ(loaded.config.events[1].kind, EventKind::kFreePageHintStop);
    EXPECT_EQ(loaded.config.events[2].kind, EventKind::kFreePageHintDone);

    expect_errors(kGuest + "    driver: {free_page_init: posion}\n" + kHost,
                  {"t.yaml:4:30: guests[0].driver.free_page_init: expected none, "
                   "poison or init_on_free, got 'posion' (did you mean 'poison'?)"});
    expect_errors(kGuest + "    driver: {reporting_block: 3MiB}\n" + kHost,
                  {"t.yaml:4:31: guests[0].driver.reporting_block: expected a power of two "
                   "from 256KiB to 4GiB, got '3MiB'"});
    expect_errors(kGuest + "    driver: {reporting_delay: 0s}\n" + kHost,
                  {"t.yaml:4:31: guests[0].driver.reporting_delay: must be greater than 0, "
                   "got '0'"});
}

// ---- workload processes --------------------------------------------------------------

TEST(ScenarioLoaderTest, WorkloadProcessesParseAndTheOneProcessFormIsMain) {
    const Loaded several = load_ok(kGuest +
                                   "    workload:\n"
                                   "      processes:\n"
                                   "        - name: db\n"
                                   "          restart_after: 2s\n"
                                   "          phases: [{kind: allocate, level: 1MiB}]\n"
                                   "        - {name: web, repeat: true}\n" +
                                   kHost);
    const WorkloadConfig& w = several.config.guests[0].workload;
    ASSERT_EQ(w.processes.size(), 2u);
    EXPECT_EQ(w.processes[0].name, "db");
    EXPECT_TRUE(w.processes[0].restarts);
    EXPECT_EQ(w.processes[0].restart_after, sc_time(2, SC_SEC));
    ASSERT_EQ(w.processes[0].phases.size(), 1u);
    EXPECT_EQ(w.processes[0].phases[0].level_bytes, 1u << 20);
    EXPECT_EQ(w.processes[1].name, "web");
    EXPECT_TRUE(w.processes[1].repeat);
    EXPECT_FALSE(w.processes[1].restarts);  // stays dead by default
    EXPECT_EQ(w.process_list().size(), 2u);

    const Loaded one = load_ok(kGuest + "    workload: {restart_after: 5ms}\n" + kHost);
    const std::vector<ProcessConfig> list = one.config.guests[0].workload.process_list();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].name, "main");
    EXPECT_TRUE(list[0].restarts);
    EXPECT_EQ(list[0].restart_after, sc_time(5, SC_MS));
}

TEST(ScenarioLoaderTest, HostSwapParsesWithDefaultsAndRefusesAZeroBandwidth) {
    const Loaded none = load_ok(kGuest + kHost);
    EXPECT_EQ(none.config.host.swap.size_bytes, 0u);  // no swap by default
    EXPECT_EQ(none.config.host.swap.swap_in_bytes_per_second, 500e6);
    EXPECT_EQ(none.config.host.swap.swap_in_latency, sc_time(100, SC_US));
    const Loaded swap = load_ok(kGuest + kHost +
                                "  swap: {size: 1GiB, swap_in_bandwidth: 200MB/s, "
                                "swap_out_bandwidth: 100MB/s, swap_out_latency: 1ms}\n");
    const HostSwapConfig& s = swap.config.host.swap;
    EXPECT_EQ(s.size_bytes, 1u << 30);
    EXPECT_EQ(s.swap_in_bytes_per_second, 200e6);
    EXPECT_EQ(s.swap_out_bytes_per_second, 100e6);
    EXPECT_EQ(s.swap_out_latency, sc_time(1, SC_MS));
    EXPECT_EQ(s.swap_in_latency, sc_time(100, SC_US));
    expect_errors(kGuest + kHost + "  swap: {swap_in_bandwidth: 0MB/s, sizee: 1}\n",
                  {"t.yaml:6:29: host.swap.swap_in_bandwidth: must be greater than 0, got '0MB/s'",
                   "t.yaml:6:36: host.swap.sizee: unknown key 'sizee' (did you mean 'size'?)"});
}

TEST(ScenarioLoaderTest, BalanceAvailablePolicyParsesAndNeedsItsKind) {
    const Loaded loaded = load_ok(kGuest +
                                  "host:\n  ram: 4GiB\n  policy:\n    kind: balance_available\n"
                                  "    balance_available: {interval: 2s, guest_critical: 256MiB,"
                                  " host_critical: 10%, margin: 4MiB}\n");
    EXPECT_EQ(loaded.config.host.policy, PolicyKind::kBalanceAvailable);
    const BalanceAvailableConfig& b = loaded.config.host.balance_available;
    EXPECT_EQ(b.interval, sc_time(2, SC_SEC));
    EXPECT_EQ(b.guest_critical_bytes, 256u << 20);
    EXPECT_DOUBLE_EQ(b.host_critical_fraction, 0.10);
    EXPECT_EQ(b.margin_bytes, 4u << 20);
    const Loaded wrong = load(kGuest +
                              "host:\n  ram: 4GiB\n  policy:\n    kind: auto\n"
                              "    balance_available: {margin: 4MiB}\n");
    EXPECT_FALSE(wrong.ok);
    ASSERT_EQ(wrong.errors.size(), 1u);
    EXPECT_NE(wrong.errors[0].find("balance_available parameters need policy kind "
                                   "balance_available, but kind is auto"),
              std::string::npos);
}

}  // namespace
}  // namespace vbsim::platform

// ---- the parameter tree: presets by YAML path and by name ----------------------------

namespace vbsim::platform {
namespace {

const std::string kTwoGuests =
    "guests:\n  - {name: vm0, ram: 1GiB}\n  - {name: vm1, ram: 1GiB}\n" + kHost;

TEST(ScenarioLoaderParameters, ASetByNameReachesOnlyThatGuestAndWinsOverTheFile) {
    const Loaded loaded =
        load_ok("platform: {balloon: {inflate: {host_per_buffer_cost: 5us}}}\n" + kTwoGuests,
                {"vm0.balloon.inflate.host_per_buffer_cost=1ms", "vm1.driver.queue_size=64"});
    const ScenarioConfig& c = loaded.config;
    ASSERT_EQ(c.guests.size(), 2u);
    EXPECT_EQ(c.guests[0].balloon.inflate.host_per_buffer_cost, sc_time(1, SC_MS));
    EXPECT_EQ(c.guests[1].balloon.inflate.host_per_buffer_cost, sc_time(5, SC_US));
    EXPECT_EQ(c.guests[0].driver.queue_size, 128u);
    EXPECT_EQ(c.guests[1].driver.queue_size, 64u);
    // Each guest records what was preset, in the order applied.
    ASSERT_EQ(c.guests[0].parameter_presets.size(), 2u);
    EXPECT_EQ(c.guests[0].parameter_presets[0].name, "vm0.balloon.inflate.host_per_buffer_cost");
    EXPECT_EQ(c.guests[0].parameter_presets[0].value, "5us");
    EXPECT_EQ(c.guests[0].parameter_presets[0].origin.line, 1);
    EXPECT_EQ(c.guests[0].parameter_presets[1].value, "1ms");
    EXPECT_EQ(c.guests[0].parameter_presets[1].origin.file,
              "--set vm0.balloon.inflate.host_per_buffer_cost");
}

TEST(ScenarioLoaderParameters, AGuestSectionOverridesThePlatformForThatGuestOnly) {
    const Loaded loaded = load_ok(
        "platform: {memory: {read_latency: 30ns}, cpu: {quantum: 2us}}\n"
        "guests:\n  - {name: vm0, ram: 1GiB, memory: {read_latency: 45ns}}\n"
        "  - {name: vm1, ram: 1GiB}\n" +
        kHost);
    EXPECT_EQ(loaded.config.guests[0].memory.read_latency, sc_time(45, SC_NS));
    EXPECT_EQ(loaded.config.guests[1].memory.read_latency, sc_time(30, SC_NS));
    EXPECT_EQ(loaded.config.guests[0].cpu.quantum, sc_time(2, SC_US));
    EXPECT_EQ(loaded.config.guests[0].memory.write_latency,
              default_model_parameters().memory.write_latency);
}

TEST(ScenarioLoaderParameters, AMisspeltNameIsRejectedWithTheClosestName) {
    expect_errors(kGuest + kHost,
                  {"--set vm0.balloon.inflate.host_per_bufer_cost: no parameter named "
                   "'vm0.balloon.inflate.host_per_bufer_cost' (did you mean "
                   "'vm0.balloon.inflate.host_per_buffer_cost'?)"},
                  {"vm0.balloon.inflate.host_per_bufer_cost=1ms"});
    // A guest that does not exist: the closest name over every guest.
    expect_errors(kGuest + kHost,
                  {"--set vm9.driver.queue_size: no parameter named "
                   "'vm9.driver.queue_size' (did you mean 'vm0.driver.queue_size'?)"},
                  {"vm9.driver.queue_size=64"});
}

TEST(ScenarioLoaderParameters, EveryDefaultIsTheModelsOwn) {
    const ModelParameters& d = default_model_parameters();
    EXPECT_EQ(d.bus.hop_latency, models::RouterParams{}.hop_latency);
    EXPECT_EQ(d.memory.read_latency, models::MemoryParams{}.read_latency);
    EXPECT_EQ(d.memory.bandwidth_bytes_per_ns, models::MemoryParams{}.bandwidth_bytes_per_ns);
    EXPECT_EQ(d.balloon.inflate.transport_cost,
              models::BalloonDeviceParams{}.inflate_costs.transport);
    EXPECT_EQ(d.balloon.queue_num_max, models::BalloonDeviceParams{}.queue_num_max);
    EXPECT_EQ(balloon_feature_bits(d.balloon.offered_features),
              models::BalloonDeviceParams{}.offered_features);
    EXPECT_EQ(
        d.driver.alloc_cost_per_page,
        sc_time(static_cast<double>(sw::balloon::BalloonDriverParams{}.alloc_cost_per_page_ns),
                SC_NS));
    EXPECT_EQ(d.driver.hint_block_bytes, uint64_t{4} << 20);
    EXPECT_EQ(d.balloon.transport_version, 2u);
}

}  // namespace
}  // namespace vbsim::platform

// ---- errors, as a table: each row is a scenario (and overrides) with every error it gives

namespace vbsim::platform {
namespace {

struct BadScenario {
    const char* name;
    std::string text;
    std::vector<std::string> expected;
    std::vector<std::string> overrides;
};

// Each row must fail to load with exactly these errors, in this order.
const BadScenario kBadScenarios[] = {
    {"BufferCostErrorsNameTheirKey",
     "platform:\n"
     "  balloon:\n"
     "    inflate: {transport: 1us, host_per_page_cost: fast}\n"
     "    deflate: 3us\n"
     "    per_buffer_cost: 250us\n" +
         kGuest + kHost,
     {"t.yaml:3:15: platform.balloon.inflate.transport: unknown key 'transport'",
      "t.yaml:3:51: platform.balloon.inflate.host_per_page_cost: expected a time "
      "such as 250ns, 3ms or 1.5s, got 'fast' (no number)",
      "t.yaml:4:14: platform.balloon.deflate: expected a mapping (key: value) for "
      "deflate buffer costs, got '3us'",
      "t.yaml:5:5: platform.balloon.per_buffer_cost: unknown key 'per_buffer_cost'"},
     {}},
    {"UnknownKeyFarFromAnyKnownKeyHasNoSuggestion",
     kGuest + kHost + "colour: blue\n",
     {"t.yaml:6:1: colour: unknown key 'colour'"},
     {}},
    {"SecondYamlDocumentIsAnError",
     kGuest + kHost + "---\nseed: 2\n",
     {"t.yaml:7:1: a scenario file holds one YAML document; remove the '---' before "
      "this one or split the file"},
     {}},
    {"EmptyDocumentNamesWhatIsMissing_1",
     "",
     {"t.yaml:1:1: guests: missing required key 'guests'",
      "t.yaml:1:1: host: missing required key 'host'"},
     {}},
    {"EmptyDocumentNamesWhatIsMissing_2",
     "- 1\n",
     {"t.yaml:1:1: expected a mapping (key: value) for the scenario, got "
      "a list"},
     {}},
    {"WrongTypes_1",
     "guests:\n  - name: vm0\n    ram: [1GiB]\n" + kHost,
     {"t.yaml:3:10: guests[0].ram: expected a size such as 512MiB or 1GiB, got a "
      "list"},
     {}},
    {"WrongTypes_2",
     "guests: {name: vm0}\n" + kHost,
     {"t.yaml:1:9: guests: expected a list of guests, got a mapping"},
     {}},
    {"WrongTypes_3",
     "platform: 5\n" + kGuest + kHost,
     {"t.yaml:1:11: platform: expected a mapping (key: value) for platform, got "
      "'5'"},
     {}},
    {"WrongTypes_4",
     "platform:\n  memory: {dmi: maybe}\n" + kGuest + kHost,
     {"t.yaml:2:17: platform.memory.dmi: expected true or false, got 'maybe'"},
     {}},
    {"WrongTypes_5",
     kGuest + kHost + "seed: -1\n",
     {"t.yaml:6:7: seed: expected a whole number such as 256, got '-1' (must not "
      "be negative)"},
     {}},
    {"WrongTypes_6",
     kGuest + kHost + "name: {a: 1}\n",
     {"t.yaml:6:7: name: expected a string, got a mapping"},
     {}},
    {"EmptyValueIsReportedAtItsKey",
     "guests:\n  - name: vm0\n    ram:\n" + kHost,
     {"t.yaml:3:5: guests[0].ram: expected a size such as 512MiB or 1GiB, got "
      "nothing"},
     {}},
    {"DuplicateKeysAndGuestNames_1",
     kGuest + "    ram: 2GiB\n" + kHost,
     {"t.yaml:4:5: guests[0].ram: duplicate key 'ram' (first on line 3)"},
     {}},
    {"DuplicateKeysAndGuestNames_2",
     kGuest + "  - {name: vm0, ram: 1GiB}\n" + kHost,
     {"t.yaml:4:12: guests[1].name: duplicate guest name 'vm0' (first on line "
      "2)"},
     {}},
    {"DuplicateKeysAndGuestNames_3",
     "guests: []\n" + kHost,
     {"t.yaml:1:9: guests: at least one guest is needed"},
     {}},
    {"DuplicateKeysAndGuestNames_4", kGuest, {"t.yaml:1:1: host: missing required key 'host'"}, {}},
    {"ZeroWhereImpossible_1",
     kGuest + "host:\n  ram: 0\n",
     {"t.yaml:5:8: host.ram: must be greater than 0, got '0'"},
     {}},
    {"ZeroWhereImpossible_2",
     "guests:\n  - name: vm0\n    ram: 0GiB\n" + kHost,
     {"t.yaml:3:10: guests[0].ram: must be greater than 0, got '0GiB'"},
     {}},
    {"ZeroWhereImpossible_3",
     kGuest + kHost + "duration: 0s\n",
     {"t.yaml:6:11: duration: must be greater than 0, got '0s'"},
     {}},
    {"ZeroWhereImpossible_4",
     kGuest + "    workload: {tick: 0}\n" + kHost,
     {"t.yaml:4:22: guests[0].workload.tick: must be greater than 0, got '0'"},
     {}},
    {"ZeroWhereImpossible_5",
     kGuest + "    driver: {retry_delay: 0ms}\n" + kHost,
     {"t.yaml:4:27: guests[0].driver.retry_delay: must be greater than 0, got "
      "'0'"},
     {}},
    {"ZeroWhereImpossible_6",
     kGuest + kHost + "output: {sample_interval: 0}\n",
     {"t.yaml:6:27: output.sample_interval: must be greater than 0, got '0'"},
     {}},
    {"ZeroWhereImpossible_7",
     "platform: {memory: {bandwidth: 0GB/s}}\n" + kGuest + kHost,
     {"t.yaml:1:32: platform.memory.bandwidth: must be greater than 0, got "
      "'0GB/s'"},
     {}},
    {"ZeroWhereImpossible_8",
     kGuest + "host:\n  ram: 4GiB\n  reserved: 4GiB\n",
     {"t.yaml:6:13: host.reserved: must be below the host's RAM 4GiB, got "
      "'4GiB'"},
     {}},
    {"GuestMemoryLayout_1",
     "guests:\n  - name: vm0\n    ram: 1000000\n" + kHost,
     {"t.yaml:3:10: guests[0].ram: must be a multiple of the page size 4KiB, got "
      "'1000000'"},
     {}},
    {"GuestMemoryLayout_2",
     kGuest + "    page_size: 64KiB\n    ram_base: 0x80001000\n" + kHost,
     {"t.yaml:5:15: guests[0].ram_base: must be aligned to the page size 64KiB, "
      "got '0x80001000'"},
     {}},
    {"GuestMemoryLayout_3",
     kGuest + "    resident_at_start: 2GiB\n" + kHost,
     {"t.yaml:4:24: guests[0].resident_at_start: must not exceed the guest's RAM "
      "1GiB, got '2GiB'"},
     {}},
    {"GuestMemoryLayout_4",
     kGuest + "    resident_at_start: 101%\n" + kHost,
     {"t.yaml:4:24: guests[0].resident_at_start: expected a fraction between 0 "
      "and 1 such as 0.2 or 20%, got '101%' (outside 0%..100%)"},
     {}},
    {"GuestMemoryLayout_5",
     kGuest + "    watermarks: {min: 8MiB, low: 4MiB, high: 2GiB}\n" + kHost,
     {"t.yaml:4:34: guests[0].watermarks.low: low must not be below min (8MiB)",
      "t.yaml:4:46: guests[0].watermarks.high: must not exceed the guest's RAM "
      "1GiB, got '2GiB'"},
     {}},
    {"DriverAndDeviceLimits_1",
     kGuest + "    driver: {pfns_per_round: 0}\n" + kHost,
     {"t.yaml:4:30: guests[0].driver.pfns_per_round: must be between 1 and 256, "
      "got '0'"},
     {}},
    {"DriverAndDeviceLimits_2",
     kGuest + "    driver: {pfns_per_round: 257}\n" + kHost,
     {"t.yaml:4:30: guests[0].driver.pfns_per_round: must be between 1 and 256, "
      "got '257'"},
     {}},
    {"DriverAndDeviceLimits_3",
     kGuest + "    driver: {queue_size: 100}\n" + kHost,
     {"t.yaml:4:26: guests[0].driver.queue_size: a split virtqueue size must be a "
      "power of 2, got '100'"},
     {}},
    {"DriverAndDeviceLimits_4",
     "platform: {balloon: {queue_num_max: 65536}}\n" + kGuest + kHost,
     {"t.yaml:1:37: platform.balloon.queue_num_max: must be between 1 and 32768, "
      "got '65536'"},
     {}},
    {"TransportVersion_1",
     "platform: {balloon: {transport: 3}}\n" + kGuest + kHost,
     {"t.yaml:1:33: platform.balloon.transport: expected modern or legacy (or 2 or "
      "1), got '3' (did you mean '2'?)"},
     {}},
    {"TransportVersion_2",
     "platform: {balloon: {transport: modrn}}\n" + kGuest + kHost,
     {"t.yaml:1:33: platform.balloon.transport: expected modern or legacy (or 2 or "
      "1), got 'modrn' (did you mean 'modern'?)"},
     {}},
    {"TransportVersion_3",
     "platform: {balloon: {version: 3}}\n" + kGuest + kHost,
     {"t.yaml:1:31: platform.balloon.version: expected 2 or 1, got '3'"},
     {}},
    {"TransportVersion_4",
     "platform: {balloon: {version: 1, transport: legacy}}\n" + kGuest + kHost,
     {"t.yaml:1:31: platform.balloon.version: give either transport or version, "
      "not both"},
     {}},
    {"FractionsOutsideZeroToOne_1",
     kGuest + kHost + "  policy: {kind: auto, auto: {pressure_threshold: 1.5}}\n",
     {"t.yaml:6:51: host.policy.auto.pressure_threshold: expected a fraction "
      "between 0 and 1 such as 0.2 or 20%, got '1.5' (outside 0..1)"},
     {}},
    {"FractionsOutsideZeroToOne_2",
     kGuest + kHost + "  policy: {kind: auto, auto: {min_guest_free_percent: 120%}}\n",
     {"t.yaml:6:55: host.policy.auto.min_guest_free_percent: expected a fraction "
      "between 0 and 1 such as 0.2 or 20%, got '120%' (outside 0%..100%)"},
     {}},
    {"FractionsOutsideZeroToOne_3",
     kGuest + kHost + "  policy: {kind: auto, auto: {min_balloon_change_percent: 0.2}}\n",
     {"t.yaml:6:59: host.policy.auto.min_balloon_change_percent: "
      "min_balloon_change_percent must not exceed max_balloon_change_percent"},
     {}},
    {"UnknownGuestsAreNamed",
     kGuest + kHost +
         "events:\n  - {at: 1s, kind: freeze, guest: vm1}\n"
         "checks:\n  - {kind: no_oom_kills, guest: mv0}\n",
     {"t.yaml:7:35: events[0].guest: unknown guest 'vm1' (did you mean 'vm0'?); "
      "guests are vm0",
      "t.yaml:9:33: checks[0].guest: unknown guest 'mv0' (did you mean 'vm0'?); "
      "guests are vm0"},
     {}},
    {"TargetNeedsExactlyOneForm_1",
     kGuest + kHost + "events:\n  - {at: 1s, kind: set_target, guest: vm0}\n",
     {"t.yaml:7:5: events[0].balloon: missing target: give one of balloon (bytes), "
      "balloon_pages or guest_ram"},
     {}},
    {"TargetNeedsExactlyOneForm_2",
     kGuest + kHost +
         "events:\n  - {at: 1s, kind: set_target, guest: vm0, balloon: 1MiB, "
         "guest_ram: 1MiB}\n",
     {"t.yaml:7:70: events[0].guest_ram: give only one of balloon, balloon_pages "
      "and guest_ram"},
     {}},
    {"KeysThatDoNotApplyToTheKind_1",
     kGuest + "    workload: {phases: [{kind: hold, rate: 1MiB/s, duration: 1s}]}\n" + kHost,
     {"t.yaml:4:44: guests[0].workload.phases[0].rate: 'rate' does not apply to "
      "kind hold"},
     {}},
    {"KeysThatDoNotApplyToTheKind_2",
     kGuest + "    workload: {phases: [{kind: allocate, rate: 1MiB/s}]}\n" + kHost,
     {"t.yaml:4:25: guests[0].workload.phases[0].level: missing required key "
      "'level'"},
     {}},
    {"KeysThatDoNotApplyToTheKind_3",
     kGuest + kHost + "events:\n  - {at: 1s, kind: stats_request, guest: vm0, balloon: 1MiB}\n",
     {"t.yaml:7:56: events[0].balloon: 'balloon' does not apply to kind "
      "stats_request"},
     {}},
    {"KeysThatDoNotApplyToTheKind_4",
     kGuest + kHost + "checks:\n  - {kind: no_oom_kills, bound: 1}\n",
     {"t.yaml:7:33: checks[0].bound: 'bound' does not apply to kind no_oom_kills"},
     {}},
    {"KeysThatDoNotApplyToTheKind_5",
     kGuest + kHost +
         "checks:\n  - {kind: host_free_never_below, guest: vm0, "
         "bound: 1GiB}\n",
     {"t.yaml:7:42: checks[0].guest: 'guest' does not apply to kind "
      "host_free_never_below"},
     {}},
    {"KeysThatDoNotApplyToTheKind_6",
     kGuest + kHost + "checks:\n  - {kind: ballooned, bound: 1}\n",
     {"t.yaml:7:5: checks[0].guest: missing required key 'guest'"},
     {}},
    {"KeysThatDoNotApplyToTheKind_7",
     kGuest + kHost + "checks:\n  - {kind: counter_at_least, bound: 1}\n",
     {"t.yaml:7:5: checks[0].counter: missing required key 'counter'"},
     {}},
    {"WorkloadEventPhasesHaveTheirOwnPath_1",
     kGuest + kHost + "events:\n  - at: 1s\n    kind: workload\n    guest: vm0\n" +
         "    phases:\n      - {kind: alocate, level: 1MiB}\n",
     {"t.yaml:11:16: events[0].phases[0].kind: expected one of allocate, free, "
      "hold, cache, touch, got 'alocate' (did you mean 'allocate'?)"},
     {}},
    {"WorkloadEventPhasesHaveTheirOwnPath_2",
     kGuest + kHost + "events:\n  - {at: 1s, kind: workload, guest: vm0}\n",
     {"t.yaml:7:5: events[0].phases: missing required key 'phases'"},
     {}},
    {"CheckTimesMustFallInsideTheRun",
     kGuest + kHost +
         "duration: 2s\nchecks:\n  - {kind: ballooned, guest: vm0, "
         "at: 3s, bound: 0}\n",
     {"t.yaml:8:39: checks[0].at: is after the end of the run (duration 2s)"},
     {}},
    {"CheckCountersMustBeSummaryCounters",
     kGuest + kHost +
         "checks:\n  - {kind: counter_at_least, guest: vm0, counter: retrys, bound: 1}\n",
     {"t.yaml:7:51: checks[0].counter: unknown counter 'retrys' (did you mean "
      "'retries'?); one of the summary's: pages_inflated, pages_deflated, "
      "inflate_buffers, deflate_buffers, notifies, interrupts, config_changes, "
      "bus_transactions, dma_bytes, oom_kills, oom_deferred, oom_deflations, "
      "alloc_stalls, balloon_alloc_failures, retries, stats_updates, actual_writes, "
      "rounds, invalid_pfns, needs_reset_events, final_target_pages, "
      "final_actual_pages, final_ballooned_pages, report_buffers, pages_reported, "
      "pages_kept_for_poison, reported_pages_final, reported_blocks_reused, hint_rounds, "
      "hinted_pages, host_pages_freed_by_reporting, host_pages_freed_by_balloon, "
      "host_swap_in_bytes, host_swap_out_bytes, host_killed"},
     {}},
    {"WorkloadProcessesRefuseStrayPhasesDuplicatesAndMissingNames_1",
     kGuest +
         "    workload:\n"
         "      phases: []\n"
         "      processes: [{name: a}]\n" +
         kHost,
     {"t.yaml:5:15: guests[0].workload.phases: 'phases' belongs inside each "
      "process when 'processes' is given"},
     {}},
    {"WorkloadProcessesRefuseStrayPhasesDuplicatesAndMissingNames_2",
     kGuest +
         "    workload:\n"
         "      processes:\n"
         "        - {name: a}\n"
         "        - {name: a}\n" +
         kHost,
     {"t.yaml:7:18: guests[0].workload.processes[1].name: duplicate process name "
      "'a' (first on line 6)"},
     {}},
    {"WorkloadProcessesRefuseStrayPhasesDuplicatesAndMissingNames_3",
     kGuest +
         "    workload:\n"
         "      processes: [{phases: []}]\n" +
         kHost,
     {"t.yaml:5:19: guests[0].workload.processes[0].name: missing required key 'name'"},
     {}},
    {"ABadValueByNameSaysWhatIsAllowed",
     kGuest + kHost,
     {"--set vm0.driver.queue_size: a split virtqueue size "
      "must be a power of 2, got '100'",
      "--set vm0.driver.pfns_per_round: must be between "
      "1 and 256, got '0'"},
     {"vm0.driver.queue_size=100", "vm0.driver.pfns_per_round=0"}},
    {"APlatformErrorIsReportedOnceForAllGuests",
     "platform:\n  cpu: {quantum: soon}\n" + kTwoGuests,
     {"t.yaml:2:18: platform.cpu.quantum: expected a time such as 250ns, 3ms or "
      "1.5s, got 'soon' (no number)"},
     {}},
};

class LoaderErrors : public ::testing::TestWithParam<BadScenario> {};

TEST_P(LoaderErrors, NameFileLineAndKey) {
    expect_errors(GetParam().text, GetParam().expected, GetParam().overrides);
}

INSTANTIATE_TEST_SUITE_P(Table, LoaderErrors, ::testing::ValuesIn(kBadScenarios),
                         [](const ::testing::TestParamInfo<BadScenario>& row) {
                             return std::string(row.param.name);
                         });

}  // namespace
}  // namespace vbsim::platform
