#pragma once

// Quantities with units as scenario files write them: sizes (4KiB, 1.5GiB, 1GB, 4096),
// times (250ns, 3ms, 1.5s, 2us, 0), data rates (190MiB/s, 16GB/s), plain counts and
// fractions (0.2 or 20%). Parsing is exact where the result is an integer (1.5GiB is
// exactly 1610612736 bytes), so scenarios never depend on floating-point rounding.
//
// Units are case-sensitive: binary B, KiB, MiB, GiB, TiB, PiB, EiB; decimal (SI) kB, MB, GB,
// TB, PB, EB; times s, ms, us (or µs), ns, ps; rates are a size over s, ms, us or ns.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <systemc>

namespace vbsim::params {

// What a parse expected, for messages ("expected <this>, got '...'"); the loader uses the
// same words when a node is not a scalar at all.
inline constexpr const char* kExpectSize = "a size such as 512MiB or 1GiB";
inline constexpr const char* kExpectAddress = "an address such as 0x80000000";
inline constexpr const char* kExpectTime = "a time such as 250ns, 3ms or 1.5s";
inline constexpr const char* kExpectRate = "a rate such as 190MiB/s or 16GB/s";
inline constexpr const char* kExpectCount = "a whole number such as 256";
inline constexpr const char* kExpectNumber = "a number such as 0.25";
inline constexpr const char* kExpectFraction = "a fraction between 0 and 1 such as 0.2 or 20%";

// A parsed value, or the reason there is none: a complete message such as
// "expected a size such as 512MiB or 1GiB, got '12 parsecs'".
template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string error;

    bool ok() const { return value.has_value(); }
    static Parsed success(T v) { return Parsed{std::move(v), {}}; }
    static Parsed failure(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
};

// Bytes: a plain integer (decimal or 0x hex) or a number with a size unit; the result must
// be a whole number of bytes.
Parsed<uint64_t> parse_size(std::string_view text);
// A guest-physical address: like a size (0x80000000, 2147483648 or 2GiB).
Parsed<uint64_t> parse_address(std::string_view text);
// A simulated time; a plain number is accepted only for 0. Resolution 1 ps.
Parsed<sc_core::sc_time> parse_time(std::string_view text);
// Bytes per second; a plain number is accepted only for 0.
Parsed<double> parse_rate(std::string_view text);
// A memory bandwidth as a rate (16GB/s), returned in bytes per nanosecond (16.0).
Parsed<double> parse_bandwidth_bytes_per_ns(std::string_view text);
// A non-negative integer (decimal or 0x hex), no unit.
Parsed<uint64_t> parse_count(std::string_view text);
// A finite decimal number (1, 0.25, 1e5), no unit.
Parsed<double> parse_number(std::string_view text);
// 0.2 or 20% -> 0.2; outside 0..1 (0%..100%) is an error.
Parsed<double> parse_fraction(std::string_view text);

// For messages: the exact size in the largest binary unit that divides it ("1GiB",
// "1536MiB", "4097B").
std::string format_size(uint64_t bytes);
// For messages: "1 GiB" for "1 GB" (the same number with the binary unit), when `text` is a
// size written with a decimal (SI) unit; nothing otherwise.
std::optional<std::string> binary_spelling(std::string_view text);
// For messages: an integer with thousands separators ("1,000,000,000").
std::string format_grouped(uint64_t value);
// For messages: the exact time in the largest unit that divides it ("250ns", "1500ms").
std::string format_time(const sc_core::sc_time& time);

}  // namespace vbsim::params
