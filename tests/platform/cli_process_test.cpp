// The vbsim executable as a user or a CI job meets it: exit statuses, what appears on stdout
// and stderr, and what is (and is not) left in the output folder when a run fails, is killed
// or cannot write. Each test runs the real binary in a child process.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/vbsim_process.h"

namespace {

namespace fs = std::filesystem;
using namespace vbsim::test_support;

// ---- 1. outputs appear whole or not at all -------------------------------------------

TEST_F(VbsimProcess, KilledRunLeavesThePreviousResultUntouched) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const fs::path results = dir_ / "runs" / "s";
    ASSERT_EQ(run({"run", file, "--quiet", "--out", results}).status, 0);
    const auto previous = contents(results);
    ASSERT_EQ(previous.size(), 4u);

    // The second run (a different duration, so different files) dies after summary.json.
    const Outcome killed =
        run({"run", file, "--quiet", "--out", results, "--set", "duration=150ms"},
            {{"VBSIM_TEST_SIGNAL_AFTER", "summary.json:9"}});
    EXPECT_FALSE(killed.exited);
    EXPECT_EQ(killed.signal, SIGKILL);
    EXPECT_EQ(contents(results), previous);
    // What it wrote stays aside, hidden and named incomplete.
    const std::vector<std::string> beside = names_in(dir_ / "runs");
    ASSERT_EQ(beside.size(), 2u);
    EXPECT_EQ(beside[1], "s");
    EXPECT_EQ(beside[0].rfind(".s.incomplete-", 0), 0u) << beside[0];
    EXPECT_EQ(names_in(dir_ / "runs" / beside[0]),
              (std::vector<std::string>{"summary.json", "timeseries.csv", "trace.vcd"}));

    // The next run replaces the result and clears the abandoned folder.
    const Outcome next = run({"run", file, "--quiet", "--out", results, "--set", "duration=150ms"});
    EXPECT_EQ(next.status, 0) << next.err;
    EXPECT_EQ(names_in(dir_ / "runs"), std::vector<std::string>{"s"});
    EXPECT_NE(contents(results).at("summary.json"), previous.at("summary.json"));
}

TEST_F(VbsimProcess, TerminatedRunRemovesWhatItWrote) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const fs::path results = dir_ / "runs" / "s";
    ASSERT_EQ(run({"run", file, "--quiet", "--out", results}).status, 0);
    const auto previous = contents(results);
    for (const int signal_number : {SIGTERM, SIGINT}) {
        const Outcome stopped =
            run({"run", file, "--quiet", "--out", results, "--set", "duration=150ms"},
                {{"VBSIM_TEST_SIGNAL_AFTER", "timeseries.csv:" + std::to_string(signal_number)}});
        EXPECT_EQ(stopped.signal, signal_number);
        EXPECT_EQ(names_in(dir_ / "runs"), std::vector<std::string>{"s"});
        EXPECT_EQ(contents(results), previous);
    }
}

TEST_F(VbsimProcess, TerminatedTracedRunOfSeveralGuestsRemovesTheirTracesToo) {
    // mmio-<guest>.csv names are known only to the run: the handler removes whatever the
    // staging folder holds.
    std::string text = small_scenario("s");
    text.replace(text.find("host:"), 0, "  - name: vm1\n    ram: 64MiB\n");
    const fs::path file = scenario("s.yaml", text);
    const fs::path results = dir_ / "runs" / "s";
    const Outcome stopped = run({"run", file, "--quiet", "--trace", "--out", results},
                                {{"VBSIM_TEST_SIGNAL_AFTER", "mmio-vm1.csv:15"}});
    EXPECT_EQ(stopped.signal, SIGTERM) << stopped.err;
    EXPECT_TRUE(names_in(dir_ / "runs").empty());
    // The same run completes with both traces.
    ASSERT_EQ(run({"run", file, "--quiet", "--trace", "--out", results}).status, 0);
    EXPECT_EQ(names_in(results), (std::vector<std::string>{
                                     "mmio-vm0.csv", "mmio-vm1.csv", "report.html", "summary.json",
                                     "timeline.json", "timeseries.csv", "trace.vcd"}));
}

