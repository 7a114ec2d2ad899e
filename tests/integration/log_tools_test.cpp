// The handover log end to end: signed receipts checked by the SDK, checkpoints signed by a running
// broker, and the inspector's `keten log` commands run as the built binary on a real store.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "broker/audit/hash_chain.h"
#include "broker/audit/signing.h"
#include "broker/store/sqlite_store.h"
#include "contracts/digest.h"
#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;
using test_support::notice;
using test_support::run;

const std::string kCase = "9990012345";

// A broker with a signing key that checkpoints every 100 ms.
broker::audit::SigningKey sign_with(BrokerHarness& h) {
  auto key = broker::audit::generate_signing_key();
  h.options().signing_key = broker::audit::seed_hex(key);
  h.options().checkpoint_interval = 100ms;
  return key;
}

partner::Profile signed_profile(const BrokerHarness& h, const std::string& partner, const std::string& signing_public) {
  auto p = h.profile(partner);
  p.broker_signing_key = signing_public;
  return p;
}

// Sends two notices about kCase and one about another case, and lets BRAVO take and ack its two.
std::vector<std::string> play_case(BrokerHarness& h, const std::string& signing_public) {
  auto alpha = partner::Client::connect(signed_profile(h, "ALPHA", signing_public));
  REQUIRE(alpha);
  std::vector<std::string> ids;
  for (const auto& case_ref : {kCase, std::string("9990099999"), kCase}) {
    auto submit = notice(partner::new_message_id(), case_ref);
    auto receipt = alpha->send(submit);
    REQUIRE(receipt);
    REQUIRE(receipt->status == ReceiptStatus::kAccepted);
    if (case_ref == kCase) ids.push_back(submit.header.message_id);
  }
  auto bravo = h.client("BRAVO");
  for (int i = 0; i < 3; ++i) {
    auto d = bravo.receive(5s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    REQUIRE(bravo.ack((*d)->delivery_id));
  }
  // A submit on the same connection is answered only after the acks before it were committed
  // (BRAVO may not produce test.notice: a rejection about another case).
  auto barrier = bravo.send(notice(partner::new_message_id(), "barrier"));
  REQUIRE(barrier);
  CHECK(barrier->status == ReceiptStatus::kRejected);
  bravo.close();
  return ids;
}

// A signing broker that played the case (play_case) and stopped: its store holds it all, and
// the final checkpoint covers it.
broker::audit::SigningKey played_and_stopped(BrokerHarness& h) {
  auto key = sign_with(h);
  h.start();
  play_case(h, key.public_hex);
  h.stop();
  return key;
}

broker::audit::LogData read_data(const std::filesystem::path& store_path) {
  broker::store::StoreOptions o;
  o.path = store_path;
  o.read_only = true;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  auto data = store->read_log_data();
  REQUIRE(data);
  return std::move(*data);
}

void sql(const std::filesystem::path& path, const std::string& statements) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const int rc = sqlite3_exec(raw, statements.c_str(), nullptr, nullptr, nullptr);
  INFO(sqlite3_errmsg(raw));
  sqlite3_close(raw);
  REQUIRE(rc == SQLITE_OK);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Client profiles for every partner of `h`, as files in `dir` (inline keys).
void write_profiles(const BrokerHarness& h, const std::filesystem::path& dir, const std::vector<std::string>& partners) {
  std::filesystem::create_directories(dir);
  for (const auto& id : partners) {
    std::ofstream(dir / (id + ".toml")) << "broker = \"" << h.endpoint() << "\"\nbroker_public_key = \""
                                        << h.broker_keys().public_key << "\"\npartner = \"" << id
                                        << "\"\nsecret_key = \"" << h.keys(id).secret_key << "\"\n";
  }
}

}  // namespace

TEST_CASE("the SDK verifies signed receipts and keeps the signature", "[integration][audit]") {
  BrokerHarness h;
  auto key = sign_with(h);
  h.start();
  auto alpha = partner::Client::connect(signed_profile(h, "ALPHA", key.public_hex));
  REQUIRE(alpha);
  auto submit = notice();
  auto receipt = alpha->send(submit);
  REQUIRE(receipt);
  CHECK(receipt->status == ReceiptStatus::kAccepted);
  CHECK(receipt->signature.size() == 64);
  CHECK(receipt->payload_digest == contracts::sha256_hex(submit.payload));
  CHECK(contracts::verify_receipt_signature(*receipt, key.public_hex));
  // The duplicate receipt is signed too, over the first acceptance.
  auto again = alpha->send(submit);
  REQUIRE(again);
  CHECK(again->status == ReceiptStatus::kDuplicate);
  CHECK(again->log_seq == receipt->log_seq);
  CHECK(contracts::verify_receipt_signature(*again, key.public_hex));
}

