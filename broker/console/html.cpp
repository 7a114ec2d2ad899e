#include "broker/console/html.h"

#include "broker/audit/replay.h"
#include "contracts/html_escape.h"

namespace broker::console {
namespace {

// Small screens first: tables scroll inside their own box, so the page itself never gets wider
// than the window (the browser test checks scrollWidth at 390 px).
constexpr const char* kCss = R"css(
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f3a5f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header strong{font-size:1.05rem;margin-right:.5rem}
header nav{display:flex;flex-wrap:wrap;gap:.2rem .8rem}
header a{color:#dce8f7;text-decoration:none}
header a.current{color:#fff;font-weight:600;border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:.85rem;color:#c7d6ea}
main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.3rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d8dee6;border-radius:4px}
table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .6rem;text-align:left;border-bottom:1px solid #e4e8ee;white-space:nowrap;font-size:.9rem}
th{background:#eef2f7;font-weight:600}
td.num,th.num{text-align:right}
tr.warn td{background:#fff4e0}
tr.bad td{background:#fde8e8}
td.connection[data-connected=yes]{color:#1a7f37;font-weight:600}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:0 0 1rem}
form.filters label{display:flex;flex-direction:column;font-size:.8rem;color:#4a5768}
input,select,button{font:inherit;padding:.3rem .45rem;max-width:100%}
button{background:#1f3a5f;color:#fff;border:0;border-radius:3px;cursor:pointer}
button.secondary{background:#5b6b7f}
.notice{background:#e7f3e8;border:1px solid #9cc9a0;padding:.5rem .8rem;border-radius:4px;margin:.5rem 0}
.error{background:#fde8e8;border:1px solid #e2a0a0;padding:.5rem .8rem;border-radius:4px;margin:.5rem 0}
.muted{color:#66758a;font-size:.85rem}
.yes{color:#1a7f37;font-weight:600}
.no{color:#b42318;font-weight:600}
td.proof{white-space:normal;min-width:12rem}
td.what{white-space:normal;min-width:14rem;overflow-wrap:anywhere}
.pager{display:flex;flex-wrap:wrap;gap:1.5rem;margin:.7rem 0}
.pager a{padding:.3rem .2rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;padding:.6rem .8rem;border:1px solid #d8dee6;border-radius:4px}
dl.kv dt{font-weight:600}
dl.kv dd{margin:0;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid #d8dee6;padding:.6rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}
code{overflow-wrap:anywhere}
#verification{overflow-wrap:anywhere}
iframe{width:100%;height:70vh;border:1px solid #d8dee6;background:#fff}
input[type=range]{width:100%}
.slider{background:#fff;border:1px solid #d8dee6;border-radius:4px;padding:.6rem .8rem;margin:.5rem 0}
)css";

struct NavEntry {
  const char* section;
  const char* href;
  const char* label;
};
constexpr NavEntry kNav[] = {{"partners", "/partners", "Partners"},
                             {"dead", "/dead-letters", "Dead letters"},
                             {"messages", "/messages", "Messages"},
                             {"cases", "/cases", "Cases"},
                             {"contracts", "/contracts", "Contracts"},
                             {"quality", "/quality", "Quality report"}};

}  // namespace

// The one escaping every Keten HTML page uses (the replay and the report too).
std::string escape(std::string_view text) { return contracts::html_escape(text); }

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string query_string(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += url_encode(key) + "=" + url_encode(value);
  }
  return out;
}

std::string time_text(Millis at) { return at == 0 ? "\u2014" : audit::format_time(at); }

std::string age_text(Millis span) {
  if (span < 0) return "\u2014";
  const Millis s = span / 1000;
  if (s < 120) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  if (s < 172800) return std::to_string(s / 3600) + "h " + std::to_string(s % 3600 / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s % 86400 / 3600) + "h";
}

std::string page(const Frame& frame, const std::string& body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  if (frame.refresh_seconds > 0) {
    out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(frame.refresh_seconds) + "\">";
  }
  out += "<title>" + escape(frame.title) + " \u00b7 Keten console</title><style>" + kCss + "</style></head><body>";
  out += "<header><strong>Keten console</strong>";
  if (!frame.viewer.empty()) {
    out += "<nav>";
    for (const auto& n : kNav) {
      out += "<a href=\"" + std::string(n.href) + "\"" + (frame.section == n.section ? " class=\"current\"" : "") +
             ">" + n.label + "</a>";
    }
    out += "</nav><span class=\"who\">" + escape(frame.viewer) + " \u00b7 <a href=\"/logout\">log out</a></span>";
  }
  out += "</header><main><h1>" + escape(frame.title) + "</h1>" + body + "</main></body></html>\n";
  return out;
}

}  // namespace broker::console
