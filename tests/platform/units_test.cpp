#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "platform/config/units.h"

namespace vbsim::platform {
namespace {

using sc_core::SC_MS;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::SC_SEC;
using sc_core::sc_time;
using sc_core::SC_US;

// Tables of cases: each row is one text and what parsing it must give. A row whose text does
// not parse, or parses to anything else, fails with the text in the message.
template <typename T>
struct Good {
    const char* text;
    T expected;
};
struct Bad {
    const char* text;
    const char* error;  // the whole message; nullptr: any error
};

template <typename T, typename Parse>
void expect_values(Parse parse, std::initializer_list<Good<T>> rows) {
    for (const Good<T>& row : rows) {
        const Parsed<T> parsed = parse(row.text);
        EXPECT_TRUE(parsed.ok()) << "'" << row.text << "': " << parsed.error;
        if (parsed.ok()) {
            EXPECT_EQ(*parsed.value, row.expected) << "'" << row.text << "'";
        }
    }
}

template <typename T, typename Parse>
void expect_errors(Parse parse, std::initializer_list<Bad> rows) {
    for (const Bad& row : rows) {
        const Parsed<T> parsed = parse(row.text);
        EXPECT_FALSE(parsed.ok()) << "'" << row.text << "' parsed";
        if (row.error != nullptr) {
            EXPECT_EQ(parsed.error, row.error) << "'" << row.text << "'";
        } else {
            EXPECT_FALSE(parsed.error.empty()) << "'" << row.text << "'";
        }
    }
}

TEST(UnitsTest, SizesInBinaryUnits) {
    expect_values<uint64_t>(parse_size, {
                                            {"1B", 1},
                                            {"4KiB", 4096},
                                            {"512MiB", 536870912},
                                            {"1GiB", 1073741824},
                                            {"2TiB", 2199023255552},
                                            {"1PiB", 1125899906842624},
                                            {"1EiB", 1152921504606846976},
                                        });
}

TEST(UnitsTest, SizesWithFractionsAreExact) {
    expect_values<uint64_t>(parse_size, {
                                            {"1.5GiB", 1610612736},
                                            {"0.5KiB", 512},
                                            {"1.50000000000000000000000GiB", 1610612736},
                                            {"0.25MiB", 262144},
                                        });
}

TEST(UnitsTest, SizesInDecimalUnits) {
    expect_values<uint64_t>(parse_size, {
                                            {"1kB", 1000},
                                            {"1MB", 1000000},
                                            {"1GB", 1000000000},
                                            {"1.5GB", 1500000000},
                                            {"2TB", 2000000000000},
                                            {"1PB", 1000000000000000},
                                            {"1EB", 1000000000000000000},
                                        });
}

TEST(UnitsTest, PlainSizesAreBytes) {
    expect_values<uint64_t>(parse_size, {
                                            {"4096", 4096},
                                            {"0", 0},
                                            {"0x1000", 4096},
                                            {"0XfF", 255},
                                            {" 16 KiB ", 16384},
                                            {"18446744073709551615", UINT64_MAX},
                                        });
}

TEST(UnitsTest, BadSizesSayWhatWasExpected) {
    expect_errors<uint64_t>(
        parse_size,
        {
            {"12 parsecs",
             "expected a size such as 512MiB or 1GiB, got '12 parsecs' (unknown unit 'parsecs')"},
            {"1gib",
             "expected a size such as 512MiB or 1GiB, got '1gib' (unknown unit 'gib'; units are "
             "case-sensitive: did you mean 'GiB'?)"},
            {"-1GiB", "expected a size such as 512MiB or 1GiB, got '-1GiB' (must not be negative)"},
            {"0.5B",
             "expected a size such as 512MiB or 1GiB, got '0.5B' (not a whole number of bytes)"},
            {"1.5",
             "expected a size such as 512MiB or 1GiB, got '1.5' (not a whole number of bytes)"},
            {"16EiB", "expected a size such as 512MiB or 1GiB, got '16EiB' (too large)"},
            {"18446744073709551616",
             "expected a size such as 512MiB or 1GiB, got '18446744073709551616' (too many "
             "digits)"},
            {"", "expected a size such as 512MiB or 1GiB, got '' (empty)"},
            {"GiB", "expected a size such as 512MiB or 1GiB, got 'GiB' (no number)"},
            {"1.",
             "expected a size such as 512MiB or 1GiB, got '1.' (no digits after the decimal "
             "point)"},
            {"0x10KiB",
             "expected a size such as 512MiB or 1GiB, got '0x10KiB' (a 0x number takes no unit)"},
            {"0xg", "expected a size such as 512MiB or 1GiB, got '0xg' (no digits after 0x)"},
        });
}

TEST(UnitsTest, Addresses) {
    expect_values<uint64_t>(parse_address, {
                                               {"0x80000000", 0x80000000},
                                               {"2147483648", 0x80000000},
                                               {"2GiB", 0x80000000},
                                           });
    expect_errors<uint64_t>(
        parse_address,
        {{"somewhere", "expected an address such as 0x80000000, got 'somewhere' (no number)"}});
}

TEST(UnitsTest, Times) {
    expect_values<sc_time>(parse_time,
                           {
                               {"250ns", sc_time(250, SC_NS)},
                               {"3ms", sc_time(3, SC_MS)},
                               {"1.5s", sc_time(1500, SC_MS)},
                               {"2us", sc_time(2, SC_US)},
                               {"2\xC2\xB5s", sc_time(2, SC_US)},  // micro sign
                               {"2\xCE\xBCs", sc_time(2, SC_US)},  // Greek mu
                               {"7ps", sc_time(7, SC_PS)},
                               {"0.5ns", sc_time(500, SC_PS)},
                               {"0", sc_core::SC_ZERO_TIME},
                               {"0s", sc_core::SC_ZERO_TIME},
                               {"60 s", sc_time(60, SC_SEC)},
                               {"86400s", sc_time(86400, SC_SEC)},
                               {"1.000000001s", sc_time::from_value(1000000001000)},  // ps
                           });
}

TEST(UnitsTest, BadTimesSayWhatWasExpected) {
    expect_errors<sc_time>(
        parse_time,
        {
            {"5",
             "expected a time such as 250ns, 3ms or 1.5s, got '5' (a time needs a unit: s, ms, "
             "us, ns)"},
            {"3 fortnights",
             "expected a time such as 250ns, 3ms or 1.5s, got '3 fortnights' (unknown unit "
             "'fortnights')"},
            {"3MS",
             "expected a time such as 250ns, 3ms or 1.5s, got '3MS' (unknown unit 'MS'; units "
             "are case-sensitive: did you mean 'ms'?)"},
            {"1.5ps",
             "expected a time such as 250ns, 3ms or 1.5s, got '1.5ps' (not a whole number of "
             "picoseconds)"},
            {"-1s", "expected a time such as 250ns, 3ms or 1.5s, got '-1s' (must not be negative)"},
            {"0x10ns",
             "expected a time such as 250ns, 3ms or 1.5s, got '0x10ns' (a time is not written in "
             "hex)"},
            {"10000000s",
             "expected a time such as 250ns, 3ms or 1.5s, got '10000000s' (too large)"},
        });
}

TEST(UnitsTest, Rates) {
    expect_values<double>(parse_rate, {
                                          {"190MiB/s", 199229440.0},
                                          {"16GB/s", 16e9},
                                          {"1.5GiB/s", 1610612736.0},
                                          {"0.5MiB/s", 524288.0},
                                          {"1KiB/ms", 1024000.0},
                                          {"2B/us", 2e6},
                                          {"1B/ns", 1e9},
                                          {"100/s", 100.0},
                                          {"0", 0.0},
                                          {"0.5B/s", 0.5},
                                      });
}

TEST(UnitsTest, BadRatesSayWhatWasExpected) {
    expect_errors<double>(
        parse_rate,
        {
            {"190MiB",
             "expected a rate such as 190MiB/s or 16GB/s, got '190MiB' (a rate needs a unit such "
             "as MiB/s)"},
            {"1MiB/h",
             "expected a rate such as 190MiB/s or 16GB/s, got '1MiB/h' (unknown time unit 'h' "
             "after '/': use s, ms, us or ns)"},
            {"5 parsecs/s",
             "expected a rate such as 190MiB/s or 16GB/s, got '5 parsecs/s' (unknown unit "
             "'parsecs')"},
            {"-1MiB/s",
             "expected a rate such as 190MiB/s or 16GB/s, got '-1MiB/s' (must not be negative)"},
        });
}

TEST(UnitsTest, BandwidthIsBytesPerNanosecond) {
    expect_values<double>(parse_bandwidth_bytes_per_ns, {
                                                            {"16GB/s", 16.0},
                                                            {"1GiB/s", 1.073741824},
                                                            {"8B/ns", 8.0},
                                                        });
    expect_errors<double>(parse_bandwidth_bytes_per_ns, {{"16GB", nullptr}});
}

TEST(UnitsTest, Counts) {
    expect_values<uint64_t>(parse_count, {{"256", 256}, {"0", 0}, {"0x10", 16}});
    expect_errors<uint64_t>(
        parse_count,
        {
            {"1.5", "expected a whole number such as 256, got '1.5' (not a whole number)"},
            {"3KiB", "expected a whole number such as 256, got '3KiB' (no unit expected)"},
            {"-1", "expected a whole number such as 256, got '-1' (must not be negative)"},
        });
}

TEST(UnitsTest, Numbers) {
    expect_values<double>(parse_number, {{"0.25", 0.25}, {"1e5", 100000.0}, {"-3", -3.0}});
    expect_errors<double>(parse_number, {
                                            {"abc", "expected a number such as 0.25, got 'abc'"},
                                            {"nan", nullptr},
                                            {"inf", nullptr},
                                            {"1.5x", nullptr},
                                        });
}

TEST(UnitsTest, Fractions) {
    expect_values<double>(parse_fraction, {
                                              {"0.2", 0.2},
                                              {"20%", 0.2},
                                              {"0.25%", 0.0025},
                                              {"100%", 1.0},
                                              {"0", 0.0},
                                          });
    expect_errors<double>(
        parse_fraction,
        {
            {"1.5",
             "expected a fraction between 0 and 1 such as 0.2 or 20%, got '1.5' (outside 0..1)"},
            {"150%",
             "expected a fraction between 0 and 1 such as 0.2 or 20%, got '150%' (outside "
             "0%..100%)"},
            {"-0.1",
             "expected a fraction between 0 and 1 such as 0.2 or 20%, got '-0.1' (outside 0..1)"},
            {"lots", "expected a fraction between 0 and 1 such as 0.2 or 20%, got 'lots'"},
        });
}

TEST(UnitsTest, FormatsForMessages) {
    const std::initializer_list<std::pair<uint64_t, const char*>> sizes = {
        {0, "0B"},
        {4096, "4KiB"},
        {uint64_t{1536} << 20, "1536MiB"},
        {uint64_t{1} << 30, "1GiB"},
        {4097, "4097B"},
    };
    for (const auto& [bytes, text] : sizes) {
        EXPECT_EQ(format_size(bytes), text) << bytes << " bytes";
    }
    const std::initializer_list<std::pair<sc_time, const char*>> times = {
        {sc_time(250, SC_NS), "250ns"}, {sc_time(1500, SC_MS), "1500ms"},
        {sc_time(60, SC_SEC), "60s"},   {sc_time(7, SC_PS), "7ps"},
        {sc_core::SC_ZERO_TIME, "0"},
    };
    for (const auto& [time, text] : times) {
        EXPECT_EQ(format_time(time), text) << time;
    }
}

}  // namespace
}  // namespace vbsim::platform
