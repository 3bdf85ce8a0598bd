#include "platform/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "platform/report/html_text.h"
#include "platform/text/quantity_format.h"

namespace vbsim::platform {
namespace {

// Plot geometry in SVG user units.
constexpr double kHeight = 270;
constexpr double kLeft = 68;  // room for "1.25 GiB"
constexpr double kRight = 14;
constexpr double kTop = 30;  // the legend row
constexpr double kBottom = 26;
constexpr double kPlotH = kHeight - kTop - kBottom;

// Beyond this many points a line is no sharper at this width, only bigger.
constexpr std::size_t kMaxPointsPerSeries = 1000;

// One decimal, for SVG coordinates: enough for a sharp line, short enough to keep files small.
std::string coord(double value) {
    return format_fixed(value, 1);
}

// ---- axes -------------------------------------------------------------------------------------

struct Axis {
    double lo = 0;
    double hi = 1;
    double step = 1;
};

// Memory reads best on power-of-two steps (256 MiB, 512 MiB, 768 MiB, 1 GiB).
Axis memory_axis(double lo, double hi) {
    if (hi <= lo) {
        hi = lo + 1024 * 1024;
    }
    Axis axis;
    axis.step = std::exp2(std::ceil(std::log2((hi - lo) / 6)));
    axis.step = std::max(axis.step, 1.0);
    axis.lo = std::floor(lo / axis.step) * axis.step;
    axis.hi = std::ceil(hi / axis.step) * axis.step;
    return axis;
}

// Time reads best on 1-2-5 steps.
Axis time_axis(double lo, double hi) {
    if (hi <= lo) {
        hi = lo + 1e-3;
    }
    const double raw = (hi - lo) / 6;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double normalised = raw / magnitude;
    Axis axis;
    axis.step = (normalised <= 1 ? 1 : normalised <= 2 ? 2 : normalised <= 5 ? 5 : 10) * magnitude;
    axis.lo = lo;
    axis.hi = hi;
    return axis;
}

// ---- plots ------------------------------------------------------------------------------------

// The samples to draw: all of them when few, else per bucket of consecutive samples the lowest
// and the highest, in time order, so spikes and dips survive the reduction.
std::vector<std::size_t> pick_samples(const std::vector<double>& values) {
    const std::size_t n = values.size();
    std::vector<std::size_t> picked;
    if (n <= kMaxPointsPerSeries) {
        for (std::size_t i = 0; i < n; ++i) {
            picked.push_back(i);
        }
        return picked;
    }
    const std::size_t buckets = kMaxPointsPerSeries / 2 - 1;
    picked.push_back(0);
    for (std::size_t b = 0; b < buckets; ++b) {
        const std::size_t begin = b * n / buckets;
        const std::size_t end = (b + 1) * n / buckets;
        std::size_t low = begin;
        std::size_t high = begin;
        for (std::size_t i = begin; i < end; ++i) {
            if (values[i] < values[low]) {
                low = i;
            }
            if (values[i] > values[high]) {
                high = i;
            }
        }
        for (const std::size_t i : {std::min(low, high), std::max(low, high)}) {
            if (i != picked.back()) {
                picked.push_back(i);
            }
        }
    }
    if (picked.back() != n - 1) {
        picked.push_back(n - 1);
    }
    return picked;
}

struct Frame {
    Axis x;
    Axis y;
    double plot_w = kPlotWidth - kLeft - kRight;
    double px(double t) const { return kLeft + (t - x.lo) / (x.hi - x.lo) * plot_w; }
    double py(double v) const { return kTop + kPlotH - (v - y.lo) / (y.hi - y.lo) * kPlotH; }
};

// The polyline's points, with the inner points of horizontal runs dropped: a held target is
// then two points however long it is held.
std::string polyline_points(const Frame& frame, const std::vector<double>& times,
                            const std::vector<double>& values) {
    struct Point {
        long x;  // tenths of a unit, to compare exactly
        long y;
    };
    std::vector<Point> points;
    for (const std::size_t i : pick_samples(values)) {
        const Point point{std::lround(frame.px(times[i]) * 10),
                          std::lround(frame.py(values[i]) * 10)};
        if (!points.empty() && points.back().x == point.x && points.back().y == point.y) {
            continue;
        }
        const std::size_t k = points.size();
        if (k >= 2 && points[k - 1].y == point.y && points[k - 2].y == point.y) {
            points.back() = point;
            continue;
        }
        points.push_back(point);
    }
    std::string text;
    for (const Point& point : points) {
        if (!text.empty()) {
            text += ' ';
        }
        text += coord(static_cast<double>(point.x) / 10) + "," +
                coord(static_cast<double>(point.y) / 10);
    }
    return text;
}

void write_legend_entry(std::ostream& out, double& x, std::string_view label, const char* colour,
                        const char* dash, double width, double opacity = 1) {
    const double y = kTop - 14;
    out << "<line x1=\"" << coord(x) << "\" y1=\"" << coord(y) << "\" x2=\"" << coord(x + 22)
        << "\" y2=\"" << coord(y) << "\" stroke=\"" << colour << "\" stroke-width=\""
        << coord(width) << "\"";
    if (*dash != '\0') {
        out << " stroke-dasharray=\"" << dash << "\"";
    }
    if (opacity < 1) {
        out << " stroke-opacity=\"" << format_trimmed(opacity, 2) << "\"";
    }
    out << "/>";
    out << "<text x=\"" << coord(x + 27) << "\" y=\"" << coord(y + 4) << "\">" << escape_html(label)
        << "</text>\n";
    // 12 px text averages a little under 7 px per character.
    x += 27 + 7 * static_cast<double>(label.size()) + 18;
}

}  // namespace

void write_plot(std::ostream& out, const std::vector<double>& times, const Plot& plot) {
    out << "<figure class=\"box\"><figcaption>" << escape_html(plot.title);
    if (!plot.subtitle.empty()) {
        out << " <small>" << plot.subtitle << "</small>";
    }
    out << "</figcaption>\n";
    out << "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
        << coord(plot.width) << " " << coord(kHeight) << "\" role=\"img\" aria-label=\""
        << escape_html(plot.title) << "\">\n";

    double lo = 0;  // memory plots always show zero, so levels compare by eye
    double hi = 0;
    for (const Series& series : plot.series) {
        for (const double v : series.values) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    Frame frame;
    frame.plot_w = plot.width - kLeft - kRight;
    frame.x = times.empty() ? time_axis(0, 1e-3) : time_axis(times.front(), times.back());
    frame.y = memory_axis(lo, hi);

    // Grid and tick labels.
    out << "<rect x=\"" << coord(kLeft) << "\" y=\"" << coord(kTop) << "\" width=\""
        << coord(frame.plot_w) << "\" height=\"" << coord(kPlotH)
        << "\" fill=\"#fff\" stroke=\"#c9ced6\"/>\n";
    if (plot.zero_line && frame.y.lo < 0) {  // tint where the host is short
        out << "<rect x=\"" << coord(kLeft) << "\" y=\"" << coord(frame.py(0)) << "\" width=\""
            << coord(frame.plot_w) << "\" height=\"" << coord(kTop + kPlotH - frame.py(0))
            << "\" fill=\"#fdeeee\"/>\n";
    }
    // Ticks are whole multiples of the step, computed rather than accumulated so that no
    // rounding drift shows up in a label.
    const long y_first = std::lround(frame.y.lo / frame.y.step);
    const long y_last = std::lround(frame.y.hi / frame.y.step);
    const long x_first = std::lround(std::ceil(frame.x.lo / frame.x.step - 1e-6));
    const long x_last = std::lround(std::floor(frame.x.hi / frame.x.step + 1e-6));
    out << "<g stroke=\"#e6e9ee\">";
    for (long k = y_first + 1; k < y_last; ++k) {
        const double y = frame.py(static_cast<double>(k) * frame.y.step);
        out << "<line x1=\"" << coord(kLeft) << "\" y1=\"" << coord(y) << "\" x2=\""
            << coord(kLeft + frame.plot_w) << "\" y2=\"" << coord(y) << "\"/>";
    }
    for (long k = x_first; k <= x_last; ++k) {
        const double x = frame.px(static_cast<double>(k) * frame.x.step);
        out << "<line x1=\"" << coord(x) << "\" y1=\"" << coord(kTop) << "\" x2=\"" << coord(x)
            << "\" y2=\"" << coord(kTop + kPlotH) << "\"/>";
    }
    out << "</g>\n<g text-anchor=\"end\">";
    for (long k = y_first; k <= y_last; ++k) {
        const double v = static_cast<double>(k) * frame.y.step;
        out << "<text x=\"" << coord(kLeft - 6) << "\" y=\"" << coord(frame.py(v) + 4) << "\">"
            << (k == 0 ? "0" : format_bytes(v)) << "</text>";
    }
    out << "</g>\n<g text-anchor=\"middle\">";
    const HtmlTimeUnit unit = html_time_unit(frame.x.step);
    for (long k = x_first; k <= x_last; ++k) {
        const double t = static_cast<double>(k) * frame.x.step;
        const bool zero = k == 0;
        out << "<text x=\"" << coord(frame.px(t)) << "\" y=\"" << coord(kTop + kPlotH + 17) << "\">"
            << (zero ? std::string("0") : format_trimmed(t / unit.seconds, 3) + " " + unit.name)
            << "</text>";
    }
    out << "</g>\n";

    if (plot.zero_line && frame.y.lo < 0) {
        out << "<line x1=\"" << coord(kLeft) << "\" y1=\"" << coord(frame.py(0)) << "\" x2=\""
            << coord(kLeft + frame.plot_w) << "\" y2=\"" << coord(frame.py(0))
            << "\" stroke=\"#d62728\" stroke-width=\"1.2\"/>\n";
    }

    // Markers under the lines, so that a burst of them does not hide the data.
    if (!plot.markers.empty()) {
        out << "<g stroke=\"#d62728\" stroke-opacity=\"0.45\">";
        long last = -1;
        for (const double t : plot.markers) {
            const long column = std::lround(frame.px(t));
            if (column == last) {
                continue;  // one line per pixel column is all the eye can see
            }
            last = column;
            out << "<line x1=\"" << std::to_string(column) << "\" y1=\"" << coord(kTop)
                << "\" x2=\"" << std::to_string(column) << "\" y2=\"" << coord(kTop + kPlotH)
                << "\"/>";
        }
        out << "</g>\n";
    }

    if (times.empty()) {
        out << "<text x=\"" << coord(kLeft + frame.plot_w / 2) << "\" y=\""
            << coord(kTop + kPlotH / 2) << "\" text-anchor=\"middle\">no samples recorded</text>\n";
    }
    for (auto it = plot.series.rbegin(); it != plot.series.rend(); ++it) {
        const Series& series = *it;
        if (series.values.size() != times.size() || times.empty()) {
            continue;
        }
        out << "<polyline fill=\"none\" stroke=\"" << series.colour << "\" stroke-width=\""
            << coord(series.width) << "\" stroke-linejoin=\"round\"";
        if (series.opacity < 1) {
            out << " stroke-opacity=\"" << format_trimmed(series.opacity, 2) << "\"";
        }
        if (*series.dash != '\0') {
            out << " stroke-dasharray=\"" << series.dash << "\"";
        }
        out << " points=\"" << polyline_points(frame, times, series.values) << "\"/>\n";
    }

    double x = kLeft;
    for (const Series& series : plot.series) {
        write_legend_entry(out, x, series.label, series.colour, series.dash, series.width,
                           series.opacity);
    }
    if (plot.zero_line && frame.y.lo < 0) {
        write_legend_entry(out, x, "zero", "#d62728", "", 1.2);
    }
    if (!plot.markers.empty()) {
        write_legend_entry(out, x, plot.marker_label, "#e89394", "", 2);
    }
    out << "</svg></figure>\n";
}

}  // namespace vbsim::platform
