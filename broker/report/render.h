#pragma once
// The quality report for people and programs: plain text, JSON, and one self-contained HTML page
// (inline CSS and SVG charts, no scripts, no external references) for a chain manager. Pure.

#include <string>

#include "broker/report/quality.h"

namespace broker::report {

std::string render_text(const QualityReport& report);
// Every figure of the report; shares as numbers between 0 and 1 (null when not applicable), times
// in ms and as RFC 3339 text.
std::string render_json(const QualityReport& report);
std::string render_html(const QualityReport& report);

// For people: "12.5%", "850 ms", "3.2 s", "2d 3h 5m".
std::string format_share(double share);
std::string format_millis(Millis ms);

}  // namespace broker::report
