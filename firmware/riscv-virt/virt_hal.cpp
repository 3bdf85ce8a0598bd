#include "virt_hal.h"

#include "board.h"

extern "C" {
void* memcpy(void* destination, const void* source, size_t length);
void* memset(void* destination, int value, size_t length);
}

namespace vbsim::fw {

namespace {
// The device reads and writes rings behind the compiler's back: keep RAM accesses on their
// side of every HAL call.
inline void compiler_barrier() {
    asm volatile("" ::: "memory");
}
template <typename T>
T* at(uint64_t physical_address) {
    return reinterpret_cast<T*>(static_cast<uintptr_t>(physical_address));
}
}  // namespace

uint32_t VirtHal::mmio_read32(uint64_t physical_address) {
    ++mmio_reads_;
    return *at<volatile uint32_t>(physical_address);
}

void VirtHal::mmio_write32(uint64_t physical_address, uint32_t value) {
    ++mmio_writes_;
    if (watching_ && physical_address == watch_address_) {
        watch_value_ = value;
        ++watch_writes_;
    }
    *at<volatile uint32_t>(physical_address) = value;
}

uint8_t VirtHal::mmio_read8(uint64_t physical_address) {
    ++mmio_reads_;
    return *at<volatile uint8_t>(physical_address);
}

void VirtHal::mmio_write8(uint64_t physical_address, uint8_t value) {
    ++mmio_writes_;
    if (watching_ && physical_address - watch_address_ < 4) {
        const unsigned shift = 8 * static_cast<unsigned>(physical_address - watch_address_);
        watch_value_ = (watch_value_ & ~(uint32_t{0xff} << shift)) | (uint32_t{value} << shift);
        ++watch_writes_;
    }
    *at<volatile uint8_t>(physical_address) = value;
}

void VirtHal::ram_read(uint64_t physical_address, void* destination, size_t length) {
    compiler_barrier();
    memcpy(destination, at<const void>(physical_address), length);
    compiler_barrier();
}

void VirtHal::ram_write(uint64_t physical_address, const void* source, size_t length) {
    compiler_barrier();
    memcpy(at<void>(physical_address), source, length);
    compiler_barrier();
}

void VirtHal::touch_memory(uint64_t physical_address, uint64_t length) {
    compiler_barrier();
    memset(at<void>(physical_address), 0, static_cast<size_t>(length));
    compiler_barrier();
}

void VirtHal::memory_barrier() {
    asm volatile("fence iorw, iorw" ::: "memory");
}

uint64_t VirtHal::now_ns() {
    const uint64_t ticks = *at<volatile uint64_t>(board::kClintMtime);
    // 10 MHz: 100 ns per tick (no overflow for 58 years).
    return ticks * (1'000'000'000 / board::kMtimeHz);
}

}  // namespace vbsim::fw
