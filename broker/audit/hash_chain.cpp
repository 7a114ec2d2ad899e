#include "broker/audit/hash_chain.h"

#include <sodium.h>

#include <array>
#include <algorithm>
#include <map>
#include <optional>

#include "broker/audit/signing.h"
#include "contracts/canonical.h"
#include "contracts/digest.h"

namespace broker::audit {
namespace {

constexpr std::size_t kDigestBytes = std::tuple_size_v<contracts::Sha256>;

// docs/handover-log-format.md §2: text = 4-byte big-endian length + bytes; integer = 8 bytes
// big-endian two's complement. Fixed field order, no separators, so every row has one encoding.
using contracts::canonical::put_int;
using contracts::canonical::put_text;

using contracts::sha256_hex;

std::string seq_text(std::uint64_t seq) { return std::to_string(seq); }

// The chain's hot path (two hashes per handover-log row) works on raw bytes: no hex round trips or
// temporary strings between the content hash and the link hash (docs/performance.md).
using Digest = contracts::Sha256;
using contracts::hex_of;

Digest sha256_raw(const unsigned char* bytes, std::size_t size) { return contracts::sha256(bytes, size); }

// Each byte's value as a lower-case hex digit, or -1 (lower case only, as from_hex). A table, not
// comparisons: hash digits are random, and the branches of a comparison chain mispredict on them
// (decode_hash ran on every appended row; docs/performance.md).
constexpr std::array<signed char, 256> kHexValue = [] {
  std::array<signed char, 256> table{};
  for (auto& v : table) v = -1;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = static_cast<signed char>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[static_cast<std::size_t>(c)] = static_cast<signed char>(c - 'a' + 10);
  return table;
}();

// 64 lower-case hex characters into 32 bytes at `out`; false for anything else.
bool decode_hash(std::string_view hex, unsigned char* out) {
  if (hex.size() != 2 * kDigestBytes) return false;
  int bad = 0;
  for (std::size_t i = 0; i < kDigestBytes; ++i) {
    const int hi = kHexValue[static_cast<unsigned char>(hex[2 * i])];
    const int lo = kHexValue[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;  // negative when either is not a digit
    out[i] = static_cast<unsigned char>((hi & 0xf) << 4 | (lo & 0xf));
  }
  return bad >= 0;
}


}  // namespace

const std::string kGenesisHash(64, '0');

VerifyReport verify_rows(const std::vector<LogRecord>& rows) {
  VerifyReport report;
  report.scope = "rows";
  for (const auto& row : rows) {
    ++report.rows;
    std::string problem;
    if (row.seq <= report.last_seq) {
      problem = "rows are not in ascending seq order";
    } else if (link_hash(row.prev_hash, content_hash(row)) != row.hash) {
      problem = "the row's hash does not match its content and prev_hash";
    }
    if (!problem.empty()) {
      report.ok = false;
      report.first_bad_seq = row.seq;
      report.problem = std::move(problem);
      return report;
    }
    report.last_seq = row.seq;
    report.head_hash = row.hash;
  }
  return report;
}

std::string encode_row(const LogRecord& row) {
  std::string out;
  out.reserve(160 + row.detail.size());
  put_text(out, "keten.handover_log.v1");
  put_int(out, static_cast<std::int64_t>(row.seq));
  put_int(out, row.at);
  put_text(out, row.event);
  put_text(out, row.message_id);
  put_text(out, row.contract);
  put_int(out, row.version);
  put_text(out, row.case_ref);
  put_text(out, row.sender);
  put_text(out, row.recipient);
  put_int(out, row.delivery_id);
  put_text(out, row.payload_digest);
  put_text(out, row.detail);
  return out;
}

std::string content_hash(const LogRecord& row) { return sha256_hex(encode_row(row)); }

std::string link_hash(std::string_view prev_hash, std::string_view content) {
  std::array<unsigned char, 2 * kDigestBytes> both{};
  if (!decode_hash(prev_hash, both.data()) || !decode_hash(content, both.data() + kDigestBytes)) {
    return "";
  }
  return hex_of(sha256_raw(both.data(), both.size()));
}

void seal(LogRecord& row, const std::string& prev_hash) {
  // Same value as link_hash(prev_hash, content_hash(row)), without hex in between.
  row.prev_hash = prev_hash;
  std::array<unsigned char, 2 * kDigestBytes> both{};
  if (!decode_hash(prev_hash, both.data())) {
    row.hash = "";
    return;
  }
  const std::string encoded = encode_row(row);
  const Digest content = sha256_raw(reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size());
  std::copy(content.begin(), content.end(), both.begin() + kDigestBytes);
  row.hash = hex_of(sha256_raw(both.data(), both.size()));
}

VerifyReport verify_log(const LogData& data, const VerifyOptions& options) {
  VerifyReport report;
  auto fail = [&](std::uint64_t seq, std::string problem) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
    return report;
  };

