#include "platform/sweep/sweep_plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "platform/config/scenario.h"
#include "platform/report/output_folder.h"

namespace vbsim::platform {

namespace {

namespace fs = std::filesystem;

// Errors of one variant are usually the errors of all: a few are enough to see what is wrong.
constexpr size_t kMaxReportedErrors = 50;
// Variant names stay well below file-name limits; the index prefix keeps them unique.
constexpr size_t kMaxVariantNameBytes = 160;

const std::vector<std::string> kSweepKeys = {"name", "base", "grid", "zip", "seeds", "exclude"};

class SweepReader {
  public:
    SweepReader(std::string file, std::vector<LoadError>& errors)
        : file_(std::move(file)), errors_(errors) {}

    void error(const YAML::Node& node, const std::string& key_path, const std::string& message) {
        const YAML::Mark mark = node.Mark();
        const bool placed = mark.line >= 0;
        errors_.push_back(
            {file_, placed ? mark.line + 1 : 0, placed ? mark.column + 1 : 0, key_path, message});
    }
    bool failed() const { return errors_.size() != error_count_at_start_; }

    const std::string& file() const { return file_; }
    std::vector<LoadError>& errors() { return errors_; }

  private:
    std::string file_;
    std::vector<LoadError>& errors_;
    size_t error_count_at_start_ = errors_.size();
};

// The YAML text `--set PATH=` is given for a value: a scalar as written, anything else in
// flow style.
std::string value_text(const YAML::Node& node) {
    if (node.IsScalar()) {
        return node.Scalar();
    }
    YAML::Emitter emitter;
    emitter.SetMapFormat(YAML::Flow);
    emitter.SetSeqFormat(YAML::Flow);
    emitter << node;
    return emitter.c_str();
}

bool read_lines(const std::string& path, std::vector<std::string>& lines) {
    std::ifstream in(path);
    if (!in) {
        return false;
    }
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return true;
}

// The text of an inline block-style base scenario, cut from the sweep file's own lines so that
// the loader's line and column numbers can be mapped back onto the sweep file.
void cut_inline_base(const YAML::Node& base, const std::vector<std::string>& lines,
                     SweepFile& out) {
    const YAML::Mark mark = base.Mark();
    if (base.Style() == YAML::EmitterStyle::Flow || mark.line < 0 ||
        static_cast<size_t>(mark.line) >= lines.size()) {
        YAML::Emitter emitter;
        emitter << base;
        out.base_text = emitter.c_str();
        out.base_line_offset = std::max(0, mark.line);  // errors land on the base's line
        out.base_column_offset = 0;
        return;
    }
    const size_t indent = static_cast<size_t>(mark.column);
    std::string text;
    for (size_t i = static_cast<size_t>(mark.line); i < lines.size(); ++i) {
        const std::string& line = lines[i];
        const size_t first = line.find_first_not_of(" \t");
        const bool blank = first == std::string::npos || line[first] == '#';
        if (!blank && first < indent && i != static_cast<size_t>(mark.line)) {
            break;
        }
        text += (line.size() > indent ? line.substr(indent) : std::string()) + "\n";
    }
    out.base_text = text;
    out.base_line_offset = mark.line;
    out.base_column_offset = mark.column;
}

// The loader's errors for the base or a variant, placed in the sweep file where possible.
// Where `path` is written in the grid or zip (line 0 when not found).
SweepValue path_key(const SweepFile& sweep, const std::string& path) {
    for (const SweepAxis& axis : sweep.axes) {
        for (size_t i = 0; i < axis.paths.size() && i < axis.path_keys.size(); ++i) {
            if (axis.paths[i] == path) {
                return axis.path_keys[i];
            }
        }
    }
    return {};
}

void place_errors(const SweepFile& sweep, const std::vector<LoadError>& loader_errors,
                  const std::map<std::string, SweepValue>& value_of_path,
                  const std::string& variant, std::vector<LoadError>& errors,
                  std::set<std::string>& seen) {
    for (LoadError error : loader_errors) {
        const std::string set_prefix = "--set ";
        if (error.file.compare(0, set_prefix.size(), set_prefix) == 0) {
            const std::string path = error.file.substr(set_prefix.size());
            const auto value = value_of_path.find(path);
            error.file = sweep.file;
            // A path that names nothing is wrong whatever its value: said once, at the path.
            const SweepValue key = path_key(sweep, path);
            const bool names_nothing = error.message.rfind("unknown key", 0) == 0 ||
                                       error.message.rfind("no parameter named", 0) == 0;
            if (names_nothing && key.line > 0) {
                error.line = key.line;
                error.column = key.column;
            } else if (value != value_of_path.end()) {
                error.line = value->second.line;
                error.column = value->second.column;
            }
            if (error.key_path.empty()) {
                error.key_path = path;
            }
        } else if (sweep.base_path.empty() && error.line > 0) {
            error.file = sweep.file;
            error.column += sweep.base_column_offset;  // the base's lines were dedented
            error.line += sweep.base_line_offset;
        }
        // The same wrong value shows in many variants; say it once, naming the first.
        std::string key = error.file + ":" + std::to_string(error.line) + ":" +
                          std::to_string(error.column) + ":" + error.key_path;
        if (seen.insert(key).second && errors.size() < kMaxReportedErrors) {
            if (!variant.empty()) {
                error.message += " (variant " + variant + ")";
            }
            errors.push_back(std::move(error));
        }
    }
}

bool load_variant(const SweepFile& sweep, const std::vector<std::string>& overrides,
                  ScenarioConfig& config, std::vector<LoadError>& errors) {
    if (!sweep.base_path.empty()) {
        return ScenarioLoader::load_file(sweep.base_path, overrides, config, errors);
    }
    return ScenarioLoader::load_string(sweep.base_text, sweep.file, overrides, config, errors);
}

void read_name(SweepReader& reader, const YAML::Node& node, SweepFile& out) {
    if (!node) {
        out.name = fs::path(out.file).stem().string();
        return;
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
        reader.error(node, "name", "expected a non-empty string");
        return;
    }
    out.name = node.Scalar();
}

void read_base(SweepReader& reader, const YAML::Node& node, const std::vector<std::string>& lines,
               SweepFile& out) {
    if (!node) {
        reader.error(YAML::Node(), "base",
                     "missing: the base scenario, a file name (relative to the sweep file) or "
                     "the scenario written inline");
        return;
    }
    if (node.IsMap()) {
        cut_inline_base(node, lines, out);
        return;
    }
    if (!node.IsScalar() || node.Scalar().empty()) {
        reader.error(node, "base",
                     "expected a scenario file name or an inline scenario (a mapping)");
        return;
    }
    fs::path path = node.Scalar();
    if (path.is_relative()) {
        path = fs::path(out.file).parent_path() / path;
    }
    out.base_path = path.lexically_normal().string();
    std::ifstream in(out.base_path, std::ios::binary);
    if (!in) {
        reader.error(node, "base", "cannot read the scenario file '" + out.base_path + "'");
        return;
    }
    std::ostringstream text;
    text << in.rdbuf();
    out.base_text = text.str();
}

// A varied path: what `--set` takes, but not the two the sweep sets itself.
bool check_path(SweepReader& reader, const YAML::Node& key, const std::string& where,
                std::set<std::string>& used) {
    const std::string path = key.Scalar();
    if (path == "seed") {
        reader.error(key, where + "." + path, "vary the seed with the 'seeds' list");
        return false;
    }
    if (path == "name") {
        reader.error(key, where + "." + path, "each variant is named by the sweep");
        return false;
    }
    if (!used.insert(path).second) {
        reader.error(key, where + "." + path, "this path is already varied");
        return false;
    }
    return true;
}

SweepValue key_of(const YAML::Node& key) {
    const YAML::Mark mark = key.Mark();
    return {key.Scalar(), mark.line + 1, mark.column + 1};
}

bool read_values(SweepReader& reader, const YAML::Node& list, const std::string& key_path,
                 std::vector<SweepValue>& values) {
    if (!list.IsSequence() || list.size() == 0) {
        reader.error(list, key_path, "expected a non-empty list of values");
        return false;
    }
    std::set<std::string> distinct;
    for (const YAML::Node& item : list) {
        const YAML::Mark mark = item.Mark();
        SweepValue value{value_text(item), mark.line + 1, mark.column + 1};
        if (!distinct.insert(value.text).second) {
            reader.error(item, key_path, "the value '" + value.text + "' is listed twice");
            return false;
        }
        values.push_back(std::move(value));
    }
    return true;
}

void read_grid(SweepReader& reader, const YAML::Node& node, std::set<std::string>& used,
               SweepFile& out) {
    if (!node) {
        return;
    }
    if (!node.IsMap() || node.size() == 0) {
        reader.error(node, "grid", "expected a mapping of parameter path to a list of values");
        return;
    }
    for (const auto& entry : node) {
        if (!check_path(reader, entry.first, "grid", used)) {
            continue;
        }
        SweepAxis axis;
        axis.paths.push_back(entry.first.Scalar());
        axis.path_keys.push_back(key_of(entry.first));
        axis.values.emplace_back();
        if (read_values(reader, entry.second, "grid." + entry.first.Scalar(), axis.values[0])) {
            out.axes.push_back(std::move(axis));
        }
    }
}

void read_zip(SweepReader& reader, const YAML::Node& node, std::set<std::string>& used,
              SweepFile& out) {
    if (!node) {
        return;
    }
    if (!node.IsMap() || node.size() == 0) {
        reader.error(node, "zip",
                     "expected a mapping of parameter path to a list of values, all lists of "
                     "one length");
        return;
    }
    SweepAxis axis;
    for (const auto& entry : node) {
        if (!check_path(reader, entry.first, "zip", used)) {
            continue;
        }
        std::vector<SweepValue> values;
        const std::string key_path = "zip." + entry.first.Scalar();
        if (!read_values(reader, entry.second, key_path, values)) {
            continue;
        }
        if (!axis.values.empty() && values.size() != axis.steps()) {
            reader.error(entry.second, key_path,
                         "has " + std::to_string(values.size()) + " values; zip." +
                             axis.paths.front() + " has " + std::to_string(axis.steps()) +
                             ": zipped lists vary together and need one length");
            continue;
        }
        axis.paths.push_back(entry.first.Scalar());
        axis.path_keys.push_back(key_of(entry.first));
        axis.values.push_back(std::move(values));
    }
    if (!axis.paths.empty()) {
        out.axes.push_back(std::move(axis));
    }
}

void read_seeds(SweepReader& reader, const YAML::Node& node, SweepFile& out) {
    if (!node) {
        return;
    }
    if (!node.IsSequence() || node.size() == 0) {
        reader.error(node, "seeds", "expected a non-empty list of seeds (whole numbers)");
        return;
    }
    std::set<uint64_t> distinct;
    for (const YAML::Node& item : node) {
        const std::string text = item.IsScalar() ? item.Scalar() : std::string();
        uint64_t seed = 0;
        const bool digits =
            !text.empty() && text.size() <= 19 &&
            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) {
            reader.error(item, "seeds", "expected a whole number, got '" + text + "'");
            continue;
        }
        seed = std::stoull(text);
        if (!distinct.insert(seed).second) {
            reader.error(item, "seeds", "the seed " + text + " is listed twice");
            continue;
        }
        out.seeds.push_back(seed);
    }
}

void read_excludes(SweepReader& reader, const YAML::Node& node, SweepFile& out) {
    if (!node) {
        return;
    }
    if (!node.IsSequence()) {
        reader.error(node, "exclude", "expected a list of mappings (path: value)");
        return;
    }
    std::map<std::string, const std::vector<SweepValue>*> values_of_path;
    for (const SweepAxis& axis : out.axes) {
        for (size_t i = 0; i < axis.paths.size(); ++i) {
            values_of_path[axis.paths[i]] = &axis.values[i];
        }
    }
    for (size_t n = 0; n < node.size(); ++n) {
        const YAML::Node entry = node[n];
        const std::string where = "exclude[" + std::to_string(n) + "]";
        if (!entry.IsMap() || entry.size() == 0) {
            reader.error(entry, where, "expected a mapping of varied path to value");
            continue;
        }
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto& pair : entry) {
            const std::string path = pair.first.Scalar();
            const auto values = values_of_path.find(path);
            if (values == values_of_path.end()) {
                reader.error(pair.first, where + "." + path, "not a path this sweep varies");
                continue;
            }
            const std::string text = value_text(pair.second);
            const bool listed =
                std::any_of(values->second->begin(), values->second->end(),
                            [&](const SweepValue& value) { return value.text == text; });
            if (!listed) {
                reader.error(pair.second, where + "." + path,
                             "'" + text + "' is not one of this path's values");
                continue;
            }
            pairs.emplace_back(path, text);
        }
        out.excludes.push_back(std::move(pairs));
    }
}

