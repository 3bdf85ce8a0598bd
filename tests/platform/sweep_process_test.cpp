// `vbsim sweep` as a user meets it: variants run in a local pool into their own folders,
// sweep.csv and sweep.html gathered from them, a re-run that skips what is complete, a failed
// variant that does not stop the others, one variant re-run alone with the same bytes.

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/vbsim_process.h"

namespace {

namespace fs = std::filesystem;
using namespace vbsim::test_support;

// Two transport costs × two guest sizes. 16 MiB is 4096 pages, 16 buffers: at 20 ms a buffer
// the target is reached after the check's 150 ms, so those variants fail their check.
const char* const kSweep = R"(name: small
base: base.yaml
grid:
  platform.balloon.inflate.transport_cost: [100us, 20ms]
  guests[0].ram: [64MiB, 96MiB]
)";

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> cells;
        std::istringstream fields(line);
        for (std::string cell; std::getline(fields, cell, ',');) {
            cells.push_back(cell);
        }
        if (!line.empty() && line.back() == ',') {
            cells.emplace_back();
        }
        rows.push_back(cells);
    }
    return rows;
}

std::string column(const std::vector<std::vector<std::string>>& rows, size_t row,
                   const std::string& name) {
    for (size_t c = 0; c < rows[0].size(); ++c) {
        if (rows[0][c] == name) {
            return rows[row][c];
        }
    }
    ADD_FAILURE() << "no column " << name;
    return "";
}

// The CSV without its wall_seconds column, which is the only one that may differ.
std::string without_wall_time(const std::string& csv) {
    std::string out;
    for (const std::vector<std::string>& row : csv_rows(csv)) {
        for (size_t c = 0; c + 1 < row.size(); ++c) {
            out += row[c] + ",";
        }
        out += "\n";
    }
    return out;
}

class SweepProcess : public VbsimProcess {
  protected:
    void SetUp() override {
        VbsimProcess::SetUp();
        scenario("base.yaml", small_scenario("base"));
        sweep_ = scenario("sweep.yaml", kSweep);
    }
    fs::path sweep_;
};

TEST_F(SweepProcess, RunsEveryVariantIntoItsFolderAndGathersTheirSummaries) {
    const fs::path out = dir_ / "out";
    const Outcome outcome = run({"sweep", "run", sweep_, "--out", out, "--jobs", "2"});
    EXPECT_EQ(outcome.status, 1) << outcome.err;  // two variants fail their check
    EXPECT_EQ(outcome.out,
              out.string() + "/sweep.csv: 4 variant(s), 0 failed, 2 failed a check, 0 not run\n");
    // Each is named with its log (where its FAIL lines are).
    for (const char* name :
         {"2-transport_cost_20ms-ram_64MiB", "3-transport_cost_20ms-ram_96MiB"}) {
        const std::string log = (out / "logs" / (std::string(name) + ".stderr")).string();
        EXPECT_NE(outcome.err.find("vbsim sweep: variant " + std::string(name) +
                                   ": a check failed; its stderr: " + log + "\n"),
                  std::string::npos)
            << outcome.err;
        EXPECT_NE(read_file(log).find("FAIL"), std::string::npos);
    }
    EXPECT_EQ(names_in(out / "variants"),
              (std::vector<std::string>{
                  "0-transport_cost_100us-ram_64MiB", "1-transport_cost_100us-ram_96MiB",
                  "2-transport_cost_20ms-ram_64MiB", "3-transport_cost_20ms-ram_96MiB"}));
    const auto rows = csv_rows(read_file(out / "sweep.csv"));
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0][3], "platform.balloon.inflate.transport_cost");
    EXPECT_EQ(rows[0][4], "guests[0].ram");
    EXPECT_EQ(column(rows, 1, "status"), "passed");
    EXPECT_EQ(column(rows, 3, "status"), "check_failed");
    EXPECT_EQ(column(rows, 3, "exit_status"), "1");
    // 4096 pages at 100 us a buffer, in under 5 ms; at 20 ms a buffer, 9 buffers of 256 pages
    // by the end of the 200 ms run (the first at 10 ms), the target not reached.
    EXPECT_EQ(column(rows, 1, "pages_inflated"), "4096");
    EXPECT_EQ(column(rows, 1, "episodes_not_reached"), "0");
    EXPECT_LT(std::stod(column(rows, 1, "time_to_target_max_s")), 0.005);
    EXPECT_EQ(column(rows, 3, "pages_inflated"), "2304");
    EXPECT_EQ(column(rows, 3, "episodes_not_reached"), "1");
    EXPECT_EQ(column(rows, 3, "time_to_target_max_s"), "");
    EXPECT_EQ(column(rows, 3, "checks_failed"), "1");
    // Each variant's summary says its own name and the seed the plan gave it.
    const std::string summary =
        read_file(out / "variants" / column(rows, 2, "name") / "summary.json");
    EXPECT_NE(summary.find("\"scenario\": \"1-transport_cost_100us-ram_96MiB\""),
              std::string::npos);
    EXPECT_NE(summary.find("\"seed\": " + column(rows, 2, "seed") + ","), std::string::npos);
    const std::string html = read_file(out / "sweep.html");
    EXPECT_NE(html.find("time_to_target_max_s vs platform.balloon.inflate.transport_cost"),
              std::string::npos);
    EXPECT_NE(html.find("guests[0].ram=96MiB"), std::string::npos);  // one line per size
    // The value axes read as rounded numbers (at most two decimals), not 1.7668 or 165915.75.
    const std::regex tick_label("text-anchor=\"end\">([^<]*)</text>");
    const std::regex rounded("-?[0-9]+(\\.[0-9]{1,2})?");
    size_t labels = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), tick_label);
         it != std::sregex_iterator(); ++it, ++labels) {
        EXPECT_TRUE(std::regex_match((*it)[1].str(), rounded)) << (*it)[1].str();
    }
    EXPECT_GT(labels, 20u);
}

