#include "broker/audit/verify_v2.h"

#include <algorithm>
#include <map>

#include "broker/audit/log_proofs.h"
#include "broker/audit/signing.h"
#include "broker/events/codec.h"
#include "broker/events/render.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/receipt_signature.h"

namespace broker::audit {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using std::to_string;

constexpr std::size_t kChunk = 4096;

std::string seqs(std::uint64_t a, std::uint64_t b) {
  return a == b ? "seq " + to_string(a) : "seq " + to_string(a) + ".." + to_string(b);
}

// One run. The events are streamed once through a CompactTree (O(log n) memory, whatever the
// log's length); the roots at every size a checkpoint or receipt names are kept as the stream
// passes them. Only the block that holds a first bad event is read a second time.
struct Run {
  const LogSource& source;
  LogVerifyReport& report;
  std::optional<tlog::NodeReader> stored;  // the source's own subtree hashes, if it keeps them
  std::vector<std::uint64_t> targets;      // sizes whose root is needed, ascending, unique
  std::map<std::uint64_t, tlog::Hash> roots;
  std::uint64_t events = 0;
  std::uint64_t stated_key_seq = 0;  // the latest `started` event with a signing key
  std::string stated_key_hex;
  std::uint64_t last_broker_seq = 0;  // the latest event of a kind only the broker writes
  tlog::NoteVerifier verifier;