// A several-file run waits for each scenario's child: a stop signal to it goes on to the
// child, which removes its staging folder, and then ends the parent with the same signal.
TEST_F(VbsimProcess, StoppedSeveralFileRunPassesTheSignalToItsChild) {
    const fs::path first = scenario("a.yaml", small_scenario("a"));
    const fs::path second = scenario("b.yaml", small_scenario("b"));
    const fs::path results = dir_ / "runs";
    const Outcome stopped = run({"run", first, second, "--quiet", "--out", results},
                                {{"VBSIM_TEST_SIGNAL_AFTER", "summary.json:15:parent"}});
    EXPECT_FALSE(stopped.exited);
    EXPECT_EQ(stopped.signal, SIGTERM) << stopped.err;
    // Neither a's half-written folder (its child was stopped) nor b (never started).
    EXPECT_TRUE(!fs::exists(results) || names_in(results).empty());
}

TEST_F(VbsimProcess, FirstRunKilledLeavesNoResultFolder) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome killed = run({"run", file, "--quiet", "--out", dir_ / "runs" / "s"},
                               {{"VBSIM_TEST_SIGNAL_AFTER", "trace.vcd:9"}});
    EXPECT_EQ(killed.signal, SIGKILL);
    EXPECT_FALSE(fs::exists(dir_ / "runs" / "s"));
}

TEST_F(VbsimProcess, ANewRunReplacesTheWholeFolder) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const fs::path results = dir_ / "s";
    ASSERT_EQ(run({"run", file, "--quiet", "--out", results}).status, 0);
    ASSERT_EQ(names_in(results).size(), 4u);
    // Only summary.json now: the previous run's other files must not stay beside it.
    ASSERT_EQ(
        run({"run", file, "--quiet", "--out", results, "--set", "output.files=[summary.json]"})
            .status,
        0);
    EXPECT_EQ(names_in(results), std::vector<std::string>{"summary.json"});
}

TEST_F(VbsimProcess, RefusesToReplaceAFolderHoldingOtherFiles) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    fs::create_directories(dir_ / "mine");
    write_file(dir_ / "mine" / "notes.txt", "keep me");
    const Outcome refused = run({"run", file, "--quiet", "--out", dir_ / "mine"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("holds 'notes.txt'"), std::string::npos) << refused.err;
    EXPECT_EQ(names_in(dir_ / "mine"), std::vector<std::string>{"notes.txt"});
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"mine", "s.yaml"}));
}

// ---- 2. write errors ---------------------------------------------------------------------

void limit_file_size(rlim_t bytes) {
    const rlimit limit{bytes, bytes};
    setrlimit(RLIMIT_FSIZE, &limit);
}

TEST_F(VbsimProcess, AFileSizeLimitIsAnErrorNamingTheFile) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    // trace.vcd (about 2 KiB) fits, timeseries.csv (about 45 KiB) does not. vbsim itself
    // ignores SIGXFSZ, so the write fails with EFBIG rather than killing it.
    const Outcome cut =
        run({"run", file, "--quiet", "--out", dir_ / "s"}, {}, [] { limit_file_size(10240); });
    EXPECT_EQ(cut.status, 2);
    EXPECT_NE(cut.err.find((dir_ / "s" / "timeseries.csv").string() + ": File too large"),
              std::string::npos)
        << cut.err;
    EXPECT_FALSE(fs::exists(dir_ / "s"));
    EXPECT_EQ(names_in(dir_), std::vector<std::string>{"s.yaml"});
}

TEST_F(VbsimProcess, ACutTraceIsAnErrorToo) {
    // SystemC writes trace.vcd and ignores write errors; vbsim checks what reached the file.
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome cut =
        run({"run", file, "--quiet", "--out", dir_ / "s"}, {}, [] { limit_file_size(1024); });
    EXPECT_EQ(cut.status, 2);
    EXPECT_NE(cut.err.find((dir_ / "s" / "trace.vcd").string() + ": File too large"),
              std::string::npos)
        << cut.err;
    EXPECT_FALSE(fs::exists(dir_ / "s"));
}

