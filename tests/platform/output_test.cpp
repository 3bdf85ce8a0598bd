#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "platform/report/output_csv.h"
#include "platform/report/output_html.h"
#include "platform/report/output_json.h"
#include "platform/report/svg_chart.h"
#include "platform/run/recording.h"
#include "platform/text/quantity_format.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_MS;
using sc_core::SC_SEC;
using sc_core::sc_time;

constexpr uint64_t kGiB = uint64_t{1} << 30;

GuestSample guest_sample(uint64_t base) {
    GuestSample g;
    g.target_pages = base + 1;
    g.actual_pages = base + 2;
    g.ballooned_pages = base + 3;
    g.free_bytes = base + 4;
    g.available_bytes = base + 5;
    g.total_bytes = base + 6;
    g.demand_bytes = base + 7;
    g.workload_bytes = base + 8;
    g.resident_bytes = base + 9;
    g.oom_kills = base + 10;
    g.oom_deferred = base + 11;
    g.alloc_stalls = base + 12;
    g.interrupts = base + 13;
    g.notifies = base + 14;
    g.dma_bytes = base + 15;
    g.bus_transactions = base + 16;
    return g;
}

std::string csv_of(const Recording& recording) {
    std::ostringstream out;
    write_timeseries_csv(recording, out);
    return out.str();
}

std::string json_of(const RunSummary& summary) {
    std::ostringstream out;
    write_summary_json(summary, out);
    return out.str();
}

std::string html_of(const Recording& recording, const RunSummary& summary) {
    std::ostringstream out;
    write_report_html(recording, summary, out);
    return out.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + needle.size())) {
        ++count;
    }
    return count;
}

std::string guest_header(const std::string& name) {
    std::string header;
    for (const char* field : {"target_pages", "actual_pages", "ballooned_pages", "free_bytes",
                              "available_bytes", "total_bytes", "demand_bytes", "workload_bytes",
                              "resident_bytes", "oom_kills", "oom_deferred", "alloc_stalls",
                              "interrupts", "notifies", "dma_bytes", "bus_transactions"}) {
        header += "," + name + "." + field;
    }
    return header;
}

TEST(OutputCsv, TimesPrintAsNineDecimalSeconds) {
    EXPECT_EQ(format_seconds(sc_core::SC_ZERO_TIME), "0.000000000");
    EXPECT_EQ(format_seconds(sc_time(12.5, SC_MS)), "0.012500000");
    EXPECT_EQ(format_seconds(sc_time(3600, SC_SEC) + sc_time(7, sc_core::SC_NS)), "3600.000000007");
    EXPECT_EQ(time_ns(sc_time(2, sc_core::SC_US)), 2000u);
}

TEST(QuantityFormat, SecondsBytesHexAndNumbers) {
    EXPECT_EQ(time_in_seconds(sc_time(12.5, SC_MS)), 0.0125);
    EXPECT_EQ(format_seconds_brief(sc_time(12.5, SC_MS)), "0.0125 s");
    EXPECT_EQ(format_seconds_brief(sc_time(1234567, SC_MS)), "1234.57 s");
    EXPECT_EQ(format_micros(12'500'001), "12.500001");
    EXPECT_EQ(format_micros(999), "0.000999");
    EXPECT_EQ(format_fixed(1.25, 1), "1.2");  // round half to even, as std::to_chars does
    EXPECT_EQ(format_trimmed(1.500, 3), "1.5");
    EXPECT_EQ(format_trimmed(-0.0001, 2), "0");
    EXPECT_EQ(format_significant(768.4), "768");
    EXPECT_EQ(format_significant(12.34), "12.3");
    EXPECT_EQ(format_significant(0.256), "0.26");
    EXPECT_EQ(format_exact_number(134217728), "134217728");
    EXPECT_EQ(format_exact_number(0.5), "0.5");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(84148224), "80.2 MiB");  // 80.25: to even
    EXPECT_EQ(format_bytes(-1536.0 * 1024 * 1024), "-1.5 GiB");
    EXPECT_EQ(format_bytes(2048.0 * 1024 * 1024 * 1024 * 1024 * 1024), "2048 PiB");
    EXPECT_EQ(format_bytes_4_digits(84148224), "80.25 MiB");
    EXPECT_EQ(format_hex(0), "0x0");
    EXPECT_EQ(format_hex(0xfffff000u), "0xfffff000");
}