  void add(std::uint64_t first, std::uint64_t last, std::string problem) {
    report.findings.push_back({first, std::max(first, last), std::move(problem)});
  }
  std::uint64_t size() const { return events; }
  // The rebuilt tree's root at `size` (one of the targets, at most the log's size).
  std::optional<tlog::Hash> root_at(std::uint64_t size) const {
    auto it = roots.find(size);
    if (it == roots.end()) return std::nullopt;
    return it->second;
  }
};

// The sizes of every checkpoint (signature not checked yet) and every receipt's checkpoint.
void collect_targets(Run& run, const std::vector<std::string>& notes, const std::vector<ReceiptFile>& receipts) {
  for (const auto& note : notes) {
    if (auto cp = peek_checkpoint(note); cp) run.targets.push_back(cp->size);
  }
  for (const auto& r : receipts) {
    if (auto cp = peek_checkpoint(r.checkpoint); cp) run.targets.push_back(cp->size);
  }
  std::sort(run.targets.begin(), run.targets.end());
  run.targets.erase(std::unique(run.targets.begin(), run.targets.end()), run.targets.end());
}

// Reads every event in order: the seqs must run 1, 2, 3, ...; each must decode; each is hashed
// as stored into the rebuilt tree (at its position: leaf index = position, seq = position + 1).
// Kinds a tool without the broker's signing key appends (`keten log` records its reads, `keten log
// resend` its resends): the broker signs them with its next checkpoint, so until then they may
// follow the last one, as the store's checks at start allow.
bool written_by_tools(events::Kind kind) {
  return kind == events::Kind::kLogRead || kind == events::Kind::kResent || kind == events::Kind::kHold ||
         kind == events::Kind::kRelease;
}

contracts::Result<void> read_events(Run& run) {
  tlog::CompactTree tree;
  std::size_t next_target = 0;
  auto record = [&] {
    while (next_target < run.targets.size() && run.targets[next_target] <= tree.size()) {
      if (run.targets[next_target] == tree.size()) run.roots[tree.size()] = tree.root();
      ++next_target;
    }
  };
  record();  // a checkpoint of the empty tree
  bool seq_reported = false;
  for (std::uint64_t from = 1;;) {
    auto chunk = run.source.read_entries(from, kChunk);
    if (!chunk) return chunk.error();
    if (chunk->empty()) break;
    for (const LogEntry& entry : *chunk) {
      const std::uint64_t seq = tree.size() + 1;
      if (entry.seq != seq && !seq_reported) {
        seq_reported = true;
        run.add(seq, seq, entry.seq > seq
                              ? "seq " + to_string(seq) + " is missing: the event after seq " + to_string(seq - 1) +
                                    " is numbered " + to_string(entry.seq) + " (deleted)"
                              : "the event in place of seq " + to_string(seq) + " is numbered " + to_string(entry.seq) +
                                    " (inserted, repeated or reordered)");
      }
      auto event = events::decode_event(entry.bytes);
      if (event && !written_by_tools(event->kind())) run.last_broker_seq = seq;
      if (!event) {
        run.last_broker_seq = seq;
        run.add(seq, seq, "event seq " + to_string(seq) + " is corrupt: " + event.error().detail);
      } else if (const auto* started = std::get_if<events::Started>(&event->record);
                 started != nullptr && !started->signing_key.empty()) {
        run.stated_key_seq = seq;
        run.stated_key_hex = started->signing_key;
      }
      tree.append(tlog::leaf_hash(entry.bytes));
      record();
    }
    // Continue after the last seq read, whatever it is; a log whose seqs go back must not make
    // this loop forever (its first bad seq is named above).
    const std::uint64_t next = chunk->back().seq + 1;
    if (chunk->size() < kChunk || next <= from) break;
    from = next;
  }
  run.events = tree.size();
  run.report.events = tree.size();
  run.report.root = tree.root();
  return {};
}

contracts::Result<void> resolve_key(Run& run, const LogVerifyOptions& options, const std::vector<std::string>& notes) {
  if (options.key) {
    run.verifier = *options.key;
  } else {
    bool needed = !notes.empty();
    for (const auto& r : options.receipts) needed = needed || !r.checkpoint.empty();
    if (!needed) return {};
    if (run.stated_key_hex.empty()) {
      return Error{ErrorCode::kConfig,
                   "no key to check the checkpoints against: the log states none; give the broker's verifier key"};
    }
    std::string origin;
    for (const auto& note : notes) {
      if (auto cp = peek_checkpoint(note); cp) {
        origin = cp->origin;
        break;
      }
    }
    auto v = parse_expected_key(run.stated_key_hex, origin);
    if (!v) return Error{ErrorCode::kConfig, "the key the log states (seq " + to_string(run.stated_key_seq) + "): " + v.error().detail};
    run.verifier = *v;
    run.report.key_from_log = true;
    run.report.key_seq = run.stated_key_seq;
  }
  run.report.key = tlog::format_verifier_key(run.verifier);
  return {};
}

void add_truncated(Run& run, const std::string& which, std::uint64_t signed_size) {
  run.add(run.size() + 1, run.size() + 1,
          "the log ends at seq " + to_string(run.size()) + ", but " + which + " signs " + to_string(signed_size) +
              " events: " + seqs(run.size() + 1, signed_size) + " are missing (truncated)");
}

// The first bad event of checkpoint `cp` (number `n`, 1-based), whose root the log does not give
// (or which is larger than the log): it lies after `good`, the size of the latest checkpoint that
// matched, and at most at cp.size. It is pinned exactly when the source's stored subtree hashes
// reproduce the signed root (then they are the signed leaves: the first leaf the log differs from
// is the first bad event), or when the log simply ends at `good`. Otherwise the block is named.
void locate(Run& run, std::uint64_t good, const tlog::Checkpoint& cp, std::size_t n) {
  const std::string which = "checkpoint #" + to_string(n) + " (size " + to_string(cp.size) + ")";
  if (run.stored) {
    auto stored_root = tlog::range_root(0, cp.size, *run.stored);
    const std::uint64_t end = std::min(cp.size, run.size());
    auto block = end > good ? run.source.read_entries(good + 1, end - good)
                            : contracts::Result<std::vector<LogEntry>>(std::vector<LogEntry>{});
    if (stored_root && *stored_root == cp.root && block) {
      for (std::size_t k = 0; k < block->size(); ++k) {
        const std::uint64_t i = good + k;  // leaf index
        auto h = (*run.stored)(0, i);
        if (!h) break;
        if (*h != tlog::leaf_hash((*block)[k].bytes)) {
          run.add(i + 1, i + 1,
                  "event seq " + to_string(i + 1) + " is not the event " + which +
                      " signs: its leaf hash differs from the signed one (the stored subtree hashes give the signed "
                      "root); edited, deleted, inserted or reordered");
          return;
        }
      }
      if (run.size() < cp.size) {
        add_truncated(run, which, cp.size);
        return;
      }
    }
  }
  if (run.size() <= good) {
    add_truncated(run, which, cp.size);
    return;
  }
  const std::uint64_t last = std::min(cp.size, run.size() + 1);
  std::string problem = run.size() < cp.size ? "the log ends at seq " + to_string(run.size()) + ", but " + which +
                                                   " signs " + to_string(cp.size) + " events"
                                             : "the events do not give the root " + which + " signs";
  problem += "; " + (good == 0 ? std::string("no earlier checkpoint matched")
                               : "seq 1.." + to_string(good) + " match the checkpoint of that size") +
             ": the first bad event is in " + seqs(good + 1, last) +
             " (this checkpoint's block; no stored subtree hashes that give the signed root pin it further)";
  run.add(good + 1, last, std::move(problem));
}

// Each checkpoint: signed by the key, not smaller than an earlier one, and its root the rebuilt
// tree's at its size. Two consecutive checkpoints that both match the rebuilt tree are consistent
// (the consistency proof between them is computed from the same tree and cannot fail); one that
// does not match is where the log first differs from what was signed.
void check_checkpoints(Run& run, const std::vector<std::string>& notes) {
  run.report.checkpoints = notes.size();
  std::uint64_t good = 0;  // size of the latest checkpoint that verified and matched
  std::optional<tlog::Checkpoint> previous;  // the previous checkpoint with a valid signature
  std::size_t bad_signatures = 0;
  bool any_finding = false;
  bool located = false;  // the first checkpoint the log does not give is the one that bounds it
  for (std::size_t j = 0; j < notes.size(); ++j) {
    const std::size_t n = j + 1;
    auto cp = tlog::open_checkpoint(notes[j], run.verifier);
    if (!cp) {
      if (bad_signatures++ == 0) {
        auto peek = peek_checkpoint(notes[j]);
        const std::uint64_t size = peek ? peek->size : 0;
        run.add(good + 1, std::max(good + 1, size),
                "checkpoint #" + to_string(n) + (peek ? " (size " + to_string(size) + ")" : std::string()) +
                    " is not signed by " + run.verifier.name + " (" + run.report.key + "): " + cp.error().detail +
                    "; nothing after seq " + to_string(good) + " is covered by a checkpoint signed with that key");
      }
      any_finding = true;
      continue;
    }
    if (previous && cp->size < previous->size) {
      run.add(cp->size + 1, previous->size,
              "checkpoint #" + to_string(n) + " signs " + to_string(cp->size) + " events after an earlier one signed " +
                  to_string(previous->size) + ": the log was signed smaller than before (rolled back)");
      any_finding = true;
    }
    const auto root = run.root_at(cp->size);
    if (!root || *root != cp->root) {
      if (!located && (cp->size > good || !root)) {
        located = true;
        locate(run, good, *cp, n);
        any_finding = true;
      }
      previous = *cp;
      continue;
    }
    ++run.report.checkpoints_ok;
    good = std::max(good, cp->size);
    previous = *cp;
  }
  if (bad_signatures > 1) {
    for (auto& f : run.report.findings) {
      if (f.problem.find("is not signed by") != std::string::npos) {
        f.problem += " (" + to_string(bad_signatures - 1) + " later checkpoint(s) likewise)";
        break;
      }
    }
  }
  run.report.signed_size = good;
  if (!any_finding && good < run.size() && notes.empty() && run.stated_key_hex.empty() && run.verifier.name.empty()) {
    // A broker without a signing key signs nothing: nothing to check the events against.
    run.report.unsigned_events = run.size();
  } else if (!any_finding && good < run.size() && run.last_broker_seq <= good && !notes.empty()) {
    run.report.tool_events_after = run.size() - good;
  } else if (!any_finding && good < run.size()) {
    run.add(good + 1, good + 1,
            seqs(good + 1, run.size()) + (good + 1 == run.size() ? " is" : " are") + " not covered by any checkpoint signed by " + run.verifier.name +
                (notes.empty() ? " (the log has no checkpoint)" : " (the latest covers 1.." + to_string(good) + ")") +
                ": appended after the last checkpoint, or the broker stopped before signing them");
  }
}

// A receipt: the broker's signature on it, its checkpoint's signature, that the log extends the
// tree that checkpoint signs (no truncation, no rewriting of anything up to it), and that its
// event is the acceptance it claims. With every event at hand, "the log's first S events give the
// signed root" is the consistency proof from S to the log's tree and every inclusion proof in the
// tree of S at once, computed from the events themselves (docs/handover-log-format.md §9).
void check_receipts(Run& run, const std::vector<ReceiptFile>& receipts) {
  std::vector<std::uint64_t> ok_sizes;                         // checkpoints of receipts that passed
  std::vector<std::pair<std::size_t, std::uint64_t>> rewrites;  // finding, its checkpoint's size
  for (const auto& r : receipts) {
    ++run.report.receipts;
    const std::uint64_t seq = r.receipt.log_seq;
    const std::string who = "receipt " + r.name + " (message " + r.receipt.message_id + ", seq " + to_string(seq) + ")";
    auto cp = tlog::open_checkpoint(r.checkpoint, run.verifier);
    if (!cp) {
      run.add(seq, seq, who + ": its checkpoint is not signed by " + run.verifier.name + ": " + cp.error().detail +
                            " (a forged receipt, or one of another log)");
      continue;
    }
    if (tlog::receipt_signature_version(r.receipt) != 0 &&
        !tlog::verify_receipt_signature(r.receipt, to_hex(std::string_view(
                                                            reinterpret_cast<const char*>(run.verifier.public_key.data()),
                                                            run.verifier.public_key.size())))) {
      run.add(seq, seq, who + ": the receipt's signature does not verify with " + run.verifier.name +
                            "'s key (a forged or altered receipt)");
      continue;
    }
    if (seq > cp->size) {
      run.add(seq, seq, who + ": its checkpoint signs only " + to_string(cp->size) + " events, not seq " + to_string(seq));
      continue;
    }
    if (cp->size > run.size()) {
      add_truncated(run, who + ": the broker's checkpoint in it", cp->size);
      continue;
    }
    const auto root = run.root_at(cp->size);
    if (!root || *root != cp->root) {
      rewrites.emplace_back(run.report.findings.size(), cp->size);
      run.add(1, cp->size, who + ": the log is not an extension of the tree of " + to_string(cp->size) +
                               " events the broker signed for this receipt (its first " + to_string(cp->size) +
                               " events give another root): an event at or before seq " + to_string(cp->size) +
                               " was rewritten");
      continue;
    }
    auto entries = run.source.read_entries(seq, 1);
    std::optional<events::Event> event;
    if (entries && !entries->empty()) {
      if (auto e = events::decode_event(entries->front().bytes); e) event = std::move(*e);
    }
    const std::string digest = event && event->payload_digest ? events::hex(*event->payload_digest) : "";
    if (!event || event->kind() != events::Kind::kAccepted || event->message_id != r.receipt.message_id ||
        digest != r.receipt.payload_digest) {
      run.add(seq, seq,
              who + ": the signed log's seq " + to_string(seq) + " is " +
                  (event ? std::string(events::to_string(event->kind())) + " of message " + event->message_id
                         : std::string("not readable")) +
                  ", not the acceptance of message " + r.receipt.message_id + " with payload digest " +
                  r.receipt.payload_digest + ": the receipt is not about this log's event (forged or altered)");
      continue;
    }
    ++run.report.receipts_ok;
    ok_sizes.push_back(cp->size);
  }
  // A receipt the log still extends proves seq 1..its size; the first rewritten event of a
  // receipt that fails lies after the largest such size below its own.
  for (auto [index, size] : rewrites) {
    std::uint64_t lo = 0;
    for (auto s : ok_sizes) {
      if (s < size) lo = std::max(lo, s);
    }
    Finding& f = run.report.findings[index];
    f.first_seq = lo + 1;
    if (lo > 0) f.problem += "; a receipt for the tree of " + to_string(lo) + " events still holds, so after seq " + to_string(lo);
  }
}

}  // namespace

