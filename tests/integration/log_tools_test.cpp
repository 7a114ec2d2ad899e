// The handover log end to end: signed receipts checked by the SDK, tree checkpoints signed by a
// running broker's store, and the inspector's `keten log` commands run as the built binary on a
// real store (and on one as an older broker left it, with schema-4 checkpoints as well).
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "broker/audit/hash_chain.h"
#include "broker/audit/log_proofs.h"
#include "broker/audit/receipt_file.h"
#include "broker/audit/signing.h"
#include "broker/events/codec.h"
#include "broker/store/event_block.h"
#include "broker/store/sqlite_store.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/receipt_signature.h"
#include "contracts/digest.h"
#include "tests/support/broker_harness.h"
#include "tests/support/log_tamper.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using contracts::ReceiptStatus;
using test_support::BrokerHarness;
using test_support::notice;
using test_support::rewrite_event;
using test_support::run;

const std::string kCase = "9990012345";

// A broker with a signing key that looks for events to sign every 100 ms (its own are signed at
// every commit).
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
  // BRAVO did not ask for AckReceipts (Credit.ack_receipts): none came before that receipt.
  CHECK(bravo.take_ack_receipts().empty());
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

// The tree checkpoints of a store (oldest first), its tree size, and how many schema-4 checkpoints
// it holds.
struct Signed {
  std::vector<std::string> notes;
  std::uint64_t tree_size = 0;
  std::size_t schema4_checkpoints = 0;
};

Signed read_signed(const std::filesystem::path& store_path) {
  broker::store::StoreOptions o;
  o.path = store_path;
  o.read_only = true;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  auto notes = store->read_tree_checkpoints();
  REQUIRE(notes);
  auto schema4 = store->read_checkpoints();
  REQUIRE(schema4);
  return {std::move(*notes), store->tree_size(), schema4->size()};
}

// The checkpoint in `note`, opened with the broker's public key (hex); fails the test otherwise.
broker::tlog::Checkpoint open_note(const std::string& note, const std::string& public_hex) {
  std::string raw;
  REQUIRE(broker::audit::from_hex(public_hex, raw));
  broker::tlog::PublicKey key{};
  REQUIRE(raw.size() == key.size());
  std::copy(raw.begin(), raw.end(), key.begin());
  auto cp = broker::tlog::open_checkpoint_by_key(note, key);
  INFO(note);
  REQUIRE(cp);
  return *cp;
}

// The store as an older broker left it (before issue #18): that broker also signed schema-4 checkpoints of
// the hash chain's head (in a transaction of their own, as Broker::checkpoint did), here one over
// the whole log.
void add_schema4_checkpoint(const std::filesystem::path& store_path, const broker::audit::SigningKey& key) {
  broker::store::StoreOptions o;
  o.path = store_path;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  REQUIRE(store->begin());
  auto head = store->legacy_log_head();
  REQUIRE(head);
  REQUIRE(
      store->append_checkpoint(broker::audit::sign_checkpoint(key, head->seq, head->hash, contracts::now_millis())));
  REQUIRE(store->commit());
}

// Whether the tree check's finding in `out` (`NOT INTACT: first bad event seq N` or `... in seq
// A..B`, the block the signed checkpoints narrow it to) names event `seq`.
bool names_bad_event(const std::string& out, std::uint64_t seq) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(NOT INTACT: first bad event (?:seq (\d+)|in seq (\d+)\.\.(\d+)))"))) {
    return false;
  }
  if (m[1].matched) return std::stoull(m[1]) == seq;
  return std::stoull(m[2]) <= seq && seq <= std::stoull(m[3]);
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

