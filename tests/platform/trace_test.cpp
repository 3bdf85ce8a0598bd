// The register and transaction trace (output.trace / --trace): timeline.json is valid Chrome
// trace-event JSON with the documented fields, and mmio.csv's rows agree with the run's
// counters.

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "platform/config/scenario_loader.h"
#include "platform/run/scenario_run.h"
#include "tests/support/json_reader.h"

namespace vbsim::platform {
namespace {

// A 64 MiB guest: 4096 pages in at 10 ms, out again at 150 ms, stats every 100 ms.
std::string scenario(const std::string& transport, bool trace) {
    return "duration: 300ms\n"
           "platform:\n"
           "  balloon: {transport: " +
           transport +
           ", stats_poll_interval: 100ms}\n"
           "guests:\n"
           "  - {name: vm0, ram: 64MiB, resident_at_start: 100%}\n"
           "host:\n"
           "  ram: 256MiB\n"
           "  policy:\n"
           "    kind: timeline\n"
           "    timeline:\n"
           "      - {at: 10ms, guest: vm0, balloon_pages: 4096}\n"
           "      - {at: 150ms, guest: vm0, balloon_pages: 0}\n"
           "output: {trace: " +
           (trace ? "true" : "false") + ", files: [summary.json]}\n";
}

struct TracedRun {
    explicit TracedRun(const std::string& yaml) {
        std::vector<LoadError> errors;
        const bool loaded = ScenarioLoader::load_string(yaml, "t.yaml", {}, config, errors);
        EXPECT_TRUE(loaded) << (errors.empty() ? "" : errors[0].to_string());
        run = std::make_unique<ScenarioRun>("scenario", config);
        run->run(false);
        summary = run->summarize();
    }
    ScenarioConfig config;
    std::unique_ptr<ScenarioRun> run;
    RunSummary summary;
};

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream fields(line);
        while (std::getline(fields, cell, ',')) {
            cells.push_back(cell);
        }
        if (!line.empty() && line.back() == ',') {
            cells.emplace_back();
        }
        rows.push_back(cells);
    }
    return rows;
}

TEST(Trace, OffByDefaultAndWhenNotAsked) {
    ScenarioConfig defaults;
    EXPECT_FALSE(defaults.output.trace);
    TracedRun untraced(scenario("modern", false));
    EXPECT_EQ(untraced.run->guest(0).guest_trace(), nullptr);
}

TEST(Trace, MmioRowsAgreeWithTheRunsCounters) {
    TracedRun traced(scenario("modern", true));
    ASSERT_NE(traced.run->guest(0).guest_trace(), nullptr);
    EXPECT_EQ(traced.run->mmio_trace_file_name(0), "mmio.csv");
    std::ostringstream out;
    traced.run->write_mmio_trace(0, out);
    const auto rows = csv_rows(out.str());
    ASSERT_GT(rows.size(), 1u);
    EXPECT_EQ(out.str().substr(0, out.str().find('\n')),
              "seq,t_us,rw,offset,register,width_bytes,value");

    std::map<std::string, uint64_t> by_kind;
    uint64_t queue_notify_writes = 0;
    uint64_t pfns = 0;
    uint64_t dma_bytes = 0;
    double last_seq = -1;
    for (size_t i = 1; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size(), 7u) << "row " << i;
        EXPECT_EQ(std::stod(rows[i][0]), last_seq + 1);
        last_seq = std::stod(rows[i][0]);
        const std::string& rw = rows[i][2];
        ++by_kind[rw];
        if (rw == "W" && rows[i][4] == "QueueNotify") {
            ++queue_notify_writes;
        }
        if (rw == "pfn_buffer") {
            pfns += std::stoull(rows[i][6], nullptr, 16);
            EXPECT_EQ(std::stoull(rows[i][5]), 4 * std::stoull(rows[i][6], nullptr, 16));
        }
        if (rw == "dma_read" || rw == "dma_write") {
            dma_bytes += std::stoull(rows[i][5]);
        }
    }
    const GuestSummary& vm = traced.summary.guests[0];
    const models::VirtioMmioCounters& mmio = traced.run->guest(0).transport().counters();
    EXPECT_EQ(vm.pages_inflated, 4096u);
    EXPECT_EQ(vm.pages_deflated, 4096u);
    // Notifies = buffers sent: 16 inflate + 16 deflate + the stats buffers.
    EXPECT_EQ(by_kind["notify"], vm.notifies);
    EXPECT_EQ(by_kind["notify"], 32 + vm.stats_updates);
    EXPECT_EQ(queue_notify_writes, vm.notifies);
    EXPECT_EQ(by_kind["pfn_buffer"], vm.inflate_buffers + vm.deflate_buffers);
    EXPECT_EQ(by_kind["pfn_buffer"], 32u);
    EXPECT_EQ(pfns, 8192u);
    EXPECT_EQ(by_kind["R"], mmio.register_reads);
    EXPECT_EQ(by_kind["W"], mmio.register_writes);
    // Every interrupt the guest took was acknowledged once; config + used-buffer raises.
    EXPECT_EQ(by_kind["irq_ack"], vm.interrupts);
    EXPECT_EQ(by_kind["irq_raise"], vm.used_buffer_interrupts + vm.config_interrupts);
    EXPECT_EQ(dma_bytes, vm.dma_bytes);
}