TEST_CASE("the SDK refuses a receipt that does not verify with the profile's broker key", "[integration][audit]") {
  BrokerHarness h;
  sign_with(h);
  h.start();
  auto impostor = broker::audit::generate_signing_key();  // the key the partner was told about
  auto alpha = partner::Client::connect(signed_profile(h, "ALPHA", impostor.public_hex));
  REQUIRE(alpha);
  auto receipt = alpha->send(notice());
  REQUIRE_FALSE(receipt);
  CHECK(receipt.error().code == contracts::ErrorCode::kProtocol);
  CHECK_THAT(receipt.error().detail, Contains("signature"));
}

TEST_CASE("a running broker signs checkpoints and keten log verify passes on its store", "[integration][audit]") {
  BrokerHarness h;
  auto key = played_and_stopped(h);  // the final checkpoint covers everything
  const auto store_path = h.options().store;
  auto data = read_data(store_path);
  REQUIRE_FALSE(data.checkpoints.empty());
  CHECK(data.checkpoints.back().log_seq == data.rows.back().seq);
  CHECK(data.rows.front().event == "started");
  CHECK_THAT(data.rows.front().detail, Contains("config_digest") && Contains("contracts_digest"));

  auto result = run({test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key",
                     key.public_hex});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Contains("intact") && Contains("up to seq " + std::to_string(data.rows.back().seq)));
  // The verification itself is recorded, chained, after the signed head.
  auto after = read_data(store_path);
  REQUIRE(after.rows.size() == data.rows.size() + 1);
  CHECK(after.rows.back().event == "log_read");
  CHECK_THAT(after.rows.back().detail, Contains("keten log verify"));
  CHECK(broker::audit::verify_log(after, {key.public_hex}).ok);

  SECTION("a restarted broker records whether config and contracts changed") {
    h.start();  // the harness now binds the port the first run got instead of `*`: a change
    h.stop();
    h.start();  // same again: no change
    h.stop();
    auto restarted = read_data(store_path);
    std::vector<std::string> started;
    for (const auto& row : restarted.rows) {
      if (row.event == "started") started.push_back(row.detail);
    }
    REQUIRE(started.size() == 3);
    CHECK_THAT(started[1], Contains("\"config_changed\":true") && Contains("\"contracts_changed\":false"));
    CHECK_THAT(started[2], Contains("\"config_changed\":false") && Contains("\"contracts_changed\":false"));
    CHECK(broker::audit::verify_log(restarted, {key.public_hex}).ok);
    CHECK(restarted.checkpoints.back().log_seq == restarted.rows.back().seq);
  }
}

TEST_CASE("keten log verify names the first bad seq in a tampered store and bundle", "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const auto store_path = h.options().store;
  const auto bundle = h.dir() / "full.jsonl";
  auto exported = run({test_support::keten_binary(), "log", "export", "--store", store_path.string(), "--out",
                       bundle.string()});
  REQUIRE(exported.exit_code == 0);
  auto good = run({test_support::keten_binary(), "log", "verify", "--bundle", bundle.string()});
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);

  SECTION("store: an edited acknowledgement") {
    sql(store_path,
        "DROP TRIGGER handover_log_no_update; UPDATE handover_log SET at = at + 1 WHERE seq = "
        "(SELECT min(seq) FROM handover_log WHERE event = 'acknowledged')");
    const auto first_ack = [&] {
      for (const auto& r : read_data(store_path).rows) {
        if (r.event == "acknowledged") return r.seq;
      }
      return std::uint64_t{0};
    }();
    auto bad = run({test_support::keten_binary(), "log", "verify", "--store", store_path.string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.out, Contains("first bad seq " + std::to_string(first_ack)));
  }
  SECTION("bundle: a deleted row") {
    std::istringstream in(read_file(bundle));
    std::string text;
    int entries = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find("\"type\":\"entry\"") != std::string::npos && ++entries == 3) continue;  // seq 3 gone
      if (line.find("\"type\":\"end\"") != std::string::npos) {
        auto end = nlohmann::json::parse(line);  // a careful forger fixes the counts too
        end["entries"] = end["entries"].get<int>() - 1;
        line = end.dump();
      }
      text += line + "\n";
    }
    std::ofstream(bundle, std::ios::trunc) << text;
    auto bad = run({test_support::keten_binary(), "log", "verify", "--bundle", bundle.string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.out, Contains("NOT INTACT") && Contains("first bad seq 3"));
  }
}

