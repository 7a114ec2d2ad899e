#include "broker/store/console_queries.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <variant>
#include <nlohmann/json.hpp>

#include "broker/store/sqlite_handle.h"

namespace broker::store {
namespace {

using contracts::Error;
using contracts::ErrorCode;

// One prepared statement with positional binds, stepped row by row. Bound text is copied
// (SQLITE_TRANSIENT): the console's queries are few and small, and the filters are temporaries.
class Query {
 public:
  Query(sqlite3* db, const std::string& sql, std::string_view what) : db_(db), what_(what) {
    sqlite3_stmt* raw = nullptr;
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    stmt_.reset(raw);
  }
  Query& text(const std::string& v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text(stmt_.get(), ++index_, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& int64(std::int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_.get(), ++index_, v);
    return *this;
  }
  Result<bool> next() {
    if (rc_ != SQLITE_OK) return Error{ErrorCode::kStorage, std::string(what_) + " : " + sqlite3_errmsg(db_)};
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Error{ErrorCode::kStorage, std::string(what_) + " : " + sqlite3_errmsg(db_)};
  }
  // Steps through every row, calling on_row() with the statement on it (read it with the *_at
  // accessors); the first error of preparing, binding or stepping ends the walk.
  template <class OnRow>
  Result<void> each(OnRow&& on_row) {
    for (;;) {
      auto row = next();
      if (!row) return row.error();
      if (!*row) return {};
      on_row();
    }
  }
  std::int64_t int64_at(int c) const { return sqlite3_column_int64(stmt_.get(), c); }
  std::string text_at(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), c))) : std::string();
  }

 private:
  sqlite3* db_;
  StmtHandle stmt_;
  std::string_view what_;
  int rc_ = SQLITE_OK;
  int index_ = 0;
};

int state_number(const std::string& state) {
  for (auto s : {DeliveryState::kPending, DeliveryState::kInFlight, DeliveryState::kAcked, DeliveryState::kDead}) {
    if (to_string(s) == state) return static_cast<int>(s);
  }
  return -1;
}

// The WHERE clause of the message filter over `messages m` (and `deliveries d` when `joined`), with
// its binds in order.
struct Where {
  std::string sql;
  std::vector<std::string> texts;  // bound in order, then the integers
  std::vector<std::int64_t> ints;
  std::vector<bool> order;         // true = next text, false = next int
  void add_text(const std::string& clause, const std::string& value) {
    sql += " AND " + clause;
    texts.push_back(value);
    order.push_back(true);
  }
  void add_int(const std::string& clause, std::int64_t value) {
    sql += " AND " + clause;
    ints.push_back(value);
    order.push_back(false);
  }
  void bind(Query& q) const {
    std::size_t t = 0, i = 0;
    for (bool is_text : order) {
      if (is_text) q.text(texts[t++]);
      else q.int64(ints[i++]);
    }
  }
};

void message_clauses(const MessageFilter& f, Where& w) {
  // One case's messages: through messages_by_case (case_ref, seq).
  if (!f.case_ref.empty()) w.add_text("m.case_ref = ?", f.case_ref);
  if (!f.contract.empty()) w.add_text("m.contract = ?", f.contract);
  if (!f.sender.empty()) w.add_text("m.sender = ?", f.sender);
  if (f.from != 0) w.add_int("m.accepted_at >= ?", f.from);
  if (f.to != 0) w.add_int("m.accepted_at < ?", f.to);
  if (!f.cases.empty()) {
    w.sql += " AND m.case_ref IN (";
    for (std::size_t i = 0; i < f.cases.size(); ++i) {
      w.sql += i == 0 ? "?" : ", ?";
      w.texts.push_back(f.cases[i]);
      w.order.push_back(true);
    }
    w.sql += ")";
  }
}

constexpr const char* kMessageColumns =
    "m.message_id, m.contract, m.version, m.case_ref, m.sender, m.accepted_at, m.origin, m.seq";

MessageRow message_row(const Query& q, int first) {
  MessageRow r;
  r.message_id = q.text_at(first);
  r.contract = q.text_at(first + 1);
  r.version = static_cast<std::uint32_t>(q.int64_at(first + 2));
  r.case_ref = q.text_at(first + 3);
  r.sender = q.text_at(first + 4);
  r.accepted_at = q.int64_at(first + 5);
  r.origin = q.text_at(first + 6);
  r.seq = q.int64_at(first + 7);
  return r;
}

