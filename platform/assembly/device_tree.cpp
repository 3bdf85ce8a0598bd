#include "platform/assembly/device_tree.h"

#include <cstdio>
#include <sstream>

#include "spec/virtio.h"

namespace vbsim::platform {

namespace {

// "0x1 0x0" for #address-cells / #size-cells = <2>.
std::string cells(uint64_t value) {
    char text[40];
    std::snprintf(text, sizeof text, "0x%llx 0x%llx", static_cast<unsigned long long>(value >> 32),
                  static_cast<unsigned long long>(value & 0xffffffff));
    return text;
}

std::string unit_address(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(value));
    return text;
}

}  // namespace

std::string device_tree_source(const ScenarioConfig& config) {
    std::ostringstream out;
    for (const GuestConfig& guest : config.guests) {
        // Each guest is a machine of its own: one whole source per guest. Guest names are
        // checked identifiers; a comment carries them safely.
        out << (&guest == &config.guests.front() ? "" : "\n") << "/* guest " << guest.name
            << " */\n"
            << "/dts-v1/;\n\n"
            << "/ {\n"
            << "    #address-cells = <2>;\n"
            << "    #size-cells = <2>;\n\n"
            << "    memory@" << unit_address(guest.ram_base) << " {\n"
            << "        device_type = \"memory\";\n"
            << "        reg = <" << cells(guest.ram_base) << " " << cells(guest.ram_bytes) << ">;\n"
            << "    };\n\n"
            << "    soc {\n"
            << "        #address-cells = <2>;\n"
            << "        #size-cells = <2>;\n"
            << "        compatible = \"simple-bus\";\n"
            << "        ranges;\n\n"
            << "        virtio_mmio@" << unit_address(guest.balloon.mmio_base) << " {\n"
            << "            compatible = \"virtio,mmio\";\n"
            << "            reg = <" << cells(guest.balloon.mmio_base) << " "
            << cells(spec::mmio::kWindowSize) << ">;\n"
            << "            interrupts = <1>;    /* level, PLIC source 1 */\n"
            << "            interrupt-parent = <&plic>;\n"
            << "            dma-coherent;\n"
            << "        };\n"
            << "    };\n"
            << "};\n";
    }
    return out.str();
}

}  // namespace vbsim::platform
