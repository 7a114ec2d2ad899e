#include <catch2/catch.hpp>

#include "broker/console/html.h"

using namespace broker::console;

TEST_CASE("escape leaves no markup characters in text or attributes", "[console]") {
  CHECK(escape("<script>alert('x')</script> & \"q\"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  CHECK(escape("plain V-9990012345") == "plain V-9990012345");
}

TEST_CASE("url_encode percent-encodes everything but unreserved characters", "[console]") {
  CHECK(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
  CHECK(url_encode("Az09-._~") == "Az09-._~");
  CHECK(query_string({{"case", "99 1"}, {"empty", ""}, {"partner", "KMAR"}}) == "?case=99%201&partner=KMAR");
  CHECK(query_string({{"empty", ""}}).empty());
}

TEST_CASE("time and age are written for people", "[console]") {
  CHECK(time_text(0) == "\u2014");
  CHECK(time_text(1'741'000'000'000) == "2025-03-03T11:06:40.000Z");
  CHECK(age_text(45'000) == "45 s");
  CHECK(age_text(3 * 3600'000 + 12 * 60'000) == "3h 12m");
  CHECK(age_text(-1) == "\u2014");
}

TEST_CASE("the page frame escapes its title and marks the current section", "[console]") {
  const std::string html = page({"<b>", "dead", "anna (operator)", 0}, "<p>x</p>");
  CHECK(html.find("<h1>&lt;b&gt;</h1>") != std::string::npos);
  CHECK(html.find("href=\"/dead-letters\" class=\"current\"") != std::string::npos);
  CHECK(html.find("http-equiv=\"refresh\"") == std::string::npos);
  // Nothing is fetched from elsewhere.
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(page({"Partners", "partners", "a", 10}, "").find("content=\"10\"") != std::string::npos);
}
