#include "broker/ops/metrics.h"

#include <catch2/catch.hpp>

using broker::ops::format_value;
using broker::ops::MetricsRegistry;
using broker::ops::MetricType;
using broker::ops::render_prometheus;

TEST_CASE("a counter renders with HELP and TYPE lines and its labels", "[ops]") {
  MetricsRegistry r;
  r.describe("keten_messages_total", MetricType::kCounter, "Submitted messages.");
  r.add("keten_messages_total", {{"contract", "a.b"}, {"outcome", "accepted"}});
  r.add("keten_messages_total", {{"contract", "a.b"}, {"outcome", "accepted"}}, 2);
  r.add("keten_messages_total", {{"contract", "a.b"}, {"outcome", "rejected"}});
  CHECK(render_prometheus(r.snapshot()) ==
        "# HELP keten_messages_total Submitted messages.\n"
        "# TYPE keten_messages_total counter\n"
        "keten_messages_total{contract=\"a.b\",outcome=\"accepted\"} 3\n"
        "keten_messages_total{contract=\"a.b\",outcome=\"rejected\"} 1\n");
  CHECK(r.value("keten_messages_total", {{"contract", "a.b"}, {"outcome", "accepted"}}) == 3);
}

TEST_CASE("label values escape backslash, double quote and newline; HELP escapes backslash and newline", "[ops]") {
  MetricsRegistry r;
  r.describe("g", MetricType::kGauge, "line one\nback\\slash \"quoted\"");
  r.set("g", {{"v", "a\\b\"c\nd"}}, 1.5);
  CHECK(render_prometheus(r.snapshot()) ==
        "# HELP g line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE g gauge\n"
        "g{v=\"a\\\\b\\\"c\\nd\"} 1.5\n");
}

TEST_CASE("a series without labels renders without braces", "[ops]") {
  MetricsRegistry r;
  r.describe("keten_ready", MetricType::kGauge, "Ready.");
  r.set("keten_ready", {}, 1);
  CHECK(render_prometheus(r.snapshot()) == "# HELP keten_ready Ready.\n# TYPE keten_ready gauge\nketen_ready 1\n");
}

TEST_CASE("a histogram renders cumulative buckets ending in +Inf, then _sum and _count", "[ops]") {
  MetricsRegistry r;
  r.describe("lat", MetricType::kHistogram, "Latency.", {0.5, 0.1, 1});  // unsorted on purpose
  r.observe("lat", {{"result", "ok"}}, 0.05);
  r.observe("lat", {{"result", "ok"}}, 0.1);  // on a bound: counts in that bucket (le)
  r.observe("lat", {{"result", "ok"}}, 0.7);
  r.observe("lat", {{"result", "ok"}}, 3);
  CHECK(render_prometheus(r.snapshot()) ==
        "# HELP lat Latency.\n"
        "# TYPE lat histogram\n"
        "lat_bucket{result=\"ok\",le=\"0.1\"} 2\n"
        "lat_bucket{result=\"ok\",le=\"0.5\"} 2\n"
        "lat_bucket{result=\"ok\",le=\"1\"} 3\n"
        "lat_bucket{result=\"ok\",le=\"+Inf\"} 4\n"
        "lat_sum{result=\"ok\"} 3.85\n"
        "lat_count{result=\"ok\"} 4\n");
}

TEST_CASE("updates of undeclared names or of the wrong type are ignored", "[ops]") {
  MetricsRegistry r;
  r.describe("c", MetricType::kCounter, "C.");
  r.add("nope", {});
  r.set("c", {}, 5);       // a gauge update on a counter
  r.add("c", {}, -1);      // a counter never goes down
  r.observe("c", {}, 1);   // a histogram update on a counter
  auto snap = r.snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].series.empty());
}

TEST_CASE("clear drops every series of a gauge family", "[ops]") {
  MetricsRegistry r;
  r.describe("backlog", MetricType::kGauge, "B.");
  r.set("backlog", {{"recipient", "A"}}, 3);
  r.set("backlog", {{"recipient", "B"}}, 4);
  r.clear("backlog");
  r.set("backlog", {{"recipient", "B"}}, 1);
  CHECK(render_prometheus(r.snapshot()) == "# HELP backlog B.\n# TYPE backlog gauge\nbacklog{recipient=\"B\"} 1\n");
}

TEST_CASE("sample values use Prometheus' spelling", "[ops]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(1.0 / 0.0) == "+Inf");
  CHECK(format_value(-1.0 / 0.0) == "-Inf");
  CHECK(format_value(0.0 / 0.0) == "NaN");
}
