// bench/quorums/plot.hpp: the quorum explorer's SVG plot.
//
// One point per configuration: x is the failure score (failures tolerated by
// every node set of that size, plus the share of one more failure that is
// survived), y the leader's p50 commit latency. The Pareto front (more
// tolerance for less latency) is ringed, joined and labelled. The SVG is
// self-contained (no scripts, fonts or external references) and computed
// in integer tenths of a pixel, so it is byte-for-byte reproducible.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "report.hpp"

namespace paxos_quorums {

namespace plot_detail {

// Tenths of a pixel as SVG text: 1234 -> "123.4".
inline std::string px(std::int64_t tenths) {
    const bool negative = tenths < 0;
    const std::uint64_t v = static_cast<std::uint64_t>(negative ? -tenths : tenths);
    return (negative ? "-" : "") + std::to_string(v / 10) + "." + std::to_string(v % 10);
}

inline std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

inline const char* color(lab::family f) {
    switch (f) {
        case lab::family::majority: return "#1f77b4";
        case lab::family::flexible: return "#ff7f0e";
        case lab::family::grid: return "#2ca02c";
        case lab::family::weighted: return "#9467bd";
    }
    return "#000000";
}

// A marker centred on (x, y) in tenths of a pixel: circle, square, triangle
// or diamond by family. `attributes` are added to the element, `children`
// (such as a <title>) go inside it.
inline std::string marker(lab::family f, std::int64_t x, std::int64_t y,
                          const std::string& attributes, const std::string& children = {}) {
    std::string tag;
    std::string shape;
    switch (f) {
        case lab::family::majority:
            tag = "circle";
            shape = "cx=\"" + px(x) + "\" cy=\"" + px(y) + "\" r=\"6.0\"";
            break;
        case lab::family::flexible:
            tag = "rect";
            shape =
                "x=\"" + px(x - 50) + "\" y=\"" + px(y - 50) + "\" width=\"10.0\" height=\"10.0\"";
            break;
        case lab::family::grid:
            tag = "polygon";
            shape = "points=\"" + px(x) + "," + px(y - 65) + " " + px(x - 60) + "," + px(y + 45) +
                    " " + px(x + 60) + "," + px(y + 45) + "\"";
            break;
        case lab::family::weighted:
            tag = "polygon";
            shape = "points=\"" + px(x) + "," + px(y - 70) + " " + px(x + 70) + "," + px(y) + " " +
                    px(x) + "," + px(y + 70) + " " + px(x - 70) + "," + px(y) + "\"";
            break;
    }
    const std::string open = "<" + tag + " " + shape + " fill=\"" + color(f) + "\"" + attributes;
    if (children.empty()) return open + "/>";
    return open + ">" + children + "</" + tag + ">";
}

// A round axis step (1, 2 or 5 times a power of ten, in us) giving at most
// eight intervals up to `top`.
inline time_us nice_step(time_us top) {
    time_us step = 1;
    for (;;) {
        for (time_us m : {time_us{1}, time_us{2}, time_us{5}}) {
            if (top / (step * m) <= 8) return step * m;
        }
        step *= 10;
    }
}

// Whole milliseconds when the step allows, else the report's resolution.
inline std::string tick_label(time_us v, time_us step, time_us res) {
    if (step % 1000 == 0) return std::to_string(v / 1000);
    return ms(v, res);
}

struct frame {
    std::int64_t left = 800, top = 600, width = 5200, height = 3600;  // tenths of a pixel
    std::uint64_t score_max = 1000;  // x domain: -0.25 .. score_max + 0.25 failures
    time_us latency_max = 1;         // y domain: 0 .. latency_max