// The label of a varied path in variant names: its last key, or the whole path when two
// varied paths share a last key.
std::vector<std::string> labels_of(const std::vector<std::string>& paths) {
    std::vector<std::string> labels;
    std::map<std::string, int> uses;
    for (const std::string& path : paths) {
        const size_t dot = path.rfind('.');
        labels.push_back(dot == std::string::npos ? path : path.substr(dot + 1));
        ++uses[labels.back()];
    }
    for (size_t i = 0; i < paths.size(); ++i) {
        if (uses[labels[i]] > 1) {
            labels[i] = paths[i];
        }
    }
    return labels;
}

std::string variant_name(size_t index, size_t grid_size, const std::vector<std::string>& labels,
                         const std::vector<std::string>& values) {
    std::string number = std::to_string(index);
    const size_t width = std::to_string(grid_size > 0 ? grid_size - 1 : 0).size();
    number.insert(0, width - std::min(width, number.size()), '0');
    std::string name = number;
    for (size_t i = 0; i < labels.size(); ++i) {
        name += "-" + labels[i] + "_" + values[i];
    }
    if (name.size() > kMaxVariantNameBytes) {
        name.resize(kMaxVariantNameBytes);
    }
    return safe_folder_name(name);
}

void expand(SweepPlan& plan) {
    const SweepFile& file = plan.file;
    for (const SweepAxis& axis : file.axes) {
        for (const std::string& path : axis.paths) {
            plan.varied_paths.push_back(path);
        }
    }
    plan.varies_seed = !file.seeds.empty();
    std::vector<std::string> label_paths = plan.varied_paths;
    if (plan.varies_seed) {
        label_paths.push_back("seed");
    }
    const std::vector<std::string> labels = labels_of(label_paths);

    std::vector<size_t> sizes;
    for (const SweepAxis& axis : file.axes) {
        sizes.push_back(axis.steps());
    }
    if (plan.varies_seed) {
        sizes.push_back(file.seeds.size());
    }
    for (size_t index = 0; index < plan.grid_size; ++index) {
        // Mixed-radix digits, the first axis varying slowest.
        std::vector<size_t> step(sizes.size());
        size_t rest = index;
        for (size_t axis = sizes.size(); axis-- > 0;) {
            step[axis] = rest % sizes[axis];
            rest /= sizes[axis];
        }
        SweepVariant variant;
        variant.index = index;
        variant.paths = plan.varied_paths;
        for (size_t axis = 0; axis < file.axes.size(); ++axis) {
            for (const std::vector<SweepValue>& values : file.axes[axis].values) {
                variant.values.push_back(values[step[axis]].text);
            }
        }
        const bool excluded =
            std::any_of(file.excludes.begin(), file.excludes.end(), [&](const auto& pairs) {
                return !pairs.empty() &&
                       std::all_of(pairs.begin(), pairs.end(), [&](const auto& pair) {
                           const auto at =
                               std::find(variant.paths.begin(), variant.paths.end(), pair.first);
                           return variant.values[at - variant.paths.begin()] == pair.second;
                       });
            });
        if (excluded) {
            continue;
        }
        uint64_t base_seed = file.base_seed;
        std::vector<std::string> name_values = variant.values;
        if (plan.varies_seed) {
            base_seed = file.seeds[step.back()];
            name_values.push_back(std::to_string(base_seed));
        }
        variant.base_seed = base_seed;
        variant.seed = variant_seed(base_seed, index);
        variant.name = variant_name(index, plan.grid_size, labels, name_values);
        plan.variants.push_back(std::move(variant));
    }
}

}  // namespace