  std::string prev = kGenesisHash;
  std::uint64_t expected = 1;
  std::map<std::uint64_t, std::string> hash_at;
  std::map<std::string, std::uint64_t> seq_of;  // hash -> seq, to find where an insertion began
  for (const auto& row : data.rows) {
    const std::string s = seq_text(row.seq);
    if (row.seq > expected) {
      return fail(expected, "rows " + seq_text(expected) + ".." + seq_text(row.seq - 1) +
                                " are missing: the log jumps from seq " + seq_text(expected - 1) +
                                " to seq " + s + " (deleted rows)");
    }
    if (row.seq < expected) {
      return fail(row.seq, "seq " + s + " comes after seq " + seq_text(expected - 1) +
                               ": rows out of order or a row inserted");
    }
    const std::string content = row.omitted ? row.content_hash : content_hash(row);
    const std::string self = link_hash(row.prev_hash, content);
    if (self.empty()) return fail(row.seq, "row " + s + " has a malformed hash field");
    if (row.prev_hash != prev) {
      if (auto it = seq_of.find(row.prev_hash); it != seq_of.end() && it->second + 1 < row.seq) {
        return fail(it->second + 1, "row " + s + " chains to row " + seq_text(it->second) + ": rows " +
                                        seq_text(it->second + 1) + ".." + seq_text(row.seq - 1) +
                                        " were inserted (and the rows after them renumbered)");
      }
      if (self == row.hash && row.seq > 1) {
        return fail(row.seq - 1, "row " + seq_text(row.seq - 1) +
                                     " was rewritten together with its hash: row " + s +
                                     " chains to a different hash of it");
      }
      return fail(row.seq, "row " + s + " does not chain to the row before it (prev_hash differs)");
    }
    if (self != row.hash) {
      return fail(row.seq, row.omitted ? "omitted row " + s + " does not match its recorded hash"
                                       : "row " + s + " does not match its recorded hash: its content was edited");
    }
    prev = row.hash;
    hash_at[row.seq] = row.hash;
    seq_of.emplace(row.hash, row.seq);
    ++expected;
    ++report.rows;
  }
  report.last_seq = expected - 1;
  report.head_hash = prev;

  report.public_key = options.expected_public_key.empty() ? data.public_key : options.expected_public_key;
  std::optional<std::pair<std::uint64_t, std::string>> checkpoint_problem;
  auto note = [&](std::uint64_t seq, std::string problem) {
    if (!checkpoint_problem || seq < checkpoint_problem->first) checkpoint_problem.emplace(seq, std::move(problem));
  };
  for (const auto& cp : data.checkpoints) {
    ++report.checkpoints;
    const std::string where = "checkpoint " + std::to_string(cp.id) + " (seq " + seq_text(cp.log_seq) + ")";
    if (report.public_key.empty()) report.public_key = cp.public_key;
    if (cp.public_key != report.public_key) {
      note(cp.log_seq, where + " is signed by key " + cp.public_key + ", not by the broker's key " + report.public_key);
      continue;
    }
    if (!verify_checkpoint(cp)) {
      note(cp.log_seq, where + ": the signature does not verify (forged or altered checkpoint)");
      continue;
    }
    if (cp.log_seq > report.last_seq) {
      note(report.last_seq + 1, "the log ends at seq " + seq_text(report.last_seq) + " but " + where +
                                    " signs a head at seq " + seq_text(cp.log_seq) + ": the tail was truncated");
      continue;
    }
    if (cp.log_seq > 0 && hash_at[cp.log_seq] != cp.head_hash) {
      note(cp.log_seq, where + ": the log's hash at seq " + seq_text(cp.log_seq) +
                           " differs from the signed head (rows up to it were rewritten)");
      continue;
    }
    report.signed_up_to = std::max(report.signed_up_to, cp.log_seq);
  }
  if (data.high_water > report.last_seq) {
    note(report.last_seq + 1, "the log ends at seq " + seq_text(report.last_seq) + " but seq " +
                                  seq_text(data.high_water) + " was assigned: the tail was truncated");
  }
  if (checkpoint_problem) return fail(checkpoint_problem->first, checkpoint_problem->second);
  return report;
}

}  // namespace broker::audit