// A stop signal to the sweep goes on to the running variant, which removes its half-written
// folder; the sweep ends with the same signal and no variant looks complete.
TEST_F(SweepProcess, AStoppedSweepPassesTheSignalToItsVariants) {
    const fs::path out = dir_ / "out";
    const Outcome stopped = run({"sweep", "run", sweep_, "--out", out, "--jobs", "1"},
                                {{"VBSIM_TEST_SIGNAL_AFTER", "summary.json:15:parent"}});
    EXPECT_FALSE(stopped.exited);
    EXPECT_EQ(stopped.signal, SIGTERM) << stopped.err;
    EXPECT_TRUE(!fs::exists(out / "variants") || names_in(out / "variants").empty());
    EXPECT_FALSE(fs::exists(out / "sweep.csv"));
}

TEST_F(SweepProcess, AReRunSkipsCompleteVariantsAndRedoesTheOthers) {
    const fs::path out = dir_ / "out";
    ASSERT_EQ(run({"sweep", "run", sweep_, "--out", out}).status, 1);
    const std::string first_csv = read_file(out / "sweep.csv");
    const auto states = contents(out / "state");
    fs::remove_all(out / "variants" / "2-transport_cost_20ms-ram_64MiB");

    const Outcome rerun = run({"sweep", "run", sweep_, "--out", out});
    EXPECT_EQ(rerun.status, 1);
    EXPECT_NE(rerun.err.find("vbsim sweep: 1 variant(s) run, 3 already complete (not run again)\n"),
              std::string::npos)
        << rerun.err;
    const auto again = contents(out / "state");
    // Kept variants keep their state (wall time included): they did not run again.
    for (const char* kept : {"0-transport_cost_100us-ram_64MiB", "1-transport_cost_100us-ram_96MiB",
                             "3-transport_cost_20ms-ram_96MiB"}) {
        EXPECT_EQ(again.at(kept), states.at(kept)) << kept;
    }
    EXPECT_TRUE(fs::exists(out / "variants" / "2-transport_cost_20ms-ram_64MiB" / "summary.json"));
    EXPECT_EQ(without_wall_time(read_file(out / "sweep.csv")), without_wall_time(first_csv));

    // A changed base scenario makes every variant stale.
    scenario("base.yaml", small_scenario("base") + "seed: 3\n");
    ASSERT_EQ(run({"sweep", "run", sweep_, "--out", out}).status, 1);
    for (const auto& [name, state] : contents(out / "state")) {
        EXPECT_NE(state.substr(0, 16), states.at(name).substr(0, 16)) << name;
    }
}

