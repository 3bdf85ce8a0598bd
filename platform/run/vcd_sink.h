#pragma once

// trace.vcd, passed through a pipe: a thread of ours reads it and writes the file, checking
// every write (a full disk or a file-size limit must not leave a cut file that looks whole).
// On the way it replaces the header's `$date` (SystemC's writer stamps the wall clock there),
// so identical runs give identical files whichever writer fills the pipe.

#include <string>
#include <thread>

namespace vbsim::platform {

class VcdSink {
  public:
    // Prepares `directory`/trace.vcd. Throws std::runtime_error when the pipe cannot be made.
    explicit VcdSink(const std::string& directory);
    // Waits for the copy (finish() if not called); never throws.
    ~VcdSink();
    VcdSink(const VcdSink&) = delete;
    VcdSink& operator=(const VcdSink&) = delete;

    // The writing end's path, for the VcdWriter (or sc_create_vcd_trace_file, without ".vcd").
    const std::string& pipe_path() const { return pipe_path_; }
    const std::string& path() const { return path_; }

    // Call after the writer closed its end (VcdWriter::close): waits until everything written
    // reached the file.
    // Returns an empty string, or what went wrong ("No space left on device").
    std::string finish();

  private:
    void copy();

    std::string path_;       // directory/trace.vcd
    std::string pipe_path_;  // directory/.trace-pipe.vcd (a FIFO)
    int in_ = -1;            // reading end of the pipe (the copier's)
    int keeper_ = -1;        // a writing end of ours, closed by finish()
    int out_ = -1;           // trace.vcd
    std::thread copier_;
    std::string error_;
    bool finished_ = false;
};

}  // namespace vbsim::platform
