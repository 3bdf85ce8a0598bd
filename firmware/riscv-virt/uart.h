#pragma once

// Polled NS16550A driver for the virt machine's UART0 (byte-wide registers, reg-shift 0),
// plus the few formatting helpers the firmware needs (no printf in a freestanding image).

#include <stdint.h>

namespace vbsim::fw {

class Uart {
  public:
    constexpr explicit Uart(uint64_t base) : base_(base) {}

    // 8N1, FIFOs on, interrupts off. QEMU ignores the divisor but real 16550s need one.
    void init();
    void put_char(char c);
    // -1 when no byte is waiting.
    int get_char();

    // Chainable output helpers.
    Uart& str(const char* text);
    Uart& dec(uint64_t value);
    Uart& sdec(int64_t value);
    Uart& hex(uint64_t value);                        // 0x-prefixed
    Uart& kv(const char* key, uint64_t value);        // " key=value" in decimal
    Uart& kvhex(const char* key, uint64_t value);     // " key=0x..."
    Uart& kvstr(const char* key, const char* value);  // " key=value"
    Uart& endl() {
        put_char('\n');
        return *this;
    }

  private:
    uint8_t read(unsigned reg) const;
    void write(unsigned reg, uint8_t value) const;

    uint64_t base_;
};

// The console: UART0.
Uart& console();

}  // namespace vbsim::fw
