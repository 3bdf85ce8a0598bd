#include "platform/output_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/quantity_format.h"
#include "platform/utf8.h"

namespace vbsim::platform {
namespace {

// A minimal streaming JSON emitter: it tracks only what it needs to place commas, newlines and
// indentation. Keeping it here rather than pulling in a JSON library keeps the number format
// under our control, which byte-identical outputs depend on.
class JsonWriter {
  public:
    explicit JsonWriter(std::ostream& out) : out_(out) {}

    void begin_object() { open('{'); }
    void end_object() { close('}'); }
    void begin_array() { open('['); }
    void end_array() { close(']'); }

    void key(std::string_view name) {
        separate();
        write_string(name);
        out_ << ": ";
        after_key_ = true;
    }

    void string(std::string_view text) {
        separate();
        write_string(text);
    }
    void unsigned_number(uint64_t value) {
        separate();
        out_ << std::to_string(value);
    }
    void signed_number(int64_t value) {
        separate();
        out_ << std::to_string(value);
    }
    void boolean(bool value) {
        separate();
        out_ << (value ? "true" : "false");
    }
    void null() {
        separate();
        out_ << "null";
    }
    // Six significant digits, like %.6g but independent of the C locale.
    void real(double value) {
        if (!std::isfinite(value)) {
            null();
            return;
        }
        separate();
        char buffer[32];
        const auto result =
            std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 6);
        out_ << std::string_view(buffer, static_cast<std::size_t>(result.ptr - buffer));
    }
    // A rate in whole units per second: an exact integer, never 1.23457e+06.
    void whole_rate(double value) {
        if (!std::isfinite(value) || value < 0) {
            null();
            return;
        }
        unsigned_number(static_cast<uint64_t>(std::llround(value)));
    }
    void seconds(const sc_core::sc_time& time) {
        separate();
        out_ << format_seconds(time);
    }

    void finish() { out_ << '\n'; }

  private:
    void open(char bracket) {
        separate();
        out_ << bracket;
        counts_.push_back(0);
    }

    void close(char bracket) {
        const bool empty = counts_.back() == 0;
        counts_.pop_back();
        if (!empty) {
            newline();
        }
        out_ << bracket;
    }

    // Called before every key and every value: a value right after its key stays on the key's
    // line; anything else is a new member of the enclosing container.
    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (counts_.empty()) {
            return;
        }
        if (counts_.back()++ > 0) {
            out_ << ',';
        }
        newline();
    }

    void newline() {
        out_ << '\n';
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            out_ << "  ";
        }
    }

    void write_string(std::string_view text) {
        static constexpr char kHex[] = "0123456789abcdef";
        out_ << '"';
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            const auto byte = static_cast<unsigned char>(c);
            switch (c) {
                case '"':
                    out_ << "\\\"";
                    break;
                case '\\':
                    out_ << "\\\\";
                    break;
                case '\b':
                    out_ << "\\b";
                    break;
                case '\f':
                    out_ << "\\f";
                    break;
                case '\n':
                    out_ << "\\n";
                    break;
                case '\r':
                    out_ << "\\r";
                    break;
                case '\t':
                    out_ << "\\t";
                    break;
                default:
                    uint32_t code_point = 0;
                    if (byte < 0x80 && byte >= 0x20 && byte != 0x7f) {
                        out_ << c;
                    } else if (const std::size_t length =
                                   byte < 0x80 ? 0 : utf8_sequence_length(text, i, code_point);
                               length > 0) {
                        out_ << text.substr(i, length);  // UTF-8 passes through unchanged
                        i += length - 1;
                    } else {
                        // A control character, or a byte that is not UTF-8 (read as Latin-1):
                        // the file stays valid JSON whatever a scenario's names hold.
                        out_ << "\\u00" << kHex[byte >> 4] << kHex[byte & 0xf];
                    }
            }
        }
        out_ << '"';
    }

    std::ostream& out_;
    std::vector<uint64_t> counts_;  // members written so far, per open container
    bool after_key_ = false;
};

void write_episode(JsonWriter& json, const TargetEpisode& episode) {
    json.begin_object();
    json.key("set_at_s");
    json.seconds(episode.set_at);
    json.key("from_pages");
    json.unsigned_number(episode.from_pages);
    json.key("to_pages");
    json.unsigned_number(episode.to_pages);
    json.key("reached");
    json.boolean(episode.reached);
    json.key("reached_at_s");
    if (episode.reached) {
        json.seconds(episode.reached_at);
    } else {
        json.null();
    }
    json.key("time_to_target_s");
    if (episode.reached && episode.reached_at >= episode.set_at) {
        json.seconds(episode.reached_at - episode.set_at);
    } else {
        json.null();
    }
    json.end_object();
}

