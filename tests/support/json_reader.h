#pragma once

// A strict, small JSON reader for tests (RFC 8259 grammar, no extensions): parses a whole
// document into a tree, or reports where it stopped. Enough to check that outputs are valid
// JSON and to read their fields.

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vbsim::test {

struct Json {
    enum class Type { kNull, kBool, kNumber, kString, kArray, kObject } type = Type::kNull;
    bool boolean = false;
    double number = 0;
    std::string text;
    std::vector<Json> items;
    std::map<std::string, Json> members;

    bool has(const std::string& key) const { return members.count(key) != 0; }
    const Json& operator[](const std::string& key) const { return members.at(key); }
};

class JsonReader {
  public:
    // True when `text` is exactly one JSON value (whitespace around it allowed).
    bool parse(const std::string& text, Json& out) {
        text_ = &text;
        pos_ = 0;
        if (!value(out)) {
            return false;
        }
        skip();
        return pos_ == text.size() || fail("trailing characters");
    }
    const std::string& error() const { return error_; }

  private:
    bool fail(const std::string& what) {
        error_ = what + " at offset " + std::to_string(pos_);
        return false;
    }
    void skip() {
        while (pos_ < text_->size() && std::isspace(static_cast<unsigned char>((*text_)[pos_]))) {
            ++pos_;
        }
    }
    bool literal(const char* word) {
        const std::string w(word);
        if (text_->compare(pos_, w.size(), w) != 0) {
            return fail("bad literal");
        }
        pos_ += w.size();
        return true;
    }
    bool string(std::string& out) {
        ++pos_;  // opening quote
        while (pos_ < text_->size()) {
            const char c = (*text_)[pos_++];
            if (c == '"') {
                return true;
            }
            if (static_cast<unsigned char>(c) < 0x20) {
                return fail("control character in string");
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_->size()) {
                break;
            }
            const char e = (*text_)[pos_++];
            if (e == 'u') {
                if (pos_ + 4 > text_->size()) {
                    return fail("short \\u escape");
                }
                out += '?';
                pos_ += 4;
            } else if (std::string("\"\\/bfnrt").find(e) != std::string::npos) {
                out += e;
            } else {
                return fail("bad escape");
            }
        }
        return fail("unterminated string");
    }
    bool number(double& out) {
        const size_t start = pos_;
        if ((*text_)[pos_] == '-') {
            ++pos_;
        }
        if (pos_ >= text_->size() || !std::isdigit(static_cast<unsigned char>((*text_)[pos_]))) {
            return fail("bad number");
        }
        while (pos_ < text_->size() &&
               (std::isdigit(static_cast<unsigned char>((*text_)[pos_])) ||
                std::string(".eE+-").find((*text_)[pos_]) != std::string::npos)) {
            ++pos_;
        }
        char* end = nullptr;
        const std::string token = text_->substr(start, pos_ - start);
        out = std::strtod(token.c_str(), &end);
        return end == token.c_str() + token.size() || fail("bad number");
    }
    bool value(Json& out) {
        skip();
        if (pos_ >= text_->size()) {
            return fail("unexpected end");
        }
        const char c = (*text_)[pos_];
        if (c == '{') {
            out.type = Json::Type::kObject;
            ++pos_;
            skip();
            if (pos_ < text_->size() && (*text_)[pos_] == '}') {
                ++pos_;
                return true;
            }
            while (true) {
                skip();
                if (pos_ >= text_->size() || (*text_)[pos_] != '"') {
                    return fail("expected a key");
                }
                std::string key;
                if (!string(key)) {
                    return false;
                }
                skip();
                if (pos_ >= text_->size() || (*text_)[pos_++] != ':') {
                    return fail("expected ':'");
                }
                if (!value(out.members[key])) {
                    return false;
                }
                skip();
                if (pos_ < text_->size() && (*text_)[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (pos_ < text_->size() && (*text_)[pos_] == '}') {
                    ++pos_;
                    return true;
                }
                return fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            out.type = Json::Type::kArray;
            ++pos_;
            skip();
            if (pos_ < text_->size() && (*text_)[pos_] == ']') {
                ++pos_;
                return true;
            }
            while (true) {
                out.items.emplace_back();
                if (!value(out.items.back())) {
                    return false;
                }
                skip();
                if (pos_ < text_->size() && (*text_)[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (pos_ < text_->size() && (*text_)[pos_] == ']') {
                    ++pos_;
                    return true;
                }
                return fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            out.type = Json::Type::kString;
            return string(out.text);
        }
        if (c == 't' || c == 'f') {
            out.type = Json::Type::kBool;
            out.boolean = c == 't';
            return literal(c == 't' ? "true" : "false");
        }
        if (c == 'n') {
            return literal("null");
        }
        out.type = Json::Type::kNumber;
        return number(out.number);
    }

    const std::string* text_ = nullptr;
    size_t pos_ = 0;
    std::string error_;
};

}  // namespace vbsim::test