std::vector<std::string> json_list(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// The dead letters' own filters and page key, on `deliveries d`: the time it was given up and the
// (dead_at, id) of the last row of the page before, as a row value so the index on
// (recipient, dead_at) serves it (docs/console.md, "Paging").
void dead_letter_clauses(const MessageFilter& f, Where& w) {
  if (f.dead_from != 0) w.add_int("d.dead_at >= ?", f.dead_from);
  if (f.dead_to != 0) w.add_int("d.dead_at < ?", f.dead_to);
  if (f.before_dead_at > 0) {
    w.add_int("(d.dead_at, d.id) < (?,", f.before_dead_at);
    w.sql += " ?)";
    w.ints.push_back(f.before_delivery);
    w.order.push_back(false);
  }
}

}  // namespace

double rejection_rate(std::int64_t accepted, std::int64_t rejected) {
  const auto total = accepted + rejected;
  return total == 0 ? -1.0 : static_cast<double>(rejected) / static_cast<double>(total);
}

Result<std::vector<PartnerSummary>> partner_summaries(SqliteStore& store, Millis since) {
  sqlite3* db = store.connection();
  std::map<std::string, PartnerSummary> by_partner;
  std::map<std::pair<std::string, std::string>, ContractFigures> by_contract;
  auto entry = [&](const std::string& partner) -> PartnerSummary& {
    auto& s = by_partner[partner];
    s.partner = partner;
    return s;
  };
  auto figures = [&](const std::string& partner, const std::string& contract) -> ContractFigures& {
    entry(partner);
    auto& f = by_contract[{partner, contract}];
    f.contract = contract;
    return f;
  };
  {
    // The backlog through the partial index of open deliveries: as large as the backlog.
    Query q(db,
            "SELECT d.recipient, m.contract, COUNT(*), MIN(m.accepted_at) FROM deliveries d JOIN messages m ON "
            "m.seq = d.message_seq WHERE d.state IN (0, 1) GROUP BY d.recipient, m.contract",
            "console backlog");
    auto rows = q.each([&] {
      auto& f = figures(q.text_at(0), q.text_at(1));
      f.undelivered = q.int64_at(2);
      f.oldest_undelivered = q.int64_at(3);
    });
    if (!rows) return rows.error();
  }
  {
    // Through the partial index of dead letters (deliveries_dead_by_recipient): as large as the
    // dead letters, not the deliveries table.
    Query q(db,
            "SELECT d.recipient, m.contract, COUNT(*) FROM deliveries d JOIN messages m ON m.seq = d.message_seq "
            "WHERE d.state = 3 GROUP BY d.recipient, m.contract",
            "console dead letters");
    auto rows = q.each([&] {
      figures(q.text_at(0), q.text_at(1)).dead_letters = q.int64_at(2);
    });
    if (!rows) return rows.error();
  }
  auto from_seq = store.log_seq_since(since);
  if (!from_seq) return from_seq.error();
  // The events since then, read from the log's blocks and counted here.
  for (std::uint64_t seq = *from_seq;;) {
    constexpr std::size_t kPage = 4096;
    auto page = store.read_events(seq, kPage);
    if (!page) return page.error();
    for (const auto& logged : *page) {
      const events::Event& e = logged.event;
      const events::Kind kind = e.kind();
      const bool produced = kind == events::Kind::kAccepted || kind == events::Kind::kRejected;
      if (!produced && kind != events::Kind::kAcknowledged && kind != events::Kind::kNacked) continue;
      const std::string& partner = produced ? e.sender : e.recipient;
      if (partner.empty()) continue;  // a refused message from an unknown sender
      auto& s = entry(partner);
      s.last_seen = std::max(s.last_seen, e.at);
      if (!produced) continue;
      // A refused message may name no contract (it could not be read that far).
      auto& f = figures(partner, e.contract);
      (kind == events::Kind::kAccepted ? f.accepted : f.rejected) += 1;
    }
    if (page->size() < kPage) break;
    seq = page->back().seq + 1;
  }
  for (auto& [key, f] : by_contract) {
    auto& s = by_partner[key.first];
    s.undelivered += f.undelivered;
    if (f.oldest_undelivered != 0 && (s.oldest_undelivered == 0 || f.oldest_undelivered < s.oldest_undelivered)) {
      s.oldest_undelivered = f.oldest_undelivered;
    }
    s.dead_letters += f.dead_letters;
    s.accepted += f.accepted;
    s.rejected += f.rejected;
    s.by_contract.push_back(std::move(f));
  }
  std::vector<PartnerSummary> out;
  for (auto& [name, s] : by_partner) out.push_back(std::move(s));
  return out;
}

