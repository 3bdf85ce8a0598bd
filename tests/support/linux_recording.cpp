#include "tests/support/linux_recording.h"

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace vbsim::test {

namespace {

// A CSV file without quoting (none of the recorded files quotes a field), by column name.
class CsvFile {
  public:
    explicit CsvFile(const std::string& path) : path_(path), in_(path) {
        if (!in_) {
            throw std::runtime_error(path + ": cannot open");
        }
        std::string header;
        std::getline(in_, header);
        const std::vector<std::string> names = split(header);
        for (size_t i = 0; i < names.size(); ++i) {
            columns_[names[i]] = i;
        }
    }

    bool next() {
        std::string line;
        while (std::getline(in_, line)) {
            ++line_number_;
            if (!line.empty()) {
                fields_ = split(line);
                return true;
            }
        }
        return false;
    }

    bool has(const std::string& column) const { return columns_.count(column) != 0; }

    const std::string& text(const std::string& column) const {
        const auto it = columns_.find(column);
        if (it == columns_.end()) {
            throw std::runtime_error(path_ + ": no column '" + column + "'");
        }
        static const std::string kEmpty;
        return it->second < fields_.size() ? fields_[it->second] : kEmpty;
    }

    uint64_t number(const std::string& column) const {
        const std::string& field = text(column);
        try {
            size_t used = 0;
            const uint64_t value = std::stoull(field, &used, 0);  // 0x... or decimal
            if (used == field.size()) {
                return value;
            }
        } catch (const std::exception&) {
        }
        throw std::runtime_error(where() + ": column '" + column + "': not a number: '" + field +
                                 "'");
    }

    double real(const std::string& column) const {
        const std::string& field = text(column);
        try {
            return std::stod(field);
        } catch (const std::exception&) {
            throw std::runtime_error(where() + ": column '" + column + "': not a number: '" +
                                     field + "'");
        }
    }

    std::string where() const { return path_ + ":" + std::to_string(line_number_ + 1); }

  private:
    static std::vector<std::string> split(const std::string& line) {
        std::vector<std::string> fields;
        std::stringstream stream(line);
        std::string field;
        while (std::getline(stream, field, ',')) {
            fields.push_back(field);
        }
        if (!line.empty() && line.back() == ',') {
            fields.emplace_back();
        }
        return fields;
    }

    std::string path_;
    std::ifstream in_;
    std::map<std::string, size_t> columns_;
    std::vector<std::string> fields_;
    uint64_t line_number_ = 0;
};

}  // namespace

Recording read_recording(const std::string& folder) {
    Recording recording;

    recording.accesses = read_accesses(folder + "/mmio-all.csv");

    CsvFile batches(folder + "/batches.csv");
    while (batches.next()) {
        const uint64_t queue = batches.number("vq");
        if (queue < 2) {
            recording.buffer_pfns[queue].push_back(static_cast<uint32_t>(batches.number("pfns")));
        } else {
            ++recording.stats_buffers;
        }
    }

    CsvFile stats(folder + "/guest-stats-raw.csv");
    std::string label;
    while (stats.next()) {
        if (recording.stats.empty() || stats.text("label") != label) {
            label = stats.text("label");
            RecordedStats snapshot;
            snapshot.host_time = stats.real("host_time");
            snapshot.buffer_address = stats.number("buffer_gpa");
            snapshot.buffer_length = static_cast<uint32_t>(stats.number("buffer_len"));
            recording.stats.push_back(snapshot);
        }
        recording.stats.back().entries.emplace_back(static_cast<uint16_t>(stats.number("tag_id")),
                                                    stats.number("value"));
    }

    CsvFile timeline(folder + "/actual-timeline.csv");
    while (timeline.next()) {
        if (timeline.text("event") == "to_target") {
            recording.targets.push_back(static_cast<uint32_t>(timeline.number("target_num_pages")));
        }
    }
    return recording;
}

std::vector<RecordedAccess> read_accesses(const std::string& path) {
    std::vector<RecordedAccess> accesses;
    CsvFile mmio(path);
    const bool has_host_time = mmio.has("host_time");
    const bool has_context = mmio.has("context");
    while (mmio.next()) {
        RecordedAccess access;
        access.seq = mmio.number("seq");
        access.host_time = has_host_time ? mmio.real("host_time") : 0.0;
        access.t_us = mmio.real("t_us");
        access.write = mmio.text("rw") == "W";
        access.offset = static_cast<uint32_t>(mmio.number("offset"));
        access.name = mmio.text("register");
        access.phase = mmio.text("phase");
        access.context = has_context ? mmio.text("context") : std::string();
        access.width = static_cast<unsigned int>(mmio.number("width_bytes"));
        access.value = static_cast<uint32_t>(mmio.number("value"));
        accesses.push_back(access);
    }
    return accesses;
}

}  // namespace vbsim::test
