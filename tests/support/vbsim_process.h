#pragma once

// Runs the real vbsim executable (VBSIM_BINARY) in a child process, as a user or a CI job
// does, in a temporary folder of its own: for tests of exit statuses, streams and outputs.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vbsim::test_support {

namespace fs = std::filesystem;

struct Outcome {
    bool exited = false;
    int status = -1;  // exit status, when exited
    int signal = 0;   // terminating signal, when not
    std::string out;
    std::string err;
};

inline std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

inline void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// A short scenario (about 0.2 s of simulated time, well under a second of wall time).
inline std::string small_scenario(const std::string& name) {
    return "name: " + name + R"(
duration: 200ms
guests:
  - name: vm0
    ram: 64MiB
host:
  ram: 128MiB
  policy:
    kind: timeline
    timeline:
      - {at: 10ms, guest: vm0, balloon: 16MiB}
checks:
  - {kind: actual_reaches_target_by, guest: vm0, at: 150ms}
output:
  sample_interval: 1ms
)";
}

class VbsimProcess : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "vbsim-cli-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path scenario(const std::string& file, const std::string& text) {
        write_file(dir_ / file, text);
        return dir_ / file;
    }

    // Runs vbsim with `arguments`; `env` entries are set ("" unsets); `in_child` runs in the
    // child just before exec (limits, redirections).
    Outcome run(const std::vector<std::string>& arguments,
                const std::map<std::string, std::string>& env = {},
                const std::function<void()>& in_child = {}) {
        const fs::path out_path = dir_ / ".stdout";
        const fs::path err_path = dir_ / ".stderr";
        const pid_t child = fork();
        if (child == 0) {
            const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(out, STDOUT_FILENO);
            dup2(err, STDERR_FILENO);
            for (const auto& [name, value] : env) {
                if (value.empty()) {
                    unsetenv(name.c_str());
                } else {
                    setenv(name.c_str(), value.c_str(), 1);
                }
            }
            if (in_child) {
                in_child();
            }
            std::vector<char*> argv;
            std::string binary = VBSIM_BINARY;
            argv.push_back(binary.data());
            std::vector<std::string> copies = arguments;
            for (std::string& argument : copies) {
                argv.push_back(argument.data());
            }
            argv.push_back(nullptr);
            execv(binary.c_str(), argv.data());
            _exit(127);
        }
        Outcome outcome;
        int status = 0;
        EXPECT_EQ(waitpid(child, &status, 0), child);
        outcome.exited = WIFEXITED(status);
        outcome.status = outcome.exited ? WEXITSTATUS(status) : -1;
        outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        outcome.out = read_file(out_path);
        outcome.err = read_file(err_path);
        fs::remove(out_path);
        fs::remove(err_path);
        return outcome;
    }

    std::map<std::string, std::string> contents(const fs::path& folder) {
        std::map<std::string, std::string> files;
        for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
            files[entry.path().filename().string()] = read_file(entry.path());
        }
        return files;
    }

    std::vector<std::string> names_in(const fs::path& folder) {
        std::vector<std::string> names;
        for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    fs::path dir_;
};

}  // namespace vbsim::test_support