void order_findings(std::vector<Finding>& findings) {
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.first_seq < b.first_seq; });
  // A bound that holds an exactly named bad event yields to it: the event is certainly bad,
  // the bound only says where the first bad one may be.
  for (std::size_t i = 1; i < findings.size(); ++i) {
    if (!findings[i].is_exact()) continue;
    const auto seq = findings[i].first_seq;
    bool within = true;
    for (std::size_t k = 0; k < i; ++k) within = within && !findings[k].is_exact() && findings[k].last_seq >= seq;
    if (within) std::rotate(findings.begin(), findings.begin() + static_cast<std::ptrdiff_t>(i), findings.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    break;
  }
}

contracts::Result<LogVerifyReport> verify_log_v2(const LogSource& source, const LogVerifyOptions& options) {
  LogVerifyReport report;
  Run run{source, report, source.node_reader(), {}, {}, 0, 0, {}, 0, {}};
  auto notes = source.read_checkpoints();
  if (!notes) return notes.error();
  collect_targets(run, *notes, options.receipts);
  if (auto r = read_events(run); !r) return r.error();
  if (auto r = resolve_key(run, options, *notes); !r) return r.error();
  check_checkpoints(run, *notes);
  check_receipts(run, options.receipts);
  order_findings(report.findings);
  return report;
}

