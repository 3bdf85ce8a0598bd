#include "platform/report/output_folder.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace vbsim::platform {
namespace fs = std::filesystem;

namespace {

// What a stopping signal removes: every file in the staging folder (it is ours alone, and
// holds per-guest files whose names only the run knows), then the folder. A signal handler may
// only use async-signal-safe calls: open, getdents64, unlinkat, lseek, close, rmdir, and a
// path and a buffer prepared before it is armed.
constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};
char cleanup_folder[PATH_MAX];
alignas(8) char cleanup_entries[4096];
volatile sig_atomic_t cleanup_armed = 0;

// The layout of the kernel's struct linux_dirent64.
struct DirectoryEntry {
    uint64_t inode;
    int64_t offset;
    unsigned short length;
    unsigned char type;
    char name[1];
};

// Unlinks every file of the folder open at `folder`; returns how many went.
int unlink_all(int folder) {
    int removed = 0;
    ::lseek(folder, 0, SEEK_SET);
    while (true) {
        const long got = ::syscall(SYS_getdents64, folder, cleanup_entries, sizeof cleanup_entries);
        if (got <= 0) {
            return removed;
        }
        for (long at = 0; at < got;) {
            const auto* entry = reinterpret_cast<const DirectoryEntry*>(cleanup_entries + at);
            const char* name = entry->name;
            const bool dots =
                name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
            if (!dots && ::unlinkat(folder, name, 0) == 0) {
                ++removed;
            }
            at += entry->length;
        }
    }
}

