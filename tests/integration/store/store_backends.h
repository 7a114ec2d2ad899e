#pragma once
// The two Store backends for the conformance suite and the PostgreSQL-specific tests: a
// SqliteStore on a file in a fresh temp folder, and a PgStore on a fresh database of one shared
// throwaway PostgreSQL 15 cluster (tests/support/postgres_server.h; started at the first use,
// stopped at exit). No mocks: real files, a real server.

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <utility>

#include "broker/events/event.h"
#include "broker/ha/pg_connection.h"
#include "broker/store/pg_store.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/store.h"
#include "contracts/digest.h"
#include "tests/support/ok.h"
#include "tests/support/postgres_server.h"
#include "tests/support/temp_dir.h"

namespace store_test {

using broker::store::Store;

// 32-byte keys (raw), as the broker's configuration gives them to the store.
inline const std::string kPayloadKey(32, '\x5a');
inline const std::string kSigningSeed(32, '\x17');

inline test_support::PostgresServer& shared_server() {
  static test_support::PostgresServer server;
  return server;
}

// A new, empty database on the shared server; returns its conninfo.
inline std::string fresh_database() {
  static int next = 0;
  auto& server = shared_server();
  auto conn = broker::ha::PgConnection::open(server.conninfo());
  if (!conn) FAIL("connect: " << conn.error().detail);
  const std::string name = "keten_test_" + std::to_string(++next);
  auto made = conn->query("create database", "CREATE DATABASE " + name);
  if (!made) FAIL(made.error().detail);
  return server.conninfo() + " dbname=" + name;
}

struct Keys {
  std::string payload_key{};
  std::string signing_seed{};
};

// One backend's store, and what reopening it needs.
struct Backend {
  std::string kind;  // "sqlite" or "postgresql"
  std::unique_ptr<test_support::TempDir> dir;
  std::string conninfo;
  std::unique_ptr<Store> store;

  // Another store on the same file or database (with other keys, e.g. none).
  std::unique_ptr<Store> open_again(const Keys& keys) const {
    if (kind == "sqlite") {
      broker::store::StoreOptions o;
      o.path = *dir / "store.db";
      o.payload_key = keys.payload_key;
      o.signing_seed = keys.signing_seed;
      return std::make_unique<broker::store::SqliteStore>(test_support::ok(broker::store::SqliteStore::open(o)));
    }
    broker::store::PgStoreOptions o;
    o.conninfo = conninfo;
    o.payload_key = keys.payload_key;
    o.signing_seed = keys.signing_seed;
    return std::make_unique<broker::store::PgStore>(test_support::ok(broker::store::PgStore::open(o)));
  }
};

inline Backend make_backend(const std::string& kind, const Keys& keys = {}) {
  Backend b;
  b.kind = kind;
  if (kind == "sqlite") {
    b.dir = std::make_unique<test_support::TempDir>();
  } else {
    b.conninfo = fresh_database();
  }
  b.store = b.open_again(keys);
  return b;
}

inline broker::store::NewMessage message(std::string id, std::string sender = "coa",
                                         std::vector<std::string> recipients = {"gemeente-utrecht", "ind"}) {
  broker::store::NewMessage m;
  m.header.message_id = std::move(id);
  m.header.contract = "verblijfsvergunning.verleend";
  m.header.version = 2;
  m.header.case_ref = "case-17";
  m.header.recipients = {"ind"};
  m.header.correlation_id = "corr-1";
  m.header.causation_id = "cause-1";
  m.header.supersedes = "old-1";
  m.header.occurred_at = 1'700'000'000'000;
  m.header.recorded_at = 1'700'000'000'500;
  m.header.origin = "file:coa/in";
  m.sender = std::move(sender);
  m.payload = R"({"v":1,"naam":"J. Jansen"})";
  m.payload_digest = contracts::sha256_hex(m.payload);
  m.recipients = std::move(recipients);
  m.log_seq = 0;
  m.accepted_at = 1'700'000'001'000;
  return m;
}

// A delivery event of case `case_ref` at time `at`.
inline broker::events::Event delivered(std::int64_t n, std::string case_ref = "V-1", contracts::Millis at = 0) {
  broker::events::Event e;
  e.at = at != 0 ? at : 1'000 + n;
  e.message_id = "m-" + std::to_string(n);
  e.case_ref = std::move(case_ref);
  e.sender = "DTV";
  e.recipient = "KMAR";
  e.delivery_id = n;
  e.record = broker::events::Delivered{static_cast<std::uint32_t>(n % 7)};
  return e;
}

inline broker::events::Event started(contracts::Millis at) {
  broker::events::Event e;
  e.at = at;
  broker::events::Started s;
  s.config_digest = std::string(64, 'a');
  s.partners = 3;
  e.record = s;
  return e;
}

inline broker::events::Event accepted(const broker::store::NewMessage& m, contracts::Millis at) {
  broker::events::Event e;
  e.at = at;
  e.message_id = m.header.message_id;
  e.contract = m.header.contract;
  e.version = m.header.version;
  e.case_ref = m.header.case_ref;
  e.sender = m.sender;
  broker::events::Accepted a;
  a.recipients = m.recipients;
  e.record = a;
  return e;
}

}  // namespace store_test
