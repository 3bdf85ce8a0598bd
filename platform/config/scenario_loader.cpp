#include "platform/config/scenario_loader.h"

#include "platform/config/check_schema.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include "models/params/broker.h"
#include "models/params/closest_name.h"
#include "platform/config/model_parameters.h"
#include "platform/config/units.h"
#include "spec/virtio.h"

namespace vbsim::platform {
namespace {

using sc_core::sc_time;

const std::vector<std::string> kOutputFiles = {"timeseries.csv", "summary.json", "trace.vcd",
                                               "report.html"};

std::string hex(uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

std::string quoted_list(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& word : words) {
        out += (out.empty() ? "" : ", ") + word;
    }
    return out;
}

std::string join_names(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) {
        text += (text.empty() ? "" : ", ") + name;
    }
    return text;
}

// " (did you mean 'ram'?)" when a candidate is within two edits of `word`, else "".
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
    return params::did_you_mean(word, candidates, 2);
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            return "'" + node.Scalar() + "'";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        default:
            return "nothing";
    }
}

// ---- where errors go ----------------------------------------------------------------

// Where an override applies: errors at or under `subtree` (the override's path, or the
// shallowest key it had to create) belong to "--set <path>".
struct OverrideScope {
    std::string subtree;
    std::string path;
};

// Turns (node position, key path, message) into a LoadError. Values that came from a
// `--set` override have no place in the file; they are attributed to the override.
class Diagnostics {
  public:
    Diagnostics(std::string file, std::vector<OverrideScope> overrides,
                std::vector<LoadError>& errors)
        : file_(std::move(file)), overrides_(std::move(overrides)), errors_(errors) {}

    void report(const YAML::Mark& mark, const std::string& path, std::string message) {
        if (const OverrideScope* scope = covering_override(path)) {
            errors_.push_back({"--set " + scope->path, 0, 0, path, std::move(message)});
            return;
        }
        // An empty document has no marks; its first position stands in.
        const bool known = mark.line >= 0;
        errors_.push_back({file_, known ? mark.line + 1 : 1, known ? mark.column + 1 : 1, path,
                           std::move(message)});
    }

    // An error of `--set NAME=...` of a parameter by name.
    void report_override(const std::string& name, std::string message) {
        report_override(name, name, std::move(message));
    }
    void report_override(const std::string& name, const std::string& path, std::string message) {
        errors_.push_back({"--set " + name, 0, 0, path, std::move(message)});
    }
    const std::string& file() const { return file_; }

  private:
    // The override with the deepest subtree holding `path`; later overrides win ties.
    const OverrideScope* covering_override(const std::string& path) const {
        const OverrideScope* best = nullptr;
        for (const OverrideScope& scope : overrides_) {
            const std::string& prefix = scope.subtree;
            const bool covers = path.compare(0, prefix.size(), prefix) == 0 &&
                                (path.size() == prefix.size() || path[prefix.size()] == '.' ||
                                 path[prefix.size()] == '[');
            if (covers && (best == nullptr || prefix.size() >= best->subtree.size())) {
                best = &scope;
            }
        }
        return best;
    }

    std::string file_;
    std::vector<OverrideScope> overrides_;
    std::vector<LoadError>& errors_;
};

// ---- mappings -----------------------------------------------------------------------

struct Entry {
    std::string key;
    std::string path;
    YAML::Mark key_mark;
    YAML::Node value;

    // An empty value (`ram:`) has the position of whatever follows it; the key is clearer.
    YAML::Mark mark() const { return value.IsNull() ? key_mark : value.Mark(); }
};

// A value a scenario file gives a model parameter: `name` is relative to the guest
// ("balloon.inflate.transport_cost").
struct ModelPreset {
    std::string name;
    std::string value;
    Entry entry;
};

// `--set NAME=VALUE` with a parameter's full name ("vm0.balloon.inflate.transport_cost").
struct NamedOverride {
    std::string name;
    std::string value;
};

// Every model parameter's name relative to its guest, with its unit, in declaration order.
const std::vector<std::pair<std::string, params::ParamUnit>>& model_parameter_units() {
    static const std::vector<std::pair<std::string, params::ParamUnit>> units = [] {
        params::ParamBroker broker;
        const ModelParameterTree probe("probe", broker);
        std::vector<std::pair<std::string, params::ParamUnit>> list;
        for (const params::ParamUntyped* param : broker.get_param_handles()) {
            list.emplace_back(param->name().substr(std::string("probe.").size()), param->unit());
        }
        return list;
    }();
    return units;
}

params::ParamUnit model_parameter_unit(const std::string& name) {
    for (const auto& [known, unit] : model_parameter_units()) {
        if (known == name) {
            return unit;
        }
    }
    return params::ParamUnit::kText;
}

const char* expect_for(params::ParamUnit unit) {
    switch (unit) {
        case params::ParamUnit::kTime:
            return kExpectTime;
        case params::ParamUnit::kSize:
            return kExpectSize;
        case params::ParamUnit::kAddress:
            return kExpectAddress;
        case params::ParamUnit::kBandwidth:
            return kExpectRate;
        case params::ParamUnit::kCount:
            return kExpectCount;
        case params::ParamUnit::kNumber:
            return kExpectNumber;
        case params::ParamUnit::kFraction:
            return kExpectFraction;
        case params::ParamUnit::kBool:
            return "true or false";
        case params::ParamUnit::kNames:
            return "a list of names such as [a, b]";
        case params::ParamUnit::kText:
            return "a word";
    }
    return "a value";
}

// What a model section is, for "expected a mapping for ..." messages.
const char* section_what(const std::string& prefix) {
    static const std::pair<const char*, const char*> kWhat[] = {
        {"bus", "the bus"},
        {"memory", "memory timing"},
        {"cpu", "the guest CPU"},
        {"balloon", "the balloon device"},
        {"balloon.inflate", "inflate buffer costs"},
        {"balloon.deflate", "deflate buffer costs"},
        {"balloon.report", "reporting_vq buffer costs"},
        {"balloon.hint", "free_page_vq buffer costs"},
        {"driver", "the balloon driver"}};
    for (const auto& [name, what] : kWhat) {
        if (prefix == name) {
            return what;
        }
    }
    return "model parameters";
}

// The top-level keys of a scenario: `--set` paths starting with one of these are YAML paths,
// others with a dot are parameter names.
const std::vector<std::string>& scenario_keys() {
    static const std::vector<std::string> keys = {"name",     "description", "seed", "duration",
                                                  "platform", "guests",      "host", "events",
                                                  "checks",   "output"};
    return keys;
}

bool is_scenario_key(std::string_view key) {
    const std::vector<std::string>& keys = scenario_keys();
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// One YAML mapping being read: remembers which keys the reader asked for, so that the rest
// can be reported as unknown, with a suggestion.
class Map {
  public:
    // `node` may be undefined or null (an omitted or empty section): it then has no keys.
    Map(Diagnostics& diag, const YAML::Node& node, std::string path, const YAML::Mark& mark,
        const char* what)
        : diag_(diag), path_(std::move(path)), mark_(mark) {
        if (!node.IsDefined() || node.IsNull()) {
            return;
        }
        if (!node.IsMap()) {
            diag_.report(mark_, path_,
                         std::string("expected a mapping (key: value) for ") + what + ", got " +
                             describe(node));
            ok_ = false;
            return;
        }
        for (const auto& item : node) {
            if (!item.first.IsScalar()) {
                diag_.report(item.first.Mark(), path_, "a key must be a plain name");
                continue;
            }
            const std::string& key = item.first.Scalar();
            // A hash of the keys seen: a mapping with 100k keys must not take quadratic time.
            const auto [first, fresh] = index_.emplace(key, entries_.size());
            if (!fresh) {
                diag_.report(item.first.Mark(), join(path_, key),
                             "duplicate key '" + key + "' (first on line " +
                                 std::to_string(entries_[first->second].key_mark.line + 1) + ")");
                continue;
            }
            entries_.push_back({key, join(path_, key), item.first.Mark(), item.second});
        }
    }

    bool ok() const { return ok_; }
    const std::string& path() const { return path_; }
    const YAML::Mark& mark() const { return mark_; }
    std::string child(std::string_view key) const { return join(path_, key); }

    // The entry for `key`, or nullptr; either way `key` is now a known key here.
    const Entry* find(std::string_view key) {
        if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
            known_.emplace_back(key);
        }
        const auto found = index_.find(std::string(key));
        return found == index_.end() ? nullptr : &entries_[found->second];
    }
    bool has(std::string_view key) { return find(key) != nullptr; }

    // Reports the keys nobody asked for.
    void finish() {
        for (const Entry& entry : entries_) {
            if (std::find(known_.begin(), known_.end(), entry.key) == known_.end()) {
                diag_.report(entry.key_mark, entry.path,
                             "unknown key '" + entry.key + "'" + suggestion(entry.key, known_));
            }
        }
    }

  private:
    Diagnostics& diag_;
    std::string path_;
    YAML::Mark mark_;
    std::vector<Entry> entries_;
    std::unordered_map<std::string, size_t> index_;  // key -> its entry
    std::vector<std::string> known_;
    bool ok_ = true;
};