TEST(OutputCsv, HeaderThenOneRowPerSample) {
    Recording recording;
    recording.guest_names = {"vm0", "vm1"};
    Sample first;
    first.time = sc_core::SC_ZERO_TIME;
    first.host_free_bytes = 1000;
    first.guests = {guest_sample(0), guest_sample(100)};
    Sample second;
    second.time = sc_time(1.5, SC_MS);
    second.host_free_bytes = -4096;
    second.guests = {guest_sample(200), guest_sample(300)};
    recording.samples = {first, second};

    const std::string expected =
        "time_s,host_free_bytes" + guest_header("vm0") + guest_header("vm1") +
        "\n"
        "0.000000000,1000,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,"
        "101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116\n"
        "0.001500000,-4096,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,"
        "301,302,303,304,305,306,307,308,309,310,311,312,313,314,315,316\n";
    EXPECT_EQ(csv_of(recording), expected);
}

TEST(OutputCsv, QuotesAwkwardNamesAndKeepsColumnsForMissingGuests) {
    Recording recording;
    recording.guest_names = {"a,\"b\""};
    Sample sample;  // no guest data at all
    recording.samples = {sample};
    const std::string csv = csv_of(recording);
    const std::string header_start = "time_s,host_free_bytes,\"a,\"\"b\"\".target_pages\",";
    EXPECT_EQ(csv.substr(0, header_start.size()), header_start);
    EXPECT_EQ(csv.substr(csv.find('\n') + 1), "0.000000000,0" + std::string(16, ',') + "\n");
}

TEST(OutputCsv, EmptyRecordingIsJustTheHeader) {
    EXPECT_EQ(csv_of(Recording{}), "time_s,host_free_bytes\n");
}

RunSummary small_summary() {
    RunSummary summary;
    summary.scenario = "tiny";
    summary.description = "one guest";
    summary.seed = 7;
    summary.simulated_time = sc_time(1.5, SC_SEC);
    summary.host_ram_bytes = 8 * kGiB;
    summary.host_free_min_bytes = -1048576;
    summary.host_free_min_at = sc_time(250, SC_MS);
    summary.host_free_final_bytes = 4096;
    summary.overcommit_ratio = 1.25;

    GuestSummary guest;
    guest.name = "vm0";
    guest.ram_bytes = kGiB;
    guest.negotiated_features = "MUST_TELL_HOST STATS_VQ";
    guest.final_target_pages = 131072;
    guest.final_actual_pages = 131072;
    guest.final_ballooned_pages = 131072;
    guest.pages_inflated = 131072;
    guest.inflate_buffers = 512;
    guest.inflate_rate_pages_per_s = 1234567.0;
    guest.deflate_rate_pages_per_s = std::numeric_limits<double>::quiet_NaN();
    TargetEpisode reached;
    reached.set_at = sc_time(10, SC_MS);
    reached.to_pages = 131072;
    reached.reached = true;
    reached.reached_at = sc_time(110, SC_MS);
    reached.split.allocation = sc_time(6500, sc_core::SC_US);
    reached.split.translation = sc_time(6, SC_MS);
    reached.split.sending = sc_time(68, SC_MS);
    reached.split.host_work = sc_time(19, SC_MS);
    reached.split.retry_wait = sc_time(0, SC_MS);
    reached.split.interrupt_wait = sc_time(250, sc_core::SC_US);
    reached.split.other = sc_time(250, sc_core::SC_US);
    TargetEpisode pending;
    pending.set_at = sc_time(1, SC_SEC);
    pending.from_pages = 131072;
    pending.to_pages = 65536;
    guest.episodes = {reached, pending};
    guest.notifies = 520;
    guest.interrupts = 519;
    guest.config_changes = 2;
    guest.bus_transactions = 99999;
    guest.bus_utilisation = 0.125;
    guest.dma_bytes = 524288;
    guest.inflate_notifies = 512;
    guest.stats_notifies = 8;
    guest.used_buffer_interrupts = 517;
    guest.config_interrupts = 2;
    guest.inflate_pfns_per_buffer = {{256, 511}, {64, 1}};
    guest.early_notifies = 1;
    guest.driver_state = "running";
    summary.guests = {guest};

    summary.checks = {{"reaches target", true, "100 ms", "< 200 ms"}};
    summary.has_profile = true;
    summary.wall_seconds = 0.5;
    summary.pages_per_wall_second = std::numeric_limits<double>::infinity();
    summary.transactions_per_wall_second = 200000;
    return summary;
}

