#pragma once
// The quality report for people and programs: plain text, JSON, and one self-contained HTML page
// (inline CSS and SVG charts, no scripts, no external references) for a chain manager. Pure.

#include <cstddef>
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

// One missed obligation for people: "departure.scheduled published-72h-before-std (message 3b9a4c1e, from DTV):
// KMAR late; due 2025-03-09T06:05:00.000Z; still open at <t>, 1d 2h overdue" or "...; met late at <t>, 2h late".
std::string violation_line(const ViolationLine& violation);
// Text and HTML list this many missed obligations; JSON lists every one.
inline constexpr std::size_t kViolationLines = 50;

}  // namespace broker::report