enum class Need { kOptional, kRequired };
enum class Limit { kAny, kPositive };

template <typename E>
using Choices = std::vector<std::pair<std::string, E>>;

const Choices<PhaseKind> kPhaseKinds = {{"allocate", PhaseKind::kAllocate},
                                        {"free", PhaseKind::kFree},
                                        {"hold", PhaseKind::kHold},
                                        {"cache", PhaseKind::kCache},
                                        {"touch", PhaseKind::kTouch}};
const Choices<PolicyKind> kPolicyKinds = {{"none", PolicyKind::kNone},
                                          {"timeline", PolicyKind::kTimeline},
                                          {"auto", PolicyKind::kAuto},
                                          {"balance_available", PolicyKind::kBalanceAvailable}};
const Choices<EventKind> kEventKinds = {{"set_target", EventKind::kSetTarget},
                                        {"workload", EventKind::kWorkload},
                                        {"stats_request", EventKind::kStatsRequest},
                                        {"freeze", EventKind::kFreeze},
                                        {"restore", EventKind::kRestore},
                                        {"remove", EventKind::kRemove},
                                        {"device_reset", EventKind::kDeviceReset},
                                        {"free_page_hint_start", EventKind::kFreePageHintStart},
                                        {"free_page_hint_stop", EventKind::kFreePageHintStop},
                                        {"free_page_hint_done", EventKind::kFreePageHintDone}};
const Choices<CheckKind> kCheckKinds = {
    {"actual_reaches_target_by", CheckKind::kActualReachesTargetBy},
    {"no_oom_kills", CheckKind::kNoOomKills},
    {"max_oom_kills", CheckKind::kMaxOomKills},
    {"time_to_target_below", CheckKind::kTimeToTargetBelow},
    {"time_to_target_above", CheckKind::kTimeToTargetAbove},
    {"host_free_never_below", CheckKind::kHostFreeNeverBelow},
    {"inflate_rate_above", CheckKind::kInflateRateAbove},
    {"ballooned", CheckKind::kBallooned},
    {"counter_at_least", CheckKind::kCounterAtLeast},
    {"counter_at_most", CheckKind::kCounterAtMost}};

template <typename E>
std::vector<std::string> names_of(const Choices<E>& choices) {
    std::vector<std::string> names;
    for (const auto& choice : choices) {
        names.push_back(choice.first);
    }
    return names;
}

// ---- the scenario walk --------------------------------------------------------------

// Converts the YAML tree section by section. Each reader reports its own errors and leaves
// the default in place, so one walk finds every problem.
class Walker {
  public:
    Walker(Diagnostics& diag, std::vector<NamedOverride> named_overrides)
        : diag_(diag),
          named_overrides_(std::move(named_overrides)),
          named_override_used_(named_overrides_.size(), false) {}

    void scenario(const YAML::Node& root, const std::string& default_name, ScenarioConfig& out);

  private:
    struct GuestPlaces {  // where to point when a whole-guest check fails
        std::optional<Entry> ram;
        std::optional<Entry> ram_base;
        std::optional<Entry> mmio_base;
    };

    void error(const Entry& entry, std::string message) {
        diag_.report(entry.mark(), entry.path, std::move(message));
    }
    void missing(const Map& map, std::string_view key) {
        diag_.report(map.mark(), map.child(key), "missing required key '" + std::string(key) + "'");
    }

    const Entry* lookup(Map& map, std::string_view key, Need need) {
        const Entry* entry = map.find(key);
        if (entry == nullptr && need == Need::kRequired && map.ok()) {
            missing(map, key);
        }
        return entry;
    }

    bool scalar(const Entry& entry, const char* expect, std::string& text) {
        if (!entry.value.IsScalar()) {
            error(entry, std::string("expected ") + expect + ", got " + describe(entry.value));
            return false;
        }
        text = entry.value.Scalar();
        return true;
    }

    // Reads `key` with `parse`; on success stores the value and returns the entry.
    template <typename T, typename Parse>
    const Entry* read(Map& map, std::string_view key, Need need, const char* expect, Parse parse,
                      T& out) {
        const Entry* entry = lookup(map, key, need);
        std::string text;
        if (entry == nullptr || !scalar(*entry, expect, text)) {
            return nullptr;
        }
        Parsed<T> parsed = parse(text);
        if (!parsed.ok()) {
            error(*entry, parsed.error);
            return nullptr;
        }
        out = *parsed.value;
        return entry;
    }

    const Entry* size(Map& map, std::string_view key, uint64_t& out, Need need = Need::kOptional,
                      Limit limit = Limit::kAny) {
        uint64_t value = 0;
        const Entry* entry = read(map, key, need, kExpectSize, parse_size, value);
        if (entry != nullptr && limit == Limit::kPositive && value == 0) {
            error(*entry, "must be greater than 0, got '" + entry->value.Scalar() + "'");
            return nullptr;
        }
        if (entry != nullptr) {
            out = value;
        }
        return entry;
    }

    const Entry* address(Map& map, std::string_view key, uint64_t& out) {
        return read(map, key, Need::kOptional, kExpectAddress, parse_address, out);
    }

    const Entry* time(Map& map, std::string_view key, sc_time& out, Need need = Need::kOptional,
                      Limit limit = Limit::kAny) {
        sc_time value;
        const Entry* entry = read(map, key, need, kExpectTime, parse_time, value);
        if (entry != nullptr && limit == Limit::kPositive && value == sc_core::SC_ZERO_TIME) {
            error(*entry, "must be greater than 0, got '" + entry->value.Scalar() + "'");
            return nullptr;
        }
        if (entry != nullptr) {
            out = value;
        }
        return entry;
    }

    template <typename T>
    const Entry* count(Map& map, std::string_view key, T& out, uint64_t min = 0,
                       uint64_t max = std::numeric_limits<T>::max(), Need need = Need::kOptional) {
        uint64_t value = 0;
        const Entry* entry = read(map, key, need, kExpectCount, parse_count, value);
        if (entry != nullptr && (value < min || value > max)) {
            error(*entry, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              ", got '" + entry->value.Scalar() + "'");
            return nullptr;
        }
        if (entry != nullptr) {
            out = static_cast<T>(value);
        }
        return entry;
    }

    const Entry* number(Map& map, std::string_view key, double& out, Need need = Need::kOptional,
                        double min = -std::numeric_limits<double>::max()) {
        double value = 0;
        const Entry* entry = read(map, key, need, kExpectNumber, parse_number, value);
        if (entry != nullptr && value < min) {
            std::ostringstream bound;
            bound << min;
            error(*entry,
                  "must be at least " + bound.str() + ", got '" + entry->value.Scalar() + "'");
            return nullptr;
        }
        if (entry != nullptr) {
            out = value;
        }
        return entry;
    }

    const Entry* fraction(Map& map, std::string_view key, double& out) {
        return read(map, key, Need::kOptional, kExpectFraction, parse_fraction, out);
    }

    const Entry* boolean(Map& map, std::string_view key, bool& out) {
        const Entry* entry = lookup(map, key, Need::kOptional);
        std::string text;
        if (entry == nullptr || !scalar(*entry, "true or false", text)) {
            return nullptr;
        }
        bool value = false;
        if (!YAML::convert<bool>::decode(entry->value, value)) {
            error(*entry, "expected true or false, got '" + text + "'");
            return nullptr;
        }
        out = value;
        return entry;
    }