TEST_F(SweepProcess, AnotherSweepIsRefusedAnEditedOneNamesTheVariantFoldersItNoLongerHas) {
    const fs::path out = dir_ / "out";
    const Outcome first = run({"sweep", "run", sweep_, "--out", out});
    ASSERT_EQ(first.status, 1);
    EXPECT_NE(first.err.find("vbsim sweep: 4 variant(s) run, 0 already complete"),
              std::string::npos)
        << first.err;
    const auto variants = names_in(out / "variants");

    const fs::path other = scenario("other.yaml", R"(name: other
base: base.yaml
grid:
  guests[0].ram: [80MiB]
)");
    const Outcome refused = run({"sweep", "run", other, "--out", out});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find(out.string() + " holds the results of sweep 'small', not 'other'"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(names_in(out / "variants"), variants);
    EXPECT_NE(read_file(out / "plan.yaml").find("sweep: small"), std::string::npos);

    // The same sweep, edited down to one transport cost: its other variants' folders stay (nothing
    // is deleted), are named on stderr and are not in the table.
    scenario("sweep.yaml", R"(name: small
base: base.yaml
grid:
  platform.balloon.inflate.transport_cost: [100us]
  guests[0].ram: [64MiB, 96MiB]
)");
    const Outcome edited = run({"sweep", "run", sweep_, "--out", out});
    EXPECT_EQ(edited.status, 0) << edited.err;
    EXPECT_NE(edited.err.find("vbsim sweep: 0 variant(s) run, 2 already complete"),
              std::string::npos)
        << edited.err;
    EXPECT_NE(edited.err.find("2 folder(s) in " + out.string() +
                              "/variants are not variants of this plan"),
              std::string::npos)
        << edited.err;
    EXPECT_EQ(names_in(out / "variants"), variants);
    EXPECT_EQ(csv_rows(read_file(out / "sweep.csv")).size(), 3u);
}

TEST_F(SweepProcess, AFailedVariantDoesNotStopTheOthersAndKeepsItsStderr) {
    const fs::path out = dir_ / "out";
    // A file where variant 1's folder would go: that variant cannot write its outputs.
    fs::create_directories(out / "variants");
    write_file(out / "plan.yaml", "");
    write_file(out / "variants" / "1-transport_cost_100us-ram_96MiB", "in the way");
    const Outcome outcome = run({"sweep", "run", sweep_, "--out", out, "--jobs", "1"});
    EXPECT_EQ(outcome.status, 2);
    EXPECT_NE(outcome.err.find("variant 1-transport_cost_100us-ram_96MiB failed (exit status 2)"),
              std::string::npos)
        << outcome.err;
    const auto rows = csv_rows(read_file(out / "sweep.csv"));
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(column(rows, 1, "status"), "passed");
    EXPECT_EQ(column(rows, 2, "status"), "failed");
    EXPECT_EQ(column(rows, 2, "pages_inflated"), "");
    EXPECT_EQ(column(rows, 4, "status"), "check_failed");
    const std::string log = read_file(out / "logs" / "1-transport_cost_100us-ram_96MiB.stderr");
    EXPECT_NE(log.find("1-transport_cost_100us-ram_96MiB"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(out / "logs" / "0-transport_cost_100us-ram_64MiB.stderr"));
}

TEST_F(SweepProcess, OneVariantReRunAloneGivesTheSameBytes) {
    ASSERT_EQ(run({"sweep", "run", sweep_, "--out", dir_ / "all"}).status, 1);
    EXPECT_EQ(run({"sweep", "run", sweep_, "--out", dir_ / "one", "--only", "2"}).status, 1);
    EXPECT_EQ(names_in(dir_ / "one" / "variants"),
              (std::vector<std::string>{"2-transport_cost_20ms-ram_64MiB"}));
    const fs::path variant = fs::path("variants") / "2-transport_cost_20ms-ram_64MiB";
    EXPECT_EQ(contents(dir_ / "one" / variant), contents(dir_ / "all" / variant));
    const auto rows = csv_rows(read_file(dir_ / "one" / "sweep.csv"));
    EXPECT_EQ(column(rows, 1, "status"), "not_run");
    EXPECT_EQ(column(rows, 3, "status"), "check_failed");

    const Outcome missing = run({"sweep", "run", sweep_, "--out", dir_ / "x", "--only", "9"});
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find("--only 9: no such variant"), std::string::npos);
}

TEST_F(SweepProcess, CollectRebuildsTheSameResultFiles) {
    const fs::path out = dir_ / "out";
    ASSERT_EQ(run({"sweep", "run", sweep_, "--out", out, "--quiet"}).status, 1);
    const std::string csv = read_file(out / "sweep.csv");
    const std::string html = read_file(out / "sweep.html");
    fs::remove(out / "sweep.csv");
    fs::remove(out / "sweep.html");
    EXPECT_EQ(run({"sweep", "collect", out, "--quiet"}).status, 1);
    EXPECT_EQ(read_file(out / "sweep.csv"), csv);
    EXPECT_EQ(read_file(out / "sweep.html"), html);

    const Outcome not_a_sweep = run({"sweep", "collect", dir_});
    EXPECT_EQ(not_a_sweep.status, 2);
    EXPECT_NE(not_a_sweep.err.find("is not a sweep folder"), std::string::npos);
}

TEST_F(SweepProcess, CheckCountsTheVariantsAndRunsNothing) {
    scenario("sweep.yaml", std::string(kSweep) +
                               "exclude:\n  - guests[0].ram: 96MiB\n"
                               "    platform.balloon.inflate.transport_cost: 20ms\n");
    const Outcome outcome = run({"sweep", "check", sweep_});
    EXPECT_EQ(outcome.status, 0) << outcome.err;
    EXPECT_EQ(outcome.out, sweep_.string() + ": ok (3 variant(s) of 4, 1 excluded)\n");

    scenario("sweep.yaml", "base: base.yaml\ngrid:\n  guests[0].ram: [64MiB, x]\n");
    const Outcome bad = run({"sweep", "check", sweep_});
    EXPECT_EQ(bad.status, 2);
    EXPECT_EQ(bad.err.rfind(sweep_.string() + ":3:26: guests[0].ram: ", 0), 0u) << bad.err;
}

TEST_F(SweepProcess, HostSwapFiguresAreColumnsToo) {
    // configs/host-swap.yaml swaps on a 1 GiB host; on a 2 GiB host nothing is swapped.
    scenario("swap.yaml", "base: " + std::string(VBSIM_CONFIGS) +
                              "/host-swap.yaml\ngrid:\n  host.ram: [1GiB, 2GiB]\n");
    const fs::path out = dir_ / "out";
    const Outcome outcome = run({"sweep", "run", dir_ / "swap.yaml", "--out", out, "--quiet"});
    const auto rows = csv_rows(read_file(out / "sweep.csv"));
    ASSERT_EQ(rows.size(), 3u) << outcome.err;
    const std::string summary =
        read_file(out / "variants" / column(rows, 1, "name") / "summary.json");
    EXPECT_GT(std::stoll(column(rows, 1, "host_swap_in_bytes")), 0);
    EXPECT_NE(summary.find("\"host_swap_in_bytes\": " + column(rows, 1, "host_swap_in_bytes")),
              std::string::npos);
    EXPECT_GT(std::stoll(column(rows, 1, "host_swap_max_used_bytes")), 0);
    EXPECT_NE(column(rows, 1, "host_swap_stall_s"), "0.000000000");
    EXPECT_EQ(column(rows, 2, "host_swap_in_bytes"), "0");
    EXPECT_EQ(column(rows, 2, "host_swap_out_bytes"), "0");
    EXPECT_EQ(column(rows, 2, "host_oom_kills"), "0");
}

TEST_F(SweepProcess, ASeedsListIsOneBaseSeedColumnBesideEachVariantsOwnSeed) {
    const fs::path sweep = scenario("seeds.yaml", "base: base.yaml\nseeds: [11, 12]\n");
    const fs::path out = dir_ / "out";
    ASSERT_EQ(run({"sweep", "run", sweep, "--out", out, "--quiet"}).status, 0);
    const auto rows = csv_rows(read_file(out / "sweep.csv"));
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(std::count(rows[0].begin(), rows[0].end(), "seed"), 1);
    EXPECT_EQ(column(rows, 1, "base_seed"), "11");
    EXPECT_EQ(column(rows, 2, "base_seed"), "12");
    EXPECT_NE(column(rows, 1, "seed"), "11");  // derived from 11 and the index
}

TEST_F(SweepProcess, ASlurmSubmissionThatFailsLeavesNoResultTable) {
    // An sbatch that submits nothing, as when no controller answers.
    const fs::path bin = dir_ / "bin";
    fs::create_directories(bin);
    write_file(bin / "sbatch", "#!/bin/sh\necho 'sbatch: error: no controller' >&2\nexit 1\n");
    fs::permissions(bin / "sbatch", fs::perms::owner_all);
    const fs::path out = dir_ / "out";
    const Outcome outcome = run({"sweep", "run", sweep_, "--out", out, "--backend", "slurm"},
                                {{"PATH", bin.string() + ":" + std::string(std::getenv("PATH"))}});
    EXPECT_EQ(outcome.status, 2);
    EXPECT_NE(outcome.err.find("sbatch did not submit the job"), std::string::npos) << outcome.err;
    EXPECT_EQ(outcome.out, "");
    EXPECT_FALSE(fs::exists(out / "sweep.csv"));
    EXPECT_FALSE(fs::exists(out / "sweep.html"));
}

TEST_F(SweepProcess, RefusesAFolderHoldingOtherFilesAndBadArguments) {
    write_file(dir_ / "mine.txt", "keep me");
    const Outcome outcome = run({"sweep", "run", sweep_, "--out", dir_});
    EXPECT_EQ(outcome.status, 2);
    EXPECT_NE(outcome.err.find("holds files that are not a sweep's"), std::string::npos);
    EXPECT_EQ(read_file(dir_ / "mine.txt"), "keep me");
    EXPECT_FALSE(fs::exists(dir_ / "variants"));

    EXPECT_EQ(run({"sweep", "run", sweep_}).status, 2);  // no --out
    EXPECT_EQ(run({"sweep", "run", sweep_, "--out", dir_ / "o", "--jobs", "0"}).status, 2);
    EXPECT_EQ(run({"sweep", "run", sweep_, "--out", dir_ / "o", "--no-wait"}).status, 2);
    EXPECT_EQ(run({"sweep", "frobnicate", sweep_}).status, 2);
    EXPECT_FALSE(fs::exists(dir_ / "o"));
}

}  // namespace
