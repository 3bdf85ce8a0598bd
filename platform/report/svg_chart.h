#pragma once

// Report stage: the SVG chart kit of report.html. A plot of memory-sized series over simulated
// time: axes on readable steps (1-2-5 seconds, power-of-two bytes), long series reduced
// min/max-preserving, a legend, optional markers and a zero line. It knows nothing of runs:
// the page sections (platform/report/output_html.cpp) fill in the series.

#include <ostream>
#include <string>
#include <vector>

namespace vbsim::platform {

// Plot widths in SVG user units; CSS scales the whole picture to its column, so a plot that
// spans both columns gets twice the width rather than twice the text size.
constexpr double kPlotWidth = 600;
constexpr double kWidePlotWidth = 1200;

struct Series {
    std::string label;
    const char* colour;
    const char* dash;  // stroke-dasharray; empty for a solid line
    double width;
    std::vector<double> values;  // one per sample
    double opacity = 1;          // below 1 for a wide band that other lines run inside
};

// Series listed first are drawn on top: lines that often coincide (actual and ballooned, demand
// and held) stay visible as a dashed or thin line over a wider one.
struct Plot {
    double width = kPlotWidth;
    std::string title;
    std::string subtitle;
    std::vector<Series> series;
    bool zero_line = false;
    std::vector<double> markers;  // times (s) drawn as vertical lines, e.g. OOM kills
    std::string marker_label;
};

// One <figure> with an inline <svg>; `times` in seconds, one per value of each series.
void write_plot(std::ostream& out, const std::vector<double>& times, const Plot& plot);

}  // namespace vbsim::platform
