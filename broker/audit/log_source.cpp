#include "broker/audit/log_source.h"

#include <algorithm>
#include <iterator>

#include "broker/events/codec.h"
#include "broker/tlog/checkpoint.h"

namespace broker::audit {

namespace {
constexpr std::size_t kChunk = 4096;
}

namespace {

// Every entry of `source` whose event decodes and passes `keep`, in log order.
template <class Keep>
contracts::Result<std::vector<LogEntry>> scan(const LogSource& source, Keep&& keep) {
  std::vector<LogEntry> out;
  for (std::uint64_t from = 1;;) {
    auto chunk = source.read_entries(from, kChunk);
    if (!chunk) return chunk.error();
    if (chunk->empty()) break;
    const std::uint64_t next = chunk->back().seq + 1;
    const bool last = chunk->size() < kChunk || next <= from;  // seqs that go back end the scan
    for (auto& entry : *chunk) {
      auto event = events::decode_event(entry.bytes);
      if (event && keep(*event)) out.push_back(std::move(entry));
    }
    if (last) break;
    from = next;
  }
  return out;
}

}  // namespace

contracts::Result<std::vector<LogEntry>> LogSource::read_case_entries(std::string_view case_ref) const {
  return scan(*this, [&](const events::Event& e) { return e.case_ref == case_ref; });
}

contracts::Result<std::vector<LogEntry>> LogSource::read_start_entries() const {
  return scan(*this, [](const events::Event& e) { return e.kind() == events::Kind::kStarted; });
}

contracts::Result<std::vector<LogEntry>> read_case_and_starts(const LogSource& source, std::string_view case_ref) {
  auto entries = source.read_case_entries(case_ref);
  if (!entries) return entries.error();
  auto starts = source.read_start_entries();
  if (!starts) return starts.error();
  std::vector<LogEntry> out;
  out.reserve(entries->size() + starts->size());
  std::merge(std::make_move_iterator(entries->begin()), std::make_move_iterator(entries->end()),
             std::make_move_iterator(starts->begin()), std::make_move_iterator(starts->end()), std::back_inserter(out),
             [](const LogEntry& a, const LogEntry& b) { return a.seq < b.seq; });
  // A start that is also the case's (none is: starts carry no case) would come twice.
  out.erase(std::unique(out.begin(), out.end(), [](const LogEntry& a, const LogEntry& b) { return a.seq == b.seq; }),
            out.end());
  return out;
}

contracts::Result<std::vector<LogEntry>> read_all_entries(const LogSource& source) {
  std::vector<LogEntry> out;
  for (std::uint64_t from = 1;;) {
    auto chunk = source.read_entries(from, kChunk);
    if (!chunk) return chunk.error();
    if (chunk->empty()) break;
    // The next chunk starts after the last seq read, whatever it is: a log whose seqs go back
    // must not make this loop forever (the verifier names such a log's first bad seq).
    const std::uint64_t next = chunk->back().seq + 1;
    const bool last = chunk->size() < kChunk || next <= from;
    for (auto& entry : *chunk) out.push_back(std::move(entry));
    if (last) break;
    from = next;
  }
  return out;
}

contracts::Result<void> MemoryLogSource::append_block(const std::vector<events::Event>& block,
                                                      const tlog::NoteSigner* signer) {
  for (const auto& event : block) {
    LogEntry entry{entries_.size() + 1, events::encode_event(event)};
    nodes_.append(entry.bytes);
    entries_.push_back(std::move(entry));
  }
  if (signer != nullptr) return sign_checkpoint(*signer);
  return {};
}

contracts::Result<void> MemoryLogSource::sign_checkpoint(const tlog::NoteSigner& signer) {
  // The tree as appended (the stored nodes), O(log n): the entries may have been edited since.
  auto note = tlog::sign_checkpoint({signer.name, nodes_.size(), nodes_.root(), {}}, signer);
  if (!note) return note.error();
  checkpoints_.push_back(std::move(*note));
  return {};
}

void MemoryLogSource::renumber() {
  for (std::size_t i = 0; i < entries_.size(); ++i) entries_[i].seq = i + 1;
}

void MemoryLogSource::rebuild_nodes() {
  nodes_ = tlog::MemoryTree();
  for (const auto& entry : entries_) nodes_.append(entry.bytes);
}

contracts::Result<std::vector<LogEntry>> MemoryLogSource::read_entries(std::uint64_t from_seq,
                                                                       std::size_t limit) const {
  // In stored order from the first entry whose seq is at least from_seq, as a store reads its
  // blocks: an entry is handed over with the seq it claims, so a deletion that was not renumbered
  // (a gap) and one that was both reach the verifier as they are.
  std::vector<LogEntry> out;
  std::size_t i = 0;
  while (i < entries_.size() && entries_[i].seq < from_seq) ++i;
  for (; i < entries_.size() && out.size() < limit; ++i) out.push_back(entries_[i]);
  return out;
}

contracts::Result<std::vector<std::string>> MemoryLogSource::read_checkpoints() const { return checkpoints_; }

std::optional<tlog::NodeReader> MemoryLogSource::node_reader() const {
  if (!has_nodes_) return std::nullopt;
  return nodes_.reader();
}

}  // namespace broker::audit