TEST(OutputJson, ExactTextForASmallSummary) {
    const std::string expected = R"({
  "scenario": "tiny",
  "description": "one guest",
  "seed": 7,
  "simulated_time_s": 1.500000000,
  "host_ram_bytes": 8589934592,
  "host_free_min_bytes": -1048576,
  "host_free_min_at_s": 0.250000000,
  "host_free_final_bytes": 4096,
  "overcommit_ratio": 1.25,
  "all_checks_passed": true,
  "guests": [
    {
      "name": "vm0",
      "ram_bytes": 1073741824,
      "page_size": 4096,
      "transport_version": 2,
      "negotiated_features": "MUST_TELL_HOST STATS_VQ",
      "final_target_pages": 131072,
      "final_actual_pages": 131072,
      "final_ballooned_pages": 131072,
      "pages_inflated": 131072,
      "pages_deflated": 0,
      "inflate_buffers": 512,
      "deflate_buffers": 0,
      "inflate_rate_pages_per_s": 1234567,
      "deflate_rate_pages_per_s": null,
      "episodes": [
        {
          "set_at_s": 0.010000000,
          "from_pages": 0,
          "to_pages": 131072,
          "reached": true,
          "reached_at_s": 0.110000000,
          "time_to_target_s": 0.100000000,
          "time_split_s": {
            "allocation": 0.006500000,
            "translation": 0.006000000,
            "sending": 0.068000000,
            "host_madvise": 0.019000000,
            "retry_wait": 0.000000000,
            "interrupt_wait": 0.000250000,
            "other": 0.000250000
          }
        },
        {
          "set_at_s": 1.000000000,
          "from_pages": 131072,
          "to_pages": 65536,
          "reached": false,
          "reached_at_s": null,
          "time_to_target_s": null,
          "time_split_s": {
            "allocation": 0.000000000,
            "translation": 0.000000000,
            "sending": 0.000000000,
            "host_madvise": 0.000000000,
            "retry_wait": 0.000000000,
            "interrupt_wait": 0.000000000,
            "other": 0.000000000
          }
        }
      ],
      "notifies": 520,
      "interrupts": 519,
      "config_changes": 2,
      "bus_transactions": 99999,
      "bus_utilisation": 0.125,
      "dma_bytes": 524288,
      "oom_kills": 0,
      "oom_deferred": 0,
      "oom_deflations": 0,
      "alloc_stalls": 0,
      "balloon_alloc_failures": 0,
      "retries": 0,
      "stats_updates": 0,
      "actual_writes": 0,
      "rounds": 0,
      "invalid_pfns": 0,
      "needs_reset_events": 0,
      "inflate_notifies": 512,
      "deflate_notifies": 0,
      "stats_notifies": 8,
      "used_buffer_interrupts": 517,
      "config_interrupts": 2,
      "inflate_pfns_per_buffer": {
        "64": 1,
        "256": 511
      },
      "deflate_pfns_per_buffer": {},
      "guest_errors": 0,
      "early_notifies": 1,
      "driver_state": "running"
    }
  ],
  "checks": [
    {
      "name": "reaches target",
      "passed": true,
      "measured": "100 ms",
      "bound": "< 200 ms"
    }
  ],
  "profile": {
    "wall_seconds": 0.5,
    "pages_per_wall_second": null,
    "transactions_per_wall_second": 200000
  }
}
)";
    EXPECT_EQ(json_of(small_summary()), expected);
}

TEST(OutputJson, EscapesStringsAndOmitsProfileWithoutIt) {
    RunSummary summary;
    summary.scenario = std::string("say \"hi\"\nback\\slash\ttab\x01\x1f") + '\0' + "end";
    summary.description = "caf\xc3\xa9";  // UTF-8 passes through
    summary.overcommit_ratio = -std::numeric_limits<double>::infinity();
    summary.checks = {{"no \"OOM\"", false, "2 kills", "== 0"}};
    const std::string expected = R"({
  "scenario": "say \"hi\"\nback\\slash\ttab\u0001\u001f\u0000end",
  "description": "caf)"
                                 "\xc3\xa9"
                                 R"(",
  "seed": 0,
  "simulated_time_s": 0.000000000,
  "host_ram_bytes": 0,
  "host_free_min_bytes": 0,
  "host_free_min_at_s": 0.000000000,
  "host_free_final_bytes": 0,
  "overcommit_ratio": null,
  "all_checks_passed": false,
  "guests": [],
  "checks": [
    {
      "name": "no \"OOM\"",
      "passed": false,
      "measured": "2 kills",
      "bound": "== 0"
    }
  ]
}
)";
    EXPECT_EQ(json_of(summary), expected);
}

