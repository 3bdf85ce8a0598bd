#pragma once

// The parameter tree, in the spirit of SystemC CCI (IEEE 1666.1) and with its names, so that
// moving to Accellera's library later is mechanical:
//
//   Param<T>        (cci_param<T>)          a typed value with a full hierarchical name such as
//                                           "vm0.balloon.inflate.transport_cost", a unit, a
//                                           default, an allowed range and a one-line description
//   ParamUntyped    (cci_param_untyped)     the same seen without its type: names, texts
//   ParamBroker     (cci_broker_if)         holds preset values by full name and the handles of
//                                           every parameter registered with it
//
// Use:
//   ParamBroker broker;
//   broker.set_preset_value("vm0.bus.hop_latency", "7ns", origin);   // YAML, --set, C++, plugin
//   Param<sc_time> hop("vm0.bus.hop_latency", sc_time(5, SC_NS), ParamUnit::kTime,
//                      "bus latency each way", broker);               // takes the preset: 7ns
//   hop.get_value();                                                  // 7 ns
//   broker.check();  // bad values, and presets no parameter took (with the closest name)
//
// A parameter takes its preset when it is constructed (before or during elaboration), parses
// it with the units parser (models/params/units.h) and checks it against its range; a value
// that does not parse or is out of range is recorded in the broker with the preset's origin
// and the default stays. Values never change after construction (CCI's elaboration-time
// parameters), so models read them once.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <systemc>

namespace vbsim::params {

class ParamBroker;

// How a value is written and read (the units parser's categories).
enum class ParamUnit {
    kTime,       // sc_time: 250ns, 3ms
    kSize,       // uint64_t bytes: 4KiB, 1GiB
    kAddress,    // uint64_t: 0x10001000
    kBandwidth,  // double bytes per ns, written as a rate: 16GB/s
    kCount,      // unsigned integer: 256
    kNumber,     // double: 0.25
    kFraction,   // double 0..1: 0.2 or 20%
    kBool,       // true or false
    kNames,      // std::vector<std::string>: [a, b]
    kText,       // std::string: one word, such as modern
};

// "time", "size", ...: the type column of `vbsim params`.
const char* unit_name(ParamUnit unit);

// Where a preset came from, for messages: "file:line:column: key.path: message".
struct PresetOrigin {
    std::string file;  // a scenario file, "--set NAME", or a plugin's or program's name
    int line = 0;      // 1-based; 0 when there is no position
    int column = 0;
    std::string key_path;  // as the user wrote it (a YAML path, or the parameter's name)
};

// A preset that could not be used.
struct ParamError {
    std::string param_name;
    PresetOrigin origin;
    std::string message;

    // "file:line:column: key.path: message", leaving out the parts that are empty.
    std::string to_string() const;
};

// The values a parameter allows beyond its type. Bounds are inclusive; `rule` returns the
// whole error message for a value it refuses ("must be a power of 2, got 100"; "" when it
// takes it) and `rule_text` says the rule for the reference ("a power of 2").
template <typename T>
struct ParamRange {
    std::optional<T> min;
    std::optional<T> max;
    std::string rule_text;
    std::function<std::string(const T&)> rule;
};

class ParamUntyped {
  public:
    ParamUntyped(const ParamUntyped&) = delete;
    ParamUntyped& operator=(const ParamUntyped&) = delete;
    virtual ~ParamUntyped();

    const std::string& name() const { return name_; }
    const std::string& get_description() const { return description_; }
    ParamUnit unit() const { return unit_; }
    // True when the value came from a preset.
    bool is_preset_value() const { return preset_; }
    std::string get_default_value_text() const { return format(default_slot()); }
    std::string get_value_text() const { return format(value_slot()); }
    // "1..32768, a power of 2", "" when any value of the type is taken.
    virtual std::string get_range_text() const = 0;

  protected:
    ParamUntyped(std::string name, ParamUnit unit, std::string description, ParamBroker& broker);
    // Takes the broker's preset, if any; called by Param<T> once its value is in place.
    void take_preset();