Result<SeqRange> message_seq_range(SqliteStore& store) {
  // Two subqueries: SQLite answers a lone min() or max() of the rowid with one seek each.
  Query q(store.connection(), "SELECT (SELECT min(seq) FROM messages), (SELECT max(seq) FROM messages)",
          "console message range");
  SeqRange range;
  auto rows = q.each([&] { range = SeqRange{q.int64_at(0), q.int64_at(1)}; });
  if (!rows) return rows.error();
  return range;
}

Result<std::vector<MessageRow>> find_messages(SqliteStore& store, const MessageFilter& filter) {
  Where w;
  message_clauses(filter, w);
  const int state = state_number(filter.state);
  if (!filter.state.empty() && state < 0) {
    return Error{ErrorCode::kConfig, "unknown delivery state \"" + filter.state + "\" (pending, in_flight, acked, dead)"};
  }
  if (!filter.recipient.empty() || state >= 0) {
    std::string sub = "EXISTS (SELECT 1 FROM deliveries d WHERE d.message_seq = m.seq";
    Where inner;
    if (!filter.recipient.empty()) inner.add_text("d.recipient = ?", filter.recipient);
    if (state >= 0) inner.add_int("d.state = ?", state);
    w.sql += " AND " + sub + inner.sql + ")";
    for (bool is_text : inner.order) w.order.push_back(is_text);
    w.texts.insert(w.texts.end(), inner.texts.begin(), inner.texts.end());
    w.ints.insert(w.ints.end(), inner.ints.begin(), inner.ints.end());
  }
  // The page's key: older than the last row of the page before (the primary key, no OFFSET).
  if (filter.before_seq > 0) w.add_int("m.seq < ?", filter.before_seq);
  if (filter.min_seq > 0) w.add_int("m.seq >= ?", filter.min_seq);
  Query q(store.connection(),
          std::string("SELECT ") + kMessageColumns + " FROM messages m WHERE 1 = 1" + w.sql +
              " ORDER BY m.seq DESC LIMIT ?",
          "console find messages");
  w.bind(q);
  q.int64(static_cast<std::int64_t>(filter.limit));
  std::vector<MessageRow> out;
  auto rows = q.each([&] {
    out.push_back(message_row(q, 0));
  });
  if (!rows) return rows.error();
  return out;
}

namespace {

// The dead-letter list's statement and its binds (without the LIMIT's).
std::string dead_letters_sql(const MessageFilter& filter, Where& w) {
  message_clauses(filter, w);
  if (!filter.recipient.empty()) w.add_text("d.recipient = ?", filter.recipient);
  dead_letter_clauses(filter, w);
  return std::string("SELECT d.id, d.recipient, d.attempts, d.dead_at, ") + kMessageColumns +
         " FROM deliveries d JOIN messages m ON m.seq = d.message_seq WHERE d.state = 3" + w.sql +
         " ORDER BY d.dead_at DESC, d.id DESC LIMIT ?";
}

}  // namespace

Result<std::vector<std::string>> explain_dead_letters(SqliteStore& store, const MessageFilter& filter) {
  Where w;
  Query q(store.connection(), "EXPLAIN QUERY PLAN " + dead_letters_sql(filter, w), "console explain dead letters");
  w.bind(q);
  q.int64(static_cast<std::int64_t>(filter.limit));
  std::vector<std::string> out;
  auto rows = q.each([&] { out.push_back(q.text_at(3)); });
  if (!rows) return rows.error();
  return out;
}

