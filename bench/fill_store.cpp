// fill_store: fills a store for the size targets of issue #8 (docs/performance.md), through
// SqliteStore, so that rows, hashes and indexes are the broker's own.
//   fill_store --store PATH --rows N     [--cases K] [--batch B]   a handover log of N rows
//   fill_store --store PATH --messages N [--cases K] [--batch B]   N delivered messages
// Each message gets the six log rows a delivered message has (received, accepted, routed,
// delivered, redacted, acknowledged). With --messages it also gets its `messages` row (a 1 KiB
// plaintext payload) and one acknowledged delivery to KMAR: the history a store holds after N
// messages went through. Cases are spread round-robin, so a case's rows are scattered over the
// whole log, as in a real chain. B is the number of messages per transaction (default 512, the
// most one turn of the broker's loop takes in); each commit signs a checkpoint with a fixed,
// bench-only key, whose public half a first `started` event states, as a broker that signs does:
// `keten log replay --store` proves against it without --signing-key (stores filled before that
// event was written need --signing-key; bench/replay_process.py always gives it). --json prints one line with the CPU per message
// (this process, getrusage): the store's share of the cost floor.
//   fill_store --store PATH --messages N --compare [--batch B]
// writes N delivered messages twice in one run: through the schema-4 write path (bench/
// legacy_store.h, into PATH.v4) and through SqliteStore's schema 5 (typed events, one block per
// transaction, a signed checkpoint per commit), and prints both CPU figures and their ratio.
// --no-sign leaves the checkpoints out (a broker without a signing key). --lean adds a third
// figure, an upper bound for the store redesign the log v2 issue names (docs/performance.md,
// round 15): the same six typed events, but instead of the message's row, its delivery and their
// indexes, only what that design would keep per message: an id index entry (message id -> seq)
// for the dedupe, the payloads of a transaction in one row, and one acknowledged-through mark per
// recipient per transaction (in-order acknowledgements; no row for a delivery in flight).
// --payload-key opens the store with a (fixed, bench-only) payload key: every payload is then sealed
// under its case's key (case keys, broker/store/case_keys.h), as a broker with a payload key does.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include <filesystem>

#include <sqlite3.h>

#include "bench/bench_signing.h"
#include "bench/legacy_store.h"
#include "bench/proc_stats.h"
#include "broker/audit/signing.h"
#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"