// Re-encodes the first `acknowledged` event of `data` one millisecond later in the store behind
// its back (it still decodes; only the tree shows the edit) and returns its seq.
std::uint64_t edit_first_acknowledgement(const std::filesystem::path& store_path, const broker::audit::LogData& data) {
  std::uint64_t seq = 0;
  for (const auto& r : data.rows) {
    if (r.event == "acknowledged") {
      seq = r.seq;
      break;
    }
  }
  REQUIRE(seq > 0);
  rewrite_event(store_path, seq, [](broker::events::Event e) {
    e.at += 1;
    return broker::events::encode_event(e);
  });
  return seq;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

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

TEST_CASE(
    "a running broker's store signs tree checkpoints, the broker no schema-4 ones, and keten log verify "
    "checks the tree",
    "[integration][audit]") {
  BrokerHarness h;
  auto key = played_and_stopped(h);  // every commit signed, the last one covers everything
  const auto store_path = h.options().store;
  auto data = read_data(store_path);
  CHECK(data.rows.front().event == "started");
  CHECK_THAT(data.rows.front().detail, Contains("config_digest") && Contains("contracts_digest"));
  const auto events = std::to_string(data.rows.size());
  {
    const auto signed_log = read_signed(store_path);
    CHECK(signed_log.schema4_checkpoints == 0);  // issue #18: the broker signs only the tree
    REQUIRE_FALSE(signed_log.notes.empty());
    CHECK(signed_log.tree_size == data.rows.size());
    CHECK(open_note(signed_log.notes.back(), key.public_hex).size == signed_log.tree_size);
  }

  auto result = run(
      {test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key", key.public_hex});
  INFO(result.out << result.err);
  CHECK(result.exit_code == 0);
  // Only the tree's check: no schema-4 checkpoints, so no hash-chain line before it.
  CHECK_THAT(result.out, Contains("intact: " + events + " events, root ") &&
                             Contains("the latest covers seq 1.." + events) && Contains("signed by keten/") &&
                             !Contains("rows, seq") && !Contains("Merkle tree:"));
  // The verification itself is recorded after the signed tree: a tool's event the broker signs
  // at its next checkpoint or start, which verify notes (and it verifies).
  auto after = read_data(store_path);
  REQUIRE(after.rows.size() == data.rows.size() + 1);
  CHECK(after.rows.back().event == "log_read");
  CHECK_THAT(after.rows.back().detail, Contains("keten log verify"));
  auto again = run(
      {test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key", key.public_hex});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out,
             Contains("intact: " + std::to_string(after.rows.size()) + " events, root ") &&
                 Contains("the latest covers seq 1.." + events) &&
                 Contains("the last 1 event(s) are reads or resends tools recorded after the latest checkpoint"));

  SECTION("a restarted broker signs the tools' events and records whether config and contracts changed") {
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
    const auto signed_log = read_signed(store_path);
    CHECK(signed_log.schema4_checkpoints == 0);
    CHECK(signed_log.tree_size == restarted.rows.size());
    CHECK(open_note(signed_log.notes.back(), key.public_hex).size == signed_log.tree_size);
    auto verified = run({test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key",
                         key.public_hex});
    INFO(verified.out << verified.err);
    CHECK(verified.exit_code == 0);
    CHECK_THAT(verified.out, Contains("intact: " + std::to_string(restarted.rows.size()) + " events, root ") &&
                                 Contains("the latest covers seq 1.." + std::to_string(restarted.rows.size())) &&
                                 !Contains("reads or resends tools recorded"));
  }
}

TEST_CASE("a running broker signs, within its checkpoint interval, the events a tool appended meanwhile",
          "[integration][audit]") {
  BrokerHarness h;
  auto key = sign_with(h);
  h.start();
  play_case(h, key.public_hex);
  const auto store_path = h.options().store;
  // While the broker runs: the tool's log_read goes into the store after the broker's last commit.
  auto verified = run(
      {test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key", key.public_hex});
  INFO(verified.out << verified.err);
  REQUIRE(verified.exit_code == 0);
  Signed signed_log;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    std::this_thread::sleep_for(100ms);
    signed_log = read_signed(store_path);
  } while (
      (signed_log.notes.empty() || open_note(signed_log.notes.back(), key.public_hex).size < signed_log.tree_size) &&
      std::chrono::steady_clock::now() < deadline);
  const auto data = read_data(store_path);
  REQUIRE(data.rows.back().event == "log_read");
  REQUIRE_FALSE(signed_log.notes.empty());
  CHECK(open_note(signed_log.notes.back(), key.public_hex).size == data.rows.size());
  CHECK(signed_log.schema4_checkpoints == 0);
  h.stop();
  auto stopped = run(
      {test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key", key.public_hex});
  INFO(stopped.out << stopped.err);
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.out, Contains("intact: ") && !Contains("reads or resends tools recorded"));
}

TEST_CASE("a store an older broker left with schema-4 checkpoints gets the hash chain's check and the tree's",
          "[integration][audit]") {
  BrokerHarness h;
  auto key = played_and_stopped(h);
  const auto store_path = h.options().store;
  add_schema4_checkpoint(store_path, key);
  const auto data = read_data(store_path);
  REQUIRE(data.checkpoints.size() == 1);
  const auto seqs = std::to_string(data.rows.size());

  auto verified = run(
      {test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key", key.public_hex});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK_THAT(verified.out,
             Contains("intact: " + seqs + " rows, seq 1.." + seqs + ", head " + data.rows.back().hash) &&
                 Contains("1 checkpoint(s), signed by broker key " + key.public_hex + ", up to seq " + seqs) &&
                 Contains("Merkle tree: intact: " + seqs + " events, root "));

  const auto copy = h.dir() / "backup.db";
  auto backup = run({test_support::keten_binary(), "store", "backup", "--store", store_path.string(), "--to",
                     copy.string(), "--signing-key", key.public_hex});
  INFO(backup.out << backup.err);
  CHECK(backup.exit_code == 0);
  // The copy was taken after verify's log_read: one event more than the chain's checkpoint signed.
  const auto in_copy = std::to_string(data.rows.size() + 1);
  CHECK_THAT(backup.out, Contains("hash chain intact: seq 1.." + in_copy) &&
                             Contains("1 checkpoint(s), signed up to seq " + seqs) &&
                             Contains("Merkle tree: intact: " + in_copy + " events, root "));

  SECTION("an edited acknowledgement fails both checks") {
    // The store keeps no hash per event (schema 5): the row verifier rechains the events and finds
    // the first signed schema-4 checkpoint the edit breaks, at or after the edited event; the
    // Merkle tree's check names the event (or its block).
    const auto first_ack = edit_first_acknowledgement(store_path, data);
    auto bad = run({test_support::keten_binary(), "log", "verify", "--store", store_path.string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.out, Contains("NOT INTACT: first bad seq " + seqs) && Contains("Merkle tree: NOT INTACT: "));
    CHECK(names_bad_event(bad.out, first_ack));
  }
}

TEST_CASE("keten log verify names the first bad seq in a tampered store and bundle", "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const auto store_path = h.options().store;
  const auto bundle = h.dir() / "full.jsonl";
  auto exported = run({test_support::keten_binary(), "log", "export", "--store", store_path.string(), "--chain",
                       "--out", bundle.string()});
  REQUIRE(exported.exit_code == 0);
  auto good = run({test_support::keten_binary(), "log", "verify", "--bundle", bundle.string()});
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);

  SECTION("store: an edited acknowledgement") {
    // The broker signed no schema-4 checkpoints, so only the Merkle tree is checked: it names the
    // edited event, or the block of it the signed checkpoints narrow it to. (A store with schema-4
    // checkpoints: the test above.) The broker refuses the store too.
    const auto data = read_data(store_path);
    const auto first_ack = edit_first_acknowledgement(store_path, data);
    auto bad = run({test_support::keten_binary(), "log", "verify", "--store", store_path.string()});
    INFO(bad.out << bad.err);
    CHECK(bad.exit_code == 1);
    CHECK_THAT(bad.out, StartsWith("NOT INTACT: first bad event ") && !Contains("rows, seq"));
    CHECK(names_bad_event(bad.out, first_ack));
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

// The checkpoint a receipt carries, opened with the broker's public key (hex).
contracts::Result<broker::tlog::Checkpoint> receipt_checkpoint(const contracts::Receipt& receipt,
                                                               const std::string& public_hex) {
  std::string raw;
  REQUIRE(broker::audit::from_hex(public_hex, raw));
  broker::tlog::PublicKey key{};
  std::copy(raw.begin(), raw.end(), key.begin());
  return broker::tlog::open_checkpoint_by_key(receipt.checkpoint, key);
}

TEST_CASE(
    "the SDK verifies signed receipts; each accepted or duplicate one carries a checkpoint signed at its "
    "commit that holds its event",
    "[integration][audit]") {
  BrokerHarness h;
  auto key = sign_with(h);
  h.start();
  auto alpha = partner::Client::connect(signed_profile(h, "ALPHA", key.public_hex));
  REQUIRE(alpha);
  auto submit = notice();
  auto receipt = alpha->send(submit);
  REQUIRE(receipt);
  REQUIRE(receipt->status == ReceiptStatus::kAccepted);
  CHECK(receipt->signature.size() == 64);
  CHECK(receipt->payload_digest == contracts::sha256_hex(submit.payload));
  CHECK(broker::tlog::verify_receipt_signature(*receipt, key.public_hex));
  auto checkpoint = receipt_checkpoint(*receipt, key.public_hex);
  INFO(receipt->checkpoint);
  REQUIRE(checkpoint);
  CHECK(checkpoint->size >= receipt->log_seq);

  // Several messages answered in one ReceiptBatch: each receipt has the note of its commit.
  std::vector<contracts::Submit> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(notice());
  std::vector<contracts::Result<contracts::Receipt>> answers;
  for (const auto& m : batch) {
    REQUIRE(alpha->submit_async(
        m, [&answers](contracts::Result<contracts::Receipt> r) { answers.push_back(std::move(r)); }));
  }
  REQUIRE(alpha->flush(10s));
  REQUIRE(answers.size() == batch.size());
  // The receipts a commit answers share one signature over the tree of them (version 2): the
  // queued messages went out together, so some commit answered several.
  std::uint32_t most_signed_together = 0;
  for (const auto& a : answers) {
    REQUIRE(a);
    CHECK(broker::tlog::verify_receipt_signature(*a, key.public_hex));
    most_signed_together = std::max(most_signed_together, a->signed_count);
    auto cp = receipt_checkpoint(*a, key.public_hex);
    REQUIRE(cp);
    CHECK(cp->size >= a->log_seq);
    CHECK(cp->size > checkpoint->size);  // a later commit, a larger tree
  }
  CHECK(most_signed_together > 1);

  // A duplicate is signed over the first acceptance; its checkpoint is the newest one, whose tree
  // still holds that acceptance.
  auto again = alpha->send(submit);
  REQUIRE(again);
  CHECK(again->status == ReceiptStatus::kDuplicate);
  CHECK(again->log_seq == receipt->log_seq);
  CHECK(broker::tlog::verify_receipt_signature(*again, key.public_hex));
  auto later = receipt_checkpoint(*again, key.public_hex);
  REQUIRE(later);
  CHECK(later->size > checkpoint->size);
  CHECK(later->size >= again->log_seq);

  // A rejection has no event to anchor.
  auto bad = notice();
  bad.payload = "{}";
  auto rejected = alpha->send(bad);
  REQUIRE(rejected);
  CHECK(rejected->status == ReceiptStatus::kRejected);
  CHECK(rejected->checkpoint.empty());
}

TEST_CASE("a broker without a signing key sends receipts without a checkpoint, and keten send --receipts says so",
          "[integration][audit]") {
  BrokerHarness h;
  h.start();
  auto alpha = h.client("ALPHA");
  auto receipt = alpha.send(notice());
  REQUIRE(receipt);
  CHECK(receipt->status == ReceiptStatus::kAccepted);
  CHECK(receipt->checkpoint.empty());

  test_support::write_profiles(h, h.dir() / "profiles", {"ALPHA"});
  const auto payload = h.dir() / "notice.json";
  std::ofstream(payload) << notice().payload;
  const auto kept = h.dir() / "kept";
  auto sent = run({test_support::keten_binary(), "send", "--profile", (h.dir() / "profiles" / "ALPHA.toml").string(),
                   "--contract", "test.notice", "--case", kCase, "--receipts", kept.string(), payload.string()});
  INFO(sent.out << sent.err);
  CHECK(sent.exit_code == 1);
  CHECK_THAT(sent.out, Contains("\"status\":\"accepted\""));
  CHECK_THAT(sent.err, Contains("without a checkpoint") && Contains("no receipt file kept"));
  CHECK(std::filesystem::is_empty(kept));
}

TEST_CASE("receipts kept with keten send --receipts expose a store truncated back to a consistent checkpoint",
          "[integration][audit]") {
  BrokerHarness h;
  auto key = sign_with(h);
  h.start();
  const auto profile = h.dir() / "ALPHA.toml";
  std::ofstream(profile) << "broker = \"" << h.endpoint() << "\"\nbroker_public_key = \"" << h.broker_keys().public_key
                         << "\"\npartner = \"ALPHA\"\nsecret_key = \"" << h.keys("ALPHA").secret_key
                         << "\"\nbroker_signing_key = \"" << key.public_hex << "\"\n";
  const auto payload = h.dir() / "notice.json";
  std::ofstream(payload) << notice().payload;
  const auto kept = h.dir() / "kept";
  // Three runs, three commits: each receipt's checkpoint is a later tree than the one before.
  std::vector<std::string> ids;
  for (const char* id : {"anchor/1", "anchor-2", "anchor-3"}) {
    auto sent = run({test_support::keten_binary(), "send", "--profile", profile.string(), "--contract", "test.notice",
                     "--case", kCase, "--id", id, "--receipts", kept.string(), payload.string()});
    INFO(sent.out << sent.err);
    REQUIRE(sent.exit_code == 0);
    auto line = nlohmann::json::parse(sent.out);
    CHECK(line["signature_verified"] == true);
    CHECK_THAT(line["checkpoint"].get<std::string>(), Contains("\n\n— keten/"));
    ids.push_back(id);
  }
  h.stop();
  // One file per message, named after its id ('/' is not a file name's).
  REQUIRE(std::filesystem::exists(kept / "anchor_1.json"));
  REQUIRE(std::filesystem::exists(kept / "anchor-3.json"));
  auto last = broker::audit::parse_receipt_file(read_file(kept / "anchor-3.json"), "anchor-3.json");
  REQUIRE(last);
  CHECK(last->receipt.message_id == "anchor-3");

  const auto store_path = h.options().store;
  auto verify = [&] {
    return run({test_support::keten_binary(), "log", "verify", "--store", store_path.string(), "--signing-key",
                key.public_hex, "--receipts", kept.string()});
  };
  auto good = verify();
  INFO(good.out << good.err);
  REQUIRE(good.exit_code == 0);

  // The independent verifier (tlog_verify.py, written from docs/handover-log-format.md) checks
  // each kept receipt against the broker's public key; one with its seq changed fails.
  const auto public_key = h.dir() / "broker.sign.public";
  std::ofstream(public_key) << key.public_hex << "\n";
  const std::string python_verifier = std::string(KETEN_SOURCE_DIR) + "/tests/integration/tlog_verify.py";
  for (const char* file : {"anchor_1.json", "anchor-2.json", "anchor-3.json"}) {
    auto checked = run({"/usr/bin/python3", python_verifier, "--receipt", (kept / file).string(), public_key.string()});
    INFO(file << ": " << checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    // Version 3: the commit's checkpoint signs the receipts' tree (handover-log-format.md §5).
    CHECK_THAT(checked.out, StartsWith("ok: receipt ") && Contains("signed as leaf 0 of 1 by its checkpoint"));
  }
  auto edited = nlohmann::json::parse(read_file(kept / "anchor-2.json"));
  edited["log_seq"] = edited["log_seq"].get<std::uint64_t>() + 1;
  std::ofstream(h.dir() / "edited.json") << edited.dump() << "\n";
  auto refused =
      run({"/usr/bin/python3", python_verifier, "--receipt", (h.dir() / "edited.json").string(), public_key.string()});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Contains("rejected: receipt anchor-2: its checkpoint names no tree of 1 receipts with the "
                                   "root its path leads to"));

  // The operator cuts the log back to the tree the first receipt's commit signed: every block,
  // case index entry and checkpoint after it goes, so the store agrees with itself again.
  auto first = broker::audit::parse_receipt_file(read_file(kept / "anchor_1.json"), "anchor_1.json");
  REQUIRE(first);
  auto cut = broker::audit::peek_checkpoint(first->checkpoint);
  REQUIRE(cut);
  const auto size = std::to_string(cut->size);
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(store_path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  const std::string sql =
      "DROP TRIGGER log_blocks_no_delete; DROP TRIGGER log_case_blocks_no_delete; "
      "DROP TRIGGER tree_checkpoints_no_delete; DROP TRIGGER checkpoints_no_delete; "
      "DELETE FROM log_blocks WHERE first_seq > " +
      size + "; DELETE FROM log_case_blocks WHERE first_seq > " + size +
      "; DELETE FROM tree_checkpoints WHERE size > " + size + "; DELETE FROM checkpoints WHERE log_seq > " + size + ";";
  char* error = nullptr;
  INFO((error ? error : ""));
  REQUIRE(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &error) == SQLITE_OK);
  db.reset();

  auto bad = verify();
  INFO(bad.out << bad.err);
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.out, Contains("NOT INTACT") && Contains("truncated") && Contains("anchor-3.json"));
}

// Reads frames on `client` until AckReceipts naming `count` deliveries came, or 10 s passed.
std::vector<contracts::AckReceipt> ack_receipts_for(partner::Client& client, std::size_t count) {
  std::vector<contracts::AckReceipt> out;
  std::size_t named = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (named < count && std::chrono::steady_clock::now() < deadline) {
    auto d = client.receive(100ms);
    REQUIRE(d);
    REQUIRE_FALSE(d->has_value());  // nothing more to deliver
    for (auto& r : client.take_ack_receipts()) {
      INFO((r ? std::string() : r.error().detail));
      REQUIRE(r);
      named += r->delivery_ids.size();
      out.push_back(std::move(*r));
    }
  }
  return out;
}

TEST_CASE("a recipient that asks for ack receipts gets each acknowledgement's seq and a checkpoint holding it",
          "[integration][audit]") {
  BrokerHarness h;
  auto key = sign_with(h);
  h.start();
  auto alpha = partner::Client::connect(signed_profile(h, "ALPHA", key.public_hex));
  REQUIRE(alpha);
  for (int i = 0; i < 3; ++i) REQUIRE(alpha->send(notice()));

  partner::ClientOptions wants;
  wants.ack_receipts = true;
  auto bravo = partner::Client::connect(signed_profile(h, "BRAVO", key.public_hex), wants);
  REQUIRE(bravo);
  std::vector<std::uint64_t> ids;
  while (ids.size() < 3) {
    auto d = bravo->receive(5s);
    REQUIRE(d);
    REQUIRE(d->has_value());
    ids.push_back((*d)->delivery_id);
    REQUIRE(bravo->ack(ids.back()));
  }
  auto answers = ack_receipts_for(*bravo, 3);
  std::map<std::uint64_t, std::uint64_t> seq_of;  // delivery id -> its acknowledged event
  for (const auto& a : answers) {
    REQUIRE(a.delivery_ids.size() == a.log_seqs.size());
    auto cp = receipt_checkpoint(
        [&] {
          contracts::Receipt r;
          r.checkpoint = a.checkpoint;
          return r;
        }(),
        key.public_hex);
    REQUIRE(cp);
    for (std::size_t i = 0; i < a.delivery_ids.size(); ++i) {
      CHECK(a.log_seqs[i] > 0);
      CHECK(cp->size >= a.log_seqs[i]);
      seq_of[a.delivery_ids[i]] = a.log_seqs[i];
    }
  }
  REQUIRE(seq_of.size() == 3);

  // Acknowledged again: the answer says nothing new was logged.
  REQUIRE(bravo->ack(ids.front()));
  auto again = ack_receipts_for(*bravo, 1);
  REQUIRE(again.size() == 1);
  CHECK(again[0].delivery_ids == std::vector<std::uint64_t>{ids.front()});
  CHECK(again[0].log_seqs == std::vector<std::uint64_t>{0});
  bravo->close();
  alpha->close();
  h.stop();

  // Each seq is the `acknowledged` event of its delivery.
  const auto data = read_data(h.options().store);
  for (const auto& [delivery_id, seq] : seq_of) {
    REQUIRE(seq <= data.rows.size());
    const auto& row = data.rows[seq - 1];
    CHECK(row.seq == seq);
    CHECK(row.event == "acknowledged");
    CHECK(row.delivery_id == static_cast<std::int64_t>(delivery_id));
  }
}

TEST_CASE("keten log replay writes an HTML timeline that headless chromium renders with every event",
          "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const auto store_path = h.options().store;
  const auto bundle = h.dir() / "case.jsonl";
  REQUIRE(run({test_support::keten_binary(), "log", "export", "--store", store_path.string(), "--chain", "--out",
               bundle.string(), "--case", kCase})
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
  test_support::write_profiles(target, target.dir() / "profiles", {"ALPHA", "BRAVO", "CHARLIE"});
  // With a payload key every payload is sealed (under its case key): reading them needs the key.
  auto replay =
      run({test_support::keten_binary(), "log", "replay", "--store", source.options().store.string(), "--case", kCase,
           "--into", (target.dir() / "profiles").string(), "--payload-key", source.options().payload_key});
  INFO(replay.out << replay.err);
  REQUIRE(replay.exit_code == 0);
  auto resend = run({test_support::keten_binary(), "log", "resend", "--store", source.options().store.string(),
                     "--message", originals[0], "--to", "CHARLIE", "--into", (target.dir() / "profiles").string(),
                     "--payload-key", source.options().payload_key});
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

TEST_CASE("keten log replay proves the case's events and the broker's starts against the latest checkpoint",
          "[integration][audit]") {
  BrokerHarness h;
  played_and_stopped(h);
  const std::string store = h.options().store.string();
  auto proven =
      run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "json"});
  auto fast = run(
      {test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase, "--format", "json", "--fast"});
  INFO(proven.err << fast.err);
  REQUIRE(proven.exit_code == 0);
  REQUIRE(fast.exit_code == 0);
  const auto proven_json = nlohmann::json::parse(proven.out);
  const auto fast_json = nlohmann::json::parse(fast.out);
  CHECK(proven_json["verification"]["scope"] == "proofs");
  CHECK(proven_json["verification"]["ok"] == true);
  CHECK(proven_json["verification"]["signed_up_to"].get<std::uint64_t>() > 0);
  REQUIRE(proven_json["events"].size() > 0);
  // The broker's start comes first (it concerns every case), then the case's own events.
  CHECK(proven_json["events"][0]["event"] == "started");
  for (std::size_t i = 1; i < proven_json["events"].size(); ++i) CHECK(proven_json["events"][i]["event"] != "started");
  // --fast is accepted and changes nothing but the log_read the first replay recorded.
  auto fast_events = fast_json["events"];
  REQUIRE(fast_events.size() == proven_json["events"].size() + 1);
  CHECK(fast_events.back()["event"] == "log_read");
  fast_events.erase(fast_events.end() - 1);
  CHECK(fast_events == proven_json["events"]);
  auto text = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Contains("case events proven: ") && Contains("keten log verify"));

  // An event of the case whose bytes in its block are no longer an event: the replay names
  // it and exits 1. (An event re-encoded with other values still decodes; the rows the store hands
  // out carry no stored hash any more, so only the tree and its checkpoints show that edit:
  // tree_log_test.cpp, and the test above.)
  std::uint64_t accepted_seq = 0;
  for (const auto& e : fast_json["events"]) {
    if (e["event"] == "accepted") {
      accepted_seq = e["seq"].get<std::uint64_t>();
      break;
    }
  }
  REQUIRE(accepted_seq > 0);
  // A copy of the stopped broker's store, for the garbage below.
  const std::string copy = (std::filesystem::path(store).parent_path() / "copy.db").string();
  for (const std::string suffix : {"", "-wal"}) {
    if (std::filesystem::exists(store + suffix)) std::filesystem::copy_file(store + suffix, copy + suffix);
  }
  // An event re-encoded with another value still decodes, but the proofs no longer lead to the
  // signed root: exit 1, not intact. (Every proof whose path holds the edited leaf's subtree
  // fails, so the first failing one can be an earlier event; keten log verify names the edited one.)
  const auto received_seq = proven_json["events"][1]["seq"].get<std::uint64_t>();
  rewrite_event(store, received_seq, [](const broker::events::Event& e) {
    auto changed = e;
    changed.at += 1;
    return broker::events::encode_event(changed);
  });
  auto edited = run({test_support::keten_binary(), "log", "replay", "--store", store, "--case", kCase});
  INFO(edited.out << edited.err);
  CHECK(edited.exit_code == 1);
  CHECK_THAT(edited.out, Contains("LOG NOT INTACT: first bad seq ") && Contains("is not in the tree of"));
  // Bytes that are no event (another length, so the case index's positions no longer match the
  // block and the replay reads the block whole): named as the first bad event, the rest still shown.
  rewrite_event(copy, accepted_seq, [](const broker::events::Event&) { return std::string("not an event"); });
  auto tampered = run({test_support::keten_binary(), "log", "replay", "--store", copy, "--case", kCase, "--fast"});
  INFO(tampered.out << tampered.err);
  CHECK(tampered.exit_code == 1);
  CHECK_THAT(tampered.out, Contains("LOG NOT INTACT: first bad seq " + std::to_string(accepted_seq)) &&
                               Contains("event seq " + std::to_string(accepted_seq) + " is corrupt"));
  auto bundle_fast = run({test_support::keten_binary(), "log", "replay", "--bundle", store, "--case", kCase, "--fast"});
  CHECK(bundle_fast.exit_code == 2);
  CHECK_THAT(bundle_fast.err, Contains("--fast needs --store"));
}
