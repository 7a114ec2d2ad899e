// merkle_append: the CPU the transparency log's Merkle tree costs per appended entry, on one
// thread, to size the store's design (docs/transparency-log.md, "Cost"). Measures, each over
// --leaves entries of --entry-bytes bytes:
//   leaf_hash     SHA-256(0x00 || entry) per entry
//   append        CompactTree::append of a ready leaf hash (the frontier alone)
//   append+keep   the same, keeping every completed subtree hash (MemoryTree; what a store writes)
//   root          CompactTree::root() once per --per-commit entries (one checkpoint per commit)
//   prove         inclusion_proof + verify_inclusion of random entries in the final tree
//   sign, open    sign_checkpoint and open_checkpoint (Ed25519 signing and verification)
//
//   merkle_append [--leaves N] [--entry-bytes B] [--per-commit K] [--proofs P] [--json]
#include <algorithm>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/args.h"
#include "bench/proc_stats.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/memory_tree.h"
#include "broker/tlog/proof.h"

namespace {

using broker::tlog::Hash;

double cpu_now() { return bench::self_usage().cpu_seconds; }

// Keeps the optimiser from dropping work whose result is otherwise unused.
volatile unsigned char g_sink;
void consume(const Hash& h) { g_sink = static_cast<unsigned char>(g_sink ^ h[0]); }

}  // namespace

int main(int argc, char** argv) try {
  bench::Args args(argc, argv, {"json"});
  const auto leaves = static_cast<std::size_t>(args.num("leaves", 1'000'000));
  const auto entry_bytes = static_cast<std::size_t>(args.num("entry-bytes", 300));
  const auto per_commit = static_cast<std::size_t>(args.num("per-commit", 6));
  const auto proofs = static_cast<std::size_t>(args.num("proofs", 20'000));
  if (leaves == 0 || per_commit == 0) throw std::invalid_argument("--leaves and --per-commit must be positive");

  std::string entry(entry_bytes, 'e');
  std::vector<Hash> hashes(leaves);
  double t = cpu_now();
  for (std::size_t i = 0; i < leaves; ++i) {
    std::snprintf(entry.data(), entry.size(), "%zu", i);  // a distinct entry each time
    hashes[i] = broker::tlog::leaf_hash(entry);
  }
  const double leaf_s = cpu_now() - t;

  broker::tlog::CompactTree frontier;
  t = cpu_now();
  for (const Hash& h : hashes) frontier.append(h);
  const double append_s = cpu_now() - t;
  consume(frontier.root());

  broker::tlog::MemoryTree kept;
  t = cpu_now();
  for (const Hash& h : hashes) kept.append_hash(h);
  const double keep_s = cpu_now() - t;
  if (kept.root() != frontier.root()) throw std::runtime_error("the two trees disagree");

  // The same appends with a root after every commit; the roots' cost is the difference.
  broker::tlog::CompactTree commits;
  std::size_t roots = 0;
  t = cpu_now();
  for (std::size_t i = 0; i < leaves; ++i) {
    commits.append(hashes[i]);
    if ((i + 1) % per_commit == 0) {
      consume(commits.root());
      ++roots;
    }
  }
  const double root_s = std::max(0.0, cpu_now() - t - append_s);

  std::mt19937_64 random(42);
  const auto reader = kept.reader();
  const Hash root = kept.root();
  t = cpu_now();
  for (std::size_t k = 0; k < proofs; ++k) {
    const std::uint64_t index = random() % leaves;
    auto proof = broker::tlog::inclusion_proof(index, leaves, reader);
    if (!proof) throw std::runtime_error(proof.error().detail);
    if (!broker::tlog::verify_inclusion(index, leaves, hashes[index], *proof, root)) {
      throw std::runtime_error("a proof did not verify");
    }
  }
  const double prove_s = cpu_now() - t;

  // A checkpoint per commit costs an Ed25519 signature; the verifier pays one verification.
  const auto signer = broker::tlog::make_signer("keten.example/bench", std::string(32, '\x42'));
  if (!signer) throw std::runtime_error(signer.error().detail);
  const std::size_t signatures = 2000;
  std::string note;
  t = cpu_now();
  for (std::size_t k = 0; k < signatures; ++k) {
    auto signed_note = broker::tlog::sign_checkpoint({"keten.example/bench", leaves + k, root, {}}, *signer);
    if (!signed_note) throw std::runtime_error(signed_note.error().detail);
    note = std::move(*signed_note);
  }
  const double sign_s = cpu_now() - t;
  t = cpu_now();
  for (std::size_t k = 0; k < signatures; ++k) {
    if (!broker::tlog::open_checkpoint(note, signer->verifier)) throw std::runtime_error("a checkpoint did not open");
  }
  const double open_s = cpu_now() - t;
  const double us_sign = sign_s * 1e6 / static_cast<double>(signatures);
  const double us_open = open_s * 1e6 / static_cast<double>(signatures);

  const double n = static_cast<double>(leaves);
  const double us_root = roots ? root_s * 1e6 / static_cast<double>(roots) : 0;
  const double us_prove = proofs ? prove_s * 1e6 / static_cast<double>(proofs) : 0;
  if (args.flag("json")) {
    std::printf("{\"system\":\"merkle-append\",\"leaves\":%zu,\"entry_bytes\":%zu,\"per_commit\":%zu,"
                "\"leaf_hash_us\":%.3f,\"append_us\":%.3f,\"append_keep_us\":%.3f,\"root_us\":%.3f,"
                "\"prove_verify_us\":%.3f,\"sign_checkpoint_us\":%.3f,\"open_checkpoint_us\":%.3f}\n",
                leaves, entry_bytes, per_commit, leaf_s * 1e6 / n, append_s * 1e6 / n, keep_s * 1e6 / n, us_root,
                us_prove, us_sign, us_open);
  } else {
    std::printf("merkle_append: %zu entries of %zu bytes, CPU per operation\n", leaves, entry_bytes);
    std::printf("  leaf_hash      %8.3f us per entry\n", leaf_s * 1e6 / n);
    std::printf("  append         %8.3f us per entry (frontier only)\n", append_s * 1e6 / n);
    std::printf("  append+keep    %8.3f us per entry (every complete subtree kept)\n", keep_s * 1e6 / n);
    std::printf("  root           %8.3f us per root, one per %zu entries\n", us_root, per_commit);
    std::printf("  prove+verify   %8.3f us per inclusion proof at size %zu\n", us_prove, leaves);
    std::printf("  sign           %8.3f us per signed checkpoint (Ed25519)\n", us_sign);
    std::printf("  open           %8.3f us per checkpoint opened and verified\n", us_open);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "merkle_append: %s\n", e.what());
  return 2;
}
