#include "platform/text/terminal_text.h"

#include <cstdint>
#include <cstdio>

#include "platform/text/utf8.h"

namespace vbsim::platform {
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<uint8_t>(text[i]);
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        if (c == '\t') {
            out += '\t';
            ++i;
            continue;
        }
        if (c >= 0x80) {
            uint32_t code = 0;
            const size_t length = utf8_sequence_length(text, i, code);
            // C1 controls (U+0080..U+009F) act on terminals like C0 ones.
            if (length > 0 && code > 0x9F) {
                out.append(text.substr(i, length));
                i += length;
                continue;
            }
        }
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
        out += escaped;
        ++i;
    }
    return out;
}

}  // namespace vbsim::platform