    const Entry* string(Map& map, std::string_view key, std::string& out,
                        Need need = Need::kOptional, bool allow_empty = true) {
        const Entry* entry = lookup(map, key, need);
        std::string text;
        if (entry == nullptr || !scalar(*entry, "a string", text)) {
            return nullptr;
        }
        if (!allow_empty && text.empty()) {
            error(*entry, "must not be empty");
            return nullptr;
        }
        out = text;
        return entry;
    }

    template <typename E>
    const Entry* choice(Map& map, std::string_view key, const Choices<E>& choices, E& out,
                        Need need = Need::kOptional) {
        const std::vector<std::string> names = names_of(choices);
        const std::string expect = "one of " + quoted_list(names);
        const Entry* entry = lookup(map, key, need);
        std::string text;
        if (entry == nullptr || !scalar(*entry, expect.c_str(), text)) {
            return nullptr;
        }
        for (const auto& [name, value] : choices) {
            if (name == text) {
                out = value;
                return entry;
            }
        }
        error(*entry, "expected " + expect + ", got '" + text + "'" + suggestion(text, names));
        return nullptr;
    }

    // A list of names from `allowed`, each at most once.
    const Entry* name_list(Map& map, std::string_view key, const std::vector<std::string>& allowed,
                           std::vector<std::string>& out) {
        const Entry* entry = lookup(map, key, Need::kOptional);
        if (entry == nullptr) {
            return nullptr;
        }
        const std::string expect = "a list of names from " + quoted_list(allowed);
        if (!entry->value.IsNull() && !entry->value.IsSequence()) {
            error(*entry, "expected " + expect + ", got " + describe(entry->value));
            return nullptr;
        }
        std::vector<std::string> names;
        bool ok = true;
        for (size_t i = 0; i < entry->value.size(); ++i) {
            const YAML::Node item = entry->value[i];
            const Entry element{entry->key, indexed(entry->path, i), entry->key_mark, item};
            std::string text;
            if (!scalar(element, "a name", text)) {
                ok = false;
            } else if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
                error(element, "expected one of " + quoted_list(allowed) + ", got '" + text + "'" +
                                   suggestion(text, allowed));
                ok = false;
            } else if (std::find(names.begin(), names.end(), text) != names.end()) {
                error(element, "'" + text + "' is listed twice");
                ok = false;
            } else {
                names.push_back(text);
            }
        }
        if (!ok) {
            return nullptr;
        }
        out = names;
        return entry;
    }

    // Calls `each(node, path, mark)` for every element of a list (an empty value is an empty
    // list). Returns false when the value is not a list.
    template <typename Each>
    bool list(const Entry& entry, const char* what, Each each) {
        if (entry.value.IsNull()) {
            return true;
        }
        if (!entry.value.IsSequence()) {
            error(entry,
                  std::string("expected a list of ") + what + ", got " + describe(entry.value));
            return false;
        }
        for (size_t i = 0; i < entry.value.size(); ++i) {
            const YAML::Node item = entry.value[i];
            each(item, indexed(entry.path, i), item.Mark());
        }
        return true;
    }

    // A section: the mapping under `key` (absent or empty means all defaults).
    Map section(Map& parent, std::string_view key, const char* what) {
        const Entry* entry = parent.find(key);
        if (entry == nullptr) {
            return Map(diag_, YAML::Node(), parent.child(key), parent.mark(), what);
        }
        return Map(diag_, entry->value, entry->path, entry->mark(), what);
    }

    // Keys that exist for other kinds only.
    // A period that would wake `who` so often that the run takes hours: below `minimum`,
    // or more than 100 million times in the scenario's duration.
    void bound_period(const Entry& entry, const char* who, const sc_time& period,
                      const sc_time& minimum) {
        constexpr double kMaxWakeups = 1e8;
        if (period < minimum) {
            error(entry, "'" + entry.value.Scalar() + "' is below the least period for " + who +
                             ", " + format_time(minimum));
            return;
        }
        const double wakeups = duration_ / period;
        if (!duration_known_ || wakeups <= kMaxWakeups) {
            return;
        }
        const sc_time least = std::max(minimum, duration_ / kMaxWakeups);
        error(entry, "'" + entry.value.Scalar() + "' would wake " + who + " " +
                         format_grouped(static_cast<uint64_t>(wakeups)) + " times in " +
                         format_time(duration_) + "; use at least " + format_time(least));
    }

    // A `--set NAME=VALUE` of a parameter no guest has.
    void unused_named_overrides(const std::vector<GuestConfig>& guests);

    void not_for_kind(Map& map, std::initializer_list<const char*> keys, const std::string& kind) {
        for (const char* key : keys) {
            if (const Entry* entry = map.find(key)) {
                error(*entry, "'" + std::string(key) + "' does not apply to kind " + kind);
            }
        }
    }

    void platform(Map& map);
    // Reads the model sections of `map` (platform or a guest) as parameter presets.
    void model_sections(Map& map, std::vector<ModelPreset>& out);
    void model_section(Map& map, const std::string& prefix, std::vector<ModelPreset>& out);
    // The keys that stand for another parameter: memory.bandwidth_bytes_per_ns, balloon.version.
    void model_aliases(Map& map, const std::string& prefix, std::vector<ModelPreset>& out);
    void guests(const Entry& entry, std::vector<GuestConfig>& out);
    void guest(Map& map, GuestConfig& out);
    // Builds the guest's parameter tree from the platform's, the guest's and the command
    // line's presets, and takes its values.
    void model_parameters(GuestConfig& out, const std::vector<ModelPreset>& own);
    void workload(Map& map, WorkloadConfig& out);
    void process(Map& map, ProcessConfig& out);
    void swap(Map& map, HostSwapConfig& out);
    void phases(const Entry& entry, std::vector<WorkloadPhaseConfig>& out);
    void phase(Map& map, WorkloadPhaseConfig& out);
    void host(Map& map, HostConfig& out);
    void timeline_entry(Map& map, TimelineEntry& out);
    void target(Map& map, const GuestConfig* guest, TargetSpec& out);
    const GuestConfig* guest_name(Map& map, Need need, std::string& out);
    void event(Map& map, EventConfig& out);
    void check(Map& map, const sc_time& duration, CheckConfig& out);
    void output(Map& map, OutputConfig& out);

    Diagnostics& diag_;
    std::vector<NamedOverride> named_overrides_;
    std::vector<bool> named_override_used_;
    std::vector<ModelPreset> platform_presets_;
    std::set<std::pair<std::string, std::string>> reported_;  // (path, message): once each
    std::vector<GuestConfig>* guests_ = nullptr;  // for names in events, checks, timeline
    sc_time duration_ = sc_core::SC_ZERO_TIME;    // the scenario's, for periodic work
    bool duration_known_ = true;                  // false: `duration` was given but is bad
};

void Walker::scenario(const YAML::Node& root, const std::string& default_name,
                      ScenarioConfig& out) {
    Map map(diag_, root, "", root.Mark(), "the scenario");
    out.name = default_name;
    string(map, "name", out.name, Need::kOptional, false);
    string(map, "description", out.description);
    count(map, "seed", out.seed);
    // A duration given but unusable is reported once; nothing is then measured against it.
    duration_known_ =
        time(map, "duration", out.duration, Need::kOptional, Limit::kPositive) != nullptr ||
        !map.has("duration");
    duration_ = out.duration;

    Map platform_map = section(map, "platform", "platform");
    platform(platform_map);

    guests_ = &out.guests;
    if (const Entry* entry = lookup(map, "guests", Need::kRequired)) {
        guests(*entry, out.guests);
    }
    unused_named_overrides(out.guests);

    if (map.has("host")) {
        Map host_map = section(map, "host", "host");
        host(host_map, out.host);
    } else if (map.ok()) {
        missing(map, "host");
    }

    if (const Entry* entry = map.find("events")) {
        list(*entry, "events",
             [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
                 Map event_map(diag_, node, path, mark, "an event");
                 EventConfig event_config;
                 event(event_map, event_config);
                 out.events.push_back(std::move(event_config));
             });
    }
    if (const Entry* entry = map.find("checks")) {
        list(*entry, "checks",
             [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
                 Map check_map(diag_, node, path, mark, "a check");
                 CheckConfig check_config;
                 check(check_map, out.duration, check_config);
                 out.checks.push_back(std::move(check_config));
             });
    }
    Map output_map = section(map, "output", "output");
    output(output_map, out.output);
    // A run records one sample per interval for every guest, in memory and then in
    // timeseries.csv (about 150 bytes a guest each): keep both a size a person can open.
    constexpr double kMaxSamples = 1e6;
    constexpr double kMaxGuestSamples = 2e6;
    const double samples = out.duration / out.output.sample_interval;
    const double guest_samples =
        samples * static_cast<double>(std::max<size_t>(1, out.guests.size()));
    std::string message;
    if (samples > kMaxSamples) {
        message = "would record " + std::to_string(static_cast<uint64_t>(samples)) +
                  " samples (duration / sample_interval); at most 1000000: use a "
                  "sample_interval of at least " +
                  format_time(out.duration / kMaxSamples);
    } else if (guest_samples > kMaxGuestSamples) {
        message = "would record " + format_grouped(static_cast<uint64_t>(samples)) +
                  " samples of " + std::to_string(out.guests.size()) +
                  " guests = " + format_grouped(static_cast<uint64_t>(guest_samples)) +
                  " guest samples (about " +
                  format_grouped(static_cast<uint64_t>(guest_samples * 150 / 1e6)) +
                  " MB of timeseries.csv); at most " +
                  format_grouped(static_cast<uint64_t>(kMaxGuestSamples)) +
                  ": use a sample_interval of at least " +
                  format_time(out.duration * (guest_samples / samples) / kMaxGuestSamples);
    }
    if (!message.empty()) {
        if (const Entry* where = output_map.find("sample_interval")) {
            error(*where, message);
        } else if (const Entry* duration = map.find("duration")) {
            error(*duration, message);
        }
    }
    map.finish();
}

