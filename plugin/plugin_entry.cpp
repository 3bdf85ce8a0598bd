// The plain-C face of the module factory (plugin/vbsim_plugin.h): what a host that dlopen()s
// libvbsim-plugin.so calls. Every exception stops here and becomes an error message.

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "plugin/builtin_modules.h"
#include "plugin/vbsim_plugin.h"

struct vbsim_module {
    std::unique_ptr<vbsim::plugin::PluginModule> module;
};

namespace {

using vbsim::plugin::builtin_modules;

int report(const std::string& message, char* error, size_t error_size) {
    if (error != nullptr && error_size != 0) {
        const size_t length = std::min(message.size(), error_size - 1);
        std::memcpy(error, message.data(), length);
        error[length] = '\0';
    }
    return -1;
}

// Runs `body`; an exception (sc_report included) becomes -1 and its message.
template <typename Body>
int guarded(char* error, size_t error_size, Body body) {
    try {
        body();
        return 0;
    } catch (const sc_core::sc_report& failure) {
        return report(failure.get_msg(), error, error_size);
    } catch (const std::exception& failure) {
        return report(failure.what(), error, error_size);
    } catch (...) {
        return report("unknown error", error, error_size);
    }
}

const char* const* module_type_names() {
    static const std::vector<std::string> names = builtin_modules().types();
    static const std::vector<const char*> pointers = [] {
        std::vector<const char*> list;
        for (const std::string& name : names) {
            list.push_back(name.c_str());
        }
        list.push_back(nullptr);
        return list;
    }();
    return pointers.data();
}

const char* parameters(const char* type) {
    static std::map<std::string, std::string> descriptions;
    if (type == nullptr || !builtin_modules().has(type)) {
        return nullptr;
    }
    std::string& text = descriptions[type];
    if (text.empty()) {
        text = builtin_modules().describe(type);
    }
    return text.c_str();
}

vbsim_module* create(const char* type, const char* instance, const vbsim_parameter* params,
                     size_t count, char* error, size_t error_size) {
    std::unique_ptr<vbsim_module> created;
    guarded(error, error_size, [&] {
        vbsim::plugin::ParameterSet set;
        for (size_t i = 0; i < count; ++i) {
            set.set(params[i].name, params[i].value);
        }
        created = std::make_unique<vbsim_module>(vbsim_module{builtin_modules().create(
            type != nullptr ? type : "", instance != nullptr ? instance : "", std::move(set))});
    });
    return created.release();
}

void destroy(vbsim_module* module) {
    delete module;
}

void* sc_module_of(vbsim_module* module) {
    return static_cast<sc_core::sc_object*>(&module->module->module());
}

void* port(vbsim_module* module, const char* name) {
    return module->module->port(name);
}

int bind(vbsim_module* module, const char* name, void* peer, char* error, size_t error_size) {
    return guarded(error, error_size, [&] {
        if (peer == nullptr) {
            throw std::invalid_argument(std::string("binding '") + name + "' to nothing");
        }
        module->module->bind(name, *static_cast<sc_core::sc_object*>(peer));
    });
}

int balloon_set_target_pages(vbsim_module* module, uint32_t pages) {
    if (vbsim::models::BalloonDevice* balloon = module->module->balloon()) {
        balloon->set_target_pages(pages);
        return 0;
    }
    return -1;
}

int balloon_pages_held(vbsim_module* module, uint64_t* pages) {
    if (vbsim::models::BalloonDevice* balloon = module->module->balloon()) {
        *pages = balloon->ballooned_pages();
        return 0;
    }
    return -1;
}

int balloon_is_page_held(vbsim_module* module, uint32_t pfn, int* held) {
    if (vbsim::models::BalloonDevice* balloon = module->module->balloon()) {
        *held = balloon->is_ballooned(pfn) ? 1 : 0;
        return 0;
    }
    return -1;
}

int counter(vbsim_module* module, const char* name, uint64_t* value) {
    return module->module->counter(name, *value) ? 0 : -1;
}

const vbsim_plugin_api kApi = {
    VBSIM_PLUGIN_ABI_VERSION,
    sizeof(vbsim_plugin_api),
    VBSIM_VERSION,
    nullptr,  // module_types: filled in on the first call
    parameters,
    create,
    destroy,
    sc_module_of,
    port,
    bind,
    balloon_set_target_pages,
    balloon_pages_held,
    balloon_is_page_held,
    counter,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const vbsim_plugin_api* vbsim_plugin_get_api(
    uint32_t abi_version) {
    if (abi_version != VBSIM_PLUGIN_ABI_VERSION) {
        return nullptr;
    }
    static const vbsim_plugin_api api = [] {
        vbsim_plugin_api filled = kApi;
        filled.module_types = module_type_names();
        return filled;
    }();
    return &api;
}