extern "C" void remove_staging_and_die(int signal_number) {
    if (cleanup_armed != 0) {
        const int folder = ::open(cleanup_folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (folder >= 0) {
            // Removing entries while reading the folder may skip some: read it again until a
            // pass removes nothing.
            for (int pass = 0; pass < 8 && unlink_all(folder) > 0; ++pass) {
            }
            ::close(folder);
        }
        ::rmdir(cleanup_folder);
    }
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

bool copy_path(char* into, const std::string& path) {
    if (path.size() >= PATH_MAX) {
        return false;
    }
    std::memcpy(into, path.c_str(), path.size() + 1);
    return true;
}

void arm_cleanup(const std::string& staging) {
    if (!copy_path(cleanup_folder, staging)) {
        return;  // a path too long for the handler: the folder stays, named incomplete
    }
    cleanup_armed = 1;
    for (const int signal_number : kCleanupSignals) {
        struct sigaction action = {};
        action.sa_handler = remove_staging_and_die;
        sigemptyset(&action.sa_mask);
        struct sigaction previous = {};
        // A signal the caller ignores (nohup) stays ignored.
        if (::sigaction(signal_number, nullptr, &previous) == 0 && previous.sa_handler != SIG_IGN) {
            ::sigaction(signal_number, &action, nullptr);
        }
    }
}

void disarm_cleanup() {
    cleanup_armed = 0;
}

std::string staging_prefix(const std::string& base) {
    return "." + base + ".incomplete-";
}

// Staging folders of runs into the same target whose process is gone (killed outright).
void remove_abandoned_staging(const fs::path& parent, const std::string& base) {
    const std::string prefix = staging_prefix(base);
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(parent, error)) {
        const std::string name = entry.path().filename().string();
        if (name.compare(0, prefix.size(), prefix) != 0 || name.size() == prefix.size() ||
            name.size() - prefix.size() > 9) {
            continue;
        }
        const std::string digits = name.substr(prefix.size());
        if (!std::all_of(digits.begin(), digits.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        const pid_t owner = static_cast<pid_t>(std::stol(digits));
        if (::kill(owner, 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            fs::remove_all(entry.path(), ignored);
        }
    }
}

}  // namespace

const std::vector<std::string>& output_file_names() {
    static const std::vector<std::string> names = {
        "timeseries.csv", "summary.json", "trace.vcd", "report.html", "mmio.csv", "timeline.json"};
    return names;
}

bool is_output_file_name(const std::string& name) {
    const std::vector<std::string>& ours = output_file_names();
    if (std::find(ours.begin(), ours.end(), name) != ours.end()) {
        return true;
    }
    // The trace of one guest among several: mmio-<guest>.csv (ScenarioRun::mmio_trace_file_name).
    const std::string prefix = "mmio-";
    const std::string suffix = ".csv";
    return name.size() > prefix.size() + suffix.size() &&
           name.compare(0, prefix.size(), prefix) == 0 &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string safe_folder_name(const std::string& name) {
    std::string folder;
    for (const char c : name) {
        const bool plain =
            std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
        folder += plain && static_cast<unsigned char>(c) < 0x80 ? c : '_';
    }
    if (folder.empty() || folder[0] == '.') {
        folder.insert(0, "_");
    }
    return folder;
}

OutputFolder::OutputFolder(const std::string& target) {
    std::error_code error;
    fs::path path = fs::absolute(target, error).lexically_normal();
    if (!path.has_filename()) {
        path = path.parent_path();  // "out/" names the folder "out"
    }
    const std::string base = path.filename().string();
    if (error || base.empty() || base == "." || base == ".." || path == path.root_path()) {
        throw OutputError("cannot use '" + target + "' as an output folder");
    }
    if (fs::is_symlink(path, error)) {
        throw OutputError(target + " is a symbolic link; give the folder itself as the output");
    }
    target_ = path.string();
    const fs::path parent = path.parent_path();
    fs::create_directories(parent, error);
    if (error) {
        throw OutputError("cannot create " + parent.string() + ": " + error.message());
    }
    remove_abandoned_staging(parent, base);
    staging_ = (parent / (staging_prefix(base) + std::to_string(::getpid()))).string();
    fs::remove_all(staging_, error);
    if (::mkdir(staging_.c_str(), 0755) != 0) {
        throw OutputError("cannot write in " + parent.string() + ": " + std::strerror(errno));
    }
    arm_cleanup(staging_);

    const fs::file_status status = fs::status(path, error);
    if (fs::exists(status) && !fs::is_directory(status)) {
        fs::remove_all(staging_, error);
        throw OutputError(target_ + " exists and is not a folder");
    }
    if (fs::is_directory(status)) {
        // The whole folder is replaced: it may hold only a previous run's files.
        for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
            const std::string name = entry.path().filename().string();
            if (!is_output_file_name(name)) {
                fs::remove_all(staging_, error);
                throw OutputError(target_ + " holds '" + name +
                                  "', which vbsim did not write; vbsim replaces its output "
                                  "folder as a whole: give an empty or new folder");
            }
        }
        if (error) {
            fs::remove_all(staging_, error);
            throw OutputError("cannot read " + target_ + ": " + error.message());
        }
    }
}

OutputFolder::~OutputFolder() {
    if (!committed_) {
        disarm_cleanup();
        std::error_code ignored;
        fs::remove_all(staging_, ignored);
    }
}

std::string OutputFolder::commit() {
    std::error_code error;
    if (!fs::exists(target_, error)) {
        if (::rename(staging_.c_str(), target_.c_str()) != 0) {
            return "cannot rename " + staging_ + " to " + target_ + ": " + std::strerror(errno);
        }
    } else if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(),
                           RENAME_EXCHANGE) != 0) {
        // No atomic exchange on this file system: move the old run aside first.
        const std::string previous = staging_ + ".previous";
        if (::rename(target_.c_str(), previous.c_str()) != 0) {
            return "cannot replace " + target_ + ": " + std::strerror(errno);
        }
        if (::rename(staging_.c_str(), target_.c_str()) != 0) {
            const std::string reason = std::strerror(errno);
            ::rename(previous.c_str(), target_.c_str());  // put the previous run back
            return "cannot replace " + target_ + ": " + reason;
        }
        fs::remove_all(previous, error);
    }
    committed_ = true;
    disarm_cleanup();
    // After an exchange the staging name holds the previous run.
    fs::remove_all(staging_, error);
    return {};
}

}  // namespace vbsim::platform
