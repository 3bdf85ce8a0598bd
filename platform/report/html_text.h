#pragma once

// Report stage: text on an HTML page, shared by the page sections (platform/report/output_html.cpp)
// and the SVG chart kit (platform/report/svg_chart.h).

#include <string>
#include <string_view>

namespace vbsim::platform {

// `text` with & < > " ' as entities: safe in element text and in attribute values.
std::string escape_html(std::string_view text);

// The unit a time of this size reads best in: s, ms, &#181;s (an entity, so the page stays
// pure ASCII) or ns, and its length in seconds.
struct HtmlTimeUnit {
    const char* name;
    double seconds;
};
HtmlTimeUnit html_time_unit(double seconds);

}  // namespace vbsim::platform