TEST(Trace, LegacyRowsNameTheLegacyRegisters) {
    TracedRun traced(scenario("legacy", true));
    std::ostringstream out;
    traced.run->write_mmio_trace(0, out);
    const std::string text = out.str();
    EXPECT_NE(text.find(",W,0x40,QueuePFN,4,"), std::string::npos);
    EXPECT_NE(text.find(",W,0x28,GuestPageSize,4,0x1000"), std::string::npos);
    EXPECT_EQ(text.find("QueueReady"), std::string::npos);
    // Legacy Linux (and our driver) write `actual` a byte at a time: 4096 = 0x00001000.
    EXPECT_NE(text.find(",W,0x104,Config.actual,1,0x0\n"), std::string::npos);
    EXPECT_NE(text.find(",W,0x105,Config.actual,1,0x10\n"), std::string::npos);
    EXPECT_NE(text.find(",W,0x107,Config.actual,1,0x0\n"), std::string::npos);
}

TEST(Trace, QueueNamesFollowTheNegotiatedFeatures) {
    // No STATS_VQ: the reporting queue is queue 2, where the stats queue would be.
    TracedRun traced(
        "duration: 2s\n"
        "platform:\n"
        "  balloon: {offered_features: [must_tell_host, page_reporting]}\n"
        "guests:\n"
        "  - name: vm0\n"
        "    ram: 256MiB\n"
        "    driver: {features: [must_tell_host, page_reporting], reporting_delay: 10ms}\n"
        "    workload: {phases: [{kind: allocate, rate: 1GiB/s, level: 128MiB},\n"
        "                        {kind: free, rate: 1GiB/s, level: 0}]}\n"
        "host:\n"
        "  ram: 1GiB\n"
        "  policy: {kind: timeline, timeline: [{at: 10ms, guest: vm0, balloon_pages: 256}]}\n"
        "output: {trace: true, files: [summary.json]}\n");
    ASSERT_EQ(traced.run->guest(0).balloon().reporting_queue(), 2);
    std::ostringstream out;
    traced.run->write_mmio_trace(0, out);
    std::map<std::string, uint64_t> notifies;
    for (const auto& row : csv_rows(out.str())) {
        if (row.size() == 7 && row[2] == "notify") {
            ++notifies[row[4]];
        }
    }
    EXPECT_EQ(notifies["inflateq"], 1u);
    EXPECT_EQ(notifies["reportingq"], 15u);
    EXPECT_EQ(notifies["reportingq"],
              traced.run->guest(0).transport().counters().queue_notifies[2]);
    EXPECT_EQ(notifies.count("statsq"), 0u);
    EXPECT_EQ(notifies.count("queue"), 0u);
}