void Walker::platform(Map& map) {
    model_sections(map, platform_presets_);
    map.finish();
}

void Walker::model_sections(Map& map, std::vector<ModelPreset>& out) {
    for (const char* name : kModelSections) {
        if (map.has(name)) {
            Map section_map = section(map, name, section_what(name));
            model_section(section_map, name, out);
        }
    }
}

void Walker::model_section(Map& map, const std::string& prefix, std::vector<ModelPreset>& out) {
    model_aliases(map, prefix, out);
    // The keys right under `prefix`: leaves (parameters) and sub-sections.
    std::vector<std::string> leaves;
    std::vector<std::string> sections;
    for (const auto& [name, unit] : model_parameter_units()) {
        if (name.compare(0, prefix.size() + 1, prefix + ".") != 0) {
            continue;
        }
        const std::string rest = name.substr(prefix.size() + 1);
        const size_t dot = rest.find('.');
        std::vector<std::string>& into = dot == std::string::npos ? leaves : sections;
        const std::string key = rest.substr(0, dot);
        if (std::find(into.begin(), into.end(), key) == into.end()) {
            into.push_back(key);
        }
    }
    for (const std::string& key : sections) {
        if (map.has(key)) {
            Map sub = section(map, key, section_what(prefix + "." + key));
            model_section(sub, prefix + "." + key, out);
        }
    }
    for (const std::string& key : leaves) {
        const Entry* entry = map.find(key);
        if (entry == nullptr) {
            continue;
        }
        const std::string name = prefix + "." + key;
        std::string text;
        if (entry->value.IsSequence()) {
            // A list of names: [a, b]
            bool ok = true;
            for (size_t i = 0; i < entry->value.size(); ++i) {
                const Entry element{entry->key, indexed(entry->path, i), entry->key_mark,
                                    entry->value[i]};
                std::string word;
                if (!scalar(element, "a name", word)) {
                    ok = false;
                }
                text += (i == 0 ? "" : ", ") + word;
            }
            if (!ok) {
                continue;
            }
            text = "[" + text + "]";
        } else if (entry->value.IsMap()) {
            error(*entry, std::string("expected ") + expect_for(model_parameter_unit(name)) +
                              ", got " + describe(entry->value));
            continue;
        } else {
            text = entry->value.Scalar();
        }
        out.push_back({name, text, *entry});
    }
    map.finish();
}

void Walker::model_aliases(Map& map, const std::string& prefix, std::vector<ModelPreset>& out) {
    if (prefix == "memory") {
        const Entry* rate = map.find("bandwidth");
        const Entry* plain = map.find("bandwidth_bytes_per_ns");
        if (rate != nullptr && plain != nullptr) {
            error(*plain, "give either bandwidth or bandwidth_bytes_per_ns, not both");
        } else if (plain != nullptr) {
            double bytes_per_ns = 0;
            if (number(map, "bandwidth_bytes_per_ns", bytes_per_ns) != nullptr) {
                if (bytes_per_ns > 0) {
                    out.push_back({"memory.bandwidth", plain->value.Scalar() + "B/ns", *plain});
                } else {
                    error(*plain, "must be greater than 0, got '" + plain->value.Scalar() + "'");
                }
            }
        }
    } else if (prefix == "balloon") {
        const Entry* transport = map.find("transport");
        const Entry* version = map.find("version");
        if (transport != nullptr && version != nullptr) {
            error(*version, "give either transport or version, not both");
        } else if (version != nullptr) {
            std::string text;
            if (scalar(*version, "2 or 1", text)) {
                if (text == "1" || text == "2") {
                    out.push_back({"balloon.transport", text, *version});
                } else {
                    error(*version, "expected 2 or 1, got '" + text + "'");
                }
            }
        }
    }
}

void Walker::model_parameters(GuestConfig& out, const std::vector<ModelPreset>& own) {
    params::ParamBroker broker;
    // Which entry (or override) each preset came from, by the parameter's full name.
    std::map<std::string, const Entry*> from_file;
    std::map<std::string, size_t> from_command_line;
    const std::string prefix = out.name + ".";
    out.parameter_presets.clear();
    const auto preset = [&](const ModelPreset& given) {
        const std::string name = prefix + given.name;
        params::PresetOrigin origin{diag_.file(), given.entry.mark().line + 1,
                                    given.entry.mark().column + 1, given.entry.path};
        broker.set_preset_value(name, given.value, origin);
        out.parameter_presets.push_back({name, given.value, origin});
        from_file[name] = &given.entry;
        from_command_line.erase(name);
    };
    for (const ModelPreset& given : platform_presets_) {
        preset(given);
    }
    for (const ModelPreset& given : own) {
        preset(given);
    }
    for (size_t i = 0; i < named_overrides_.size(); ++i) {
        const NamedOverride& named = named_overrides_[i];
        if (named.name.compare(0, prefix.size(), prefix) != 0) {
            continue;
        }
        named_override_used_[i] = true;
        params::PresetOrigin origin{"--set " + named.name, 0, 0, named.name};
        broker.set_preset_value(named.name, named.value, origin);
        out.parameter_presets.push_back({named.name, named.value, origin});
        from_command_line[named.name] = i;
        from_file.erase(named.name);
    }

    const ModelParameterTree tree(out.name, broker);
    for (const params::ParamError& problem : broker.check()) {
        if (const auto found = from_command_line.find(problem.param_name);
            found != from_command_line.end()) {
            diag_.report_override(problem.param_name, problem.message);
        } else if (const auto entry = from_file.find(problem.param_name);
                   entry != from_file.end()) {
            // A platform preset is every guest's: report it once.
            if (reported_.emplace(entry->second->path, problem.message).second) {
                error(*entry->second, problem.message);
            }
        } else {
            diag_.report_override(problem.param_name, problem.message);
        }
    }
    const ModelParameters values = tree.values();
    out.bus = values.bus;
    out.memory = values.memory;
    out.cpu = values.cpu;
    out.balloon = values.balloon;
    out.driver = values.driver;
}

void Walker::unused_named_overrides(const std::vector<GuestConfig>& guests) {
    std::vector<std::string> names;
    for (const GuestConfig& guest : guests) {
        for (const auto& [name, unit] : model_parameter_units()) {
            names.push_back(guest.name + "." + name);
        }
    }
    for (size_t i = 0; i < named_overrides_.size(); ++i) {
        if (named_override_used_[i]) {
            continue;
        }
        const std::string& name = named_overrides_[i].name;
        // "platfrom.cpu.quantum" is a misspelt YAML path rather than a parameter name.
        const std::string first = name.substr(0, name.find('.'));
        std::vector<std::string> firsts = scenario_keys();
        for (const GuestConfig& guest : guests) {
            firsts.push_back(guest.name);
        }
        if (const std::string* key = params::closest_name(first, firsts);
            key != nullptr && is_scenario_key(*key)) {
            diag_.report_override(name, first,
                                  "unknown key '" + first + "' (did you mean '" + *key + "'?)");
            continue;
        }
        std::string message = "no parameter named '" + name + "'";
        if (const std::string* closest = params::closest_name(name, names)) {
            message += " (did you mean '" + *closest + "'?)";
        }
        diag_.report_override(name, message);
    }
}

