#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>

// SystemC owns main(); googletest runs from sc_main instead.
//
// SystemC elaborates once per process, so two test cases that each build a platform cannot
// share one. ctest runs every case on its own (gtest_discover_tests); a test binary run by
// hand with a filter matching several cases runs each in a child process of its own, here.

namespace {

constexpr const char* kChildVariable = "VBSIM_GTEST_ONE_PROCESS";

std::vector<char*> argv_with(const std::vector<std::string>& arguments) {
    std::vector<char*> argv;
    for (const std::string& argument : arguments) {
        argv.push_back(const_cast<char*>(argument.c_str()));
    }
    argv.push_back(nullptr);
    return argv;
}

// The full names of the cases the command line selects, as googletest itself lists them.
std::vector<std::string> selected_tests(const std::vector<std::string>& arguments) {
    int channel[2];
    if (pipe(channel) != 0) {
        return {};
    }
    const pid_t child = fork();
    if (child == 0) {
        dup2(channel[1], STDOUT_FILENO);
        close(channel[0]);
        setenv(kChildVariable, "1", 1);
        std::vector<std::string> list = arguments;
        list.push_back("--gtest_list_tests");
        execv("/proc/self/exe", argv_with(list).data());
        _exit(127);
    }
    close(channel[1]);
    std::string text;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = read(channel[0], buffer, sizeof buffer)) > 0) {
        text.append(buffer, static_cast<size_t>(got));
    }
    close(channel[0]);
    int status = 0;
    waitpid(child, &status, 0);
    // "Suite.\n  Case\n  Case  # GetParam() = ...\n"
    std::vector<std::string> names;
    std::string suite;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        end = end == std::string::npos ? text.size() : end;
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty()) {
            continue;
        }
        if (line[0] != ' ') {
            suite = line.substr(0, line.find(' '));
        } else {
            const size_t name_start = line.find_first_not_of(' ');
            names.push_back(suite +
                            line.substr(name_start, line.find(' ', name_start) - name_start));
        }
    }
    return names;
}

int run_each_in_its_own_process(const std::vector<std::string>& arguments,
                                const std::vector<std::string>& tests) {
    std::printf(
        "[ vbsim    ] %zu test cases, each in a process of its own (one SystemC "
        "elaboration per process)\n",
        tests.size());
    std::vector<std::string> failed;
    for (const std::string& test : tests) {
        std::fflush(stdout);
        const pid_t child = fork();
        if (child == 0) {
            setenv(kChildVariable, "1", 1);
            std::vector<std::string> one = arguments;
            one.push_back("--gtest_filter=" + test);  // the last filter flag wins
            execv("/proc/self/exe", argv_with(one).data());
            _exit(127);
        }
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            failed.push_back(test);
        }
    }
    std::printf("[ vbsim    ] %zu of %zu test cases passed\n", tests.size() - failed.size(),
                tests.size());
    for (const std::string& test : failed) {
        std::printf("[ vbsim    ] FAILED: %s\n", test.c_str());
    }
    return failed.empty() ? 0 : 1;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
    const std::vector<std::string> arguments(argv, argv + argc);
    ::testing::InitGoogleTest(&argc, argv);
    if (std::getenv(kChildVariable) != nullptr || GTEST_FLAG_GET(list_tests)) {
        return RUN_ALL_TESTS();
    }
    const std::vector<std::string> tests = selected_tests(arguments);
    if (tests.size() <= 1) {
        return RUN_ALL_TESTS();
    }
    return run_each_in_its_own_process(arguments, tests);
}