namespace {

namespace store = broker::store;

std::string case_ref(std::uint64_t k) {
  char text[32];
  std::snprintf(text, sizeof text, "V%09llu", static_cast<unsigned long long>(k));
  return text;
}

int fail(const contracts::Error& e) {
  std::fprintf(stderr, "fill_store: %s\n", e.detail.c_str());
  return 1;
}

constexpr const char* kEvents[] = {"received", "accepted", "routed", "delivered", "redacted", "acknowledged"};
constexpr std::int64_t kEpoch = 1'764'000'000'000;

// One log row of message `message`; rows from "routed" on name the delivery.
store::LogEvent log_row(std::uint64_t message, int step, std::uint64_t cases, std::int64_t delivery_id,
                        const std::string& digest) {
  store::LogEvent e;
  e.at = kEpoch + static_cast<std::int64_t>(message * 6 + step);
  e.event = kEvents[step];
  e.message_id = "m-" + std::to_string(message);
  e.contract = "departure.scheduled";
  e.version = 1;
  e.case_ref = case_ref(message % cases);
  e.sender = "DTV";
  if (step >= 2) {
    e.recipient = "KMAR";
    e.delivery_id = delivery_id;
  }
  e.payload_digest = digest;
  return e;
}

// The same six events, typed (what the broker's writers append in schema 5).
broker::events::Event typed_event(std::uint64_t message, int step, std::uint64_t cases, std::int64_t delivery_id,
                                  const broker::events::Digest& digest, std::size_t bytes) {
  namespace events = broker::events;
  events::Event e;
  e.at = kEpoch + static_cast<std::int64_t>(message * 6 + step);
  e.message_id = "m-" + std::to_string(message);
  e.contract = "departure.scheduled";
  e.version = 1;
  e.case_ref = case_ref(message % cases);
  e.sender = "DTV";
  if (step >= 2) {
    e.recipient = "KMAR";
    e.delivery_id = delivery_id;
  }
  e.payload_digest = digest;
  switch (step) {
    case 0: e.record = events::Received{bytes}; break;
    case 1: {
      events::Accepted a;
      a.recipients = {"KMAR"};
      e.record = std::move(a);
      break;
    }
    case 2: e.record = events::Routed{}; break;
    case 3: e.record = events::Delivered{1}; break;
    case 4: e.record = events::Redacted{}; break;
    default: e.record = events::Acknowledged{}; break;
  }
  return e;
}

store::NewMessage new_message(std::uint64_t message, std::uint64_t cases, const std::string& payload,
                              const std::string& digest) {
  store::NewMessage m;
  m.header.message_id = "m-" + std::to_string(message);
  m.header.contract = "departure.scheduled";
  m.header.version = 1;
  m.header.case_ref = case_ref(message % cases);
  m.header.recipients = {"KMAR"};
  m.sender = "DTV";
  m.payload = payload;
  m.payload_digest = digest;
  m.recipients = {"KMAR"};
  m.accepted_at = kEpoch + static_cast<std::int64_t>(message * 6 + 1);
  return m;
}

// Schema 5: the message row, its delivery and six typed events.
contracts::Result<void> write_typed_message(store::SqliteStore& s, std::uint64_t message, std::uint64_t cases,
                                            const std::string& payload, const std::string& digest,
                                            const broker::events::Digest& raw_digest) {
  store::NewMessage m = new_message(message, cases, payload, digest);
  for (int step = 0; step < 2; ++step) {
    auto seq = s.append_event(typed_event(message, step, cases, 0, raw_digest, payload.size()));
    if (!seq) return seq.error();
    m.log_seq = *seq;
  }
  auto seq = s.insert_message(m);
  if (!seq) return seq.error();
  // As the broker writes a delivery sent the moment it is accepted (core/pipeline.cpp): inserted
  // in flight in one write, then acknowledged.
  auto delivery = s.insert_delivery_sent(*seq, "KMAR", m.accepted_at + 1);
  if (!delivery) return delivery.error();
  if (auto r = s.mark_acked(*delivery, m.accepted_at + 4); !r) return r.error();
  for (int step = 2; step < 6; ++step) {
    auto r = s.append_event(typed_event(message, step, cases, *delivery, raw_digest, payload.size()));
    if (!r) return r.error();
  }
  return {};
}

// The checkpoints' signing seed: bench-only, never a broker's (bench_signing.h).
const std::string kBenchSeed = bench::bench_signing_seed();

// A broker that signs states its key's public half in its `started` event, which `keten log replay`
// proves against when given no --signing-key: so does a filled store, before its messages.
contracts::Result<void> state_bench_key(store::SqliteStore& s) {
  auto key = broker::audit::signing_key_from_hex(broker::audit::to_hex(kBenchSeed));
  if (!key) return key.error();
  broker::events::Started started;
  started.signing_key = key->public_hex;
  broker::events::Event e;
  e.at = kEpoch - 1;
  e.record = std::move(started);
  if (auto r = s.begin(); !r) return r;
  if (auto seq = s.append_event(e); !seq) return seq.error();
  return s.commit();
}

// The lean layout's per-message rows (--lean, above), on the store's own connection and in its
// transactions. Measurement only: nothing reads these tables.
class LeanRows {
 public:
  static contracts::Result<LeanRows> open(sqlite3* db) {
    const char* schema =
        "CREATE TABLE IF NOT EXISTS lean_ids (message_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS lean_payloads (first_seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL);"
        "CREATE TABLE IF NOT EXISTS lean_acked (recipient TEXT PRIMARY KEY, through INTEGER NOT NULL) WITHOUT ROWID;";
    if (sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK) return error(db);
    LeanRows rows;
    rows.db_ = db;
    for (auto [sql, out] : {std::pair{"INSERT INTO lean_ids VALUES (?1, ?2)", &rows.id_},
                            std::pair{"INSERT INTO lean_payloads VALUES (?1, ?2)", &rows.payloads_},
                            std::pair{"INSERT INTO lean_acked VALUES (?1, ?2) ON CONFLICT (recipient) DO UPDATE "
                                      "SET through = excluded.through",
                                      &rows.acked_}}) {
      if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, nullptr) != SQLITE_OK) return error(db);
    }
    return rows;
  }
  LeanRows(LeanRows&& o) noexcept
      : db_(std::exchange(o.db_, nullptr)),
        id_(std::exchange(o.id_, nullptr)),
        payloads_(std::exchange(o.payloads_, nullptr)),
        acked_(std::exchange(o.acked_, nullptr)) {}
  LeanRows& operator=(LeanRows&&) = delete;
  ~LeanRows() {
    for (sqlite3_stmt* s : {id_, payloads_, acked_}) sqlite3_finalize(s);
  }

  contracts::Result<void> message(const std::string& id, std::uint64_t seq, const std::string& payload) {
    sqlite3_bind_text(id_, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(id_, 2, static_cast<sqlite3_int64>(seq));
    if (auto r = step(id_); !r) return r;
    payloads_text_ += payload;
    if (first_seq_ == 0) first_seq_ = seq;
    last_seq_ = seq;
    return {};
  }
  // At the end of a transaction, before its commit.
  contracts::Result<void> flush() {
    if (first_seq_ == 0) return {};
    sqlite3_bind_int64(payloads_, 1, static_cast<sqlite3_int64>(first_seq_));
    sqlite3_bind_blob(payloads_, 2, payloads_text_.data(), static_cast<int>(payloads_text_.size()), SQLITE_STATIC);
    if (auto r = step(payloads_); !r) return r;
    sqlite3_bind_text(acked_, 1, "KMAR", 4, SQLITE_STATIC);
    sqlite3_bind_int64(acked_, 2, static_cast<sqlite3_int64>(last_seq_));
    if (auto r = step(acked_); !r) return r;
    payloads_text_.clear();
    first_seq_ = last_seq_ = 0;
    return {};
  }

 private:
  LeanRows() = default;
  static contracts::Error error(sqlite3* db) {
    return contracts::Error{contracts::ErrorCode::kStorage, std::string("lean rows: ") + sqlite3_errmsg(db)};
  }
  contracts::Result<void> step(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return error(db_);
    return {};
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* id_ = nullptr;
  sqlite3_stmt* payloads_ = nullptr;
  sqlite3_stmt* acked_ = nullptr;
  std::string payloads_text_;
  std::uint64_t first_seq_ = 0, last_seq_ = 0;
};

// A delivered message in the lean layout: its six typed events and its lean rows.
contracts::Result<void> write_lean_message(store::SqliteStore& s, LeanRows& lean, std::uint64_t message,
                                           std::uint64_t cases, const std::string& payload,
                                           const broker::events::Digest& raw_digest) {
  std::uint64_t accepted = 0;
  for (int step = 0; step < 6; ++step) {
    const auto delivery = step < 2 ? 0 : static_cast<std::int64_t>(message + 1);
    auto seq = s.append_event(typed_event(message, step, cases, delivery, raw_digest, payload.size()));
    if (!seq) return seq.error();
    if (step == 1) accepted = *seq;
  }
  return lean.message("m-" + std::to_string(message), accepted, payload);
}

enum class Layout { kSchema4, kSchema5, kLean };

// CPU per message of writing `total` delivered messages, `batch` per transaction, through the
// schema-4 path, schema 5 (signing a checkpoint per commit when `sign`) or the lean layout.
contracts::Result<double> timed_fill(const std::string& path, Layout layout, bool sign, std::uint64_t total,
                                     std::uint64_t cases, std::uint64_t batch, const std::string& payload,
                                     const std::string& digest) {
  const bool legacy = layout == Layout::kSchema4;
  broker::events::Digest raw_digest{};
  const auto sha = contracts::sha256(payload.data(), payload.size());
  std::copy(sha.begin(), sha.end(), raw_digest.begin());
  std::optional<bench::LegacyStore> old;
  std::optional<store::SqliteStore> now;
  if (legacy) {
    auto s = bench::LegacyStore::open(path);
    if (!s) return s.error();
    old.emplace(std::move(*s));
  } else {
    store::StoreOptions options;
    options.path = path;
    options.sync_full = false;
    if (sign) options.signing_seed = kBenchSeed;
    auto s = store::SqliteStore::open(options);
    if (!s) return s.error();
    now.emplace(std::move(*s));
  }
  std::optional<LeanRows> lean;
  if (layout == Layout::kLean) {
    auto rows = LeanRows::open(now->connection());
    if (!rows) return rows.error();
    lean.emplace(std::move(*rows));
  }
  const double cpu_before = bench::self_usage().cpu_seconds;
  for (std::uint64_t message = 0; message < total;) {
    if (auto r = legacy ? old->begin() : now->begin(); !r) return r.error();
    for (std::uint64_t i = 0; i < batch && message < total; ++i, ++message) {
      if (legacy) {
        store::LogEvent rows[6];
        for (int step = 0; step < 6; ++step) rows[step] = log_row(message, step, cases, 0, digest);
        if (auto r = old->write_message(new_message(message, cases, payload, digest), rows); !r) return r.error();
      } else if (lean) {
        if (auto r = write_lean_message(*now, *lean, message, cases, payload, raw_digest); !r) return r.error();
      } else if (auto r = write_typed_message(*now, message, cases, payload, digest, raw_digest); !r) {
        return r.error();
      }
    }
    if (lean) {
      if (auto r = lean->flush(); !r) return r.error();
    }
    if (auto r = legacy ? old->commit() : now->commit(); !r) return r.error();
  }
  return (bench::self_usage().cpu_seconds - cpu_before) * 1e6 / static_cast<double>(total);
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::uint64_t rows = 0, messages = 0, cases = 10'000, batch = 512;
  bool json = false, compare = false, sign = true, payload_key = false, lean = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--payload-key" || flag == "--lean") {
      (flag == "--lean" ? lean : payload_key) = true;
      continue;
    }
    if (flag == "--json" || flag == "--compare" || flag == "--no-sign") {
      (flag == "--json" ? json : flag == "--compare" ? compare : sign) = flag != "--no-sign";
      continue;
    }
    if (i + 1 >= argc) break;
    const std::string value = argv[++i];
    if (flag == "--store") path = value;
    else if (flag == "--rows") rows = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--messages") messages = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--cases") cases = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--batch") batch = std::strtoull(value.c_str(), nullptr, 10);
  }
  if (path.empty() || (rows == 0) == (messages == 0) || cases == 0 || batch == 0) {
    std::fprintf(stderr, "usage: fill_store --store PATH (--rows N | --messages N) [--cases K] [--batch B] [--json] "
                         "[--payload-key] [--no-sign] [--compare [--lean]]\n");
    return 2;
  }
  const std::string payload = "{\"remarks\":\"" + std::string(1024 - 14, 'x') + "\"}";
  const std::string digest = contracts::sha256_hex(payload);
  if (compare) {
    if (messages == 0) return fail(contracts::Error{contracts::ErrorCode::kConfig, "--compare needs --messages"});
    const std::string old_path = path + ".v4", lean_path = path + ".lean";
    for (const auto& p : {path, old_path, lean_path}) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p + suffix);
    }
    auto v4 = timed_fill(old_path, Layout::kSchema4, false, messages, cases, batch, payload, digest);
    if (!v4) return fail(v4.error());
    auto v5 = timed_fill(path, Layout::kSchema5, sign, messages, cases, batch, payload, digest);
    if (!v5) return fail(v5.error());
    std::string lean_fields;
    if (lean) {
      auto figure = timed_fill(lean_path, Layout::kLean, sign, messages, cases, batch, payload, digest);
      if (!figure) return fail(figure.error());
      char text[128];
      std::snprintf(text, sizeof text, ",\"lean_cpu_us_per_message\":%.2f,\"lean_ratio\":%.3f", *figure, *figure / *v4);
      lean_fields = text;
    }
    std::printf("{\"system\":\"store-cost-compare\",\"messages\":%llu,\"batch\":%llu,\"signed\":%s,"
                "\"schema4_cpu_us_per_message\":%.2f,\"schema5_cpu_us_per_message\":%.2f,\"ratio\":%.3f%s}\n",
                static_cast<unsigned long long>(messages), static_cast<unsigned long long>(batch),
                sign ? "true" : "false", *v4, *v5, *v5 / *v4, lean_fields.c_str());
    return 0;
  }
  store::StoreOptions options;
  options.path = path;
  options.sync_full = false;
  if (payload_key) options.payload_key = std::string(32, 'p');
  if (sign) options.signing_seed = kBenchSeed;
  auto s = store::SqliteStore::open(options);
  if (!s) return fail(s.error());
  if (sign) {
    if (auto r = state_bench_key(*s); !r) return fail(r.error());
  }
  broker::events::Digest raw_digest{};
  const auto sha = contracts::sha256(payload.data(), payload.size());
  std::copy(sha.begin(), sha.end(), raw_digest.begin());
  const double cpu_before = bench::self_usage().cpu_seconds;
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t total = messages != 0 ? messages : (rows + 5) / 6;
  std::uint64_t written_rows = 0;
  for (std::uint64_t message = 0; message < total;) {
    if (auto r = s->begin(); !r) return fail(r.error());
    for (std::uint64_t i = 0; i < batch && message < total; ++i, ++message) {
      if (messages != 0) {
        if (auto r = write_typed_message(*s, message, cases, payload, digest, raw_digest); !r) return fail(r.error());
        written_rows += 6;
        continue;
      }
      for (int step = 0; step < 6 && written_rows < rows; ++step, ++written_rows) {
        const auto delivery = static_cast<std::int64_t>(message + 1);
        auto r = s->append_event(typed_event(message, step, cases, delivery, raw_digest, payload.size()));
        if (!r) return fail(r.error());
      }
    }
    if (auto r = s->commit(); !r) return fail(r.error());
    if (messages != 0 && message % 1'000'000 < batch) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "fill_store: %llu messages, %.0f s\n", static_cast<unsigned long long>(message), t);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu_us = (bench::self_usage().cpu_seconds - cpu_before) * 1e6 / static_cast<double>(total);
  if (json) {  // the store's share of the cost floor (bench/run.sh, docs/performance.md)
    std::printf("{\"system\":\"store-cost\",\"messages\":%llu,\"log_rows\":%llu,\"batch\":%llu,\"seconds\":%.3f,"
                "\"cpu_us_per_message\":%.2f}\n",
                static_cast<unsigned long long>(total), static_cast<unsigned long long>(written_rows),
                static_cast<unsigned long long>(batch), seconds, cpu_us);
    return 0;
  }
  std::printf("fill_store: %llu messages, %llu log rows, %llu cases, %.1f s\n",
              static_cast<unsigned long long>(messages), static_cast<unsigned long long>(written_rows),
              static_cast<unsigned long long>(cases), seconds);
  return 0;
}
