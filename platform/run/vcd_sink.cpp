#include "platform/run/vcd_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vbsim::platform {
namespace {

// The header's `$date ... $end` lies within the first few hundred bytes.
constexpr size_t kMaxHeaderBytes = 64 * 1024;

// Writes all of `size` bytes; false (errno set) on failure.
bool write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += written;
        size -= static_cast<size_t>(written);
    }
    return true;
}

// SystemC stamps the wall-clock date into the header; identical runs must give identical files.
void replace_date(std::string& header) {
    const size_t date = header.find("$date");
    const size_t end = header.find("$end", date);
    if (date != std::string::npos && end != std::string::npos) {
        header.replace(date, end - date, "$date\n     (omitted for reproducible output)\n");
    }
}

}  // namespace

VcdSink::VcdSink(const std::string& directory)
    : path_(directory + "/trace.vcd"), pipe_path_(directory + "/.trace-pipe.vcd") {
    const auto fail = [&](const std::string& what) {
        const std::string reason = std::strerror(errno);
        for (const int fd : {in_, keeper_, out_}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        ::unlink(pipe_path_.c_str());
        throw std::runtime_error(what + ": " + reason);
    };
    ::unlink(pipe_path_.c_str());
    if (::mkfifo(pipe_path_.c_str(), 0600) != 0) {
        fail("cannot make a pipe for trace.vcd in " + directory);
    }
    // Our own writing end keeps the pipe open until finish(), whether or not SystemC ever
    // opens it, so the copier sees the end exactly when finish() says so.
    in_ = ::open(pipe_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (in_ >= 0) {
        keeper_ = ::open(pipe_path_.c_str(), O_WRONLY | O_CLOEXEC);
    }
    if (in_ < 0 || keeper_ < 0 || ::fcntl(in_, F_SETFL, 0) != 0) {
        fail("cannot open a pipe for trace.vcd in " + directory);
    }
    out_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_ < 0) {
        fail("cannot write " + path_);
    }
    copier_ = std::thread([this] { copy(); });
}

VcdSink::~VcdSink() {
    finish();
}

void VcdSink::copy() {
    std::string header;
    bool header_done = false;
    std::vector<char> buffer(64 * 1024);
    const auto emit = [&](const char* data, size_t size) {
        // After a failure keep reading, so that the simulation never blocks on a full pipe.
        if (error_.empty() && !write_all(out_, data, size)) {
            error_ = std::strerror(errno);
        }
    };
    while (true) {
        const ssize_t got = ::read(in_, buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            error_ = error_.empty() ? std::strerror(errno) : error_;
            break;
        }
        if (got == 0) {
            break;
        }
        if (header_done) {
            emit(buffer.data(), static_cast<size_t>(got));
            continue;
        }
        header.append(buffer.data(), static_cast<size_t>(got));
        const size_t date = header.find("$date");
        if ((date != std::string::npos && header.find("$end", date) != std::string::npos) ||
            header.size() > kMaxHeaderBytes) {
            replace_date(header);
            emit(header.data(), header.size());
            header_done = true;
            header.clear();
        }
    }
    if (!header_done) {
        replace_date(header);
        emit(header.data(), header.size());
    }
}

std::string VcdSink::finish() {
    if (finished_) {
        return error_;
    }
    finished_ = true;
    ::close(keeper_);
    if (copier_.joinable()) {
        copier_.join();
    }
    ::close(in_);
    if (::close(out_) != 0 && error_.empty()) {
        error_ = std::strerror(errno);
    }
    ::unlink(pipe_path_.c_str());
    return error_;
}

}  // namespace vbsim::platform