Result<std::vector<DeadLetter>> find_dead_letters(SqliteStore& store, const MessageFilter& filter) {
  Where w;
  sqlite3* db = store.connection();
  Query q(db, dead_letters_sql(filter, w), "console find dead letters");
  w.bind(q);
  q.int64(static_cast<std::int64_t>(filter.limit));
  std::vector<DeadLetter> out;
  auto rows = q.each([&] {
    DeadLetter d;
    d.delivery_id = q.int64_at(0);
    d.recipient = q.text_at(1);
    d.attempts = static_cast<std::uint32_t>(q.int64_at(2));
    d.dead_at = q.int64_at(3);
    d.message = message_row(q, 4);
    out.push_back(std::move(d));
  });
  if (!rows) return rows.error();
  // Through the case index: the blocks of the dead letter's case.
  for (auto& d : out) {
    auto events = store.read_case_events(d.message.case_ref);
    if (!events) return events.error();
    for (const auto& logged : *events) {
      const auto* resent = std::get_if<events::Resent>(&logged.event.record);
      if (resent != nullptr && logged.event.message_id == d.message.message_id) {
        d.resent_as.push_back(resent->new_message_id);
      }
    }
  }
  return out;
}

namespace {

// The case list's walk: messages newest first, each kept only when it is its case's newest.
struct CaseWalk {
  std::string sql;
  std::vector<std::string> texts;
};
CaseWalk case_walk(const CaseFilter& f) {
  CaseWalk w;
  w.sql = "SELECT m.case_ref, m.seq, m.accepted_at FROM messages m WHERE m.seq = "
          "(SELECT MAX(x.seq) FROM messages x WHERE x.case_ref = m.case_ref)";
  if (f.before_seq > 0) w.sql += " AND m.seq < " + std::to_string(f.before_seq);
  if (!f.prefix.empty()) {
    // A byte range: every text starting with the prefix sorts between it and prefix + 0xFF
    // (no UTF-8 byte is 0xFF).
    w.sql += " AND m.case_ref >= ? AND m.case_ref < ?";
    w.texts = {f.prefix, f.prefix + "\xff"};
  }
  w.sql += " ORDER BY m.seq DESC LIMIT " + std::to_string(f.limit);
  return w;
}

Result<void> case_details(sqlite3* db, CaseSummary& c) {
  {
    Query q(db, "SELECT COUNT(*) FROM messages WHERE case_ref = ?", "console case count");
    q.text(c.case_ref);
    auto row = q.next();
    if (!row) return row.error();
    c.messages = *row ? q.int64_at(0) : 0;
  }
  Query q(db,
          "SELECT sender FROM messages WHERE case_ref = ? UNION SELECT d.recipient FROM messages m JOIN deliveries d "
          "ON d.message_seq = m.seq WHERE m.case_ref = ? ORDER BY 1",
          "console case partners");
  q.text(c.case_ref).text(c.case_ref);
  return q.each([&] { c.partners.push_back(q.text_at(0)); });
}

}  // namespace

Result<std::vector<CaseSummary>> find_cases(SqliteStore& store, const CaseFilter& f) {
  sqlite3* db = store.connection();
  std::vector<CaseSummary> out;
  if (!f.cases.empty()) {
    // An inspector's few named cases: one seek each, then the same order and page key.
    for (const auto& c : f.cases) {
      if (c.rfind(f.prefix, 0) != 0) continue;
      Query q(db, "SELECT seq, accepted_at FROM messages WHERE case_ref = ? ORDER BY seq DESC LIMIT 1", "console case");
      q.text(c);
      auto row = q.next();
      if (!row) return row.error();
      if (!*row) continue;
      CaseSummary s;
      s.case_ref = c;
      s.last_seq = q.int64_at(0);
      s.last_accepted_at = q.int64_at(1);
      if (f.before_seq > 0 && s.last_seq >= f.before_seq) continue;
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const CaseSummary& a, const CaseSummary& b) { return a.last_seq > b.last_seq; });
    if (out.size() > f.limit) out.resize(f.limit);
  } else {
    // Without the case index each message of the walk would scan the table: refuse instead.
    Query has(db, "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'messages_by_case'", "console case index");
    auto found = has.next();
    if (!found) return found.error();
    if (!*found) {
      return Error{ErrorCode::kStorage, "the store has no index messages_by_case yet: the broker builds it at its next start"};
    }
    const auto w = case_walk(f);
    Query q(db, w.sql, "console cases");
    for (const auto& t : w.texts) q.text(t);
    auto rows = q.each([&] {
      CaseSummary s;
      s.case_ref = q.text_at(0);
      s.last_seq = q.int64_at(1);
      s.last_accepted_at = q.int64_at(2);
      out.push_back(std::move(s));
    });
    if (!rows) return rows.error();
  }
  for (auto& c : out) {
    if (auto r = case_details(db, c); !r) return r.error();
  }
  return out;
}

