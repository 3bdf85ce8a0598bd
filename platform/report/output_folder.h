#pragma once

// Where a run's files go. They are written into a staging folder next to the target,
// `.<name>.incomplete-<pid>`, which replaces the target only once every file is complete:
// a folder with the target's name always holds one whole run, never a mix of two. A run that
// fails removes its staging folder; one stopped by SIGINT, SIGTERM or SIGHUP removes it on the
// way out; one killed outright (SIGKILL) leaves it behind, hidden and named incomplete, and the
// next run into the same parent folder removes it.

#include <stdexcept>
#include <string>
#include <vector>

namespace vbsim::platform {

// A file or folder that cannot be written; the message names it.
class OutputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The files vbsim writes into an output folder.
const std::vector<std::string>& output_file_names();
// True for the files a run may write: output_file_names() and the per-guest mmio-<guest>.csv.
bool is_output_file_name(const std::string& name);

// A name as one folder name: only letters, digits, '.', '_' and '-' (anything else becomes '_'),
// and no leading dot, so no name can climb out of its parent folder or hide.
std::string safe_folder_name(const std::string& name);

class OutputFolder {
  public:
    // Makes the staging folder. Throws OutputError when the target cannot be used: it is not
    // a folder, it holds files vbsim did not write (the whole folder is replaced), or its
    // parent cannot be written.
    explicit OutputFolder(const std::string& target);
    // Removes the staging folder unless commit() succeeded.
    ~OutputFolder();
    OutputFolder(const OutputFolder&) = delete;
    OutputFolder& operator=(const OutputFolder&) = delete;

    const std::string& target() const { return target_; }
    const std::string& staging() const { return staging_; }

    // Puts the staging folder in the target's place, atomically where the file system can
    // exchange two folders, and removes what was there. Returns an empty string, or the error.
    std::string commit();

  private:
    std::string target_;
    std::string staging_;
    bool committed_ = false;
};

}  // namespace vbsim::platform