void Walker::guests(const Entry& entry, std::vector<GuestConfig>& out) {
    std::map<std::string, int> first_line;
    const bool is_list = list(
        entry, "guests",
        [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
            Map map(diag_, node, path, mark, "a guest");
            GuestConfig config;
            guest(map, config);
            if (const Entry* name = map.find("name"); name != nullptr && !config.name.empty()) {
                const auto [it, inserted] =
                    first_line.emplace(config.name, name->key_mark.line + 1);
                if (!inserted) {
                    error(*name, "duplicate guest name '" + config.name + "' (first on line " +
                                     std::to_string(it->second) + ")");
                }
            }
            out.push_back(std::move(config));
        });
    if (is_list && out.empty()) {
        error(entry, "at least one guest is needed");
    }
}

void Walker::guest(Map& map, GuestConfig& out) {
    GuestPlaces places;
    string(map, "name", out.name, Need::kRequired, false);
    uint64_t ram = 0;
    if (const Entry* entry = size(map, "ram", ram, Need::kRequired, Limit::kPositive)) {
        places.ram = *entry;
    }
    uint64_t page_size = out.page_size;
    if (const Entry* entry = size(map, "page_size", page_size)) {
        if (page_size == 4096 || page_size == 16384 || page_size == 65536) {
            out.page_size = static_cast<uint32_t>(page_size);
        } else {
            error(*entry, "expected a page size of 4KiB, 16KiB or 64KiB, got '" +
                              entry->value.Scalar() + "'");
        }
    }
    if (ram != 0 && ram % out.page_size != 0) {
        const std::string& text = places.ram->value.Scalar();
        if (const std::optional<std::string> binary = binary_spelling(text)) {
            // 1 GB is 10^9 bytes; a guest's RAM is almost always meant in GiB.
            error(*places.ram, "'" + text + "' = " + format_grouped(ram) +
                                   " bytes is not a multiple of the page size " +
                                   format_size(out.page_size) + "; did you mean " + *binary + "?");
        } else {
            error(*places.ram, "must be a multiple of the page size " + format_size(out.page_size) +
                                   ", got '" + text + "'");
        }
        ram = 0;
    }
    out.ram_bytes = ram;
    if (const Entry* entry = address(map, "ram_base", out.ram_base)) {
        places.ram_base = *entry;
        if (out.ram_base % out.page_size != 0) {
            error(*entry, "must be aligned to the page size " + format_size(out.page_size) +
                              ", got '" + entry->value.Scalar() + "'");
        }
    }

    // resident_at_start: a size, or a percentage of the guest's RAM.
    if (const Entry* entry = map.find("resident_at_start")) {
        std::string text;
        if (scalar(*entry, kExpectSize, text)) {
            if (!text.empty() && text.back() == '%') {
                const Parsed<double> share = parse_fraction(text);
                if (!share.ok()) {
                    error(*entry, share.error);
                } else {
                    const auto bytes = static_cast<uint64_t>(
                        static_cast<long double>(ram) * static_cast<long double>(*share.value));
                    out.resident_at_start_bytes = bytes - bytes % out.page_size;
                }
            } else if (size(map, "resident_at_start", out.resident_at_start_bytes) != nullptr &&
                       ram != 0 && out.resident_at_start_bytes > ram) {
                error(*entry, "must not exceed the guest's RAM " + format_size(ram) + ", got '" +
                                  text + "'");
            }
        }
    }

    Map marks = section(map, "watermarks", "watermarks");
    const Entry* min = size(marks, "min", out.watermarks.min_bytes);
    const Entry* low = size(marks, "low", out.watermarks.low_bytes);
    const Entry* high = size(marks, "high", out.watermarks.high_bytes);
    marks.finish();
    const WatermarkConfig& w = out.watermarks;
    const std::pair<const Entry*, uint64_t> given_marks[] = {
        {min, w.min_bytes}, {low, w.low_bytes}, {high, w.high_bytes}};
    for (const auto& [entry, bytes] : given_marks) {
        if (entry != nullptr && ram != 0 && bytes > ram) {
            error(*entry, "must not exceed the guest's RAM " + format_size(ram) + ", got '" +
                              entry->value.Scalar() + "'");
        }
    }
    // Zero means "derive", so only the given watermarks need to be in order.
    if (low != nullptr && min != nullptr && w.low_bytes < w.min_bytes) {
        error(*low, "low must not be below min (" + format_size(w.min_bytes) + ")");
    }
    if (high != nullptr && low != nullptr && w.high_bytes < w.low_bytes) {
        error(*high, "high must not be below low (" + format_size(w.low_bytes) + ")");
    } else if (high != nullptr && low == nullptr && min != nullptr && w.high_bytes < w.min_bytes) {
        error(*high, "high must not be below min (" + format_size(w.min_bytes) + ")");
    }

    std::vector<ModelPreset> own;
    model_sections(map, own);
    for (const ModelPreset& preset : own) {
        if (preset.name == "balloon.mmio_base") {
            places.mmio_base = preset.entry;
        }
    }
    if (!out.name.empty()) {
        model_parameters(out, own);
    }
    Map workload_map = section(map, "workload", "the workload");
    workload(workload_map, out.workload);
    map.finish();

    // Each guest has its own address space, so only its own RAM and window can collide.
    if (ram != 0) {
        const uint64_t ram_end = out.ram_base + ram;
        const Entry* where = places.ram_base ? &*places.ram_base : &*places.ram;
        constexpr uint64_t kPfnLimit = uint64_t{1} << 44;  // 2^32 PFNs of 4 KiB
        if (ram_end < out.ram_base) {
            error(*where, "RAM at " + hex(out.ram_base) + " of " + format_size(ram) +
                              " runs past the end of the 64-bit address space");
        } else if (ram_end > kPfnLimit) {
            error(*where, "RAM at " + hex(out.ram_base) + " of " + format_size(ram) +
                              " ends above 16 TiB: the balloon carries 32-bit PFNs of 4 KiB "
                              "pages");
        } else {
            const uint64_t window = spec::mmio::kWindowSize;
            const uint64_t mmio = out.balloon.mmio_base;
            if (mmio + window < mmio) {
                error(places.mmio_base ? *places.mmio_base : *where,
                      "the balloon's MMIO window at " + hex(mmio) +
                          " runs past the end of the 64-bit address space");
            } else if (mmio < ram_end && out.ram_base < mmio + window) {
                error(places.mmio_base ? *places.mmio_base : *where,
                      "the balloon's MMIO window [" + hex(mmio) + ", " + hex(mmio + window) +
                          ") overlaps guest RAM [" + hex(out.ram_base) + ", " + hex(ram_end) + ")");
            }
        }
    }
}

void Walker::workload(Map& map, WorkloadConfig& out) {
    if (const Entry* entry = time(map, "tick", out.tick, Need::kOptional, Limit::kPositive)) {
        bound_period(*entry, "the workload", out.tick, sc_time(1, sc_core::SC_US));
    }
    time(map, "cpu_cost_per_page", out.cpu_cost_per_page);
    const Entry* processes_entry = map.find("processes");
    if (processes_entry != nullptr) {
        // One form or the other: phases beside processes would belong to no process.
        for (const char* key : {"phases", "repeat", "restart_after"}) {
            if (const Entry* entry = map.find(key)) {
                error(*entry, std::string("'") + key +
                                  "' belongs inside each process when 'processes' is given");
            }
        }
        std::map<std::string, int> first_line;
        list(*processes_entry, "processes",
             [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
                 Map process_map(diag_, node, path, mark, "a process");
                 ProcessConfig config;
                 process(process_map, config);
                 if (const Entry* name = process_map.find("name");
                     name != nullptr && !config.name.empty()) {
                     const auto [it, inserted] =
                         first_line.emplace(config.name, name->key_mark.line + 1);
                     if (!inserted) {
                         error(*name, "duplicate process name '" + config.name +
                                          "' (first on line " + std::to_string(it->second) + ")");
                     }
                 }
                 out.processes.push_back(std::move(config));
             });
    } else {
        boolean(map, "repeat", out.repeat);
        if (const Entry* entry = map.find("phases")) {
            phases(*entry, out.phases);
        }
        out.restarts = time(map, "restart_after", out.restart_after) != nullptr;
    }
    map.finish();
}

