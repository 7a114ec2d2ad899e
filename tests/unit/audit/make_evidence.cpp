// audit_make_evidence DIR: writes a small v2 log's evidence (v2_log.h: 10 messages, 51 events, a
// checkpoint per commit) for the CLI tests and the independent Python verifier
// (tests/integration/tlog_verify.py --case-bundle), and one tampered copy per way of cheating:
//   vkey                      the verifier key, one line
//   public_key                the same key's Ed25519 public key in hex, one line (receipt files)
//   log.bundle                the whole log (v2 bundle)
//   case.bundle               case 9990022222 (15 events) with proofs against the latest checkpoint
//   receipts/                 the producer's receipt file of each message
//   log-edited.bundle         seq 13 edited (a valid event)
//   log-deleted.bundle        the line of seq 13 removed
//   log-truncated.bundle      events and checkpoints cut back to the checkpoint of 11 events
//   log-appended.bundle       one event after the last checkpoint
//   log-tail-cut.bundle       that unsigned event's line removed again (the counts say 52)
//   log-resigned.bundle       seq 13 edited and every checkpoint re-signed by another key, same name
//   receipts-forged/          receipt 3 claiming another message id under the broker's signature
//   case-edited.bundle        the case's seq 8 edited
//   case-proof-bit.bundle     one bit of the proof hash table flipped
//   case-resigned.bundle      the checkpoint re-signed by another key under the same name
//   case-wrong-size.bundle    the checkpoint (and header) of an older, smaller tree: proofs for the wrong size
//   case-other-case.bundle    an event of another case with its own valid proof
//   case-garbage.bundle       a garbage line
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "broker/audit/bundle_v2.h"
#include "broker/audit/log_proofs.h"
#include "broker/audit/receipt_file.h"
#include "broker/events/codec.h"
#include "broker/tlog/base64.h"
#include "tests/unit/audit/v2_log.h"

namespace {

namespace fs = std::filesystem;

template <class T>
T must(contracts::Result<T> r) {
  if (!r) {
    std::cerr << "audit_make_evidence: " << r.error().detail << "\n";
    std::exit(2);
  }
  return std::move(*r);
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    std::cerr << "audit_make_evidence: cannot write " << path << "\n";
    std::exit(2);
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  if (at == std::string::npos) {
    std::cerr << "audit_make_evidence: '" << from.substr(0, 40) << "' not found\n";
    std::exit(2);
  }
  return text.replace(at, from.size(), to);
}

void edit(broker::audit::MemoryLogSource& source, std::size_t index) {
  auto event = must(broker::events::decode_event(source.entries()[index].bytes));
  event.recipient = "NOBODY";
  source.entries()[index].bytes = broker::events::encode_event(event);
}

void resign_all(broker::audit::MemoryLogSource& source, const broker::tlog::NoteSigner& key) {
  broker::tlog::MemoryTree tree;
  for (const auto& e : source.entries()) tree.append(e.bytes);
  for (auto& note : source.checkpoints()) {
    auto cp = must(broker::audit::peek_checkpoint(note));
    note = must(broker::tlog::sign_checkpoint({key.name, cp.size, must(tree.root_at(cp.size)), {}}, key));
  }
}

std::string log_bundle(const broker::audit::MemoryLogSource& source, const std::string& vkey) {
  return must(broker::audit::write_log_bundle(source, v2_test::kT0, vkey));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: audit_make_evidence DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir / "receipts");
  fs::create_directories(dir / "receipts-forged");
  const auto key = v2_test::signer();
  const auto other = v2_test::signer('\x43');
  const std::string vkey = broker::tlog::format_verifier_key(key.verifier);
  write(dir / "vkey", vkey + "\n");
  write(dir / "public_key",
        broker::audit::to_hex(std::string_view(reinterpret_cast<const char*>(key.verifier.public_key.data()),
                                               key.verifier.public_key.size())) +
            "\n");