std::string format_report(const LogVerifyReport& report, std::size_t max_findings) {
  std::string text;
  if (report.ok()) {
    text = "intact: " + to_string(report.events) + " events, root " + hash_base64(report.root) + "\n" +
           to_string(report.checkpoints) + " checkpoint(s)";
    if (!report.key.empty()) text += ", signed by " + report.key;
    if (report.signed_size > 0) text += ", the latest covers seq 1.." + to_string(report.signed_size);
    if (report.receipts > 0) text += "\n" + to_string(report.receipts) + " receipt(s) consistent with the log";
  } else {
    const Finding& f = report.findings.front();
    text = "NOT INTACT: first bad event " + std::string(f.is_exact() ? "seq " + to_string(f.first_seq)
                                                                     : "in seq " + to_string(f.first_seq) + ".." + to_string(f.last_seq)) +
           ": " + f.problem;
    for (std::size_t i = 1; i < report.findings.size() && i < max_findings; ++i) text += "\nalso: " + report.findings[i].problem;
    if (report.findings.size() > max_findings) text += "\n(" + to_string(report.findings.size() - max_findings) + " more)";
    text += "\nread " + to_string(report.events) + " events, " + to_string(report.checkpoints) + " checkpoint(s)";
    if (!report.key.empty()) text += ", key " + report.key;
  }
  if (report.tool_events_after > 0) {
    text += "\nnote: the last " + to_string(report.tool_events_after) +
            " event(s) are reads or resends tools recorded after the latest checkpoint; the broker signs them within its "
            "checkpoint interval while it runs, else at its next start";
  }
  if (report.unsigned_events > 0) {
    text += "\nnote: no checkpoint and no signing key in the log: the broker ran without a signing key, so the " +
            to_string(report.unsigned_events) + " event(s) are consistent with each other but signed by no one";
  }
  if (report.key_from_log) {
    text += "\nnote: the checkpoints were checked with the key the log itself states (started event seq " +
            to_string(report.key_seq) + "); give --signing-key to check them against the key you trust";
  }
  return text;
}

}  // namespace broker::audit
