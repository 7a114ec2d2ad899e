// tlog_make_proofs DIR: writes a small transparency log's evidence for the independent Python
// verifier (tests/integration/tlog_verify.py), in DIR/good and in one tampered copy per way of
// cheating, DIR/tampered-<what>. Each folder holds `checkpoint` (the signed note of the latest
// tree), `vkey` (the verifier key, one line) and `proofs.json`:
//   {"leaves": [base64 entry bytes, ...],
//    "checkpoints": [signed notes of earlier sizes],
//    "inclusion": [{"index": I, "size": N, "proof": [base64 hash, ...]}, ...],
//    "consistency": [{"from": M, "to": N, "proof": [base64 hash, ...]}, ...]}
// The key is a fixed test key (seed 32 × 0x42), so the files are the same on every run.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "broker/tlog/base64.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"

namespace {

namespace fs = std::filesystem;
using broker::tlog::Hash;

constexpr std::string_view kOrigin = "keten.example/tlog-verify-test";
constexpr std::uint64_t kSize = 37;
const std::uint64_t kOlderSizes[] = {1, 2, 7, 16, 20, 36};

std::string b64(const Hash& h) { return broker::tlog::to_base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }

nlohmann::json proof_json(const broker::tlog::Proof& proof) {
  auto out = nlohmann::json::array();
  for (const Hash& h : proof) out.push_back(b64(h));
  return out;
}

template <class T>
T must(contracts::Result<T> r) {
  if (!r) {
    std::cerr << "tlog_make_proofs: " << r.error().detail << "\n";
    std::exit(2);
  }
  return std::move(*r);
}

std::string entry(std::uint64_t i) {
  // Entries of varied length, with bytes that are not text, as canonical event encodings are.
  std::string bytes = "event " + std::to_string(i) + " ";
  for (std::uint64_t k = 0; k < i % 7; ++k) bytes.push_back(static_cast<char>(k * 37 + i));
  return bytes;
}

struct Evidence {
  std::string checkpoint;
  std::string vkey;
  nlohmann::json proofs;
};

std::string sign(const broker::tlog::MemoryTree& tree, std::uint64_t size, const broker::tlog::NoteSigner& key) {
  return must(broker::tlog::sign_checkpoint({std::string(kOrigin), size, must(tree.root_at(size)), {}}, key));
}

Evidence build(const broker::tlog::NoteSigner& key) {
  broker::tlog::MemoryTree tree;
  Evidence ev;
  ev.proofs["leaves"] = nlohmann::json::array();
  for (std::uint64_t i = 0; i < kSize; ++i) {
    tree.append(entry(i));
    ev.proofs["leaves"].push_back(broker::tlog::to_base64(entry(i)));
  }
  const auto reader = tree.reader();
  ev.checkpoint = sign(tree, kSize, key);
  ev.vkey = broker::tlog::format_verifier_key(key.verifier) + "\n";
  ev.proofs["checkpoints"] = nlohmann::json::array();
  ev.proofs["consistency"] = nlohmann::json::array();
  for (std::uint64_t m : kOlderSizes) {
    ev.proofs["checkpoints"].push_back(sign(tree, m, key));
    ev.proofs["consistency"].push_back(
        {{"from", m}, {"to", kSize}, {"proof", proof_json(must(broker::tlog::consistency_proof(m, kSize, reader)))}});
  }
  ev.proofs["inclusion"] = nlohmann::json::array();
  for (std::uint64_t i = 0; i < kSize; ++i) {
    ev.proofs["inclusion"].push_back(
        {{"index", i}, {"size", kSize}, {"proof", proof_json(must(broker::tlog::inclusion_proof(i, kSize, reader)))}});
  }
  return ev;
}

void write(const fs::path& dir, const Evidence& ev) {
  fs::create_directories(dir);
  std::ofstream(dir / "checkpoint", std::ios::binary) << ev.checkpoint;
  std::ofstream(dir / "vkey", std::ios::binary) << ev.vkey;
  std::ofstream(dir / "proofs.json", std::ios::binary) << ev.proofs.dump(1) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tlog_make_proofs DIR\n";
    return 2;
  }
  const fs::path out = argv[1];
  fs::remove_all(out);
  const auto key = must(broker::tlog::make_signer(kOrigin, std::string(32, '\x42')));
  const Evidence good = build(key);
  write(out / "good", good);

  // One way of cheating per folder; the verifier must reject each, for the reason its name gives.
  Evidence ev = good;
  ev.proofs["leaves"][11] = broker::tlog::to_base64(entry(11) + "!");
  write(out / "tampered-leaf-edited", ev);

  ev = good;
  ev.proofs["leaves"].erase(5);
  write(out / "tampered-leaf-deleted", ev);

  ev = good;
  {
    auto proof = ev.proofs["inclusion"][20]["proof"];
    std::string bytes = must(broker::tlog::from_base64(proof[1].get<std::string>(), "proof"));
    bytes[3] ^= 0x10;
    ev.proofs["inclusion"][20]["proof"][1] = broker::tlog::to_base64(bytes);
  }
  write(out / "tampered-proof-bit", ev);

  ev = good;
  ev.checkpoint.replace(ev.checkpoint.find("\n37\n"), 4, "\n38\n");
  write(out / "tampered-checkpoint-size", ev);

  // Re-signed with another key under the same name: the verifier holds the real key.
  ev = good;
  ev.checkpoint = build(must(broker::tlog::make_signer(kOrigin, std::string(32, '\x43')))).checkpoint;
  write(out / "tampered-resigned", ev);

  // A fork: the log's own key signed an earlier tree that the latest one does not extend.
  ev = good;
  {
    broker::tlog::MemoryTree forked;
    for (std::uint64_t i = 0; i < 16; ++i) forked.append(i == 9 ? entry(i) + "rewritten" : entry(i));
    ev.proofs["checkpoints"][3] = sign(forked, 16, key);
  }
  write(out / "tampered-forked-checkpoint", ev);

  std::cout << "wrote " << out.string() << "\n";
  return 0;
}