void Walker::process(Map& map, ProcessConfig& out) {
    string(map, "name", out.name, Need::kRequired, false);
    boolean(map, "repeat", out.repeat);
    if (const Entry* entry = map.find("phases")) {
        phases(*entry, out.phases);
    }
    out.restarts = time(map, "restart_after", out.restart_after) != nullptr;
    map.finish();
}

void Walker::phases(const Entry& entry, std::vector<WorkloadPhaseConfig>& out) {
    list(entry, "workload phases",
         [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
             Map map(diag_, node, path, mark, "a workload phase");
             WorkloadPhaseConfig config;
             phase(map, config);
             out.push_back(config);
         });
}

void Walker::phase(Map& map, WorkloadPhaseConfig& out) {
    const Entry* kind = choice(map, "kind", kPhaseKinds, out.kind, Need::kRequired);
    read(map, "rate", Need::kOptional, kExpectRate, parse_rate, out.rate_bytes_per_second);
    const Entry* level = size(map, "level", out.level_bytes);
    time(map, "duration", out.duration);
    if (kind != nullptr) {
        if (out.kind == PhaseKind::kHold) {
            not_for_kind(map, {"rate", "level"}, "hold");
        } else if (out.kind == PhaseKind::kAllocate && level == nullptr && !map.has("level") &&
                   map.ok()) {
            // Allocation heads to a level; without one the phase would do nothing.
            missing(map, "level");
        }
    }
    map.finish();
}

void Walker::swap(Map& map, HostSwapConfig& out) {
    size(map, "size", out.size_bytes);
    for (const auto& [key, rate] :
         {std::pair<const char*, double*>{"swap_in_bandwidth", &out.swap_in_bytes_per_second},
          std::pair<const char*, double*>{"swap_out_bandwidth", &out.swap_out_bytes_per_second}}) {
        if (const Entry* entry = read(map, key, Need::kOptional, kExpectRate, parse_rate, *rate);
            entry != nullptr && *rate <= 0) {
            error(*entry, "must be greater than 0, got '" + entry->value.Scalar() + "'");
        }
    }
    time(map, "swap_in_latency", out.swap_in_latency);
    time(map, "swap_out_latency", out.swap_out_latency);
    map.finish();
}

void Walker::host(Map& map, HostConfig& out) {
    const Entry* ram = size(map, "ram", out.ram_bytes, Need::kRequired, Limit::kPositive);
    if (const Entry* reserved = size(map, "reserved", out.reserved_bytes);
        reserved && ram && out.reserved_bytes >= out.ram_bytes) {
        error(*reserved, "must be below the host's RAM " + format_size(out.ram_bytes) + ", got '" +
                             reserved->value.Scalar() + "'");
    }
    Map swap_map = section(map, "swap", "the host's swap");
    swap(swap_map, out.swap);
    Map policy = section(map, "policy", "the balloon policy");
    const Entry* kind = choice(policy, "kind", kPolicyKinds, out.policy);
    // A section for another policy kind is almost certainly a mistake; an empty one is not.
    const std::string kind_name = kind ? kind->value.Scalar() : std::string("none");
    // A kind that did not read has its own error; checked against it, each section would be
    // "for another kind" too.
    const bool kind_known = kind != nullptr || !policy.has("kind");
    if (const Entry* entry = policy.find("timeline")) {
        if (kind_known && entry->value.IsSequence() && entry->value.size() > 0 &&
            out.policy != PolicyKind::kTimeline) {
            error(*entry, "a timeline needs policy kind timeline, but kind is " + kind_name);
        }
        list(*entry, "timeline entries",
             [&](const YAML::Node& node, const std::string& path, const YAML::Mark& mark) {
                 Map entry_map(diag_, node, path, mark, "a timeline entry");
                 TimelineEntry item;
                 timeline_entry(entry_map, item);
                 out.timeline.push_back(std::move(item));
             });
    }
    Map auto_map = section(policy, "auto", "the auto policy");
    if (const Entry* entry = policy.find("auto"); kind_known && entry && entry->value.IsMap() &&
                                                  entry->value.size() > 0 &&
                                                  out.policy != PolicyKind::kAuto) {
        error(*entry, "auto parameters need policy kind auto, but kind is " + kind_name);
    }
    AutoPolicyConfig& a = out.auto_policy;
    if (const Entry* entry =
            time(auto_map, "interval", a.interval, Need::kOptional, Limit::kPositive)) {
        bound_period(*entry, "the policy", a.interval, sc_time(1, sc_core::SC_MS));
    }
    fraction(auto_map, "pressure_threshold", a.pressure_threshold);
    fraction(auto_map, "min_guest_free_percent", a.min_guest_free_percent);
    const Entry* max_change =
        fraction(auto_map, "max_balloon_change_percent", a.max_balloon_change_percent);
    const Entry* min_change =
        fraction(auto_map, "min_balloon_change_percent", a.min_balloon_change_percent);
    if ((max_change || min_change) && a.min_balloon_change_percent > a.max_balloon_change_percent) {
        error(min_change ? *min_change : *max_change,
              "min_balloon_change_percent must not exceed max_balloon_change_percent");
    }
    auto_map.finish();
    Map balance_map = section(policy, "balance_available", "the balance_available policy");
    if (const Entry* entry = policy.find("balance_available");
        kind_known && entry && entry->value.IsMap() && entry->value.size() > 0 &&
        out.policy != PolicyKind::kBalanceAvailable) {
        error(*entry,
              "balance_available parameters need policy kind balance_available, but "
              "kind is " +
                  kind_name);
    }
    BalanceAvailableConfig& b = out.balance_available;
    if (const Entry* entry =
            time(balance_map, "interval", b.interval, Need::kOptional, Limit::kPositive)) {
        bound_period(*entry, "the policy", b.interval, sc_time(1, sc_core::SC_MS));
    }
    size(balance_map, "guest_critical", b.guest_critical_bytes);
    fraction(balance_map, "host_critical", b.host_critical_fraction);
    size(balance_map, "margin", b.margin_bytes);
    balance_map.finish();
    policy.finish();
    map.finish();
}

void Walker::timeline_entry(Map& map, TimelineEntry& out) {
    time(map, "at", out.at, Need::kRequired);
    const GuestConfig* guest = guest_name(map, Need::kRequired, out.guest);
    target(map, guest, out.target);
    map.finish();
}

const GuestConfig* Walker::guest_name(Map& map, Need need, std::string& out) {
    const Entry* entry = string(map, "guest", out, need);
    if (entry == nullptr) {
        return nullptr;
    }
    std::vector<std::string> names;
    for (const GuestConfig& guest : *guests_) {
        if (guest.name == out) {
            return &guest;
        }
        names.push_back(guest.name);
    }
    error(*entry, "unknown guest '" + out + "'" + suggestion(out, names) + "; guests are " +
                      quoted_list(names));
    return nullptr;
}

void Walker::target(Map& map, const GuestConfig* guest, TargetSpec& out) {
    static const std::pair<const char*, TargetSpec::Form> kForms[] = {
        {"balloon", TargetSpec::Form::kBalloonBytes},
        {"balloon_pages", TargetSpec::Form::kBalloonPages},
        {"guest_ram", TargetSpec::Form::kGuestRamBytes}};
    // A target beyond the RAM is a mistake, except in scenarios that study exactly that
    // (Linux inflates to its LOW watermark and keeps retrying): they say so explicitly.
    bool allow_above_ram = false;
    boolean(map, "allow_above_ram", allow_above_ram);
    const Entry* given = nullptr;
    for (const auto& [key, form] : kForms) {
        const Entry* entry = map.find(key);
        if (entry == nullptr) {
            continue;
        }
        if (given != nullptr) {
            error(*entry, "give only one of balloon, balloon_pages and guest_ram");
            continue;
        }
        given = entry;
        const bool ok = form == TargetSpec::Form::kBalloonPages
                            ? count(map, key, out.value) != nullptr
                            : size(map, key, out.value) != nullptr;
        if (!ok) {
            continue;
        }
        out.form = form;
        const uint64_t ram = guest ? guest->ram_bytes : 0;
        const uint64_t bytes = form == TargetSpec::Form::kBalloonPages
                                   ? out.value * spec::balloon::kPageSize
                                   : out.value;
        const bool above = bytes > ram || (form == TargetSpec::Form::kBalloonPages &&
                                           out.value > ram / spec::balloon::kPageSize);
        if (ram != 0 && above && !allow_above_ram) {
            error(*entry, "is above guest " + guest->name + "'s RAM " + format_size(ram) +
                              ", got '" + entry->value.Scalar() +
                              "' (add allow_above_ram: true if that is the point)");
        } else if (ram != 0 && target_pages(out, ram) > std::numeric_limits<uint32_t>::max()) {
            error(*entry, "does not fit the 32-bit num_pages register (4 KiB pages)");
        }
    }
    if (given == nullptr && map.ok()) {
        diag_.report(map.mark(), map.child("balloon"),
                     "missing target: give one of balloon (bytes), balloon_pages or guest_ram");
    }
}

