// Run-stage smoke fuzz: a few hundred small scenarios, made from the shipped ones by random
// (but seeded, so reproducible) --set overrides and the odd byte flip, each run end to end by
// the real vbsim binary. In the sanitizer build that binary runs under ASan and UBSan.
//
// Every run must end with an exit status of 0, 1 or 2 — never 3 (internal error), a signal,
// a sanitizer report or a run longer than the per-run cap — and a run that exits 0 or 1 must
// leave its summary.json.
//
// Usage: run_smoke_fuzz VBSIM CONFIG_DIR WORK_DIR RUNS TIME_CAP_SECONDS SEED
// Stops starting new runs after TIME_CAP_SECONDS; at least a tenth of RUNS must have run.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr unsigned kSecondsPerRun = 120;  // SIGALRM ends a run that takes longer

class Mutator {
  public:
    explicit Mutator(uint64_t seed) : random_(seed) {}

    template <typename T>
    const T& pick(const std::vector<T>& choices) {
        return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(random_)];
    }
    int number(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
    bool chance(int percent) { return number(1, 100) <= percent; }

    std::string time_ms(int high) { return std::to_string(number(0, high)) + "ms"; }

    // Within the smallest guest's 16 MiB, or above it where the scenario allows that.
    std::string target() {
        const bool above = chance(15);
        const int mib = above ? number(16, 512) : number(0, 16);
        std::string text;
        switch (number(0, 2)) {
            case 0:
                text = "balloon: " + std::to_string(mib) + "MiB";
                break;
            case 1:
                text = "balloon_pages: " + std::to_string(mib * 256 + number(0, 255));
                break;
            default:
                text = "guest_ram: " + std::to_string(mib) + "MiB";
                break;
        }
        return above ? text + ", allow_above_ram: true" : text;
    }

    std::string phases() {
        std::string list = "[";
        const int count = number(0, 3);
        for (int i = 0; i < count; ++i) {
            const std::string kind =
                pick<std::string>({"allocate", "free", "hold", "cache", "touch"});
            list += (i > 0 ? ", " : "") + std::string("{kind: ") + kind;
            if (kind == "hold") {
                list += ", duration: " + time_ms(100);
            } else {
                list += ", level: " + std::to_string(number(0, 80)) + "MiB";
                if (chance(70)) {
                    list += ", rate: " + std::to_string(number(1, 2000)) + "MiB/s";
                }
            }
            list += "}";
        }
        return list + "]";
    }

    std::string guests(int count) {
        std::string list = "[";
        for (int i = 0; i < count; ++i) {
            list += (i > 0 ? ", " : "") + std::string("{name: vm") + std::to_string(i) +
                    ", ram: " + pick<std::string>({"16MiB", "64MiB", "128MiB", "256MiB"});
            if (chance(30)) {
                list += ", page_size: " + pick<std::string>({"4KiB", "16KiB", "64KiB"});
            }
            if (chance(30)) {
                list += ", resident_at_start: " + std::to_string(number(0, 100)) + "%";
            }
            if (chance(40)) {
                list += ", driver: {features: " +
                        pick<std::string>({"[]", "[stats_vq]", "[deflate_on_oom]",
                                           "[must_tell_host, stats_vq, deflate_on_oom]"}) +
                        "}";
            }
            list += ", workload: {phases: " + phases() + "}}";
        }
        return list + "]";
    }

    std::string events(int guest_count) {
        std::string list = "[";
        const int count = number(0, 5);
        for (int i = 0; i < count; ++i) {
            const std::string kind =
                pick<std::string>({"set_target", "workload", "stats_request", "freeze", "restore",
                                   "remove", "device_reset"});
            list += (i > 0 ? ", " : "") + std::string("{at: ") + time_ms(250) + ", kind: " + kind +
                    ", guest: vm" + std::to_string(number(0, guest_count - 1));
            if (kind == "set_target") {
                list += ", " + target();
            } else if (kind == "workload") {
                list += ", phases: " + phases();
            }
            list += "}";
        }
        return list + "]";
    }

    std::string policy(int guest_count) {
        switch (number(0, 2)) {
            case 0:
                return "{kind: none}";
            case 1:
                return "{kind: auto, auto: {interval: " +
                       pick<std::string>({"1ms", "10ms", "50ms"}) + "}}";
            default: {
                std::string timeline = "[";
                const int count = number(0, 4);
                for (int i = 0; i < count; ++i) {
                    timeline += (i > 0 ? ", " : "") + std::string("{at: ") + time_ms(250) +
                                ", guest: vm" + std::to_string(number(0, guest_count - 1)) + ", " +
                                target() + "}";
                }
                return "{kind: timeline, timeline: " + timeline + "]}";
            }
        }
    }

    std::string checks() {
        std::string list = "[";
        const int count = number(0, 3);
        for (int i = 0; i < count; ++i) {
            list += (i > 0 ? ", " : "") +
                    pick<std::string>({"{kind: no_oom_kills}", "{kind: max_oom_kills, bound: 1}",
                                       "{kind: time_to_target_below, bound: 50ms}",
                                       "{kind: host_free_never_below, bound: 1MiB}",
                                       "{kind: inflate_rate_above, bound: 1000}",
                                       "{kind: counter_at_most, counter: retries, bound: 3}",
                                       "{kind: actual_reaches_target_by, at: 20ms}"});
        }
        return list + "]";
    }

    std::vector<std::string> overrides() {
        const int guest_count = number(1, 3);
        std::vector<std::string> sets = {
            "duration=" + pick<std::string>({"20ms", "100ms", "300ms"}),
            "output.sample_interval=1ms",
            "guests=" + guests(guest_count),
            "host=" + std::string("{ram: ") + pick<std::string>({"32MiB", "256MiB", "2GiB"}) +
                ", policy: " + policy(guest_count) + "}",
            "events=" + events(guest_count),
            "checks=" + checks(),
        };
        const std::vector<std::string> platform = {
            "platform.balloon.transport=legacy",
            "platform.balloon.transport=modern",
            "platform.memory.dmi=false",
            "platform.balloon.stats_poll_interval=0",
            "platform.balloon.stats_poll_interval=1ms",
            "platform.balloon.offered_features=[]",
            "platform.balloon.offered_features=[stats_vq]",
            "platform.balloon.offered_features=[deflate_on_oom, must_tell_host]",
            "platform.balloon.queue_num_max=" + std::to_string(1 << number(0, 8)),
            "platform.cpu.quantum=" + pick<std::string>({"1us", "100us", "1ms"}),
        };
        const int extra = number(0, 3);
        for (int i = 0; i < extra; ++i) {
            sets.push_back(pick(platform));
        }
        return sets;
    }

    // The file with a few bytes changed, to reach the loader's error paths from the CLI.
    std::string flip_bytes(std::string text) {
        const int flips = number(1, 4);
        for (int i = 0; i < flips && !text.empty(); ++i) {
            const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(random_);
            text[at] = static_cast<char>(number(0, 255));
        }
        return text;
    }

  private:
    std::mt19937_64 random_;
};

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct RunResult {
    bool exited = false;
    int status = -1;
    int signal = 0;
    std::string err;
};