std::vector<std::string> SweepVariant::overrides() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < paths.size(); ++i) {
        out.push_back(paths[i] + "=" + values[i]);
    }
    out.push_back("seed=" + std::to_string(seed));
    out.push_back("name=" + name);
    return out;
}

uint64_t variant_seed(uint64_t base_seed, size_t index) {
    uint64_t z = base_seed + (static_cast<uint64_t>(index) + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z >> 11;
}

bool load_sweep_plan(const std::string& path, SweepPlan& plan, std::vector<LoadError>& errors) {
    SweepPlan result;
    SweepFile& file = result.file;
    file.file = path;
    SweepReader reader(path, errors);

    std::error_code size_error;
    const auto bytes = fs::file_size(path, size_error);
    if (size_error) {
        errors.push_back({path, 0, 0, "", "cannot read the sweep file: " + size_error.message()});
        return false;
    }
    if (bytes > kMaxScenarioFileBytes) {
        errors.push_back({path, 0, 0, "", "the sweep file is larger than 64 MiB"});
        return false;
    }
    std::vector<std::string> lines;
    YAML::Node root;
    try {
        if (!read_lines(path, lines)) {
            errors.push_back({path, 0, 0, "", "cannot read the sweep file"});
            return false;
        }
        root = YAML::LoadFile(path);
    } catch (const YAML::Exception& error) {
        errors.push_back({path, error.mark.line + 1, error.mark.column + 1, "", error.msg});
        return false;
    }
    if (!root.IsMap()) {
        reader.error(root, "",
                     "a sweep file is a mapping with the keys name, base, grid, zip, "
                     "seeds and exclude");
        return false;
    }
    for (const auto& entry : root) {
        const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
        if (std::find(kSweepKeys.begin(), kSweepKeys.end(), key) == kSweepKeys.end()) {
            reader.error(entry.first, key,
                         "unknown key; a sweep file has name, base, grid, zip, seeds and "
                         "exclude");
        }
    }
    read_name(reader, root["name"], file);
    read_base(reader, root["base"], lines, file);
    std::set<std::string> used;
    read_grid(reader, root["grid"], used, file);
    read_zip(reader, root["zip"], used, file);
    read_seeds(reader, root["seeds"], file);
    read_excludes(reader, root["exclude"], file);
    if (reader.failed()) {
        return false;
    }
    if (file.axes.empty() && file.seeds.empty()) {
        reader.error(root, "", "nothing varies: give a grid, a zip or a seeds list");
        return false;
    }

    // The base alone first: its own errors are the base's, not each variant's.
    std::set<std::string> seen;
    ScenarioConfig base;
    std::vector<LoadError> base_errors;
    if (!load_variant(file, {}, base, base_errors)) {
        place_errors(file, base_errors, {}, "", errors, seen);
        return false;
    }
    file.base_seed = base.seed;
    if (!base.output.summary_json) {
        reader.error(root["base"], "base.output.files",
                     "a sweep reads each variant's summary.json: keep it in output.files");
        return false;
    }

    result.grid_size = 1;
    const auto multiply = [&](size_t factor) {
        if (result.grid_size > kMaxSweepVariants / factor) {
            result.grid_size = kMaxSweepVariants + 1;
        } else {
            result.grid_size *= factor;
        }
    };
    for (const SweepAxis& axis : file.axes) {
        multiply(axis.steps());
    }
    if (!file.seeds.empty()) {
        multiply(file.seeds.size());
    }
    if (result.grid_size > kMaxSweepVariants) {
        // Placed at what multiplies the variants: the grid, as a rule.
        const char* const where = root["grid"] ? "grid" : root["zip"] ? "zip" : "seeds";
        reader.error(root[where], where,
                     "the sweep has more than " + std::to_string(kMaxSweepVariants) +
                         " variants (grid x zip x seeds); split it");
        return false;
    }
    expand(result);
    if (result.variants.empty()) {
        reader.error(root["exclude"], "exclude", "every variant is excluded");
        return false;
    }

    std::map<std::string, SweepValue> value_position;
    for (const SweepAxis& axis : file.axes) {
        for (size_t i = 0; i < axis.paths.size(); ++i) {
            value_position[axis.paths[i]] = axis.values[i].front();
        }
    }
    bool all_loaded = true;
    for (const SweepVariant& variant : result.variants) {
        // Errors are placed at the value this variant uses.
        for (const SweepAxis& axis : file.axes) {
            for (size_t i = 0; i < axis.paths.size(); ++i) {
                const auto at =
                    std::find(variant.paths.begin(), variant.paths.end(), axis.paths[i]);
                const std::string& text = variant.values[at - variant.paths.begin()];
                for (const SweepValue& value : axis.values[i]) {
                    if (value.text == text) {
                        value_position[axis.paths[i]] = value;
                    }
                }
            }
        }
        ScenarioConfig config;
        std::vector<LoadError> variant_errors;
        if (load_variant(file, variant.overrides(), config, variant_errors) &&
            !config.output.summary_json) {
            // A variant's own output.files must keep it too (the base's was checked above).
            LoadError error;
            error.file = "--set output.files";
            error.key_path = "output.files";
            error.message = "a sweep reads each variant's summary.json: keep it in output.files";
            variant_errors.push_back(error);
        }
        if (!variant_errors.empty()) {
            place_errors(file, variant_errors, value_position, variant.name, errors, seen);
            all_loaded = false;
        }
    }
    if (!all_loaded) {
        return false;
    }
    plan = std::move(result);
    return true;
}

}  // namespace vbsim::platform