void Walker::event(Map& map, EventConfig& out) {
    time(map, "at", out.at, Need::kRequired);
    const Entry* kind = choice(map, "kind", kEventKinds, out.kind, Need::kRequired);
    const GuestConfig* guest = guest_name(map, Need::kRequired, out.guest);
    if (kind == nullptr) {
        for (const char* key :
             {"balloon", "balloon_pages", "guest_ram", "allow_above_ram", "phases"}) {
            map.has(key);  // known keys; the kind is what is wrong
        }
    } else if (out.kind == EventKind::kSetTarget) {
        target(map, guest, out.target);
        not_for_kind(map, {"phases"}, kind->value.Scalar());
    } else if (out.kind == EventKind::kWorkload) {
        if (const Entry* entry = lookup(map, "phases", Need::kRequired)) {
            phases(*entry, out.phases);
        }
        not_for_kind(map, {"balloon", "balloon_pages", "guest_ram", "allow_above_ram"},
                     kind->value.Scalar());
    } else {
        not_for_kind(map, {"balloon", "balloon_pages", "guest_ram", "allow_above_ram", "phases"},
                     kind->value.Scalar());
    }
    map.finish();
}

void Walker::check(Map& map, const sc_time& duration, CheckConfig& out) {
    const Entry* kind = choice(map, "kind", kCheckKinds, out.kind, Need::kRequired);
    string(map, "name", out.name, Need::kOptional, false);
    if (kind == nullptr) {
        for (const char* key : {"guest", "at", "bound", "counter"}) {
            map.has(key);  // known keys; the kind is what is wrong
        }
        map.finish();
        return;
    }
    const std::string kind_name = kind->value.Scalar();
    const bool needs_guest = out.kind == CheckKind::kBallooned;
    const bool host_only = out.kind == CheckKind::kHostFreeNeverBelow;
    const bool has_at =
        out.kind == CheckKind::kActualReachesTargetBy || out.kind == CheckKind::kBallooned;
    const bool has_counter =
        out.kind == CheckKind::kCounterAtLeast || out.kind == CheckKind::kCounterAtMost;

    if (host_only) {
        not_for_kind(map, {"guest"}, kind_name);
    } else {
        guest_name(map, needs_guest ? Need::kRequired : Need::kOptional, out.guest);
    }
    if (has_at) {
        if (const Entry* at = time(map, "at", out.at); at && duration_known_ && out.at > duration) {
            error(*at, "is after the end of the run (duration " + format_time(duration) + ")");
        }
    } else {
        not_for_kind(map, {"at"}, kind_name);
    }
    if (has_counter) {
        const Entry* counter = string(map, "counter", out.counter, Need::kRequired, false);
        const std::vector<std::string>& known = summary_counter_names();
        if (counter != nullptr &&
            std::find(known.begin(), known.end(), out.counter) == known.end()) {
            error(*counter, "unknown counter '" + out.counter + "'" +
                                suggestion(out.counter, known) +
                                "; one of the summary's: " + join_names(known));
        }
    } else {
        not_for_kind(map, {"counter"}, kind_name);
    }
    switch (out.kind) {
        case CheckKind::kActualReachesTargetBy:
        case CheckKind::kNoOomKills:
            not_for_kind(map, {"bound"}, kind_name);
            break;
        case CheckKind::kMaxOomKills:
        case CheckKind::kBallooned: {
            uint64_t bound = 0;
            if (count(map, "bound", bound, 0, std::numeric_limits<uint64_t>::max(),
                      Need::kRequired)) {
                out.bound = static_cast<double>(bound);
            }
            break;
        }
        case CheckKind::kTimeToTargetBelow:
        case CheckKind::kTimeToTargetAbove:
            time(map, "bound", out.bound_time, Need::kRequired, Limit::kPositive);
            break;
        case CheckKind::kHostFreeNeverBelow: {
            uint64_t bound = 0;
            if (size(map, "bound", bound, Need::kRequired)) {
                out.bound = static_cast<double>(bound);
            }
            break;
        }
        case CheckKind::kInflateRateAbove:
            number(map, "bound", out.bound, Need::kRequired, 0.0);
            break;
        case CheckKind::kCounterAtLeast:
        case CheckKind::kCounterAtMost:
            number(map, "bound", out.bound, Need::kRequired);
            break;
    }
    if (out.name.empty()) {
        out.name = out.guest.empty() ? kind_name : kind_name + "(" + out.guest + ")";
    }
    map.finish();
}

void Walker::output(Map& map, OutputConfig& out) {
    string(map, "directory", out.directory, Need::kOptional, false);
    time(map, "sample_interval", out.sample_interval, Need::kOptional, Limit::kPositive);
    boolean(map, "trace", out.trace);
    std::vector<std::string> files;
    if (name_list(map, "files", kOutputFiles, files) != nullptr) {
        const auto wanted = [&](const char* name) {
            return std::find(files.begin(), files.end(), name) != files.end();
        };
        out.timeseries_csv = wanted("timeseries.csv");
        out.summary_json = wanted("summary.json");
        out.trace_vcd = wanted("trace.vcd");
        out.report_html = wanted("report.html");
    }
    map.finish();
}

// ---- --set overrides ----------------------------------------------------------------

struct PathStep {
    std::string key;  // empty for an index step
    size_t index = 0;
};

// Parses "guests[0].workload.phases[1].rate"; returns false on a malformed path.
bool parse_path(std::string_view text, std::vector<PathStep>& steps) {
    size_t i = 0;
    const auto is_name_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    };
    while (i < text.size()) {
        if (text[i] == '[') {
            const size_t close = text.find(']', i);
            const std::string_view digits = close == std::string_view::npos
                                                ? std::string_view()
                                                : text.substr(i + 1, close - i - 1);
            if (steps.empty() || digits.empty() || digits.size() > 9 ||
                !std::all_of(digits.begin(), digits.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
                return false;
            }
            steps.push_back({"", static_cast<size_t>(std::stoul(std::string(digits)))});
            i = close + 1;
            continue;
        }
        if (text[i] == '.') {
            if (steps.empty()) {
                return false;
            }
            ++i;
        } else if (!steps.empty()) {
            return false;  // guests[0]ram: a key after an index needs its dot
        }
        const size_t start = i;
        while (i < text.size() && is_name_char(text[i])) {
            ++i;
        }
        if (i == start) {
            return false;
        }
        steps.push_back({std::string(text.substr(start, i - start)), 0});
    }
    return !steps.empty();
}

std::string render_path(const std::vector<PathStep>& steps, size_t count) {
    std::string path;
    for (size_t i = 0; i < count; ++i) {
        path = steps[i].key.empty() ? indexed(path, steps[i].index) : join(path, steps[i].key);
    }
    return path;
}

