// sweep.html: the results table, then for each metric a plot against each varied parameter.

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include "platform/report/html_text.h"
#include "platform/sweep/sweep_results.h"
#include "platform/text/quantity_format.h"

namespace vbsim::platform {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr double kWidth = 460;
constexpr double kHeight = 250;
constexpr double kLeft = 70;
constexpr double kRight = 130;  // room for the legend
constexpr double kTop = 24;
constexpr double kBottom = 40;

std::string number(double value) {
    return format_trimmed(value, 4);
}

std::vector<std::string> distinct_in_order(const SweepResults& results, size_t column) {
    std::vector<std::string> values;
    for (const SweepRow& row : results.rows) {
        if (std::find(values.begin(), values.end(), row.values[column]) == values.end()) {
            values.push_back(row.values[column]);
        }
    }
    return values;
}

// The metric's mean over the rows with these values (the other parameters averaged out).
struct Cell {
    double sum = 0;
    size_t count = 0;
};

void write_plot(std::ostream& out, const SweepResults& results, size_t metric, size_t x_column) {
    const std::vector<std::string> xs = distinct_in_order(results, x_column);
    std::optional<size_t> line_column;
    for (size_t c = 0; c < results.varied.size(); ++c) {
        if (c != x_column) {
            line_column = c;
            break;
        }
    }
    const std::vector<std::string> lines =
        line_column ? distinct_in_order(results, *line_column) : std::vector<std::string>{""};
    std::map<std::pair<size_t, size_t>, Cell> cells;
    for (const SweepRow& row : results.rows) {
        if (!row.metrics[metric]) {
            continue;
        }
        double value = 0;
        try {
            value = std::stod(*row.metrics[metric]);
        } catch (const std::exception&) {
            continue;
        }
        const size_t x =
            static_cast<size_t>(std::find(xs.begin(), xs.end(), row.values[x_column]) - xs.begin());
        const size_t line = line_column ? static_cast<size_t>(std::find(lines.begin(), lines.end(),
                                                                        row.values[*line_column]) -
                                                              lines.begin())
                                        : 0;
        Cell& cell = cells[{x, line}];
        cell.sum += value;
        ++cell.count;
    }
    if (cells.empty()) {
        return;
    }
    double low = 0;
    double high = 0;
    for (const auto& [key, cell] : cells) {
        const double mean = cell.sum / static_cast<double>(cell.count);
        low = std::min(low, mean);
        high = std::max(high, mean);
    }
    if (high == low) {
        high = low + 1;
    }
    const double plot_width = kWidth - kLeft - kRight;
    const double plot_height = kHeight - kTop - kBottom;
    const auto x_of = [&](size_t x) {
        return kLeft + (xs.size() == 1 ? plot_width / 2
                                       : plot_width * static_cast<double>(x) /
                                             static_cast<double>(xs.size() - 1));
    };
    const auto y_of = [&](double value) {
        return kTop + plot_height * (1 - (value - low) / (high - low));
    };
    const SweepMetric& info = sweep_metrics()[metric];
    out << "<figure><svg width=\"" << kWidth << "\" height=\"" << kHeight
        << "\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\n";
    out << "<text x=\"" << kLeft << "\" y=\"14\" font-weight=\"bold\">" << escape_html(info.column)
        << " vs " << escape_html(results.varied[x_column]) << "</text>\n";
    for (int tick = 0; tick <= 4; ++tick) {
        const double value = low + (high - low) * tick / 4;
        out << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_width << "\" y1=\""
            << number(y_of(value)) << "\" y2=\"" << number(y_of(value))
            << "\" stroke=\"#ddd\"/><text x=\"" << kLeft - 4 << "\" y=\"" << number(y_of(value) + 4)
            << "\" text-anchor=\"end\">" << format_significant(value) << "</text>\n";
    }
    for (size_t x = 0; x < xs.size(); ++x) {
        out << "<text x=\"" << number(x_of(x)) << "\" y=\"" << kTop + plot_height + 16
            << "\" text-anchor=\"middle\">" << escape_html(xs[x]) << "</text>\n";
    }
    for (size_t line = 0; line < lines.size(); ++line) {
        const char* colour = kPalette[line % (sizeof kPalette / sizeof kPalette[0])];
        std::string points;
        for (size_t x = 0; x < xs.size(); ++x) {
            const auto cell = cells.find({x, line});
            if (cell == cells.end()) {
                continue;
            }
            const double mean = cell->second.sum / static_cast<double>(cell->second.count);
            points += number(x_of(x)) + "," + number(y_of(mean)) + " ";
            out << "<circle cx=\"" << number(x_of(x)) << "\" cy=\"" << number(y_of(mean))
                << "\" r=\"3\" fill=\"" << colour << "\"><title>" << number(mean)
                << "</title></circle>\n";
        }
        out << "<polyline fill=\"none\" stroke=\"" << colour << "\" points=\"" << points
            << "\"/>\n";
        if (line_column) {
            out << "<text x=\"" << kWidth - kRight + 8 << "\" y=\""
                << kTop + 14 * static_cast<double>(line) + 8 << "\" fill=\"" << colour << "\">"
                << escape_html(results.varied[*line_column]) << "=" << escape_html(lines[line])
                << "</text>\n";
        }
    }
    out << "<text x=\"" << kLeft + plot_width / 2 << "\" y=\"" << kHeight - 4
        << "\" text-anchor=\"middle\">" << escape_html(results.varied[x_column]) << "</text>\n";
    out << "</svg><figcaption>" << escape_html(info.meaning)
        << (results.varied.size() > 2 ? "; mean over the other parameters" : "")
        << "</figcaption></figure>\n";
}

}  // namespace

