// The little a freestanding g++ image needs besides libgcc: the mem* functions the compiler
// may emit calls to, and C++ ABI hooks that must exist but never run here. Built with
// -fno-builtin and -fno-tree-loop-distribute-patterns so that memset is not compiled into a
// call to itself.

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

extern "C" {

void* memcpy(void* destination, const void* source, size_t length) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (((reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(s)) & 7) == 0) {
        for (; length >= 8; length -= 8, d += 8, s += 8) {
            *reinterpret_cast<uint64_t*>(static_cast<void*>(d)) =
                *reinterpret_cast<const uint64_t*>(static_cast<const void*>(s));
        }
    }
    while (length-- != 0) {
        *d++ = *s++;
    }
    return destination;
}

void* memmove(void* destination, const void* source, size_t length) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto* s = static_cast<const unsigned char*>(source);
    if (d <= s || d >= s + length) {
        return memcpy(destination, source, length);
    }
    while (length-- != 0) {
        d[length] = s[length];
    }
    return destination;
}

void* memset(void* destination, int value, size_t length) {
    auto* d = static_cast<unsigned char*>(destination);
    const auto byte = static_cast<unsigned char>(value);
    if ((reinterpret_cast<uintptr_t>(d) & 7) == 0) {
        const uint64_t word = byte * uint64_t{0x0101010101010101};
        for (; length >= 8; length -= 8, d += 8) {
            *reinterpret_cast<uint64_t*>(static_cast<void*>(d)) = word;
        }
    }
    while (length-- != 0) {
        *d++ = byte;
    }
    return destination;
}

int memcmp(const void* a, const void* b, size_t length) {
    const auto* x = static_cast<const unsigned char*>(a);
    const auto* y = static_cast<const unsigned char*>(b);
    for (size_t i = 0; i < length; ++i) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

// A pure virtual function was called through a half-built or destroyed object.
void __cxa_pure_virtual() {
    vbsim::fw::panic("pure virtual call", 0x7e);
}

// Static destructors are never run: the firmware ends by stopping QEMU.
int __cxa_atexit(void (*)(void*), void*, void*) {
    return 0;
}
void* __dso_handle = nullptr;

}  // extern "C"

// Referenced by deleting destructors of classes with virtual destructors; nothing is ever
// allocated, so reaching one is a bug.
void operator delete(void*) noexcept {
    vbsim::fw::panic("operator delete", 0x7d);
}
void operator delete(void*, size_t) noexcept {
    vbsim::fw::panic("operator delete", 0x7d);
}