TEST(Trace, TimelineIsChromeTraceEventJsonWithOneTrackPerRole) {
    TracedRun traced(scenario("modern", true));
    std::ostringstream out;
    traced.run->write_timeline(out);
    test::Json root;
    test::JsonReader reader;
    ASSERT_TRUE(reader.parse(out.str(), root)) << reader.error();
    ASSERT_EQ(root.type, test::Json::Type::kObject);
    ASSERT_TRUE(root.has("traceEvents"));
    EXPECT_EQ(root["displayTimeUnit"].text, "ns");
    const std::vector<test::Json>& events = root["traceEvents"].items;

    std::map<std::pair<int, int>, std::string> track_names;
    std::map<int, std::string> process_names;
    std::map<std::string, uint64_t> spans_by_track;
    uint64_t fill_spans = 0;
    uint64_t leak_spans = 0;
    uint64_t stats_instants = 0;
    uint64_t host_instants = 0;
    for (const test::Json& event : events) {
        ASSERT_EQ(event.type, test::Json::Type::kObject);
        for (const char* key : {"ph", "pid", "tid", "name"}) {
            ASSERT_TRUE(event.has(key)) << key;
        }
        const std::string& ph = event["ph"].text;
        const int pid = static_cast<int>(event["pid"].number);
        const int tid = static_cast<int>(event["tid"].number);
        if (ph == "M") {
            ASSERT_TRUE(event["args"].has("name"));
            if (event["name"].text == "process_name") {
                process_names[pid] = event["args"]["name"].text;
            } else {
                EXPECT_EQ(event["name"].text, "thread_name");
                track_names[{pid, tid}] = event["args"]["name"].text;
            }
            continue;
        }
        ASSERT_TRUE(event.has("ts"));
        EXPECT_GE(event["ts"].number, 0.0);
        EXPECT_LE(event["ts"].number, 300000.0);  // within the 300 ms run, in µs
        const std::string& name = event["name"].text;
        if (ph == "X") {
            ASSERT_TRUE(event.has("dur"));
            EXPECT_GT(event["dur"].number, 0.0);
            ++spans_by_track[track_names[{pid, tid}]];
            fill_spans += name.rfind("fill ", 0) == 0 ? 1 : 0;
            leak_spans += name.rfind("leak ", 0) == 0 ? 1 : 0;
        } else {
            ASSERT_EQ(ph, "i");
            EXPECT_EQ(event["s"].text, "t");
            stats_instants += name == "stats posted" ? 1 : 0;
            host_instants += pid == 0 ? 1 : 0;
        }
    }
    EXPECT_EQ(process_names[0], "host");
    EXPECT_EQ(process_names[1], "guest vm0");
    EXPECT_EQ((track_names[{0, 1}]), "policy and events");
    EXPECT_EQ((track_names[{1, 1}]), "driver");
    EXPECT_EQ((track_names[{1, 2}]), "device");
    EXPECT_EQ((track_names[{1, 3}]), "interrupts");

    const GuestSummary& vm = traced.summary.guests[0];
    EXPECT_EQ(fill_spans, 16u);
    EXPECT_EQ(leak_spans, 16u);
    EXPECT_EQ(spans_by_track["driver"], vm.rounds);
    EXPECT_EQ(spans_by_track["device"], vm.inflate_buffers + vm.deflate_buffers);
    EXPECT_EQ(stats_instants, vm.stats_updates);
    EXPECT_EQ(host_instants, traced.run->recording().events.size());
    EXPECT_EQ(host_instants, 2u);  // the two timeline targets
}

}  // namespace
}  // namespace vbsim::platform