void write_sweep_html(const SweepResults& results, std::ostream& out) {
    out << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sweep "
        << escape_html(results.sweep)
        << "</title>\n<style>body{font-family:sans-serif;margin:1.5em}"
        << "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
           "padding:2px 6px;text-align:right}th{background:#f4f4f4}.failed{background:#fdd}"
           ".check_failed{background:#ffe9c6}.not_run{color:#999}figure{display:inline-block;"
           "margin:0.5em}figcaption{font-size:12px;color:#555}</style></head><body>\n";
    out << "<h1>Sweep " << escape_html(results.sweep) << "</h1>\n<p>" << results.rows.size()
        << " variant(s), " << results.failed() << " failed, " << results.check_failed()
        << " failed a check, " << results.not_run() << " not run.</p>\n";
    out << "<h2>Plots</h2>\n";
    for (size_t metric = 0; metric < sweep_metrics().size(); ++metric) {
        for (size_t column = 0; column < results.varied.size(); ++column) {
            write_plot(out, results, metric, column);
        }
    }
    out << "<h2>Variants</h2>\n<table><tr><th>index</th><th>name</th><th>seed</th>";
    for (const std::string& path : results.varied) {
        out << "<th>" << escape_html(path) << "</th>";
    }
    out << "<th>status</th>";
    for (const SweepMetric& metric : sweep_metrics()) {
        out << "<th title=\"" << escape_html(metric.meaning) << "\">" << escape_html(metric.column)
            << "</th>";
    }
    out << "</tr>\n";
    for (const SweepRow& row : results.rows) {
        out << "<tr class=\"" << row.status << "\"><td>" << row.index << "</td><td>"
            << escape_html(row.name) << "</td><td>" << row.seed << "</td>";
        for (const std::string& value : row.values) {
            out << "<td>" << escape_html(value) << "</td>";
        }
        out << "<td>" << row.status << "</td>";
        for (const std::optional<std::string>& metric : row.metrics) {
            out << "<td>" << (metric ? escape_html(*metric) : std::string()) << "</td>";
        }
        out << "</tr>\n";
    }
    out << "</table>\n</body></html>\n";
}

}  // namespace vbsim::platform
