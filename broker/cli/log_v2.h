#pragma once
// `keten log` on a v2 handover log (one Merkle tree over typed events): verify (with receipts),
// prove, consistency and export, over a LogSource: a store (read-only) or a v2 bundle file, told
// apart in open_source() in log_v2_cmd.cpp. log_cmd.cpp parses argv and
// calls these; docs/inspector.md and docs/handover-log-format.md describe them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/case_proofs.h"
#include "broker/store/store.h"
#include "contracts/error.h"

namespace keten_cli {

struct LogV2Args {
  std::string store;               // a store, opened read-only
  std::string bundle;              // a v2 bundle file
  std::string signing_key;         // the key checkpoints must carry: verifier key, 64 hex, or a file holding one
  std::string receipts;            // verify: a folder of receipt files
  std::string out;                 // prove, consistency, export: "" or "-" = standard output
  std::string case_ref;            // export: one case
  std::uint64_t event = 0;         // prove: the seq
  std::uint64_t from = 0, to = 0;  // consistency: tree sizes
  std::string payload_key;         // replay: 32 raw bytes the store is opened with to read sealed payloads; "" none
};

// True when `path` is a file whose first line is a v2 bundle header.
bool is_v2_bundle_file(const std::string& path);

int log_v2_verify(const LogV2Args& args);
int log_v2_prove(const LogV2Args& args);
int log_v2_consistency(const LogV2Args& args);
int log_v2_export(const LogV2Args& args);

// Whether the store at `path` holds signed checkpoints of the schema-4 hash chain (a store converted
// from schema 4, or written by a broker from before every commit signed the Merkle tree): then
// `keten log verify` and `keten store backup` check that chain too. kConfig when it cannot be opened.
[[nodiscard]] contracts::Result<bool> has_chain_checkpoints(const std::string& path);

// The events of case `args.case_ref`, each proven against the log's latest signed checkpoint
// (broker/audit/case_proofs.h): from a store through its case index, from a whole-log v2 bundle,
// or from a case bundle (its own proofs). The key: --signing-key, else the one the log (or
// bundle) states, which the report then says. kConfig: the source cannot be opened or there is
// no key (exit 2); kMalformedEnvelope: a damaged bundle (exit 1). `store`, when not null: in, the
// store of args.store already opened by the caller (null: opened here, read-only, with
// args.payload_key); out, the store the case was read from, so that the caller reads the case's
// messages from it: the one given, or, when a broker had signed a newer checkpoint meanwhile, one
// opened again read-only, and then `*reopened` (when not null) is set.
[[nodiscard]] contracts::Result<broker::audit::ProvenCase> log_v2_case(
    const LogV2Args& args, std::unique_ptr<broker::store::Store>* store = nullptr, bool* reopened = nullptr);

// Says on standard error, as a FINDING each, which shortcut rows of a store's tree were found
// changed while proving (broker/audit/rooted_proof.h), followed by `what_holds` (what was proven
// without them). Returns how many: a command that found any exits 1.
std::size_t report_damaged_shortcuts(const std::vector<std::string>& rows, std::string_view what_holds);

}  // namespace keten_cli