TEST_F(VbsimProcess, AnUnwritableOutputFolderIsExitTwoOnStderr) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    for (const std::string files : {"[summary.json]", "[trace.vcd, summary.json]"}) {
        const Outcome refused =
            run({"run", file, "--out", "/proc/self", "--set", "output.files=" + files});
        EXPECT_EQ(refused.status, 2) << refused.err;
        EXPECT_EQ(refused.out, "");
        EXPECT_NE(refused.err.find("/proc/self"), std::string::npos) << refused.err;
        EXPECT_EQ(refused.err.find("outputs in"), std::string::npos);
    }
    const Outcome no_parent = run({"run", file, "--out", "/proc/vbsim/s"});
    EXPECT_EQ(no_parent.status, 2);
    EXPECT_NE(no_parent.err.find("cannot create /proc/vbsim"), std::string::npos) << no_parent.err;
}

TEST_F(VbsimProcess, AFullStandardOutputIsExitTwo) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome full = run({"run", file, "--out", dir_ / "s"}, {}, [] {
        const int device = open("/dev/full", O_WRONLY);
        dup2(device, STDOUT_FILENO);
    });
    EXPECT_EQ(full.status, 2);
    EXPECT_NE(full.err.find("cannot write the standard output"), std::string::npos) << full.err;
}

// ---- 3. streams and exit statuses ----------------------------------------------------------

TEST_F(VbsimProcess, NoSystemCBannerEvenWithoutTheVariable) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome plain =
        run({"run", file, "--out", dir_ / "s"}, {{"SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", ""}});
    EXPECT_EQ(plain.status, 0) << plain.err;
    EXPECT_EQ(plain.out.rfind("scenario s: ", 0), 0u) << plain.out;
    EXPECT_EQ(plain.out.find("Copyright"), std::string::npos);
    EXPECT_EQ(plain.err.find("Copyright"), std::string::npos) << plain.err;
    const Outcome help = run({"--help"}, {{"SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", ""}});
    EXPECT_EQ(help.out.rfind("usage: vbsim", 0), 0u) << help.out;
    EXPECT_EQ(help.err, "");
}

TEST_F(VbsimProcess, ModelWarningsGoToStderrWithoutSourcePaths) {
    // A host-requested device reset: the transport warns about DEVICE_NEEDS_RESET.
    const fs::path file = scenario("s.yaml", small_scenario("s") + R"(events:
  - {at: 50ms, kind: device_reset, guest: vm0}
)");
    const Outcome loud = run({"run", file, "--out", dir_ / "s"});
    EXPECT_EQ(loud.out.find("arning"), std::string::npos) << loud.out;
    EXPECT_NE(loud.err.find("vbsim: warning: vbsim/virtio-mmio: "), std::string::npos) << loud.err;
    EXPECT_NE(loud.err.find("DEVICE_NEEDS_RESET"), std::string::npos);
    EXPECT_EQ(loud.err.find("In file"), std::string::npos) << loud.err;
    EXPECT_EQ(loud.err.find(".cpp"), std::string::npos) << loud.err;

    const Outcome quiet = run({"run", file, "--quiet", "--out", dir_ / "s"});
    EXPECT_EQ(quiet.out, "");
    EXPECT_EQ(quiet.err.find("warning"), std::string::npos) << quiet.err;
    EXPECT_EQ(quiet.status, loud.status);
}

TEST_F(VbsimProcess, ExitStatusOneOnlyForAFailedCheck) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    // 16 MiB cannot be reached within 1 ms of the target being set.
    const Outcome failed =
        run({"run", file, "--quiet", "--out", dir_ / "s", "--set", "checks[0].at=11ms"});
    EXPECT_EQ(failed.status, 1);
    EXPECT_NE(failed.err.find("FAIL s: actual_reaches_target_by"), std::string::npos) << failed.err;
    EXPECT_TRUE(fs::exists(dir_ / "s" / "summary.json"));
}