RunResult run(const std::vector<std::string>& arguments, const fs::path& err_path) {
    const pid_t child = fork();
    if (child == 0) {
        std::FILE* err = std::freopen(err_path.c_str(), "w", stderr);
        std::FILE* out = std::freopen("/dev/null", "w", stdout);
        (void)err;
        (void)out;
        std::vector<char*> argv;
        for (const std::string& argument : arguments) {
            argv.push_back(const_cast<char*>(argument.c_str()));
        }
        argv.push_back(nullptr);
        alarm(kSecondsPerRun);  // kept across exec: a hang ends in SIGALRM
        execv(argv[0], argv.data());
        _exit(127);
    }
    RunResult result;
    int status = 0;
    waitpid(child, &status, 0);
    result.exited = WIFEXITED(status);
    result.status = result.exited ? WEXITSTATUS(status) : -1;
    result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.err = read_text(err_path);
    return result;
}

std::string shell_quoted(const std::string& text) {
    std::string quoted = "'";
    for (const char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

}  // namespace

int main(int argc, char* argv[]) {
    if (argc != 7) {
        std::fprintf(
            stderr, "usage: run_smoke_fuzz VBSIM CONFIG_DIR WORK_DIR RUNS TIME_CAP_SECONDS SEED\n");
        return 2;
    }
    const std::string vbsim = argv[1];
    const fs::path config_dir = argv[2];
    const fs::path work = argv[3];
    const int runs = std::atoi(argv[4]);
    const int time_cap = std::atoi(argv[5]);
    const uint64_t seed = std::strtoull(argv[6], nullptr, 10);

    std::vector<fs::path> configs;
    for (const fs::directory_entry& entry : fs::directory_iterator(config_dir)) {
        if (entry.path().extension() == ".yaml") {
            configs.push_back(entry.path());
        }
    }
    std::sort(configs.begin(), configs.end());
    fs::remove_all(work);
    fs::create_directories(work);

    Mutator mutator(seed);
    std::map<int, int> statuses;
    int ran = 0;
    int failures = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) {
        if (std::chrono::steady_clock::now() - start > std::chrono::seconds(time_cap)) {
            break;
        }
        const fs::path& base = mutator.pick(configs);
        fs::path file = base;
        if (mutator.chance(10)) {
            file = work / ("flipped-" + std::to_string(i) + ".yaml");
            std::ofstream(file, std::ios::binary) << mutator.flip_bytes(read_text(base));
        }
        std::vector<std::string> arguments = {
            vbsim,     "run",   file.string(),
            "--quiet", "--out", (work / ("run-" + std::to_string(i))).string()};
        for (const std::string& set : mutator.overrides()) {
            arguments.push_back("--set");
            arguments.push_back(set);
        }
        const RunResult result = run(arguments, work / "stderr.txt");
        ++ran;
        const fs::path summary = work / ("run-" + std::to_string(i)) / "summary.json";
        std::string wrong;
        if (!result.exited) {
            wrong = "ended by signal " + std::to_string(result.signal) +
                    (result.signal == SIGALRM ? " (took longer than the per-run cap)" : "");
        } else if (result.status > 2) {
            wrong = "exit status " + std::to_string(result.status);
        } else if (result.err.find("AddressSanitizer") != std::string::npos ||
                   result.err.find("runtime error:") != std::string::npos ||
                   result.err.find("LeakSanitizer") != std::string::npos) {
            wrong = "a sanitizer report";
        } else if (result.status < 2 && !fs::exists(summary)) {
            wrong = "exit status " + std::to_string(result.status) + " without summary.json";
        }
        if (!wrong.empty()) {
            ++failures;
            std::string command;
            for (const std::string& argument : arguments) {
                command += (command.empty() ? "" : " ") + shell_quoted(argument);
            }
            std::fprintf(stderr, "run %d: %s\n  %s\n%s\n", i, wrong.c_str(), command.c_str(),
                         result.err.c_str());
        } else {
            if (result.status == 2 && std::getenv("RUN_SMOKE_FUZZ_VERBOSE") != nullptr) {
                std::fprintf(stderr, "run %d refused: %s", i,
                             result.err.substr(0, result.err.find('\n') + 1).c_str());
            }
            ++statuses[result.status];
            fs::remove_all(work / ("run-" + std::to_string(i)));
            if (file != base) {
                fs::remove(file);
            }
        }
    }
    std::printf(
        "run_smoke_fuzz: %d scenarios run (seed %llu): %d passed their checks, %d failed "
        "a check, %d refused as bad input; %d wrong\n",
        ran, static_cast<unsigned long long>(seed), statuses[0], statuses[1], statuses[2],
        failures);
    if (ran < std::max(1, runs / 10)) {
        std::fprintf(stderr, "run_smoke_fuzz: only %d of %d runs within %d s\n", ran, runs,
                     time_cap);
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