// Two guests ballooning in and out, with a workload that spikes once: enough to exercise every
// plot and table.
Recording synthetic_recording(std::size_t samples) {
    Recording recording;
    recording.guest_names = {"vm0", "<b>vm1</b>"};
    recording.guest_ram_bytes = {kGiB, 2 * kGiB};
    recording.host_ram_bytes = 2 * kGiB;
    for (std::size_t i = 0; i < samples; ++i) {
        Sample sample;
        sample.time = sc_time(static_cast<double>(i) * 100, sc_core::SC_US);
        const double phase = static_cast<double>(i) / static_cast<double>(samples);
        sample.host_free_bytes = static_cast<int64_t>((0.5 - phase) * static_cast<double>(kGiB));
        for (std::size_t g = 0; g < 2; ++g) {
            GuestSample guest;
            const uint64_t pages = (g + 1) * kGiB / 4096;
            guest.target_pages = phase < 0.5 ? pages / 2 : pages / 4;
            guest.actual_pages = static_cast<uint64_t>(static_cast<double>(guest.target_pages) *
                                                       (1 - std::exp(-phase * 40)));
            guest.ballooned_pages = guest.actual_pages;
            guest.total_bytes = (g + 1) * kGiB;
            guest.workload_bytes = (i * 7919) % (kGiB / 8);  // noisy
            guest.demand_bytes = kGiB / 8;
            guest.free_bytes = guest.total_bytes - guest.actual_pages * 4096 - guest.workload_bytes;
            guest.available_bytes = guest.free_bytes + kGiB / 16;
            guest.oom_kills = i > samples / 2 ? 1 : 0;
            sample.guests.push_back(guest);
        }
        recording.samples.push_back(sample);
    }
    recording.samples[samples / 3].guests[0].workload_bytes = kGiB;  // the one spike
    recording.events = {{sc_time(1, SC_MS), "vm0", "set target <131072> pages"},
                        {sc_time(2, SC_MS), "", "host pressure"}};
    return recording;
}

RunSummary synthetic_summary() {
    RunSummary summary = small_summary();
    summary.has_profile = false;
    GuestSummary second = summary.guests[0];
    second.name = "<b>vm1</b>";
    second.oom_kills = 1;
    summary.guests.push_back(second);
    summary.checks.push_back({"no OOM kills in vm1", false, "1 kill", "== 0"});
    return summary;
}

TEST(OutputHtml, OnePlotPerSeriesGroupAndBothTables) {
    const std::string html = html_of(synthetic_recording(500), synthetic_summary());
    // Host free memory, then per guest: balloon, guest memory, workload.
    EXPECT_EQ(count_of(html, "<svg"), 1u + 2 * 3);
    EXPECT_EQ(count_of(html, "</svg>"), 1u + 2 * 3);
    EXPECT_NE(html.find("<td>reaches target</td><td><span class=\"badge pass\">PASS</span>"),
              std::string::npos);
    EXPECT_NE(html.find("<tr class=\"fail\"><td>no OOM kills in vm1</td><td><span class=\"badge "
                        "fail\">FAIL</span></td><td>1 kill</td><td>== 0</td></tr>"),
              std::string::npos);
    EXPECT_NE(html.find("1 of 2 checks FAILED"), std::string::npos);
    EXPECT_NE(html.find("set target &lt;131072&gt; pages"), std::string::npos);
    EXPECT_EQ(html.find("<b>vm1</b>"), std::string::npos);  // names are escaped
    EXPECT_NE(html.find("&lt;b&gt;vm1&lt;/b&gt;"), std::string::npos);
    EXPECT_NE(html.find(">512 MiB</text>"), std::string::npos);  // human tick labels
    EXPECT_NE(html.find(">20 ms</text>"), std::string::npos);
    EXPECT_NE(html.find("<h1>tiny</h1>"), std::string::npos);
    EXPECT_NE(html.find("seed <b>7</b>"), std::string::npos);
}

TEST(OutputHtml, SelfContained) {
    std::string html = html_of(synthetic_recording(500), synthetic_summary());
    const std::string xmlns = "xmlns=\"http://www.w3.org/2000/svg\"";
    for (std::size_t at = html.find(xmlns); at != std::string::npos; at = html.find(xmlns)) {
        html.erase(at, xmlns.size());
    }
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("url("), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);
}

constexpr const char* kHtmlOutVariable = "VBSIM_TEST_HTML_OUT";

// Not a test of its own: the page IdenticalInputsGiveIdenticalBytesInAnotherProcess compares
// with, written by a second process (a fresh address layout, heap and static state).
TEST(OutputHtml, WritePageForAnotherProcess) {
    const char* path = std::getenv(kHtmlOutVariable);
    if (path == nullptr) {
        GTEST_SKIP() << "run by IdenticalInputsGiveIdenticalBytesInAnotherProcess";
    }
    std::ofstream out(path, std::ios::binary);
    write_report_html(synthetic_recording(3000), synthetic_summary(), out);
    ASSERT_TRUE(out.good());
}