TEST_F(VbsimProcess, RunningOutOfMemoryIsExitTwoNotAnAbort) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer needs more address space than the limit leaves";
#else
    // 1,500 guests need more than 1 GiB of address space (thread stacks): SystemC cannot map
    // a stack, and before the fix a destructor threw while unwinding (SIGABRT).
    std::string text = "name: many\nduration: 10ms\nguests:\n";
    for (int i = 0; i < 1500; ++i) {
        text += "  - {name: g" + std::to_string(i) + ", ram: 64MiB}\n";
    }
    text += "host:\n  ram: 1TiB\n";
    const fs::path file = scenario("many.yaml", text);
    const Outcome starved = run({"run", file, "--quiet", "--out", dir_ / "many"}, {}, [] {
        const rlimit limit{rlim_t{1} << 30, rlim_t{1} << 30};
        setrlimit(RLIMIT_AS, &limit);
    });
    EXPECT_TRUE(starved.exited) << "signal " << starved.signal;
    EXPECT_EQ(starved.status, 2);
    EXPECT_EQ(starved.out, "");
    EXPECT_NE(starved.err.find("vbsim: out of memory"), std::string::npos) << starved.err;
    EXPECT_FALSE(fs::exists(dir_ / "many"));
#endif
}

// ---- 6. bounded resources ----------------------------------------------------------------

TEST_F(VbsimProcess, AModelTooLargeForTheMemoryAllowedIsRefusedBeforeRunning) {
    // 256 GiB of guest RAM: about 48 MiB of page bitmaps on top of the 32 MiB base.
    const fs::path file = scenario("big.yaml", R"(name: big
duration: 10ms
guests:
  - {name: vm0, ram: 256GiB}
host:
  ram: 512GiB
)");
    const Outcome refused =
        run({"run", file, "--quiet", "--out", dir_ / "big", "--max-memory", "64MiB"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("big.yaml: the model would need about 80.25 MiB of memory (1 "
                               "guest(s) with 256 GiB of RAM, and the samples), more than the 64 "
                               "MiB allowed (--max-memory)"),
              std::string::npos)
        << refused.err;
    EXPECT_FALSE(fs::exists(dir_ / "big"));
    const Outcome allowed =
        run({"run", file, "--quiet", "--out", dir_ / "big", "--max-memory", "128MiB"});
    EXPECT_EQ(allowed.status, 0) << allowed.err;
    EXPECT_TRUE(fs::exists(dir_ / "big" / "summary.json"));
    EXPECT_EQ(run({"run", file, "--max-memory", "lots"}).status, 2);
}

// ---- 4. a scenario's name as a folder name ------------------------------------------------

TEST_F(VbsimProcess, NamesStayInsideOut) {
    const fs::path a = scenario("a.yaml", small_scenario("'../../escaped'"));
    const fs::path b = scenario("b.yaml", small_scenario("'sub/dir'"));
    const Outcome ran = run({"run", a, b, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(ran.status, 0) << ran.err;
    EXPECT_EQ(names_in(dir_ / "out"), (std::vector<std::string>{"_.._.._escaped", "sub_dir"}));
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"a.yaml", "b.yaml", "out"}));
}

