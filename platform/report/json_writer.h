#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <systemc>

#include "platform/text/quantity_format.h"
#include "platform/text/utf8.h"

namespace vbsim::platform {

// A minimal streaming JSON emitter: it tracks only what it needs to place commas, newlines and
// indentation. Keeping it here rather than pulling in a JSON library keeps the number format
// under our control, which byte-identical outputs depend on.
class JsonWriter {
  public:
    explicit JsonWriter(std::ostream& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    void key(std::string_view name) {
        separate();
        write_string(name);
        out_ << ": ";
        after_key_ = true;
    }

    void string(std::string_view text) {
        separate();
        write_string(text);
    }
    void unsigned_number(uint64_t value) {
        separate();
        out_ << std::to_string(value);
    }
    void signed_number(int64_t value) {
        separate();
        out_ << std::to_string(value);
    }
    void boolean(bool value) {
        separate();
        out_ << (value ? "true" : "false");
    }
    void null() {
        separate();
        out_ << "null";
    }
    // Six significant digits, like %.6g but independent of the C locale.
    void real(double value) {
        if (!std::isfinite(value)) {
            null();
            return;
        }
        separate();
        char buffer[32];
        const auto result =
            std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 6);
        out_ << std::string_view(buffer, static_cast<std::size_t>(result.ptr - buffer));
    }
    // A rate in whole units per second: an exact integer, never 1.23457e+06.
    void whole_rate(double value) {
        if (!std::isfinite(value) || value < 0) {
            null();
            return;
        }
        unsigned_number(static_cast<uint64_t>(std::llround(value)));
    }
    void seconds(const sc_core::sc_time& time) {
        separate();
        out_ << format_seconds(time);
    }

    void finish() { out_ << '\n'; }

  private:
    void open(char bracket) {
        separate();
        out_ << bracket;
        counts_.push_back(0);
    }

    void close(char bracket) {
        const bool empty = counts_.back() == 0;
        counts_.pop_back();
        if (!empty) {
            newline();
        }
        out_ << bracket;
    }

    // Called before every key and every value: a value right after its key stays on the key's
    // line; anything else is a new member of the enclosing container.
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (counts_.empty()) {
            return;
        }
        if (counts_.back()++ > 0) {
            out_ << ',';
        }
        newline();
    }

    void newline() {
        out_ << '\n';
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            out_ << "  ";
        }
    }

    void write_string(std::string_view text) {
        static constexpr char kHex[] = "0123456789abcdef";
        out_ << '"';
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            const auto byte = static_cast<unsigned char>(c);
            switch (c) {
                case '"':
                    out_ << "\\\"";
                    break;
                case '\\':
                    out_ << "\\\\";
                    break;
                case '\b':
                    out_ << "\\b";
                    break;
                case '\f':
                    out_ << "\\f";
                    break;
                case '\n':
                    out_ << "\\n";
                    break;
                case '\r':
                    out_ << "\\r";
                    break;
                case '\t':
                    out_ << "\\t";
                    break;
                default:
                    uint32_t code_point = 0;
                    if (byte < 0x80 && byte >= 0x20 && byte != 0x7f) {
                        out_ << c;
                    } else if (const std::size_t length =
                                   byte < 0x80 ? 0 : utf8_sequence_length(text, i, code_point);
                               length > 0) {
                        out_ << text.substr(i, length);  // UTF-8 passes through unchanged
                        i += length - 1;
                    } else {
                        // A control character, or a byte that is not UTF-8 (read as Latin-1):
                        // the file stays valid JSON whatever a scenario's names hold.
                        out_ << "\\u00" << kHex[byte >> 4] << kHex[byte & 0xf];
                    }
            }
        }
        out_ << '"';
    }

    std::ostream& out_;
    std::vector<uint64_t> counts_;  // members written so far, per open container
    bool after_key_ = false;
};

}  // namespace vbsim::platform