  private:
    // Parses `text` into the value; returns an error message or "".
    virtual std::string set_from_text(std::string_view text) = 0;
    virtual const void* default_slot() const = 0;
    virtual const void* value_slot() const = 0;
    virtual std::string format(const void* slot) const = 0;

    std::string name_;
    ParamUnit unit_;
    std::string description_;
    ParamBroker& broker_;
    bool preset_ = false;
};

// Parsing and printing of the value types (units parser underneath). `parse_value` returns an
// error message ("expected a time such as 250ns, 3ms or 1.5s, got 'x'") or "".
std::string parse_value(std::string_view text, ParamUnit unit, sc_core::sc_time& out);
std::string parse_value(std::string_view text, ParamUnit unit, uint64_t& out);
std::string parse_value(std::string_view text, ParamUnit unit, uint32_t& out);
std::string parse_value(std::string_view text, ParamUnit unit, double& out);
std::string parse_value(std::string_view text, ParamUnit unit, bool& out);
std::string parse_value(std::string_view text, ParamUnit unit, std::vector<std::string>& out);
std::string parse_value(std::string_view text, ParamUnit unit, std::string& out);
std::string format_value(const sc_core::sc_time& value, ParamUnit unit);
std::string format_value(uint64_t value, ParamUnit unit);
std::string format_value(uint32_t value, ParamUnit unit);
std::string format_value(double value, ParamUnit unit);
std::string format_value(bool value, ParamUnit unit);
std::string format_value(const std::vector<std::string>& value, ParamUnit unit);
std::string format_value(const std::string& value, ParamUnit unit);

template <typename T>
class Param : public ParamUntyped {
  public:
    Param(std::string name, T default_value, ParamUnit unit, std::string description,
          ParamBroker& broker, ParamRange<T> range = {})
        : ParamUntyped(std::move(name), unit, std::move(description), broker),
          default_(default_value),
          value_(std::move(default_value)),
          range_(std::move(range)) {
        take_preset();
    }

    const T& get_value() const { return value_; }
    operator const T&() const { return value_; }  // NOLINT: reads like the value, as in CCI
    const T& get_default_value() const { return default_; }

    std::string get_range_text() const override {
        std::string text;
        if (range_.min && range_.max) {
            text = format_value(*range_.min, unit()) + ".." + format_value(*range_.max, unit());
        } else if (range_.min) {
            text = ">= " + format_value(*range_.min, unit());
        } else if (range_.max) {
            text = "<= " + format_value(*range_.max, unit());
        }
        if (!range_.rule_text.empty()) {
            text += (text.empty() ? "" : ", ") + range_.rule_text;
        }
        return text;
    }

  private:
    std::string set_from_text(std::string_view text) override {
        T parsed{};
        std::string error = parse_value(text, unit(), parsed);
        if (!error.empty()) {
            return error;
        }
        const std::string got = ", got '" + std::string(text) + "'";
        if (range_.min && range_.max && (parsed < *range_.min || *range_.max < parsed)) {
            return "must be between " + format_value(*range_.min, unit()) + " and " +
                   format_value(*range_.max, unit()) + got;
        }
        if (range_.min && parsed < *range_.min) {
            return "must be at least " + format_value(*range_.min, unit()) + got;
        }
        if (range_.max && *range_.max < parsed) {
            return "must be at most " + format_value(*range_.max, unit()) + got;
        }
        if (range_.rule) {
            if (std::string refused = range_.rule(parsed); !refused.empty()) {
                return refused;
            }
        }
        value_ = std::move(parsed);
        return {};
    }
    const void* default_slot() const override { return &default_; }
    const void* value_slot() const override { return &value_; }
    std::string format(const void* slot) const override {
        return format_value(*static_cast<const T*>(slot), unit());
    }

    T default_;
    T value_;
    ParamRange<T> range_;
};

}  // namespace vbsim::params
