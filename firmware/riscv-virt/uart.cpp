#include "uart.h"

#include "board.h"

namespace vbsim::fw {

namespace {
constexpr unsigned kRbrThr = 0;  // receive / transmit holding (DLL with DLAB)
constexpr unsigned kIer = 1;     // interrupt enable (DLM with DLAB)
constexpr unsigned kFcr = 2;
constexpr unsigned kLcr = 3;
constexpr unsigned kLsr = 5;
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLcr8n1 = 0x03;
constexpr uint8_t kFcrEnableAndClear = 0x07;
}  // namespace

uint8_t Uart::read(unsigned reg) const {
    return *reinterpret_cast<volatile uint8_t*>(base_ + reg);
}

void Uart::write(unsigned reg, uint8_t value) const {
    *reinterpret_cast<volatile uint8_t*>(base_ + reg) = value;
}

void Uart::init() {
    write(kIer, 0);
    write(kLcr, kLcrDlab);
    write(kRbrThr, 1);  // divisor 1: 115200 baud from the usual 1.8432 MHz clock
    write(kIer, 0);
    write(kLcr, kLcr8n1);
    write(kFcr, kFcrEnableAndClear);
}

void Uart::put_char(char c) {
    while ((read(kLsr) & kLsrThrEmpty) == 0) {
    }
    write(kRbrThr, static_cast<uint8_t>(c));
}

int Uart::get_char() {
    if ((read(kLsr) & kLsrDataReady) == 0) {
        return -1;
    }
    return read(kRbrThr);
}

Uart& Uart::str(const char* text) {
    while (*text != '\0') {
        put_char(*text++);
    }
    return *this;
}

Uart& Uart::dec(uint64_t value) {
    char digits[20];
    unsigned n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n != 0) {
        put_char(digits[--n]);
    }
    return *this;
}

Uart& Uart::sdec(int64_t value) {
    if (value < 0) {
        put_char('-');
        return dec(~static_cast<uint64_t>(value) + 1);
    }
    return dec(static_cast<uint64_t>(value));
}

Uart& Uart::hex(uint64_t value) {
    str("0x");
    bool started = false;
    for (int shift = 60; shift >= 0; shift -= 4) {
        const unsigned nibble = (value >> shift) & 0xf;
        if (nibble != 0 || started || shift == 0) {
            put_char("0123456789abcdef"[nibble]);
            started = true;
        }
    }
    return *this;
}

Uart& Uart::kv(const char* key, uint64_t value) {
    return str(" ").str(key).str("=").dec(value);
}

Uart& Uart::kvhex(const char* key, uint64_t value) {
    return str(" ").str(key).str("=").hex(value);
}

Uart& Uart::kvstr(const char* key, const char* value) {
    return str(" ").str(key).str("=").str(value);
}

Uart& console() {
    static Uart uart(board::kUart0);
    return uart;
}

}  // namespace vbsim::fw