Result<std::vector<std::string>> explain_cases(SqliteStore& store, const CaseFilter& f) {
  const auto w = case_walk(f);
  Query q(store.connection(), "EXPLAIN QUERY PLAN " + w.sql, "console cases plan");
  for (const auto& t : w.texts) q.text(t);
  std::vector<std::string> out;
  auto rows = q.each([&] { out.push_back(q.text_at(3)); });
  if (!rows) return rows.error();
  return out;
}

Result<std::optional<MessageRecord>> find_message_record(SqliteStore& store, const std::string& message_id) {
  sqlite3* db = store.connection();
  MessageRecord record;
  std::int64_t seq = 0;
  {
    Query q(db,
            std::string("SELECT ") + kMessageColumns +
                ", m.correlation_id, m.causation_id, m.supersedes, m.occurred_at, m.recorded_at, "
                "m.requested_recipients, m.recipients, m.payload_digest, m.sealed FROM messages m WHERE "
                "m.message_id = ?",
            "console message");
    q.text(message_id);
    auto row = q.next();
    if (!row) return row.error();
    if (!*row) return std::optional<MessageRecord>{};
    record.row = message_row(q, 0);
    seq = record.row.seq;
    record.correlation_id = q.text_at(8);
    record.causation_id = q.text_at(9);
    record.supersedes = q.text_at(10);
    record.occurred_at = q.int64_at(11);
    record.recorded_at = q.int64_at(12);
    record.requested_recipients = json_list(q.text_at(13));
    record.recipients = json_list(q.text_at(14));
    record.payload_digest = q.text_at(15);
    record.sealed = q.int64_at(16) != 0;
  }
  {
    Query q(db,
            "SELECT id, recipient, state, attempts, last_attempt_at, acked_at, dead_at FROM deliveries WHERE "
            "message_seq = ? ORDER BY id",
            "console message deliveries");
    q.int64(seq);
    auto rows = q.each([&] {
      Delivery d;
      d.id = q.int64_at(0);
      d.message_seq = seq;
      d.recipient = q.text_at(1);
      d.state = static_cast<DeliveryState>(q.int64_at(2));
      d.attempts = static_cast<std::uint32_t>(q.int64_at(3));
      d.last_attempt_at = q.int64_at(4);
      d.acked_at = q.int64_at(5);
      d.dead_at = q.int64_at(6);
      record.deliveries.push_back(std::move(d));
    });
    if (!rows) return rows.error();
  }
  // The message's events through the case index (an event of the message without its case, such
  // as a refusal before the case could be read, is not among them).
  auto logged = store.read_case_events(record.row.case_ref);
  if (!logged) return logged.error();
  for (auto& e : *logged) {
    if (e.event.message_id == message_id) record.events.push_back(std::move(e));
  }
  return std::optional<MessageRecord>(std::move(record));
}

Result<std::optional<std::string>> SqliteStore::undelivered_case_at(std::string_view recipient, Millis accepted_at) {
  // Through the recipient's undelivered rows (deliveries_open_by_recipient: the literal
  // "state IN (0, 1)" is the partial index's own term), each one's message by its seq: what the
  // backlog costs, not the history. The console's message filter found this by walking every
  // message (250 ms at 300 000 stored), on the loop, each time an oldest-undelivered alert fired.
  Query q(connection(),
          "SELECT m.case_ref FROM deliveries AS d CROSS JOIN messages AS m ON m.seq = d.message_seq "
          "WHERE d.recipient = ? AND d.state IN (0, 1) AND m.accepted_at = ? AND m.case_ref <> '' "
          "ORDER BY +d.id LIMIT 1",
          "read the case of an undelivered message");
  q.text(std::string(recipient)).int64(accepted_at);
  auto row = q.next();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q.text_at(0));
}

}  // namespace broker::store
