#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "platform/units.h"

namespace vbsim::platform {
namespace {

using sc_core::sc_time;

uint64_t size_of(const char* text) {
    const Parsed<uint64_t> parsed = parse_size(text);
    EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error;
    return parsed.value.value_or(0);
}

std::string size_error(const char* text) {
    const Parsed<uint64_t> parsed = parse_size(text);
    EXPECT_FALSE(parsed.ok()) << text;
    return parsed.error;
}

sc_time time_of(const char* text) {
    const Parsed<sc_time> parsed = parse_time(text);
    EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error;
    return parsed.value.value_or(sc_time(123, sc_core::SC_SEC));
}

std::string time_error(const char* text) {
    const Parsed<sc_time> parsed = parse_time(text);
    EXPECT_FALSE(parsed.ok()) << text;
    return parsed.error;
}

double rate_of(const char* text) {
    const Parsed<double> parsed = parse_rate(text);
    EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error;
    return parsed.value.value_or(-1.0);
}

TEST(UnitsTest, SizesInBinaryUnits) {
    EXPECT_EQ(size_of("1B"), 1u);
    EXPECT_EQ(size_of("4KiB"), 4096u);
    EXPECT_EQ(size_of("512MiB"), 536870912u);
    EXPECT_EQ(size_of("1GiB"), 1073741824u);
    EXPECT_EQ(size_of("2TiB"), 2199023255552u);
    EXPECT_EQ(size_of("1PiB"), 1125899906842624u);
    EXPECT_EQ(size_of("1EiB"), 1152921504606846976u);
}

TEST(UnitsTest, SizesWithFractionsAreExact) {
    EXPECT_EQ(size_of("1.5GiB"), 1610612736u);
    EXPECT_EQ(size_of("0.5KiB"), 512u);
    EXPECT_EQ(size_of("1.50000000000000000000000GiB"), 1610612736u);
    EXPECT_EQ(size_of("0.25MiB"), 262144u);
}

TEST(UnitsTest, SizesInDecimalUnits) {
    EXPECT_EQ(size_of("1kB"), 1000u);
    EXPECT_EQ(size_of("1MB"), 1000000u);
    EXPECT_EQ(size_of("1GB"), 1000000000u);
    EXPECT_EQ(size_of("1.5GB"), 1500000000u);
    EXPECT_EQ(size_of("2TB"), 2000000000000u);
    EXPECT_EQ(size_of("1PB"), 1000000000000000u);
    EXPECT_EQ(size_of("1EB"), 1000000000000000000u);
}

TEST(UnitsTest, PlainSizesAreBytes) {
    EXPECT_EQ(size_of("4096"), 4096u);
    EXPECT_EQ(size_of("0"), 0u);
    EXPECT_EQ(size_of("0x1000"), 4096u);
    EXPECT_EQ(size_of("0XfF"), 255u);
    EXPECT_EQ(size_of(" 16 KiB "), 16384u);
    EXPECT_EQ(size_of("18446744073709551615"), UINT64_MAX);
}

TEST(UnitsTest, BadSizesSayWhatWasExpected) {
    EXPECT_EQ(size_error("12 parsecs"),
              "expected a size such as 512MiB or 1GiB, got '12 parsecs' (unknown unit 'parsecs')");
    EXPECT_EQ(size_error("1gib"),
              "expected a size such as 512MiB or 1GiB, got '1gib' (unknown unit 'gib'; units are "
              "case-sensitive: did you mean 'GiB'?)");
    EXPECT_EQ(size_error("-1GiB"),
              "expected a size such as 512MiB or 1GiB, got '-1GiB' (must not be negative)");
    EXPECT_EQ(size_error("0.5B"),
              "expected a size such as 512MiB or 1GiB, got '0.5B' (not a whole number of bytes)");
    EXPECT_EQ(size_error("1.5"),
              "expected a size such as 512MiB or 1GiB, got '1.5' (not a whole number of bytes)");
    EXPECT_EQ(size_error("16EiB"),
              "expected a size such as 512MiB or 1GiB, got '16EiB' (too large)");
    EXPECT_EQ(size_error("18446744073709551616"),
              "expected a size such as 512MiB or 1GiB, got '18446744073709551616' (too many "
              "digits)");
    EXPECT_EQ(size_error(""), "expected a size such as 512MiB or 1GiB, got '' (empty)");
    EXPECT_EQ(size_error("GiB"), "expected a size such as 512MiB or 1GiB, got 'GiB' (no number)");
    EXPECT_EQ(size_error("1."),
              "expected a size such as 512MiB or 1GiB, got '1.' (no digits after the decimal "
              "point)");
    EXPECT_EQ(size_error("0x10KiB"),
              "expected a size such as 512MiB or 1GiB, got '0x10KiB' (a 0x number takes no unit)");
    EXPECT_EQ(size_error("0xg"),
              "expected a size such as 512MiB or 1GiB, got '0xg' (no digits after 0x)");
}

TEST(UnitsTest, Addresses) {
    EXPECT_EQ(parse_address("0x80000000").value, 0x80000000u);
    EXPECT_EQ(parse_address("2147483648").value, 0x80000000u);
    EXPECT_EQ(parse_address("2GiB").value, 0x80000000u);
    EXPECT_EQ(parse_address("somewhere").error,
              "expected an address such as 0x80000000, got 'somewhere' (no number)");
}

TEST(UnitsTest, Times) {
    EXPECT_EQ(time_of("250ns"), sc_time(250, sc_core::SC_NS));
    EXPECT_EQ(time_of("3ms"), sc_time(3, sc_core::SC_MS));
    EXPECT_EQ(time_of("1.5s"), sc_time(1500, sc_core::SC_MS));
    EXPECT_EQ(time_of("2us"), sc_time(2, sc_core::SC_US));
    EXPECT_EQ(time_of("2\xC2\xB5s"), sc_time(2, sc_core::SC_US));  // micro sign
    EXPECT_EQ(time_of("2\xCE\xBCs"), sc_time(2, sc_core::SC_US));  // Greek mu
    EXPECT_EQ(time_of("7ps"), sc_time(7, sc_core::SC_PS));
    EXPECT_EQ(time_of("0.5ns"), sc_time(500, sc_core::SC_PS));
    EXPECT_EQ(time_of("0"), sc_core::SC_ZERO_TIME);
    EXPECT_EQ(time_of("0s"), sc_core::SC_ZERO_TIME);
    EXPECT_EQ(time_of("60 s"), sc_time(60, sc_core::SC_SEC));
    EXPECT_EQ(time_of("86400s"), sc_time(86400, sc_core::SC_SEC));
    EXPECT_EQ(time_of("1.000000001s").value(), 1000000001000u);  // picoseconds
}

TEST(UnitsTest, BadTimesSayWhatWasExpected) {
    EXPECT_EQ(time_error("5"),
              "expected a time such as 250ns, 3ms or 1.5s, got '5' (a time needs a unit: s, ms, "
              "us, ns)");
    EXPECT_EQ(time_error("3 fortnights"),
              "expected a time such as 250ns, 3ms or 1.5s, got '3 fortnights' (unknown unit "
              "'fortnights')");
    EXPECT_EQ(time_error("3MS"),
              "expected a time such as 250ns, 3ms or 1.5s, got '3MS' (unknown unit 'MS'; units "
              "are case-sensitive: did you mean 'ms'?)");
    EXPECT_EQ(time_error("1.5ps"),
              "expected a time such as 250ns, 3ms or 1.5s, got '1.5ps' (not a whole number of "
              "picoseconds)");
    EXPECT_EQ(time_error("-1s"),
              "expected a time such as 250ns, 3ms or 1.5s, got '-1s' (must not be negative)");
    EXPECT_EQ(time_error("0x10ns"),
              "expected a time such as 250ns, 3ms or 1.5s, got '0x10ns' (a time is not written in "
              "hex)");
    EXPECT_EQ(time_error("10000000s"),
              "expected a time such as 250ns, 3ms or 1.5s, got '10000000s' (too large)");
}

TEST(UnitsTest, Rates) {
    EXPECT_EQ(rate_of("190MiB/s"), 199229440.0);
    EXPECT_EQ(rate_of("16GB/s"), 16e9);
    EXPECT_EQ(rate_of("1.5GiB/s"), 1610612736.0);
    EXPECT_EQ(rate_of("0.5MiB/s"), 524288.0);
    EXPECT_EQ(rate_of("1KiB/ms"), 1024000.0);
    EXPECT_EQ(rate_of("2B/us"), 2e6);
    EXPECT_EQ(rate_of("1B/ns"), 1e9);
    EXPECT_EQ(rate_of("100/s"), 100.0);
    EXPECT_EQ(rate_of("0"), 0.0);
    EXPECT_EQ(rate_of("0.5B/s"), 0.5);
}

TEST(UnitsTest, BadRatesSayWhatWasExpected) {
    EXPECT_EQ(parse_rate("190MiB").error,
              "expected a rate such as 190MiB/s or 16GB/s, got '190MiB' (a rate needs a unit such "
              "as MiB/s)");
    EXPECT_EQ(parse_rate("1MiB/h").error,
              "expected a rate such as 190MiB/s or 16GB/s, got '1MiB/h' (unknown time unit 'h' "
              "after '/': use s, ms, us or ns)");
    EXPECT_EQ(parse_rate("5 parsecs/s").error,
              "expected a rate such as 190MiB/s or 16GB/s, got '5 parsecs/s' (unknown unit "
              "'parsecs')");
    EXPECT_EQ(parse_rate("-1MiB/s").error,
              "expected a rate such as 190MiB/s or 16GB/s, got '-1MiB/s' (must not be negative)");
}

TEST(UnitsTest, BandwidthIsBytesPerNanosecond) {
    EXPECT_EQ(parse_bandwidth_bytes_per_ns("16GB/s").value, 16.0);
    EXPECT_EQ(parse_bandwidth_bytes_per_ns("1GiB/s").value, 1.073741824);
    EXPECT_EQ(parse_bandwidth_bytes_per_ns("8B/ns").value, 8.0);
    EXPECT_FALSE(parse_bandwidth_bytes_per_ns("16GB").ok());
}

TEST(UnitsTest, Counts) {
    EXPECT_EQ(parse_count("256").value, 256u);
    EXPECT_EQ(parse_count("0").value, 0u);
    EXPECT_EQ(parse_count("0x10").value, 16u);
    EXPECT_EQ(parse_count("1.5").error,
              "expected a whole number such as 256, got '1.5' (not a whole number)");
    EXPECT_EQ(parse_count("3KiB").error,
              "expected a whole number such as 256, got '3KiB' (no unit expected)");
    EXPECT_EQ(parse_count("-1").error,
              "expected a whole number such as 256, got '-1' (must not be negative)");
}

TEST(UnitsTest, Numbers) {
    EXPECT_EQ(parse_number("0.25").value, 0.25);
    EXPECT_EQ(parse_number("1e5").value, 100000.0);
    EXPECT_EQ(parse_number("-3").value, -3.0);
    EXPECT_EQ(parse_number("abc").error, "expected a number such as 0.25, got 'abc'");
    EXPECT_FALSE(parse_number("nan").ok());
    EXPECT_FALSE(parse_number("inf").ok());
    EXPECT_FALSE(parse_number("1.5x").ok());
}

TEST(UnitsTest, Fractions) {
    EXPECT_EQ(parse_fraction("0.2").value, 0.2);
    EXPECT_EQ(parse_fraction("20%").value, 0.2);
    EXPECT_EQ(parse_fraction("0.25%").value, 0.0025);
    EXPECT_EQ(parse_fraction("100%").value, 1.0);
    EXPECT_EQ(parse_fraction("0").value, 0.0);
    EXPECT_EQ(parse_fraction("1.5").error,
              "expected a fraction between 0 and 1 such as 0.2 or 20%, got '1.5' (outside 0..1)");
    EXPECT_EQ(parse_fraction("150%").error,
              "expected a fraction between 0 and 1 such as 0.2 or 20%, got '150%' (outside "
              "0%..100%)");
    EXPECT_EQ(parse_fraction("-0.1").error,
              "expected a fraction between 0 and 1 such as 0.2 or 20%, got '-0.1' (outside 0..1)");
    EXPECT_EQ(parse_fraction("lots").error,
              "expected a fraction between 0 and 1 such as 0.2 or 20%, got 'lots'");
}

TEST(UnitsTest, FormatsForMessages) {
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_size(4096), "4KiB");
    EXPECT_EQ(format_size(uint64_t{1536} << 20), "1536MiB");
    EXPECT_EQ(format_size(uint64_t{1} << 30), "1GiB");
    EXPECT_EQ(format_size(4097), "4097B");
    EXPECT_EQ(format_time(sc_time(250, sc_core::SC_NS)), "250ns");
    EXPECT_EQ(format_time(sc_time(1500, sc_core::SC_MS)), "1500ms");
    EXPECT_EQ(format_time(sc_time(60, sc_core::SC_SEC)), "60s");
    EXPECT_EQ(format_time(sc_time(7, sc_core::SC_PS)), "7ps");
    EXPECT_EQ(format_time(sc_core::SC_ZERO_TIME), "0");
}

}  // namespace
}  // namespace vbsim::platform
