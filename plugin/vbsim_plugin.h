/* The vbsim plugin's plain-C ABI (docs/integration.md, "Loading vbsim as a plugin").
 *
 * A host virtual platform that knows nothing of vbsim's C++ headers dlopen()s libvbsim-plugin.so,
 * looks up VBSIM_PLUGIN_ENTRY with dlsym() and calls it with the ABI version it was written
 * for. SystemC objects cross the boundary as `void*` holding an `sc_core::sc_object*`; host and
 * plugin must therefore share one SystemC library (libsystemc.so) and one simulation.
 *
 * Versioning: VBSIM_PLUGIN_ABI_VERSION changes whenever a member of vbsim_plugin_api changes
 * meaning or position. New members are only ever appended, with `size` growing; a host may use
 * a member only when its offset lies below `size`. The entry point returns NULL for an ABI
 * version it does not serve.
 *
 * Every call that can fail returns 0 on success and -1 on failure, writing a message of at most
 * error_size bytes (NUL-terminated) to `error` when it is not NULL. Nothing throws across this
 * boundary. Modules are created and bound during elaboration (before sc_start()) and destroyed
 * only after the simulation, before the host's own modules go: SystemC keeps a created
 * module's processes until the end, so a module cannot be taken back during elaboration.
 * A `void*` to an SystemC object must point at its sc_object base, e.g.
 * `static_cast<sc_core::sc_object*>(&socket)`: a socket's sc_object is not at its start.
 * This header is C89 and includes only <stddef.h> and <stdint.h>. */
#ifndef VBSIM_PLUGIN_H
#define VBSIM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VBSIM_PLUGIN_ABI_VERSION 1u
#define VBSIM_PLUGIN_ENTRY "vbsim_plugin_get_api"

/* A module the plugin created; opaque to the host. */
typedef struct vbsim_module vbsim_module;

/* One parameter by name, value as text ("64", "0x80000000 1GiB, 0x100000000 1GiB", "50ns"). */
typedef struct vbsim_parameter {
    const char* name;
    const char* value;
} vbsim_parameter;

typedef struct vbsim_plugin_api {
    uint32_t abi_version; /* VBSIM_PLUGIN_ABI_VERSION of the plugin */
    uint32_t size;        /* sizeof(vbsim_plugin_api) as the plugin was built */
    const char* vbsim_version;
    /* Module type names, NULL-terminated: "virtio_balloon_mmio", "memory", "router". */
    const char* const* module_types;

    /* The parameters of `type`, one per line: "name = default  -- meaning". NULL if unknown. */
    const char* (*parameters)(const char* type);
    /* Creates module `type` named `instance` (an sc_module name: a child of the module under
     * construction, if any) with `count` parameters; an unknown name or a bad value is an
     * error and nothing is created. */
    vbsim_module* (*create)(const char* type, const char* instance, const vbsim_parameter* params,
                            size_t count, char* error, size_t error_size);
    void (*destroy)(vbsim_module* module);
    /* The module as an sc_core::sc_module*. */
    void* (*sc_module)(vbsim_module* module);
    /* The module's socket or port `name` as an sc_core::sc_object*, for a host that binds it
     * itself (e.g. to a tlm::tlm_base_target_socket_b<64>); NULL when there is none. */
    void* (*port)(vbsim_module* module, const char* name);
    /* Binds the module's socket or port `name` to `peer`, an sc_core::sc_object* of the host:
     * an initiator socket to a target socket of the same width and the other way round, an
     * interrupt output to an sc_signal<bool> (sc_signal_inout_if<bool>), a reset input to an
     * sc_signal_in_if<bool>. */
    int (*bind)(vbsim_module* module, const char* name, void* peer, char* error, size_t error_size);

    /* Host-facing API of a balloon (virtio_balloon_mmio); -1 for any other module. */
    int (*balloon_set_target_pages)(vbsim_module* module, uint32_t pages);
    int (*balloon_pages_held)(vbsim_module* module, uint64_t* pages);
    int (*balloon_is_page_held)(vbsim_module* module, uint32_t pfn, int* held);
    /* A counter by name ("guest_errors", "pfns_out_of_range", "interrupts_raised"...; see
     * docs/integration.md); -1 when the module has no such counter. */
    int (*counter)(vbsim_module* module, const char* name, uint64_t* value);
} vbsim_plugin_api;

/* The entry point: the API for `abi_version`, or NULL when the plugin does not serve it. */
typedef const vbsim_plugin_api* (*vbsim_plugin_get_api_fn)(uint32_t abi_version);
const vbsim_plugin_api* vbsim_plugin_get_api(uint32_t abi_version);

#ifdef __cplusplus
}
#endif

#endif /* VBSIM_PLUGIN_H */
