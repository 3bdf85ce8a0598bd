#pragma once

#include <stdexcept>
#include <string>

#include <systemc>
#include <tlm>

namespace vbsim::plugin {

// Binding one of our sockets or ports to a host's object known only as an sc_object: the
// object's own type decides (a cross-cast to the TLM socket base of the width), and a mismatch
// says what the peer is and what was expected.

template <unsigned int kWidth>
std::string width_mismatch(sc_core::sc_object& peer, const char* expected) {
    const bool other_target = dynamic_cast<tlm::tlm_base_target_socket_b<32>*>(&peer) != nullptr ||
                              dynamic_cast<tlm::tlm_base_target_socket_b<64>*>(&peer) != nullptr;
    const bool other_initiator =
        dynamic_cast<tlm::tlm_base_initiator_socket_b<32>*>(&peer) != nullptr ||
        dynamic_cast<tlm::tlm_base_initiator_socket_b<64>*>(&peer) != nullptr;
    std::string what = other_target      ? "a TLM target socket of another width"
                       : other_initiator ? "a TLM initiator socket of another width"
                                         : std::string("a ") + peer.kind();
    return std::string("'") + peer.name() + "' is " + what + "; expected " + expected + " of " +
           std::to_string(kWidth) + " bits";
}

// Our initiator socket to the host's target socket.
template <unsigned int kWidth, typename InitiatorSocket>
void bind_initiator_socket(InitiatorSocket& socket, sc_core::sc_object& peer) {
    auto* target = dynamic_cast<tlm::tlm_base_target_socket_b<kWidth>*>(&peer);
    if (target == nullptr) {
        throw std::invalid_argument(width_mismatch<kWidth>(peer, "a TLM target socket"));
    }
    socket.bind(*target);
}

// Our target socket to the host's initiator socket.
template <unsigned int kWidth, typename TargetSocket>
void bind_target_socket(TargetSocket& socket, sc_core::sc_object& peer) {
    auto* initiator = dynamic_cast<tlm::tlm_base_initiator_socket_b<kWidth>*>(&peer);
    if (initiator == nullptr) {
        throw std::invalid_argument(width_mismatch<kWidth>(peer, "a TLM initiator socket"));
    }
    // What tlm_base_target_socket::bind() does, through the socket-base view: multi-sockets
    // hide that overload but keep the virtual accessors it uses.
    tlm::tlm_base_target_socket_b<kWidth>& ours = socket;
    initiator->get_base_port()(ours.get_base_interface());
    ours.get_base_port()(initiator->get_base_interface());
}

// A port of interface `Interface` (sc_signal_inout_if<bool>, sc_signal_in_if<bool>) to the
// host's channel, e.g. an sc_signal<bool>.
template <typename Interface, typename Port>
void bind_signal_port(Port& port, sc_core::sc_object& peer, const char* expected) {
    auto* channel = dynamic_cast<Interface*>(&peer);
    if (channel == nullptr) {
        throw std::invalid_argument(std::string("'") + peer.name() + "' is a " + peer.kind() +
                                    "; expected " + expected);
    }
    port.bind(*channel);
}

}  // namespace vbsim::plugin