// Applies one "path=value" to the tree. Returns where it applies, or reports and returns
// nothing.
std::optional<OverrideScope> apply_override(YAML::Node& root, const std::string& spec,
                                            std::vector<LoadError>& errors) {
    const size_t equals = spec.find('=');
    const std::string raw_path = spec.substr(0, equals);
    const auto fail = [&](const std::string& path, std::string message) {
        errors.push_back({"--set " + raw_path, 0, 0, path, std::move(message)});
        return std::nullopt;
    };
    std::vector<PathStep> steps;
    if (equals == std::string::npos) {
        return fail("", "expected PATH=VALUE, such as guests[0].ram=2GiB");
    }
    if (!parse_path(raw_path, steps)) {
        return fail("", "expected a key path such as guests[0].ram or platform.memory.dmi, got '" +
                            raw_path + "'");
    }
    const std::string path = render_path(steps, steps.size());
    YAML::Node value;
    try {
        const std::vector<YAML::Node> documents = YAML::LoadAll(spec.substr(equals + 1));
        if (documents.size() > 1) {
            return fail(path, "the value holds more than one YAML document ('---')");
        }
        if (!documents.empty()) {
            value = documents[0];
        }
    } catch (const YAML::Exception& e) {
        return fail(path, "the value is not valid YAML: " + e.msg);
    }
    if (!root.IsDefined() || root.IsNull()) {
        root = YAML::Node(YAML::NodeType::Map);
    }
    // yaml-cpp's Node assignment writes through to the tree, so walking uses reset().
    YAML::Node node;
    node.reset(root);
    size_t created = steps.size();  // first step whose key the override adds to the tree
    for (size_t i = 0; i < steps.size(); ++i) {
        const PathStep& step = steps[i];
        const std::string here = render_path(steps, i);
        const bool last = i + 1 == steps.size();
        if (step.key.empty()) {
            if (!node.IsSequence()) {
                return fail(path, here + " is not a list");
            }
            if (step.index >= node.size()) {
                return fail(path, "there is no " + indexed(here, step.index) + ": " + here +
                                      " has " + std::to_string(node.size()) + " entries");
            }
            if (last) {
                node[step.index] = value;
            } else {
                YAML::Node next = node[step.index];
                node.reset(next);
            }
            continue;
        }
        if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
            return fail(path, here + " is " + describe(node) + ", not a mapping");
        }
        const YAML::Node& existing = node;  // const lookup: adds nothing to the tree
        if (created == steps.size() && !(node.IsMap() && existing[step.key].IsDefined())) {
            created = i;
        }
        if (last) {
            node[step.key] = value;
        } else {
            YAML::Node next = node[step.key];
            node.reset(next);
        }
    }
    return OverrideScope{render_path(steps, std::min(created + 1, steps.size())), path};
}

std::string stem(const std::string& name) {
    const size_t slash = name.find_last_of('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    const size_t dot = base.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

// Counts the values of a YAML text without building its tree (yaml-cpp's tree takes some
// 500 bytes per value), stopping at the first one past the limit.
class ValueCounter : public YAML::EventHandler {
  public:
    struct TooMany {
        YAML::Mark mark;
    };

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        count(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        count(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        count(mark);
    }
    void OnMapEnd() override {}

  private:
    void count(const YAML::Mark& mark) {
        if (++values_ > kMaxScenarioValues) {
            throw TooMany{mark};
        }
    }
    size_t values_ = 0;
};

// Where the text holds more values than a scenario may, the position of the first one too
// many; syntax errors are left for the real parse to report.
std::optional<YAML::Mark> too_many_values(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    ValueCounter counter;
    try {
        while (parser.HandleNextDocument(counter)) {
        }
    } catch (const ValueCounter::TooMany& too_many) {
        return too_many.mark;
    } catch (const YAML::Exception&) {
    }
    return std::nullopt;
}

}  // namespace

std::string LoadError::to_string() const {
    std::string out = file;
    if (line > 0) {
        out += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    out += ": ";
    // "--set PATH" names the key already.
    if (!key_path.empty() && file != "--set " + key_path) {
        out += key_path + ": ";
    }
    return out + message;
}

uint64_t target_pages(const TargetSpec& target, uint64_t guest_ram_bytes) {
    switch (target.form) {
        case TargetSpec::Form::kBalloonPages:
            return target.value;
        case TargetSpec::Form::kBalloonBytes:
            return target.value >> spec::balloon::kPfnShift;
        case TargetSpec::Form::kGuestRamBytes:
            return target.value >= guest_ram_bytes
                       ? 0
                       : (guest_ram_bytes - target.value) >> spec::balloon::kPfnShift;
    }
    return 0;
}

bool ScenarioLoader::load_file(const std::string& path, const std::vector<std::string>& overrides,
                               ScenarioConfig& out, std::vector<LoadError>& errors) {
    const auto fail = [&](const std::string& message) {
        errors.push_back({path, 0, 0, "", message});
        return false;
    };
    // Say what is wrong with something that is not a scenario file at all, rather than
    // reading it (a device may never end) and reporting missing keys.
    struct stat status = {};
    if (::stat(path.c_str(), &status) == 0) {
        if (S_ISDIR(status.st_mode)) {
            return fail("is a folder, not a scenario file");
        }
        if (S_ISCHR(status.st_mode) || S_ISBLK(status.st_mode) || S_ISSOCK(status.st_mode)) {
            return fail("is a device, not a scenario file");
        }
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(std::string("cannot read: ") + std::strerror(errno));
    }
    // Read at most one byte more than allowed (a pipe has no size to ask for in advance).
    std::string text;
    std::vector<char> chunk(64 * 1024);
    while (in && text.size() <= kMaxScenarioFileBytes) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) {
        return fail(std::string("cannot read: ") + std::strerror(errno));
    }
    if (text.size() > kMaxScenarioFileBytes) {
        return fail("is larger than 64 MiB; a scenario file is a few kilobytes of YAML");
    }
    if (text.empty()) {
        return fail("is empty; a scenario needs at least 'guests' and 'host'");
    }
    return load_string(text, path, overrides, out, errors);
}

bool ScenarioLoader::load_string(const std::string& text, const std::string& name_for_errors,
                                 const std::vector<std::string>& overrides, ScenarioConfig& out,
                                 std::vector<LoadError>& errors) {
    std::vector<LoadError> found;
    if (const std::optional<YAML::Mark> mark = too_many_values(text)) {
        errors.push_back({name_for_errors, mark->line + 1, mark->column + 1, "",
                          "more than " + format_grouped(kMaxScenarioValues) +
                              " YAML values in one scenario; a long timeline is better "
                              "written as an auto policy or split into scenarios"});
        return false;
    }
    YAML::Node root;
    try {
        std::vector<YAML::Node> documents = YAML::LoadAll(text);
        if (documents.size() > 1) {
            // A second document would be silently ignored; say so instead.
            const YAML::Mark mark = documents[1].Mark();
            found.push_back({name_for_errors, mark.line + 1, mark.column + 1, "",
                             "a scenario file holds one YAML document; remove the '---' "
                             "before this one or split the file"});
        }
        if (!documents.empty()) {
            root.reset(documents[0]);
        }
    } catch (const YAML::Exception& e) {
        const bool known = e.mark.line >= 0;
        found.push_back({name_for_errors, known ? e.mark.line + 1 : 0,
                         known ? e.mark.column + 1 : 0, "", "YAML syntax error: " + e.msg});
    }
    if (!found.empty()) {
        errors.insert(errors.end(), found.begin(), found.end());
        return false;
    }

    std::vector<OverrideScope> scopes;
    std::vector<NamedOverride> named;
    for (const std::string& spec : overrides) {
        const size_t equals = spec.find('=');
        const std::string key = spec.substr(0, equals);
        const std::string first = key.substr(0, key.find_first_of(".["));
        if (equals != std::string::npos && first.size() < key.size() && key[first.size()] == '.' &&
            !is_scenario_key(first)) {
            named.push_back({key, spec.substr(equals + 1)});
            continue;
        }
        if (std::optional<OverrideScope> scope = apply_override(root, spec, found)) {
            scopes.push_back(std::move(*scope));
        }
    }

    ScenarioConfig config;
    config.source = name_for_errors;
    Diagnostics diag(name_for_errors, std::move(scopes), found);
    try {
        Walker(diag, std::move(named)).scenario(root, stem(name_for_errors), config);
    } catch (const YAML::Exception& e) {
        // The walk checks types before converting, so this is a yaml-cpp surprise.
        found.push_back({name_for_errors, 0, 0, "", std::string("cannot read: ") + e.what()});
    }

    // File order reads best; override errors (no position) come after the file's.
    std::stable_sort(found.begin(), found.end(), [&](const LoadError& a, const LoadError& b) {
        const auto key = [&](const LoadError& e) {
            return std::make_tuple(e.file != name_for_errors, e.line, e.column);
        };
        return key(a) < key(b);
    });
    errors.insert(errors.end(), found.begin(), found.end());
    if (!found.empty()) {
        return false;
    }
    out = std::move(config);
    return true;
}

}  // namespace vbsim::platform
