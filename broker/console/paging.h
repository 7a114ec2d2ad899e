#pragma once
// Paging of the console's lists by a stable key, never by OFFSET: a page is "the rows after the last
// row of the page before" in the list's order, so rows that arrive while a viewer pages do not shift
// what the next page holds, and each row is shown once. The key travels as the `after` parameter:
// a message's seq, a dead letter's "<dead_at>.<delivery id>", a partner's name, a case's newest message's
// seq (the case list). The page size
// (`per`) is bounded by store::kMaxPageRows. Pure.

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "broker/store/console_queries.h"
#include "contracts/envelope.h"
#include "contracts/error.h"

namespace broker::console {

inline constexpr std::size_t kDefaultPageRows = 50;

// "" = kDefaultPageRows; a number from 1 to store::kMaxPageRows; kConfig naming `per` otherwise.
[[nodiscard]] contracts::Result<std::size_t> page_size(const std::string& text);

// A message list's key: "" = 0 (the newest page); a positive seq; kConfig naming `after` otherwise.
[[nodiscard]] contracts::Result<std::int64_t> seq_key(const std::string& text);
// A dead-letter list's key "<dead_at>.<delivery id>": {0, 0} for ""; kConfig naming `after` otherwise.
[[nodiscard]] contracts::Result<std::pair<contracts::Millis, std::int64_t>> dead_letter_key(const std::string& text);
std::string dead_letter_key_text(contracts::Millis dead_at, std::int64_t delivery_id);

// A message search that no index serves (no case given) examines at most `search_rows` messages
// per page: those below `before_seq` (0 = from the newest, `range.highest`). Returns the lowest seq
// it may examine (MessageFilter::min_seq), or 0 when that window reaches the store's oldest
// message, so the search is whole. search_rows <= 0: no bound.
std::int64_t search_floor(std::int64_t before_seq, store::SeqRange range, std::int64_t search_rows);

// The links under a list: to its first page (when this is not it) and to the next one (when
// `next_key` is not ""), keeping the list's other parameters (`params` without "after").
std::string render_pager(const std::string& path, std::map<std::string, std::string> params, const std::string& next_key,
                         bool first_page);

}  // namespace broker::console