  const auto log = v2_test::make_log(10);
  write(dir / "log.bundle", log_bundle(log.source, vkey));
  for (const auto& r : log.receipts) write(dir / "receipts" / r.name, broker::audit::format_receipt_file(r.receipt, r.checkpoint));
  {
    auto forged = log.receipts[3];
    forged.receipt.message_id = "m-forged";
    write(dir / "receipts-forged" / forged.name, broker::audit::format_receipt_file(forged.receipt, forged.checkpoint));
  }
  {
    auto s = v2_test::make_log(10).source;
    edit(s, 12);
    write(dir / "log-edited.bundle", log_bundle(s, vkey));
    resign_all(s, other);
    write(dir / "log-resigned.bundle", log_bundle(s, vkey));
  }
  {
    auto lines = lines_of(log_bundle(log.source, vkey));
    lines.erase(lines.begin() + 1 + 31 + 12);  // header, 31 checkpoints, seq 1..12, then seq 13
    write(dir / "log-deleted.bundle", join(lines));
  }
  {
    auto s = v2_test::make_log(10).source;
    s.entries().resize(11);
    s.checkpoints().resize(7);  // sizes 1, 4, 5, 6, 9, 10, 11
    write(dir / "log-truncated.bundle", log_bundle(s, vkey));
  }
  {
    auto s = v2_test::make_log(10).source;
    s.entries().push_back({52, s.entries()[10].bytes});
    write(dir / "log-appended.bundle", log_bundle(s, vkey));
    auto lines = lines_of(log_bundle(s, vkey));
    lines.erase(lines.end() - 2);  // the line of seq 52, before the end line
    write(dir / "log-tail-cut.bundle", join(lines));
  }

  const std::string case_ref = v2_test::kCases[1];
  const auto nodes = *log.source.node_reader();
  const std::string good = must(broker::audit::write_case_bundle(log.source, case_ref, nodes, v2_test::kT0, vkey)).text;
  write(dir / "case.bundle", good);
  const auto bundle = must(broker::audit::read_bundle_v2(good));
  {
    // events[0] is the broker's start (seq 1), events[1] the case's seq 7.
    auto event = must(broker::events::decode_event(bundle.events[2].bytes));  // seq 8
    event.recipient = "NOBODY";
    write(dir / "case-edited.bundle", replace(good, broker::tlog::to_base64(bundle.events[2].bytes),
                                              broker::tlog::to_base64(broker::events::encode_event(event))));
  }
  {
    auto lines = lines_of(good);
    std::string table;
    for (const auto& h : bundle.hashes) table.append(reinterpret_cast<const char*>(h.data()), h.size());
    const std::string old_table = broker::tlog::to_base64(table);
    table[5 * 32 + 3] ^= 0x01;  // one bit of the sixth hash
    write(dir / "case-proof-bit.bundle", replace(good, old_table, broker::tlog::to_base64(table)));
  }
  {
    const auto cp = must(broker::audit::peek_checkpoint(bundle.checkpoints.front()));
    const auto note = must(broker::tlog::sign_checkpoint(cp, other));
    auto lines = lines_of(good);
    lines[1] = "{\"note\":" + nlohmann::json(note).dump() + ",\"type\":\"checkpoint\"}";
    write(dir / "case-resigned.bundle", join(lines));
  }
  {
    // The checkpoint of 49 events (genuine, signed by the log's key) in place of the one of 51.
    const std::string older = log.source.checkpoints()[log.source.checkpoints().size() - 3];
    auto lines = lines_of(good);
    lines[0] = replace(lines[0], "\"tree_size\":51", "\"tree_size\":49");
    lines[1] = "{\"note\":" + nlohmann::json(older).dump() + ",\"type\":\"checkpoint\"}";
    write(dir / "case-wrong-size.bundle", join(lines));
  }
  {
    // Seq 2 of case 9990012345 with a valid proof, in place of seq 7 of this case.
    const std::string other_case = must(broker::audit::write_case_bundle(log.source, v2_test::kCases[0], nodes, v2_test::kT0, vkey)).text;
    const auto other_bundle = must(broker::audit::read_bundle_v2(other_case));
    auto lines = lines_of(good);
    // Same tree, so the other case's hash table differs: rebuild this event's proof from the
    // other table by appending its hashes to this table.
    std::string table;
    for (const auto& h : bundle.hashes) table.append(reinterpret_cast<const char*>(h.data()), h.size());
    const std::string old_table = broker::tlog::to_base64(table);
    nlohmann::json refs = nlohmann::json::array();
    for (auto ref : other_bundle.events[1].proof) {
      refs.push_back(table.size() / 32);
      const auto& h = other_bundle.hashes[ref];
      table.append(reinterpret_cast<const char*>(h.data()), h.size());
    }
    lines[2] = replace(lines[2], old_table, broker::tlog::to_base64(table));
    lines[4] = nlohmann::json{{"type", "event"}, {"seq", other_bundle.events[1].seq},
                              {"event", broker::tlog::to_base64(other_bundle.events[1].bytes)}, {"proof", refs}}.dump();
    write(dir / "case-other-case.bundle", join(lines));
  }
  {
    auto lines = lines_of(good);
    lines.insert(lines.begin() + 4, "this is not JSON");
    write(dir / "case-garbage.bundle", join(lines));
  }
  std::cout << "audit_make_evidence: wrote " << dir << "\n";
  return 0;
}