TEST_CASE("keten log replay writes an HTML timeline that headless chromium renders with every event",
          "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const auto store_path = h.options().store;
  const auto bundle = h.dir() / "case.jsonl";
  REQUIRE(run({test_support::keten_binary(), "log", "export", "--store", store_path.string(), "--out", bundle.string(),
               "--case", kCase})
              .exit_code == 0);
  CHECK_THAT(read_file(bundle), !Contains("9990099999"));
  const auto html = h.dir() / "case.html";
  auto replay = run({test_support::keten_binary(), "log", "replay", "--bundle", bundle.string(), "--case", kCase,
                     "--format", "html", "--out", html.string()});
  INFO(replay.out << replay.err);
  REQUIRE(replay.exit_code == 0);

  std::vector<std::uint64_t> case_seqs;
  for (const auto& r : read_data(store_path).rows) {
    if (r.case_ref == kCase && r.event != "log_read") case_seqs.push_back(r.seq);
  }
  REQUIRE(case_seqs.size() >= 12);  // 2 x (received, accepted, 2 routed, 2 delivered, 2 acknowledged)

  auto rendered = test_support::chromium_dom(html.string());
  INFO(rendered.err);
  REQUIRE(rendered.exit_code == 0);
  CHECK_THAT(rendered.out, Contains("id=\"verification\"") && Contains("log intact"));
  for (auto seq : case_seqs) CHECK_THAT(rendered.out, Contains("data-seq=\"" + std::to_string(seq) + "\""));
  CHECK_THAT(rendered.out, Contains("BRAVO acknowledged test.notice") && Contains("CHARLIE"));
}

TEST_CASE("keten log replay answers what a partner had received as of a moment", "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  auto replay = run({test_support::keten_binary(), "log", "replay", "--store", h.options().store.string(), "--case",
                     kCase, "--partner", "CHARLIE", "--format", "json"});
  INFO(replay.err);
  REQUIRE(replay.exit_code == 0);
  // CHARLIE never connected: two messages were routed to it, none delivered.
  CHECK_THAT(replay.out, Contains("\"received\": []"));
  replay = run({test_support::keten_binary(), "log", "replay", "--store", h.options().store.string(), "--case", kCase,
                "--partner", "BRAVO", "--as-of", "2000-01-01T00:00:00Z"});
  REQUIRE(replay.exit_code == 0);
  CHECK_THAT(replay.out, Contains("BRAVO had received 0 message(s)"));
  replay = run({test_support::keten_binary(), "log", "replay", "--store", h.options().store.string(), "--case", kCase,
                "--partner", "BRAVO"});
  REQUIRE(replay.exit_code == 0);
  CHECK_THAT(replay.out, Contains("BRAVO had received 2 message(s)"));
  CHECK_THAT(replay.out, !Contains("NOT acknowledged"));
}

