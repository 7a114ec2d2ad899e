#include "broker/console/paging.h"

#include <charconv>

#include "broker/console/html.h"
#include "broker/store/console_queries.h"

namespace broker::console {
namespace {

using contracts::Error;
using contracts::ErrorCode;

bool positive(std::string_view text, std::int64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

}  // namespace

contracts::Result<std::size_t> page_size(const std::string& text) {
  if (text.empty()) return kDefaultPageRows;
  std::int64_t n = 0;
  if (!positive(text, n) || n > static_cast<std::int64_t>(store::kMaxPageRows)) {
    return Error{ErrorCode::kConfig, "per: \"" + text + "\" is not a page size from 1 to " +
                                         std::to_string(store::kMaxPageRows)};
  }
  return static_cast<std::size_t>(n);
}

contracts::Result<std::int64_t> seq_key(const std::string& text) {
  if (text.empty()) return std::int64_t{0};
  std::int64_t seq = 0;
  if (!positive(text, seq)) return Error{ErrorCode::kConfig, "after: \"" + text + "\" is not a message's seq"};
  return seq;
}

contracts::Result<std::pair<contracts::Millis, std::int64_t>> dead_letter_key(const std::string& text) {
  if (text.empty()) return std::pair<contracts::Millis, std::int64_t>{0, 0};
  const auto dot = text.find('.');
  std::int64_t at = 0, id = 0;
  if (dot == std::string::npos || !positive(std::string_view(text).substr(0, dot), at) ||
      !positive(std::string_view(text).substr(dot + 1), id)) {
    return Error{ErrorCode::kConfig, "after: \"" + text + "\" is not a dead letter's key (<dead_at>.<delivery id>)"};
  }
  return std::pair<contracts::Millis, std::int64_t>{at, id};
}

std::int64_t search_floor(std::int64_t before_seq, store::SeqRange range, std::int64_t search_rows) {
  if (search_rows <= 0) return 0;
  const std::int64_t top = before_seq > 0 ? before_seq : range.highest + 1;
  const std::int64_t floor = top - search_rows;
  return floor > range.lowest ? floor : 0;
}

std::string dead_letter_key_text(contracts::Millis dead_at, std::int64_t delivery_id) {
  return std::to_string(dead_at) + "." + std::to_string(delivery_id);
}

std::string render_pager(const std::string& path, std::map<std::string, std::string> params, const std::string& next_key,
                         bool first_page) {
  params.erase("after");
  params.erase("purpose");
  if (first_page && next_key.empty()) return {};
  std::string out = "<p class=\"pager\" id=\"pager\">";
  if (!first_page) out += "<a id=\"first-page\" href=\"" + escape(path + query_string(params)) + "\">\u2190 Newest</a>";
  if (!next_key.empty()) {
    params["after"] = next_key;
    out += "<a id=\"next-page\" href=\"" + escape(path + query_string(params)) + "\">Older \u2192</a>";
  }
  return out + "</p>";
}

}  // namespace broker::console
