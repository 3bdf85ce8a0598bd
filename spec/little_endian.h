#pragma once

// Little-endian loads and stores over byte buffers: virtio's ring fields and config space are
// little-endian whatever the CPU (virtio 1.2 "Basic Facilities of a Virtio Device"), so both
// sides decode and encode them byte by byte. Shared by the device models in models/ and the
// bare-metal driver in sw/. Freestanding: <stddef.h> and <stdint.h> only.

#include <stddef.h>
#include <stdint.h>

namespace vbsim::spec {

constexpr uint16_t load_le16(const uint8_t* bytes) {
    return static_cast<uint16_t>(bytes[0] | (bytes[1] << 8));
}
constexpr uint32_t load_le32(const uint8_t* bytes) {
    return uint32_t{bytes[0]} | (uint32_t{bytes[1]} << 8) | (uint32_t{bytes[2]} << 16) |
           (uint32_t{bytes[3]} << 24);
}
constexpr uint64_t load_le64(const uint8_t* bytes) {
    return uint64_t{load_le32(bytes)} | (uint64_t{load_le32(bytes + 4)} << 32);
}
// The first `width` bytes (0..8) as one little-endian value: config-space accesses of 1, 2 or
// 4 bytes, a packed field of any width.
constexpr uint64_t load_le(const uint8_t* bytes, size_t width) {
    uint64_t value = 0;
    for (size_t i = 0; i < width && i < 8; ++i) {
        value |= uint64_t{bytes[i]} << (8 * i);
    }
    return value;
}

constexpr void store_le16(uint8_t* bytes, uint16_t value) {
    bytes[0] = static_cast<uint8_t>(value);
    bytes[1] = static_cast<uint8_t>(value >> 8);
}
constexpr void store_le32(uint8_t* bytes, uint32_t value) {
    store_le16(bytes, static_cast<uint16_t>(value));
    store_le16(bytes + 2, static_cast<uint16_t>(value >> 16));
}
constexpr void store_le64(uint8_t* bytes, uint64_t value) {
    store_le32(bytes, static_cast<uint32_t>(value));
    store_le32(bytes + 4, static_cast<uint32_t>(value >> 32));
}
// The low `width` bytes (0..8) of `value`, lowest first.
constexpr void store_le(uint8_t* bytes, size_t width, uint64_t value) {
    for (size_t i = 0; i < width && i < 8; ++i) {
        bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

}  // namespace vbsim::spec