    std::int64_t x(std::uint64_t score_permille) const {
        const std::int64_t span = static_cast<std::int64_t>(score_max) + 500;
        return left + (static_cast<std::int64_t>(score_permille) + 250) * width / span;
    }
    std::int64_t y(time_us latency) const {
        return top + height -
               static_cast<std::int64_t>(latency) * height / static_cast<std::int64_t>(latency_max);
    }
};

struct point {
    const lab::config_result* config;
    std::int64_t x, y;
};

inline std::string axes(const frame& f, const lab::lab_result& r, time_us step) {
    const time_us res = lab::time_resolution_us(r.options.topo);
    std::string out;
    const std::string bottom = px(f.top + f.height);
    for (std::uint64_t k = 0; k * 1000 <= f.score_max; ++k) {
        const std::string x = px(f.x(k * 1000));
        out += "<line x1=\"" + x + "\" y1=\"" + px(f.top) + "\" x2=\"" + x + "\" y2=\"" + bottom +
               "\" stroke=\"#dddddd\"/>\n";
        out += "<text x=\"" + x + "\" y=\"" + px(f.top + f.height + 180) +
               "\" text-anchor=\"middle\">" + std::to_string(k) + "</text>\n";
    }
    for (time_us v = 0; v <= f.latency_max; v += step) {
        const std::string y = px(f.y(v));
        out += "<line x1=\"" + px(f.left) + "\" y1=\"" + y + "\" x2=\"" + px(f.left + f.width) +
               "\" y2=\"" + y + "\" stroke=\"#dddddd\"/>\n";
        out += "<text x=\"" + px(f.left - 80) + "\" y=\"" + px(f.y(v) + 40) +
               "\" text-anchor=\"end\">" + tick_label(v, step, res) + "</text>\n";
    }
    out += "<rect x=\"" + px(f.left) + "\" y=\"" + px(f.top) + "\" width=\"" + px(f.width) +
           "\" height=\"" + px(f.height) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
    out += "<text x=\"" + px(f.left + f.width / 2) + "\" y=\"" + px(f.top + f.height + 420) +
           "\" text-anchor=\"middle\">failures tolerated (whole part: any k nodes may fail; "
           "fraction: share of k+1-node failures survived)</text>\n";
    out += "<text transform=\"translate(" + px(f.left - 560) + "," + px(f.top + f.height / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">leader commit latency, p50 (ms)</text>\n";
    return out;
}

// Places each point; one that would cover an earlier one (closer than 8 px
// both ways) moves right until it does not, so none hides another.
inline std::vector<point> place(const frame& f, const lab::lab_result& r) {
    std::vector<point> pts;
    for (const lab::config_result& c : r.configs) {
        if (!c.failure.empty() || c.leader.count == 0) continue;
        point p{&c, f.x(c.failures.score_permille), f.y(c.leader.p50)};
        for (bool moved = true; moved;) {
            moved = false;
            for (const point& q : pts) {
                if (p.x - q.x < 80 && q.x - p.x < 80 && p.y - q.y < 80 && q.y - p.y < 80) {
                    p.x = q.x + 80;
                    moved = true;
                }
            }
        }
        pts.push_back(p);
    }
    return pts;
}

// The front as a staircase: from one front point up to the next one's
// latency, then across to it (the best latency on offer for each tolerance).
inline std::string front(const std::vector<point>& pts) {
    std::vector<point> on;
    for (const point& p : pts) {
        if (p.config->pareto) on.push_back(p);
    }
    std::stable_sort(on.begin(), on.end(),
                     [](const point& a, const point& b) { return a.x < b.x; });
    if (on.size() < 2) return {};
    std::string line =
        "<polyline fill=\"none\" stroke=\"#444444\" stroke-dasharray=\"5,4\" "
        "points=\"" +
        px(on[0].x) + "," + px(on[0].y);
    for (std::size_t i = 1; i < on.size(); ++i) {
        line += " " + px(on[i - 1].x) + "," + px(on[i].y) + " " + px(on[i].x) + "," + px(on[i].y);
    }
    return line + "\"/>\n";
}

struct box {
    std::int64_t x0, y0, x1, y1;  // tenths of a pixel
    bool overlaps(const box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// A label for the point: right of it, else left, above, below, else further
// out, at the first place that covers no marker and no earlier label and
// stays inside the frame. Text width is estimated at 6.5 px a character.
inline std::string label(const frame& f, const point& p, const std::vector<point>& pts,
                         std::vector<box>& taken) {
    const std::string& name = p.config->choice.name;
    const std::int64_t w = static_cast<std::int64_t>(name.size()) * 65, h = 120;
    const std::int64_t tries[][2] = {{100, -60},       {-100 - w, -60}, {-w / 2, -220},
                                     {-w / 2, 100},    {100, -200},     {100, 80},
                                     {-100 - w, -200}, {-100 - w, 80},  {100, -340}};
    for (const auto& t : tries) {
        const box b{p.x + t[0], p.y + t[1], p.x + t[0] + w, p.y + t[1] + h};
        bool clear =
            b.x0 >= f.left && b.x1 <= f.left + f.width && b.y0 >= f.top && b.y1 <= f.top + f.height;
        for (const point& q : pts) {
            clear = clear && !b.overlaps({q.x - 75, q.y - 75, q.x + 75, q.y + 75});
        }
        for (const box& o : taken) clear = clear && !b.overlaps(o);
        if (!clear) continue;
        taken.push_back(b);
        return "<text x=\"" + px(b.x0) + "\" y=\"" + px(b.y1 - 20) + "\">" + escape(name) +
               "</text>\n";
    }
    return {};  // no room: the name is still in the point's tooltip and the tables
}

inline std::string points(const frame& f, const std::vector<point>& pts, const lab::lab_result& r) {
    const time_us res = lab::time_resolution_us(r.options.topo);
    std::string out;
    for (const point& p : pts) {
        const lab::config_result& c = *p.config;
        const std::string title = "<title>" + escape(c.choice.name) + ": leader p50 " +
                                  ms(c.leader.p50, res) + " ms, tolerates " +
                                  std::to_string(c.failures.tolerated) + " (score " +
                                  milli(c.failures.score_permille, 2) + ")</title>";
        const std::string ring = c.pareto ? " stroke=\"#000000\" stroke-width=\"2.0\"" : "";
        out += marker(c.choice.kind, p.x, p.y, ring, title) + "\n";
    }
    std::vector<box> taken;
    for (const point& p : pts) {
        if (p.config->pareto) out += label(f, p, pts, taken);
    }
    return out;
}

inline std::string legend(const frame& f, const lab::lab_result& r) {
    std::string out;
    std::int64_t y = f.top + 100;
    const std::int64_t x = f.left + f.width + 300;
    for (lab::family fam :
         {lab::family::majority, lab::family::flexible, lab::family::grid, lab::family::weighted}) {
        const bool present = std::any_of(r.configs.begin(), r.configs.end(),
                                         [&](const auto& c) { return c.choice.kind == fam; });
        if (!present) continue;
        out += marker(fam, x, y, "") + "\n";
        out += "<text x=\"" + px(x + 150) + "\" y=\"" + px(y + 40) + "\">" + lab::to_string(fam) +
               "</text>\n";
        y += 220;
    }
    out += "<circle cx=\"" + px(x) + "\" cy=\"" + px(y) +
           "\" r=\"6.0\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"2.0\"/>\n";
    out += "<text x=\"" + px(x + 150) + "\" y=\"" + px(y + 40) + "\">on the Pareto front</text>\n";
    y += 220;
    out += "<line x1=\"" + px(x - 80) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x + 80) + "\" y2=\"" +
           px(y) + "\" stroke=\"#444444\" stroke-dasharray=\"5,4\"/>\n";
    out += "<text x=\"" + px(x + 150) + "\" y=\"" + px(y + 40) + "\">Pareto front</text>\n";
    y += 320;
    for (const char* note :
         {"Points that would overlap", "are moved right; exact", "values in the tables."}) {
        out += "<text x=\"" + px(x - 80) + "\" y=\"" + px(y) + "\" font-size=\"11\" " +
               "fill=\"#555555\">" + note + "</text>\n";
        y += 150;
    }
    return out;
}

}  // namespace plot_detail

inline std::string svg_plot(const lab::lab_result& r, const report_context& ctx) {
    using namespace plot_detail;
    frame f;
    f.score_max = std::max<std::uint64_t>(1, r.options.failures) * 1000;
    time_us top = 1;
    for (const lab::config_result& c : r.configs) {
        if (c.failure.empty() && c.leader.count) top = std::max(top, c.leader.p50);
    }
    const time_us step = nice_step(top + top / 10);
    f.latency_max = (top + top / 10 + step - 1) / step * step;
    const std::int64_t w = 8600, h = 5000;
    std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(w) +
                      "\" height=\"" + px(h) + "\" viewBox=\"0 0 " + px(w) + " " + px(h) +
                      "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    const lab::topology& t = r.options.topo;
    out += "<text x=\"" + px(f.left) + "\" y=\"" + px(300) + "\" font-size=\"15\">" +
           escape(ctx.title) + ": leader commit latency against failures tolerated (" +
           std::to_string(t.node_count()) + " nodes, leader at " +
           escape(t.matrix.sites[t.leader_site()]) + ")</text>\n";
    out += axes(f, r, step);
    const std::vector<point> pts = place(f, r);
    out += front(pts) + points(f, pts, r) + legend(f, r);
    return out + "</svg>\n";
}

}  // namespace paxos_quorums