TEST_F(VbsimProcess, TwoScenariosWithOneFolderAreRefusedBeforeRunning) {
    const fs::path a = scenario("a.yaml", small_scenario("same"));
    const fs::path b = scenario("b.yaml", small_scenario("same"));
    const Outcome refused = run({"run", a, b, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("a.yaml and " + b.string() + " would both write"), std::string::npos)
        << refused.err;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
    // Without --out both would write their output.directory (the same default).
    const Outcome defaults = run({"run", a, b, "--quiet"});
    EXPECT_EQ(defaults.status, 2);
    EXPECT_NE(defaults.err.find("give each its own output.directory"), std::string::npos);
}

TEST_F(VbsimProcess, WithoutOutEachScenarioWritesVbsimOutSlashItsName) {
    const fs::path a = scenario("a.yaml", small_scenario("first"));
    const fs::path b = scenario("b.yaml", small_scenario("second"));
    const std::string work = dir_.string();
    const Outcome both = run({"run", a, b, "--quiet"}, {}, [work] {
        if (chdir(work.c_str()) != 0) {
            _exit(99);
        }
    });
    EXPECT_EQ(both.status, 0) << both.err;
    EXPECT_TRUE(fs::exists(dir_ / "vbsim-out" / "first" / "summary.json"));
    EXPECT_TRUE(fs::exists(dir_ / "vbsim-out" / "second" / "summary.json"));
}

TEST_F(VbsimProcess, AnOutputFolderInsideAnotherIsRefusedBeforeRunning) {
    const fs::path outer = scenario(
        "outer.yaml", small_scenario("outer") + "  directory: " + (dir_ / "out").string() + "\n");
    const fs::path inner =
        scenario("inner.yaml",
                 small_scenario("inner") + "  directory: " + (dir_ / "out" / "in").string() + "\n");
    const Outcome refused = run({"run", inner, outer, "--quiet"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("inside"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(VbsimProcess, ATracedRunsFilesDoNotBlockTheNextRun) {
    const fs::path file = scenario("s.yaml", small_scenario("s"));
    const Outcome traced = run({"run", file, "--quiet", "--trace", "--out", dir_ / "out"});
    ASSERT_EQ(traced.status, 0) << traced.err;
    ASSERT_TRUE(fs::exists(dir_ / "out" / "mmio.csv"));
    ASSERT_TRUE(fs::exists(dir_ / "out" / "timeline.json"));
    const Outcome plain = run({"run", file, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(plain.status, 0) << plain.err;
    EXPECT_FALSE(fs::exists(dir_ / "out" / "mmio.csv"));  // the folder is replaced whole
    EXPECT_TRUE(fs::exists(dir_ / "out" / "summary.json"));
    // A file vbsim does not write still blocks it.
    write_file(dir_ / "out" / "notes.txt", "mine");
    const Outcome blocked = run({"run", file, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(blocked.status, 2);
    EXPECT_TRUE(fs::exists(dir_ / "out" / "notes.txt"));
}

TEST_F(VbsimProcess, AnEmptyNameIsRejected) {
    const fs::path file = scenario("a.yaml", small_scenario("''"));
    const Outcome refused = run({"run", file, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("a.yaml:1:7: name: must not be empty"), std::string::npos)
        << refused.err;
}

TEST_F(VbsimProcess, AMalformedFileStopsTheWholeInvocation) {
    const fs::path good = scenario("good.yaml", small_scenario("good"));
    const fs::path bad = scenario("bad.yaml", small_scenario("bad") + "colour: blue\n");
    const Outcome refused = run({"run", good, bad, "--quiet", "--out", dir_ / "out"});
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("bad.yaml:16:1: colour: unknown key"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("nothing was run"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "out"));
}

// ---- 5. input edge cases seen from the terminal and in summary.json ----------------------

TEST_F(VbsimProcess, ControlCharactersAreEscapedOnTheTerminal) {
    const fs::path file = scenario("s.yaml", small_scenario("\"red\\e[31m\\x07\""));
    const Outcome ran = run({"run", file, "--out", dir_ / "s"});
    EXPECT_EQ(ran.status, 0) << ran.err;
    EXPECT_EQ(ran.out.find('\x1b'), std::string::npos);
    EXPECT_EQ(ran.out.find('\x07'), std::string::npos);
    EXPECT_NE(ran.out.find("scenario red\\x1B[31m\\x07: "), std::string::npos) << ran.out;
}

TEST_F(VbsimProcess, BytesThatAreNotUtf8AreEscapedInSummaryJson) {
    // "caf\xE9" is Latin-1, not UTF-8; "\xC3\xA9" is a real é and stays as it is.
    const fs::path file =
        scenario("s.yaml", "description: \"caf\xE9 \xC3\xA9\"\n" + small_scenario("s"));
    const Outcome ran = run({"run", file, "--quiet", "--out", dir_ / "s"});
    ASSERT_EQ(ran.status, 0) << ran.err;
    const std::string json = read_file(dir_ / "s" / "summary.json");
    EXPECT_NE(json.find("\"caf\\u00e9 \xC3\xA9\""), std::string::npos) << json.substr(0, 200);
    EXPECT_EQ(json.find('\xE9'), std::string::npos);
}

}  // namespace
