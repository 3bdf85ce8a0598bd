#include "platform/text/terminal_text.h"

#include <gtest/gtest.h>

#include "platform/text/utf8.h"

namespace vbsim::platform {
namespace {

TEST(Printable, PlainTextAndUtf8PassUnchanged) {
    EXPECT_EQ(printable("vm0: 512 MiB\tok"), "vm0: 512 MiB\tok");
    EXPECT_EQ(printable("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB3"),
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB3");
}

TEST(Printable, ControlCharactersAreEscaped) {
    EXPECT_EQ(printable("red\x1B[31m\x07\n\r\x7F"), "red\\x1B[31m\\x07\\x0A\\x0D\\x7F");
    // C1 controls (U+0080..U+009F, here CSI U+009B) act on terminals too.
    EXPECT_EQ(printable("a\xC2\x9B"
                        "31mb"),
              "a\\xC2\\x9B31mb");
}

TEST(Printable, BytesThatAreNotUtf8AreEscaped) {
    EXPECT_EQ(printable("caf\xE9"), "caf\\xE9");                       // Latin-1
    EXPECT_EQ(printable("\xC0\xAF"), "\\xC0\\xAF");                    // overlong '/'
    EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");           // a surrogate
    EXPECT_EQ(printable("\xE2\x82"), "\\xE2\\x82");                    // cut short
    EXPECT_EQ(printable("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // past U+10FFFF
}

TEST(Utf8, SequenceLengthAndCodePoint) {
    uint32_t code = 0;
    EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0, code), 2u);
    EXPECT_EQ(code, 0xE9u);
    EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x90\xB3", 0, code), 4u);
    EXPECT_EQ(code, 0x1F433u);
    EXPECT_EQ(utf8_sequence_length("a", 0, code), 0u);
    EXPECT_EQ(utf8_sequence_length("\x80", 0, code), 0u);
}

}  // namespace
}  // namespace vbsim::platform
