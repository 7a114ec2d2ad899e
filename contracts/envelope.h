#pragma once
// The wire envelope as plain C++ values, and the codec between those values and FlatBuffers bytes.
// Layout: contracts/envelope.fbs. Semantics: docs/protocol.md.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "contracts/error.h"

namespace contracts {

using Millis = std::int64_t;  // milliseconds since the Unix epoch, UTC; 0 = not given

struct Header {
  std::string message_id;
  std::string contract;
  std::uint32_t version = 0;
  std::string case_ref;
  std::vector<std::string> recipients;
  std::string correlation_id;
  std::string causation_id;
  std::string supersedes;
  Millis occurred_at = 0;
  Millis recorded_at = 0;
  std::string origin;  // adapters: "file:<party>/<name>" or "email:<address>"; "" for direct submits
};

struct Submit {
  Header header;
  std::string payload;  // UTF-8 JSON bytes, unchecked until validated
};

enum class ReceiptStatus : std::uint8_t { kAccepted = 0, kDuplicate = 1, kRejected = 2 };
std::string_view to_string(ReceiptStatus status);

struct FieldError {
  std::string pointer;  // JSON pointer into the payload; "" is the whole payload
  std::string code;     // required, type, format, enum, ...
  std::string reason;
};

struct Receipt {
  std::string message_id;
  ReceiptStatus status = ReceiptStatus::kRejected;
  std::vector<std::string> recipients;
  std::uint64_t log_seq = 0;
  Millis accepted_at = 0;
  ErrorCode code = ErrorCode::kNone;
  std::string detail;
  std::vector<FieldError> errors;
  std::string payload_digest;  // hex SHA-256 of the payload the receipt is about
  std::string signature;       // 64 raw bytes (Ed25519), or "" when the broker does not sign
  std::string checkpoint;      // accepted/duplicate: a signed checkpoint note of a tree holding
                               // event log_seq (not covered by `signature`), or ""
  // What `signature` covers (docs/handover-log-format.md §5). 0: this receipt's signed bytes
  // alone (version 1). n >= 1: the root of a Merkle tree over the signed bytes of n receipts, one
  // signature for all the receipts of a commit (version 2); this receipt is leaf signed_index, and
  // signed_path is its inclusion proof (32-byte hashes, leaf side first).
  std::uint32_t signed_count = 0;
  std::uint32_t signed_index = 0;
  std::string signed_path;
};

// The bytes a receipt's leaf in the tree of receipts is made of, and what a version-1 signature
// covers: message_id, payload_digest, status, log_seq, accepted_at and code, each length-prefixed
// or fixed-width (docs/handover-log-format.md §5).
std::string receipt_signed_bytes(const Receipt& receipt);
// What a version-2 signature covers: the number of receipts and the root (32 bytes) of their tree.
std::string receipt_tree_signed_bytes(std::uint64_t count, std::string_view root);
// Checking a signature of either version: broker/tlog/receipt_signature.h (it needs the tree).

struct Deliver {
  std::uint64_t delivery_id = 0;
  std::uint32_t attempt = 0;
  Header header;
  std::string sender;
  Millis accepted_at = 0;
  std::string payload;
  std::vector<std::string> removed_fields;
};

struct Ack { std::uint64_t delivery_id = 0; };
struct Nack { std::uint64_t delivery_id = 0; std::string reason; };
struct Credit {
  std::uint32_t credit = 0;
  bool batches = false;       // the connection takes DeliverBatch frames
  bool ack_receipts = false;  // answer this connection's Ack and AckBatch frames with AckReceipts
};
struct Heartbeat { Millis sent_at = 0; };
struct ErrorFrame { ErrorCode code = ErrorCode::kNone; std::string detail; std::uint64_t delivery_id = 0; };

// Batches (docs/protocol.md, "Batches"). A SubmitBatch is answered by one ReceiptBatch with a
// receipt per message in the same order; a DeliverBatch goes only to a connection whose Credit
// said `batches`; an AckBatch acknowledges every id it lists.
struct SubmitBatch { std::vector<Submit> messages; };
struct ReceiptBatch { std::vector<Receipt> receipts; };
struct DeliverBatch { std::vector<Deliver> deliveries; };
struct AckBatch { std::vector<std::uint64_t> delivery_ids; };

// The answer to an Ack or AckBatch on a connection whose Credit asked for it (docs/protocol.md,
// "Acknowledgement receipts"): per delivery id the seq of its `acknowledged` event (0 when it was
// acknowledged before), and the checkpoint signed at the commit, whose tree holds them.
struct AckReceipt {
  std::vector<std::uint64_t> delivery_ids;
  std::vector<std::uint64_t> log_seqs;  // one per delivery id
  std::string checkpoint;               // signed checkpoint note, or "" without a signing key
};

// What a recipient did with a delivery it acknowledged (docs/protocol.md, "Processed"); stored as
// these numbers on the wire and in the handover log: never renumber.
enum class ProcessedOutcome : std::uint8_t { kDone = 1, kRefused = 2 };
// "done", "refused".
std::string_view to_string(ProcessedOutcome outcome);
// A Processed frame's reason: at most this many bytes (the broker refuses a longer one).
inline constexpr std::size_t kMaxProcessedReasonBytes = 1000;

// The third level of acknowledgement: after the broker's receipt and the recipient's Ack, the
// recipient reports that it processed the delivery, done or refused (refused needs a reason).
// Decoding refuses an outcome other than done or refused (kMalformedEnvelope).
struct Processed {
  std::uint64_t delivery_id = 0;
  ProcessedOutcome outcome = ProcessedOutcome::kDone;
  std::string reason;  // refused: why (required); done: an optional note
};

using Envelope = std::variant<Submit, Receipt, Deliver, Ack, Nack, Credit, Heartbeat, ErrorFrame, SubmitBatch,
                              ReceiptBatch, DeliverBatch, AckBatch, AckReceipt, Processed>;

inline constexpr std::size_t kDefaultMaxFrameBytes = 1 << 20;  // 1 MiB
// Messages (or receipts, deliveries, ack ids) one batch frame may hold. A fixed protocol constant,
// not a setting: both sides must know it. More is refused with kTooLarge before anything is read.
inline constexpr std::size_t kMaxBatchMessages = 1000;

// Decodes one frame. Checks the size limit first, then runs the FlatBuffers verifier, then checks
// that required fields are present. Returns kTooLarge or kMalformedEnvelope (detail names the
// problem) on failure; never reads unverified bytes. Safe on any input. A batch of more than
// kMaxBatchMessages entries is kTooLarge; a message of a SubmitBatch (or a delivery of a
// DeliverBatch) that lacks its header or payload makes the whole frame kMalformedEnvelope, as it
// would a single frame. An empty batch decodes (the broker refuses it, naming why).
[[nodiscard]] Result<Envelope> decode_envelope(std::span<const std::byte> bytes,
                                               std::size_t max_bytes = kDefaultMaxFrameBytes);

// Encodes one frame; the result is the bytes of one ZeroMQ message.
std::string encode_envelope(const Envelope& envelope);

// Current time as Millis (system clock).
Millis now_millis();

}  // namespace contracts