void write_guest(JsonWriter& json, const GuestSummary& guest) {
    const auto count = [&](const char* name, uint64_t value) {
        json.key(name);
        json.unsigned_number(value);
    };
    json.begin_object();
    json.key("name");
    json.string(guest.name);
    count("ram_bytes", guest.ram_bytes);
    count("page_size", guest.page_size);
    count("transport_version", guest.transport_version);
    json.key("negotiated_features");
    json.string(guest.negotiated_features);
    count("final_target_pages", guest.final_target_pages);
    count("final_actual_pages", guest.final_actual_pages);
    count("final_ballooned_pages", guest.final_ballooned_pages);
    count("pages_inflated", guest.pages_inflated);
    count("pages_deflated", guest.pages_deflated);
    count("inflate_buffers", guest.inflate_buffers);
    count("deflate_buffers", guest.deflate_buffers);
    json.key("inflate_rate_pages_per_s");
    json.whole_rate(guest.inflate_rate_pages_per_s);
    json.key("deflate_rate_pages_per_s");
    json.whole_rate(guest.deflate_rate_pages_per_s);
    json.key("episodes");
    json.begin_array();
    for (const TargetEpisode& episode : guest.episodes) {
        write_episode(json, episode);
    }
    json.end_array();
    count("notifies", guest.notifies);
    count("interrupts", guest.interrupts);
    count("config_changes", guest.config_changes);
    count("bus_transactions", guest.bus_transactions);
    json.key("bus_utilisation");
    json.real(guest.bus_utilisation);
    count("dma_bytes", guest.dma_bytes);
    count("oom_kills", guest.oom_kills);
    count("oom_deferred", guest.oom_deferred);
    count("oom_deflations", guest.oom_deflations);
    count("alloc_stalls", guest.alloc_stalls);
    count("balloon_alloc_failures", guest.balloon_alloc_failures);
    count("retries", guest.retries);
    count("stats_updates", guest.stats_updates);
    count("actual_writes", guest.actual_writes);
    count("rounds", guest.rounds);
    count("invalid_pfns", guest.invalid_pfns);
    count("needs_reset_events", guest.needs_reset_events);
    count("inflate_notifies", guest.inflate_notifies);
    count("deflate_notifies", guest.deflate_notifies);
    count("stats_notifies", guest.stats_notifies);
    count("used_buffer_interrupts", guest.used_buffer_interrupts);
    count("config_interrupts", guest.config_interrupts);
    const auto histogram = [&](const char* name, const PfnsPerBuffer& buffers) {
        json.key(name);
        json.begin_object();
        for (const auto& [pfns, count_of_buffers] : buffers) {
            count(std::to_string(pfns).c_str(), count_of_buffers);
        }
        json.end_object();
    };
    histogram("inflate_pfns_per_buffer", guest.inflate_pfns_per_buffer);
    histogram("deflate_pfns_per_buffer", guest.deflate_pfns_per_buffer);
    count("guest_errors", guest.guest_errors);
    count("early_notifies", guest.early_notifies);
    json.key("driver_state");
    json.string(guest.driver_state);
    json.end_object();
}

void write_check(JsonWriter& json, const CheckResult& check) {
    json.begin_object();
    json.key("name");
    json.string(check.name);
    json.key("passed");
    json.boolean(check.passed);
    json.key("measured");
    json.string(check.measured);
    json.key("bound");
    json.string(check.bound);
    json.end_object();
}

}  // namespace

void write_summary_json(const RunSummary& summary, std::ostream& out) {
    JsonWriter json(out);
    json.begin_object();
    json.key("scenario");
    json.string(summary.scenario);
    json.key("description");
    json.string(summary.description);
    json.key("seed");
    json.unsigned_number(summary.seed);
    json.key("simulated_time_s");
    json.seconds(summary.simulated_time);
    json.key("host_ram_bytes");
    json.unsigned_number(summary.host_ram_bytes);
    json.key("host_free_min_bytes");
    json.signed_number(summary.host_free_min_bytes);
    json.key("host_free_min_at_s");
    json.seconds(summary.host_free_min_at);
    json.key("host_free_final_bytes");
    json.signed_number(summary.host_free_final_bytes);
    json.key("overcommit_ratio");
    json.real(summary.overcommit_ratio);
    json.key("all_checks_passed");
    json.boolean(summary.all_checks_passed());
    json.key("guests");
    json.begin_array();
    for (const GuestSummary& guest : summary.guests) {
        write_guest(json, guest);
    }
    json.end_array();
    json.key("checks");
    json.begin_array();
    for (const CheckResult& check : summary.checks) {
        write_check(json, check);
    }
    json.end_array();
    if (summary.has_profile) {
        json.key("profile");
        json.begin_object();
        json.key("wall_seconds");
        json.real(summary.wall_seconds);
        json.key("pages_per_wall_second");
        json.real(summary.pages_per_wall_second);
        json.key("transactions_per_wall_second");
        json.real(summary.transactions_per_wall_second);
        json.end_object();
    }
    json.end_object();
    json.finish();
}

}  // namespace vbsim::platform
