#include "models/params/units.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <utility>

namespace vbsim::params {
namespace {

// Exact arithmetic on mantissa x unit / 10^digits needs more than 64 bits.
__extension__ typedef unsigned __int128 Wide;

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

struct UnitScale {
    std::string_view name;
    uint64_t scale;
};

constexpr UnitScale kSizeUnits[] = {
    {"B", 1},
    {"KiB", uint64_t{1} << 10},
    {"MiB", uint64_t{1} << 20},
    {"GiB", uint64_t{1} << 30},
    {"TiB", uint64_t{1} << 40},
    {"PiB", uint64_t{1} << 50},
    {"EiB", uint64_t{1} << 60},
    {"kB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
    {"PB", 1'000'000'000'000'000},
    {"EB", 1'000'000'000'000'000'000},
};

// Picoseconds per unit. Both the micro sign (U+00B5) and the Greek mu (U+03BC) are
// accepted for microseconds, since keyboards produce either.
constexpr UnitScale kTimeUnits[] = {
    {"s", 1'000'000'000'000}, {"ms", 1'000'000'000}, {"us", 1'000'000}, {"\xC2\xB5s", 1'000'000},
    {"\xCE\xBCs", 1'000'000}, {"ns", 1'000},         {"ps", 1},
};

// A non-negative decimal as written: mantissa / 10^frac_digits, or a 0x integer.
struct Lexed {
    bool hex = false;
    uint64_t mantissa = 0;
    unsigned frac_digits = 0;
    std::string_view unit;  // what follows the number, spaces trimmed; may be empty
};

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string expected(const char* what, std::string_view text, std::string_view reason = {}) {
    std::string message = std::string("expected ") + what + ", got '" + std::string(text) + "'";
    if (!reason.empty()) {
        message += " (" + std::string(reason) + ")";
    }
    return message;
}

// Splits text into a number and a unit. Returns an empty string, or why it is malformed.
std::string lex(std::string_view text, Lexed& out) {
    text = trim(text);
    if (text.empty()) {
        return "empty";
    }
    if (text.front() == '-') {
        return "must not be negative";
    }
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        out.hex = true;
        size_t i = 2;
        for (; i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])); ++i) {
            if (out.mantissa > (kMaxU64 >> 4)) {
                return "too large";
            }
            const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
            out.mantissa =
                out.mantissa * 16 + static_cast<uint64_t>(is_digit(c) ? c - '0' : c - 'a' + 10);
        }
        if (i == 2) {
            return "no digits after 0x";
        }
        out.unit = trim(text.substr(i));
        return {};
    }
    size_t i = 0;
    std::string_view whole;
    std::string_view fraction;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    whole = text.substr(0, i);
    if (whole.empty()) {
        return "no number";
    }
    if (i < text.size() && text[i] == '.') {
        const size_t start = ++i;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        fraction = text.substr(start, i - start);
        if (fraction.empty()) {
            return "no digits after the decimal point";
        }
    }
    // Trailing zeros of the fraction carry no value; dropping them keeps 1.50000 exact.
    while (!fraction.empty() && fraction.back() == '0') {
        fraction.remove_suffix(1);
    }
    for (std::string_view digits : {whole, fraction}) {
        for (char c : digits) {
            const uint64_t digit = static_cast<uint64_t>(c - '0');
            if (out.mantissa > (kMaxU64 - digit) / 10) {
                return "too many digits";
            }
            out.mantissa = out.mantissa * 10 + digit;
        }
    }
    out.frac_digits = static_cast<unsigned>(fraction.size());
    out.unit = trim(text.substr(i));
    return {};
}

Wide pow10(unsigned digits) {
    Wide result = 1;
    for (unsigned i = 0; i < digits; ++i) {
        result *= 10;
    }
    return result;
}

const UnitScale* find_unit(const UnitScale* begin, const UnitScale* end, std::string_view unit) {
    for (const UnitScale* u = begin; u != end; ++u) {
        if (u->name == unit) {
            return u;
        }
    }
    return nullptr;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// "unknown unit 'gib'", with a hint when only the letter case is wrong.
std::string unknown_unit(const UnitScale* begin, const UnitScale* end, std::string_view unit) {
    std::string reason = "unknown unit '" + std::string(unit) + "'";
    for (const UnitScale* u = begin; u != end; ++u) {
        if (iequal(u->name, unit)) {
            return reason + "; units are case-sensitive: did you mean '" + std::string(u->name) +
                   "'?";
        }
    }
    return reason;
}

// value = mantissa * scale / 10^frac_digits when that is a whole number not above limit.
std::string exact_scale(const Lexed& lexed, uint64_t scale, uint64_t limit, const char* whole_of,
                        uint64_t& value) {
    const Wide product = static_cast<Wide>(lexed.mantissa) * scale;
    const Wide divisor = pow10(lexed.frac_digits);
    if (product % divisor != 0) {
        return std::string("not a whole number of ") + whole_of;
    }
    const Wide result = product / divisor;
    if (result > limit) {
        return "too large";
    }
    value = static_cast<uint64_t>(result);
    return {};
}

Parsed<uint64_t> size_or_address(std::string_view text, const char* what) {
    Lexed lexed;
    std::string why = lex(text, lexed);
    if (!why.empty()) {
        return Parsed<uint64_t>::failure(expected(what, text, why));
    }
    uint64_t scale = 1;
    if (lexed.hex) {
        if (!lexed.unit.empty()) {
            return Parsed<uint64_t>::failure(expected(what, text, "a 0x number takes no unit"));
        }
    } else if (!lexed.unit.empty()) {
        const UnitScale* unit = find_unit(std::begin(kSizeUnits), std::end(kSizeUnits), lexed.unit);
        if (unit == nullptr) {
            return Parsed<uint64_t>::failure(
                expected(what, text,
                         unknown_unit(std::begin(kSizeUnits), std::end(kSizeUnits), lexed.unit)));
        }
        scale = unit->scale;
    }
    uint64_t bytes = 0;
    why = exact_scale(lexed, scale, kMaxU64, "bytes", bytes);
    if (!why.empty()) {
        return Parsed<uint64_t>::failure(expected(what, text, why));
    }
    return Parsed<uint64_t>::success(bytes);
}

bool is_zero(const Lexed& lexed) {
    return lexed.mantissa == 0;
}

}  // namespace

Parsed<uint64_t> parse_size(std::string_view text) {
    return size_or_address(text, kExpectSize);
}

Parsed<uint64_t> parse_address(std::string_view text) {
    return size_or_address(text, kExpectAddress);
}

Parsed<sc_core::sc_time> parse_time(std::string_view text) {
    using Result = Parsed<sc_core::sc_time>;
    Lexed lexed;
    std::string why = lex(text, lexed);
    if (why.empty() && lexed.hex) {
        why = "a time is not written in hex";
    }
    if (!why.empty()) {
        return Result::failure(expected(kExpectTime, text, why));
    }
    if (lexed.unit.empty()) {
        // Without a unit only zero is unambiguous.
        if (is_zero(lexed)) {
            return Result::success(sc_core::SC_ZERO_TIME);
        }
        return Result::failure(expected(kExpectTime, text, "a time needs a unit: s, ms, us, ns"));
    }
    const UnitScale* unit = find_unit(std::begin(kTimeUnits), std::end(kTimeUnits), lexed.unit);
    if (unit == nullptr) {
        return Result::failure(
            expected(kExpectTime, text,
                     unknown_unit(std::begin(kTimeUnits), std::end(kTimeUnits), lexed.unit)));
    }
    uint64_t ps = 0;
    // sc_time holds 64-bit picoseconds; half of that range (106 days) is plenty and keeps
    // sums of times from overflowing.
    why = exact_scale(lexed, unit->scale, uint64_t{1} << 63, "picoseconds", ps);
    if (!why.empty()) {
        return Result::failure(expected(kExpectTime, text, why));
    }
    // Build from the coarsest unit that divides exactly, so the double argument of
    // sc_time is a small integer and converts without rounding.
    static constexpr std::pair<uint64_t, sc_core::sc_time_unit> kCoarsest[] = {
        {1'000'000'000'000, sc_core::SC_SEC},
        {1'000'000'000, sc_core::SC_MS},
        {1'000'000, sc_core::SC_US},
        {1'000, sc_core::SC_NS},
        {1, sc_core::SC_PS},
    };
    for (const auto& [scale, time_unit] : kCoarsest) {
        if (ps % scale == 0) {
            return Result::success(sc_core::sc_time(static_cast<double>(ps / scale), time_unit));
        }
    }
    return Result::success(sc_core::SC_ZERO_TIME);  // unreachable: 1 divides everything
}

Parsed<double> parse_rate(std::string_view text) {
    using Result = Parsed<double>;
    const std::string_view trimmed = trim(text);
    const size_t slash = trimmed.rfind('/');
    if (slash == std::string_view::npos) {
        Lexed lexed;
        if (lex(trimmed, lexed).empty() && !lexed.hex && lexed.unit.empty() && is_zero(lexed)) {
            return Result::success(0.0);
        }
        return Result::failure(expected(kExpectRate, text, "a rate needs a unit such as MiB/s"));
    }
    Lexed lexed;
    std::string why = lex(trimmed.substr(0, slash), lexed);
    if (why.empty() && lexed.hex) {
        why = "a rate is not written in hex";
    }
    if (!why.empty()) {
        return Result::failure(expected(kExpectRate, text, why));
    }
    uint64_t scale = 1;
    if (!lexed.unit.empty()) {
        const UnitScale* unit = find_unit(std::begin(kSizeUnits), std::end(kSizeUnits), lexed.unit);
        if (unit == nullptr) {
            return Result::failure(
                expected(kExpectRate, text,
                         unknown_unit(std::begin(kSizeUnits), std::end(kSizeUnits), lexed.unit)));
        }
        scale = unit->scale;
    }
    const std::string_view per = trim(trimmed.substr(slash + 1));
    const UnitScale* time_unit = find_unit(std::begin(kTimeUnits), std::end(kTimeUnits), per);
    if (time_unit == nullptr || time_unit->scale < 1'000) {
        return Result::failure(expected(
            kExpectRate, text,
            "unknown time unit '" + std::string(per) + "' after '/': use s, ms, us or ns"));
    }
    // Per second = per unit * (units per second); long double keeps typical rates exact.
    long double value = static_cast<long double>(lexed.mantissa);
    value *= static_cast<long double>(scale);
    value *= static_cast<long double>(1'000'000'000'000 / time_unit->scale);
    value /= static_cast<long double>(pow10(lexed.frac_digits));
    return Result::success(static_cast<double>(value));
}

Parsed<double> parse_bandwidth_bytes_per_ns(std::string_view text) {
    Parsed<double> rate = parse_rate(text);
    if (rate.ok()) {
        rate.value = *rate.value / 1e9;
    }
    return rate;
}

Parsed<uint64_t> parse_count(std::string_view text) {
    Lexed lexed;
    std::string why = lex(text, lexed);
    if (why.empty() && !lexed.unit.empty()) {
        why = "no unit expected";
    }
    if (why.empty() && lexed.frac_digits != 0) {
        why = "not a whole number";
    }
    if (!why.empty()) {
        return Parsed<uint64_t>::failure(expected(kExpectCount, text, why));
    }
    return Parsed<uint64_t>::success(lexed.mantissa);
}

Parsed<double> parse_number(std::string_view text) {
    const std::string copy(trim(text));
    if (copy.empty()) {
        return Parsed<double>::failure(expected(kExpectNumber, text, "empty"));
    }
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !std::isfinite(value)) {
        return Parsed<double>::failure(expected(kExpectNumber, text));
    }
    return Parsed<double>::success(value);
}

Parsed<double> parse_fraction(std::string_view text) {
    std::string_view trimmed = trim(text);
    const bool percent = !trimmed.empty() && trimmed.back() == '%';
    if (percent) {
        trimmed.remove_suffix(1);
    }
    const Parsed<double> number = parse_number(trimmed);
    if (!number.ok()) {
        return Parsed<double>::failure(expected(kExpectFraction, text));
    }
    const double value = percent ? *number.value / 100.0 : *number.value;
    if (!(value >= 0.0 && value <= 1.0)) {
        return Parsed<double>::failure(
            expected(kExpectFraction, text, percent ? "outside 0%..100%" : "outside 0..1"));
    }
    return Parsed<double>::success(value);
}

std::string format_size(uint64_t bytes) {
    static constexpr UnitScale kBinary[] = {
        {"EiB", uint64_t{1} << 60}, {"PiB", uint64_t{1} << 50}, {"TiB", uint64_t{1} << 40},
        {"GiB", uint64_t{1} << 30}, {"MiB", uint64_t{1} << 20}, {"KiB", uint64_t{1} << 10},
    };
    if (bytes != 0) {
        for (const UnitScale& unit : kBinary) {
            if (bytes % unit.scale == 0) {
                return std::to_string(bytes / unit.scale) + std::string(unit.name);
            }
        }
    }
    return std::to_string(bytes) + "B";
}

std::optional<std::string> binary_spelling(std::string_view text) {
    static constexpr std::pair<std::string_view, std::string_view> kDecimalToBinary[] = {
        {"kB", "KiB"}, {"MB", "MiB"}, {"GB", "GiB"}, {"TB", "TiB"}, {"PB", "PiB"}, {"EB", "EiB"},
    };
    Lexed lexed;
    if (!lex(text, lexed).empty() || lexed.hex) {
        return std::nullopt;
    }
    for (const auto& [decimal, binary] : kDecimalToBinary) {
        if (lexed.unit == decimal) {
            const std::string_view trimmed = trim(text);
            return std::string(trimmed.substr(0, trimmed.size() - decimal.size())) +
                   std::string(binary);
        }
    }
    return std::nullopt;
}

std::string format_grouped(uint64_t value) {
    std::string digits = std::to_string(value);
    for (size_t i = digits.size(); i > 3; i -= 3) {
        digits.insert(i - 3, ",");
    }
    return digits;
}

std::string format_time(const sc_core::sc_time& time) {
    const auto ps = static_cast<uint64_t>(std::llround(time / sc_core::sc_time(1, sc_core::SC_PS)));
    static constexpr UnitScale kCoarsest[] = {
        {"s", 1'000'000'000'000}, {"ms", 1'000'000'000}, {"us", 1'000'000}, {"ns", 1'000}};
    if (ps != 0) {
        for (const UnitScale& unit : kCoarsest) {
            if (ps % unit.scale == 0) {
                return std::to_string(ps / unit.scale) + std::string(unit.name);
            }
        }
    }
    return std::to_string(ps) + (ps == 0 ? "" : "ps");
}

}  // namespace vbsim::params