// The page depends on its inputs only: not on addresses, allocation order, time or anything
// a process keeps between calls. Here inputs built in a different order after other
// allocations, there the same page written by another run of this binary.
TEST(OutputHtml, IdenticalInputsGiveIdenticalBytesInAnotherProcess) {
    std::vector<std::string> churn(1000, std::string(100, 'x'));  // moves later allocations
    const RunSummary summary = synthetic_summary();
    const Recording recording = synthetic_recording(3000);
    const std::string here = html_of(recording, summary);

    const std::string path =
        ::testing::TempDir() + "vbsim-output-test-" + std::to_string(::getpid()) + ".html";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::setenv(kHtmlOutVariable, path.c_str(), 1);
        ::setenv("VBSIM_GTEST_ONE_PROCESS", "1", 1);  // tests/support/gtest_sc_main.cpp
        char filter[] = "--gtest_filter=OutputHtml.WritePageForAnotherProcess";
        char* argv[] = {filter, filter, nullptr};
        ::execv("/proc/self/exe", argv);
        ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream read;
    read << in.rdbuf();
    const std::string there = read.str();
    std::remove(path.c_str());
    ASSERT_GT(there.size(), 10000u);
    EXPECT_TRUE(here == there) << "the pages differ (" << here.size() << " and " << there.size()
                               << " bytes)";
}

TEST(OutputHtml, LargeRunsStaySmallAndKeepSpikes) {
    const std::string html = html_of(synthetic_recording(100000), synthetic_summary());
    EXPECT_LT(html.size(), 150u * 1024);  // ~70 KB today; unreduced, megabytes
    // No polyline carries more than the downsampling limit of points.
    for (std::size_t at = html.find("points=\""); at != std::string::npos;
         at = html.find("points=\"", at + 1)) {
        const std::size_t end = html.find('"', at + 8);
        EXPECT_LE(count_of(html.substr(at, end - at), ","), 1000u);
    }
    // The single-sample spike of vm0's workload reaches the top of its 1 GiB axis (y = 30).
    const std::size_t held = html.find("stroke=\"#e377c2\"");
    ASSERT_NE(held, std::string::npos);
    const std::size_t begin = html.find("points=\"", held);
    const std::string points = html.substr(begin, html.find('"', begin + 8) - begin);
    EXPECT_NE(points.find(",30.0 "), std::string::npos);
}

TEST(SvgChart, AHeldValueIsTwoPointsAtTheTopOfItsAxis) {
    Plot plot;
    plot.title = "held <1 MiB>";
    plot.series.push_back({"target", "#1f77b4", "", 2, {1048576, 1048576, 1048576}});
    std::ostringstream out;
    write_plot(out, {0, 0.5, 1}, plot);
    const std::string svg = out.str();
    // x: 68 + t / 1 s * 518; y: 1 MiB is the top (30) of a 0..1 MiB axis in 256 KiB steps.
    EXPECT_NE(svg.find("points=\"68.0,30.0 586.0,30.0\""), std::string::npos) << svg;
    EXPECT_NE(svg.find(">1 MiB</text>"), std::string::npos);
    EXPECT_NE(svg.find(">768 KiB</text>"), std::string::npos);
    EXPECT_NE(svg.find(">400 ms</text>"), std::string::npos);  // 1-2-5 steps: 200 ms
    EXPECT_NE(svg.find("held &lt;1 MiB&gt;"), std::string::npos);
    EXPECT_NE(svg.find(">target</text>"), std::string::npos);
    EXPECT_EQ(count_of(svg, "<polyline"), 1u);

    plot.series[0].values = {0, 1048576};  // one value short of the times: not drawn
    std::ostringstream short_out;
    write_plot(short_out, {0, 0.5, 1}, plot);
    EXPECT_EQ(count_of(short_out.str(), "<polyline"), 0u);
}

TEST(OutputHtml, EmptyRunStillRenders) {
    const std::string html = html_of(Recording{}, RunSummary{});
    EXPECT_EQ(count_of(html, "<svg"), 1u);
    EXPECT_NE(html.find("no samples recorded"), std::string::npos);
    EXPECT_NE(html.find("No checks in this scenario"), std::string::npos);
    EXPECT_NE(html.find("</html>\n"), std::string::npos);
}

}  // namespace
}  // namespace vbsim::platform
