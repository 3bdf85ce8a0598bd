#pragma once

// How outputs write seconds, bytes, hex and plain numbers: one place for the CSV, JSON and
// HTML writers, the trace files, check results and the terminal. Every function is
// independent of the C locale, so no locale can change an output byte.

#include <cstdint>
#include <string>

#include <systemc>

namespace vbsim::platform {

// Simulated time as whole nanoseconds, and as seconds with exactly nine decimals
// ("0.012500000"). Integer arithmetic on the time's raw value, so every output prints the
// same time the same way on every machine.
uint64_t time_ns(const sc_core::sc_time& time);
std::string format_seconds(const sc_core::sc_time& time);
// time_ns as a double number of seconds.
double time_in_seconds(const sc_core::sc_time& time);
// For people: six significant digits and the unit ("0.0125 s").
std::string format_seconds_brief(const sc_core::sc_time& time);
// Picoseconds as microseconds with six decimals ("12.500000"): exact.
std::string format_micros(uint64_t ps);

// Fixed decimals ("1.50"); trailing zeros dropped ("1.5", "768", never "-0"); about three
// significant digits ("0.25", "12.5", "768").
std::string format_fixed(double value, int decimals);
std::string format_trimmed(double value, int decimals);
std::string format_significant(double value);
// A number as written: whole numbers exactly (134217728, not 1.34218e+08), others with the
// digits they need.
std::string format_exact_number(double value);

// Bytes in the largest binary unit below 1024 of it: about three significant digits
// ("80.3 MiB", for the report), or four ("80.25 MiB", for terminal messages).
std::string format_bytes(double bytes);
std::string format_bytes_4_digits(double bytes);

// "0x1f".
std::string format_hex(uint64_t value);

}  // namespace vbsim::platform
