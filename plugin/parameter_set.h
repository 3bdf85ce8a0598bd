#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "models/params/broker.h"
#include "models/params/param.h"

namespace vbsim::plugin {

// A module's parameters given by name as text (from a host's config file), read into the
// module's Params struct through the parameter tree: the values become presets of a
// params::ParamBroker under "<instance>.<name>", and each read declares a params::Param<T> of
// that name with the struct's value as its default, taking the preset. A value that does not
// parse, is out of range, or a name nobody declared (with the closest name) is collected by
// the broker; check_all_read() throws std::invalid_argument with all of them.
//
// In describing mode (describing()) there are no presets: every read records
// "name = default  -- meaning [range]", which is how a module type lists its parameters
// without a second list to drift.
class ParameterSet {
  public:
    ParameterSet() : broker_(std::make_unique<params::ParamBroker>()) {}
    explicit ParameterSet(std::map<std::string, std::string> values);
    static ParameterSet describing();

    void set(const std::string& name, const std::string& value) { values_[name] = value; }
    // Full parameter names are "<instance>.<name>"; presets are handed to the broker here.
    void begin(const std::string& instance);

    void read_count(const std::string& name, uint64_t& value, const char* meaning,
                    params::ParamRange<uint64_t> range = {});
    void read_count(const std::string& name, uint32_t& value, const char* meaning,
                    params::ParamRange<uint32_t> range = {});
    void read_unsigned(const std::string& name, unsigned int& value, const char* meaning,
                       params::ParamRange<uint32_t> range = {});
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

    // Throws std::invalid_argument listing every value the broker could not use.
    void check_all_read() const;
    // The lines recorded in describing mode.
    const std::string& description() const { return description_; }

  private:
    template <typename T>
    void read(const std::string& name, T& value, params::ParamUnit unit, const char* meaning,
              params::ParamRange<T> range = {});

    std::map<std::string, std::string> values_;
    std::string prefix_;
    std::unique_ptr<params::ParamBroker> broker_;
    std::vector<std::unique_ptr<params::ParamUntyped>> declared_;
    bool describing_ = false;
    std::string description_;
};

}  // namespace vbsim::plugin
