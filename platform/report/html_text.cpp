#include "platform/report/html_text.h"

#include <cmath>

namespace vbsim::platform {

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

HtmlTimeUnit html_time_unit(double seconds) {
    const double magnitude = std::fabs(seconds);
    if (magnitude >= 1) {
        return {"s", 1};
    }
    if (magnitude >= 1e-3) {
        return {"ms", 1e-3};
    }
    if (magnitude >= 1e-6) {
        return {"&#181;s", 1e-6};
    }
    return {"ns", 1e-9};
}

}  // namespace vbsim::platform
