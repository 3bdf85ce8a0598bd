#include "platform/text/quantity_format.h"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iterator>

namespace vbsim::platform {

namespace {

constexpr const char* kBinaryUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

// `bytes` divided down to below 1024 of its unit; the unit's index in kBinaryUnits.
double scale_bytes(double bytes, size_t& unit) {
    unit = 0;
    while (std::fabs(bytes) >= 1024 && unit + 1 < std::size(kBinaryUnits)) {
        bytes /= 1024;
        ++unit;
    }
    return bytes;
}

}  // namespace

uint64_t time_ns(const sc_core::sc_time& time) {
    // SystemC resolutions are powers of ten, so one nanosecond is a whole number of units
    // unless the resolution is coarser than a nanosecond.
    const uint64_t units_per_ns = sc_core::sc_time(1, sc_core::SC_NS).value();
    if (units_per_ns > 0) {
        return time.value() / units_per_ns;
    }
    return static_cast<uint64_t>(std::llround(time.to_seconds() * 1e9));
}

std::string format_seconds(const sc_core::sc_time& time) {
    const uint64_t ns = time_ns(time);
    std::string fraction = std::to_string(ns % 1000000000u);
    fraction.insert(0, 9 - fraction.size(), '0');
    return std::to_string(ns / 1000000000u) + "." + fraction;
}

double time_in_seconds(const sc_core::sc_time& time) {
    return static_cast<double>(time_ns(time)) * 1e-9;
}

std::string format_seconds_brief(const sc_core::sc_time& time) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g s", time.to_seconds());
    return text;
}

std::string format_micros(uint64_t ps) {
    char text[40];
    std::snprintf(text, sizeof text, "%llu.%06llu", static_cast<unsigned long long>(ps / 1000000),
                  static_cast<unsigned long long>(ps % 1000000));
    return text;
}

std::string format_fixed(double value, int decimals) {
    char buffer[64];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
    return std::string(buffer, static_cast<std::size_t>(result.ptr - buffer));
}

std::string format_trimmed(double value, int decimals) {
    std::string text = format_fixed(value, decimals);
    if (text.find('.') != std::string::npos) {
        text.erase(text.find_last_not_of('0') + 1);
        if (text.back() == '.') {
            text.pop_back();
        }
    }
    return text == "-0" ? "0" : text;
}

std::string format_significant(double value) {
    const double magnitude = std::fabs(value);
    return format_trimmed(value, magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2);
}

std::string format_exact_number(double value) {
    if (std::nearbyint(value) == value && std::fabs(value) < 9.2e18) {
        return std::to_string(static_cast<int64_t>(value));
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

std::string format_bytes(double bytes) {
    size_t unit = 0;
    const double scaled = scale_bytes(bytes, unit);
    return format_significant(scaled) + " " + kBinaryUnits[unit];
}

std::string format_bytes_4_digits(double bytes) {
    size_t unit = 0;
    const double scaled = scale_bytes(bytes, unit);
    char text[32];
    std::snprintf(text, sizeof text, "%.4g %s", scaled, kBinaryUnits[unit]);
    return text;
}

std::string format_hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace vbsim::platform
