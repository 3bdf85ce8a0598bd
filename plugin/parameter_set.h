#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <systemc>

namespace vbsim::plugin {

// A module's parameters given by name as text (from a host's config file), read into the
// module's Params struct by typed reads. A read leaves the struct's default when the name is
// absent; a bad value throws std::invalid_argument naming parameter, expectation and value;
// a name no read asked for is an error too (check_all_read()), so a typo never passes silently.
//
// In describing mode (describe()) nothing is parsed: every read records "name = default  --
// meaning", which is how a module type lists its parameters without a second list to drift.
class ParameterSet {
  public:
    ParameterSet() = default;
    explicit ParameterSet(std::map<std::string, std::string> values) : values_(std::move(values)) {}
    static ParameterSet describing();

    void set(const std::string& name, const std::string& value) { values_[name] = value; }

    void read_count(const std::string& name, uint64_t& value, const char* meaning);
    void read_count(const std::string& name, uint32_t& value, const char* meaning);
    void read_unsigned(const std::string& name, unsigned int& value, const char* meaning);
    void read_bool(const std::string& name, bool& value, const char* meaning);
    void read_size(const std::string& name, uint64_t& value, const char* meaning);
    void read_time(const std::string& name, sc_core::sc_time& value, const char* meaning);
    void read_number(const std::string& name, double& value, const char* meaning);
    // "base size, base size...": e.g. "0x80000000 1GiB, 0x100000000 512MiB".
    void read_ranges(const std::string& name, std::vector<std::pair<uint64_t, uint64_t>>& value,
                     const char* meaning);
    // Comma-separated entries, each split at blanks: "ram 0x80000000 1GiB 0, uart 0x1000 256 1".
    void read_records(const std::string& name, std::vector<std::vector<std::string>>& value,
                      const char* meaning);

    // Throws std::invalid_argument listing every parameter no read asked for.
    void check_all_read() const;
    // The lines recorded in describing mode.
    const std::string& description() const { return description_; }

  private:
    // The text of `name`, or null when absent (or describing); marks it read.
    const std::string* take(const std::string& name, const std::string& current,
                            const char* meaning);
    [[noreturn]] static void fail(const std::string& name, const std::string& why);

    std::map<std::string, std::string> values_;
    std::set<std::string> read_;
    bool describing_ = false;
    std::string description_;
};

}  // namespace vbsim::plugin