TEST_CASE("replay --into a second broker yields the same accepted messages, linked to the originals",
          "[integration][audit]") {
  BrokerHarness source;
  auto key = sign_with(source);
  source.start();
  const auto originals = play_case(source, key.public_hex);
  source.stop();

  BrokerHarness target;
  target.start();
  write_profiles(target, target.dir() / "profiles", {"ALPHA", "BRAVO", "CHARLIE"});
  auto replay = run({test_support::keten_binary(), "log", "replay", "--store", source.options().store.string(), "--case",
                     kCase, "--into", (target.dir() / "profiles").string()});
  INFO(replay.out << replay.err);
  REQUIRE(replay.exit_code == 0);
  auto resend = run({test_support::keten_binary(), "log", "resend", "--store", source.options().store.string(),
                     "--message", originals[0], "--to", "CHARLIE", "--into", (target.dir() / "profiles").string()});
  INFO(resend.out << resend.err);
  REQUIRE(resend.exit_code == 0);
  target.stop();

  broker::store::StoreOptions o;
  o.path = target.options().store;
  o.read_only = true;
  auto target_store = broker::store::SqliteStore::open(o);
  REQUIRE(target_store);
  auto source_data = read_data(source.options().store);
  std::vector<broker::audit::LogRecord> source_accepted, target_accepted;
  for (const auto& r : source_data.rows) {
    if (r.event == "accepted" && r.case_ref == kCase) source_accepted.push_back(r);
  }
  for (const auto& r : read_data(target.options().store).rows) {
    if (r.event == "accepted") target_accepted.push_back(r);
  }
  REQUIRE(source_accepted.size() == 2);
  REQUIRE(target_accepted.size() == 3);  // the replayed two, then the operator's resend
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& original = source_accepted[i < 2 ? i : 0];
    const auto& copy = target_accepted[i];
    CHECK(copy.contract == original.contract);
    CHECK(copy.case_ref == original.case_ref);
    CHECK(copy.sender == original.sender);
    CHECK(copy.payload_digest == original.payload_digest);
    CHECK(copy.message_id != original.message_id);
    CHECK_THAT(copy.detail, Contains("\"origin\":\"resend:" + original.message_id + "\""));
    auto message = target_store->find_message_content(copy.message_id);
    REQUIRE(message);
    REQUIRE(message->has_value());
    CHECK((*message)->header.origin == "resend:" + original.message_id);
  }
  CHECK_THAT(target_accepted[2].detail, Contains("\"recipients\":[\"CHARLIE\"]"));
  // The source log says what was re-sent where, and still verifies.
  std::size_t resent = 0;
  for (const auto& r : source_data.rows) resent += r.event == "resent" ? 1 : 0;
  CHECK(resent == 3);
  CHECK(broker::audit::verify_log(source_data, {key.public_hex}).ok);
}

TEST_CASE("keten log replay --fast gives the case's timeline from the case index, saying what it checked",
          "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const std::string store = h.options().store.string();
  auto full = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "json"});
  auto fast = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "json", "--fast"});
  INFO(full.err << fast.err);
  REQUIRE(full.exit_code == 0);
  REQUIRE(fast.exit_code == 0);
  const auto full_json = nlohmann::json::parse(full.out);
  const auto fast_json = nlohmann::json::parse(fast.out);
  CHECK(full_json["verification"]["scope"] == "chain");
  CHECK(fast_json["verification"]["scope"] == "rows");
  CHECK(fast_json["verification"]["ok"] == true);
  REQUIRE(fast_json["events"].size() > 0);
  // The same rows in the same order, plus the log_read row the first replay recorded about the case;
  // the full replay also shows the broker start in effect (a row of no case, which --fast does not read).
  auto fast_events = fast_json["events"];
  auto full_events = nlohmann::json::array();
  for (const auto& e : full_json["events"]) {
    if (e["event"] != "started") full_events.push_back(e);
  }
  CHECK(full_events.size() + 1 == full_json["events"].size());
  REQUIRE(fast_events.size() == full_events.size() + 1);
  CHECK(fast_events.back()["event"] == "log_read");
  fast_events.erase(fast_events.end() - 1);
  CHECK(fast_events == full_events);
  auto text = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--fast"});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("case rows intact") && Contains("keten log verify"));

  // A row of the case altered in the file: the fast replay finds it too, and exits 1.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(store.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const std::string tamper = "DROP TRIGGER handover_log_no_update; UPDATE handover_log SET at = at + 1 WHERE seq = "
                             "(SELECT min(seq) FROM handover_log WHERE case_ref = '" + std::string(kCase) + "' AND event = 'accepted')";
  CHECK(sqlite3_exec(raw, tamper.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto tampered = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--fast"});
  CHECK(tampered.exit_code == 1);
  CHECK_THAT(tampered.out, Contains("LOG NOT INTACT"));
  auto bundle_fast = run({test_support::keten_binary(), "log", "replay", "--bundle", store, "--case", kCase, "--fast"});
  CHECK(bundle_fast.exit_code == 2);
  CHECK_THAT(bundle_fast.err, Contains("--fast needs --store"));
}
