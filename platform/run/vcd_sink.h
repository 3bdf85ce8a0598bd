#pragma once

// trace.vcd as SystemC's sc_trace writes it, passed through a pipe. SystemC's VCD writer
// ignores write errors (a full disk or a file-size limit would leave a cut file that looks
// whole), so a thread of ours reads the pipe and writes the file, checking every write. On the
// way it replaces the wall-clock `$date` of the header, so identical runs give identical files.

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

    // The name for sc_create_vcd_trace_file (which appends ".vcd" and opens the pipe).
    const std::string& systemc_name() const { return systemc_name_; }
    const std::string& path() const { return path_; }

    // Call after sc_close_vcd_trace_file: waits until everything written reached the file.
    // Returns an empty string, or what went wrong ("No space left on device").
    std::string finish();

  private:
    void copy();

    std::string path_;          // directory/trace.vcd
    std::string pipe_path_;     // directory/.trace-pipe.vcd (a FIFO)
    std::string systemc_name_;  // pipe_path_ without ".vcd"
    int in_ = -1;               // reading end of the pipe (the copier's)
    int keeper_ = -1;           // a writing end of ours, closed by finish()
    int out_ = -1;              // trace.vcd
    std::thread copier_;
    std::string error_;
    bool finished_ = false;
};

}  // namespace vbsim::platform
