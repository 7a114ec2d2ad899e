#pragma once
// partner::Client: what a partner's system uses to talk to a Keten broker over ZeroMQ + CurveZMQ.
// The only header partners include. Protocol: docs/protocol.md.
//
// Threading: a Client belongs to one thread. Movable, not copyable. It starts no thread of its
// own: the callbacks of submit_async() run on that thread, inside the Client's own calls.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/keys.h"

namespace partner {

using contracts::Result;

// A partner's client profile (TOML, docs/configuration.md):
//   broker = "tcp://127.0.0.1:5555"          # or several: ["tcp://a:5555", "tcp://b:5555"]
//   broker_public_key = "keys/broker.public"   # Z85 text, or a file holding it
//   partner = "DTV"
//   secret_key = "keys/DTV.secret"             # Z85 text, or a file holding it
//   broker_signing_key = "keys/broker.sign.public"  # optional: 64 hex characters, or a file
//   receipt_timeout_ms = 30000   # optional: how send() waits for a receipt (ClientOptions)
//   resend_after_ms = 2000
//   resend_max_ms = 8000
//   failover_after_ms = 2000     # optional: with several brokers, how long without a connection
//                                # before the client moves to the next one
// Relative paths resolve against the profile's folder.
struct Profile {
  std::string broker;             // ZeroMQ endpoint of the broker (the first of `brokers`)
  // Every endpoint the profile lists, in order; the client starts at the first and moves to the
  // next when the connection is lost (docs/high-availability.md). Empty means {broker}.
  std::vector<std::string> brokers;
  std::string broker_public_key;  // Z85, 40 characters
  std::string partner;            // our partner id (informational; the broker decides by key)
  std::string secret_key;         // Z85, 40 characters
  std::string public_key;         // Z85, derived from secret_key
  // The broker's Ed25519 public signing key, 64 hex characters; "" = receipts are not checked.
  std::string broker_signing_key;
  // Optional receipt timing from the profile's receipt_timeout_ms, resend_after_ms and
  // resend_max_ms; when set, Client::connect() uses it instead of the ClientOptions field of the
  // same name, so the operator who writes the profile decides for every program that reads it.
  std::optional<std::chrono::milliseconds> receipt_timeout;
  std::optional<std::chrono::milliseconds> resend_after;
  std::optional<std::chrono::milliseconds> resend_max;
  std::optional<std::chrono::milliseconds> failover_after;
};

// Reads a profile. broker, broker_public_key, partner and secret_key are required;
// broker_signing_key and the three timing keys (whole milliseconds, 1 to 86 400 000) are
// optional; unknown keys are logged (warn) and ignored.
// kConfig on any problem, its detail starting "profile <path>: " and naming the key ("key
// secret_key: ...") or, when the TOML does not parse, the line and column.
[[nodiscard]] Result<Profile> load_profile(const std::filesystem::path& path);

// Reads a key given inline (40 Z85 characters) or as a path to a file whose first line holds one
// (contracts/keys.h; the broker's config uses the same rules).
using contracts::read_key;

// How send() waits for a receipt (docs/protocol.md, "Resending a Submit"): it sends the same
// Submit again on the same connection after resend_after, then after twice the previous wait each
// time up to resend_max; a receipt answering any copy ends the wait. A profile's timing keys
// override these three.
struct ClientOptions {
  std::chrono::milliseconds receipt_timeout{30'000};  // give up on a submit after this
  std::chrono::milliseconds resend_after{2'000};      // first resend of an unanswered submit
  std::chrono::milliseconds resend_max{8'000};        // longest wait between two copies
  std::uint32_t credit = 32;                          // deliveries in flight at once; >= 1
  std::chrono::milliseconds heartbeat{5'000};         // send a heartbeat when idle this long
  std::chrono::milliseconds linger{100};    // on close, time queued acks and Credit{0} get to leave
  std::size_t max_frame_bytes = 16u << 20;  // larger frames from the broker are dropped (warn)
  // Natural batching (submit_async, send): messages unanswered at once, queued or on the wire. A
  // submit_async() beyond it waits for receipts first (back-pressure). >= 1.
  std::uint32_t window = 64;
  // A SubmitBatch holds at most this many bytes (the broker's max_message_bytes, 1 MiB by
  // default) and at most contracts::kMaxBatchMessages messages.
  std::size_t max_batch_bytes = 1u << 20;
  // Submit frames unanswered at once. A message submitted while fewer are in flight leaves at
  // once; the others queue and leave together as the answers come. With 1 the broker idles
  // while a batch's answer travels back and the next batch comes; 2 keeps it busy. >= 1.
  std::uint32_t frames_in_flight = 2;
  // Ask the broker for DeliverBatch frames (Credit.batches); receive() hands them out one by one,
  // and ack() batches the acks (AckBatch). false: single Deliver frames, and each ack at once.
  bool delivery_batches = true;
  // Ask the broker to answer every Ack and AckBatch with an AckReceipt (Credit.ack_receipts): the
  // seq of each `acknowledged` event and the checkpoint signed at their commit, evidence that the
  // log holds our acknowledgement. Take them with take_ack_receipts().
  bool ack_receipts = false;
  // With several brokers in the profile: move to the next one after this long without a
  // connection to the current one (lost, or never made). The profile's failover_after_ms wins.
  std::chrono::milliseconds failover_after{2'000};
};

// What the client has sent so far, by frame type: lets a test or a bench see the batching.
struct FrameCounts {
  std::uint64_t submits = 0;          // single Submit frames
  std::uint64_t submit_batches = 0;   // SubmitBatch frames
  std::uint64_t batched_messages = 0; // messages inside those SubmitBatch frames
  std::uint64_t acks = 0;             // single Ack frames
  std::uint64_t ack_batches = 0;      // AckBatch frames
  std::uint64_t failovers = 0;        // moves to another broker endpoint
};

// The answer to one submit_async(): the receipt, or why none came (kTimeout, kProtocol, ...).
using ReceiptCallback = std::function<void(Result<contracts::Receipt>)>;

// One connection to the broker: a DEALER socket with CurveZMQ, owned with its own ZeroMQ context.
// Lives from connect() until close() or destruction. No call throws; every failure is a Result.
// ZeroMQ reconnects by itself after a broken connection; the client then grants its credit again.
class Client {
 public:
  // Sets up the socket and connects (ZeroMQ connects in the background; nothing blocks here).
  // kConfig for unusable options, keys (a broker_signing_key that is not 64 hex characters
  // included) or endpoint; kTransport when ZeroMQ fails otherwise. An unreachable broker or a
  // refused key shows later, as kTimeout from send().
  [[nodiscard]] static Result<Client> connect(const Profile& profile, ClientOptions options = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();  // close()

  // Submits one message and waits for its receipt. While none comes it sends the same Submit again
  // on the same connection, backing off from resend_after to resend_max (the broker answers a
  // resubmission with the first receipt, so any copy's receipt answers the submit); when ZeroMQ
  // had to reconnect (the socket monitor saw the old connection go), it resends at once on the new
  // connection, since a receipt sent to the old one is lost. kTimeout after receipt_timeout,
  // kTransport on socket failure. A rejected
  // message is a Receipt, not an error; so is a frame-level Error the broker sends instead of a
  // receipt (too_large, malformed_envelope). Deliveries arriving meanwhile wait for receive().
  // With profile.broker_signing_key set, every Receipt frame must carry a valid broker signature
  // (and an accepted one the digest of our payload), and every accepted or duplicate one a
  // checkpoint signed by that key whose tree holds the receipt's event, else kProtocol: the
  // receipt is not evidence. The returned receipt keeps its signature, payload_digest and
  // checkpoint, so the caller can store them as proof of what the broker accepted and that its log
  // held it (a receipt file, broker/audit/receipt_file.h; `keten send --receipts DIR`). The
  // client remembers the last few checkpoint notes it verified, so the receipts of one commit,
  // which share one, cost one signature check together.
  //
  // send() is submit_async() followed by waiting for that one answer, so it batches with the
  // asynchronous submits outstanding at the time and fails over as they do.
  [[nodiscard]] Result<contracts::Receipt> send(const contracts::Submit& submit);

  // Asynchronous submit with natural batching (docs/protocol.md, "Client behaviour"). When no
  // submit frame is in flight the message leaves at once as a single Submit; messages submitted
  // while one is in flight queue, and leave together as one SubmitBatch (at most `window`,
  // contracts::kMaxBatchMessages and max_batch_bytes) as soon as its answer comes. So an idle
  // client adds no latency and a busy one sends few frames. Receipts are matched by message id.
  // Every message is answered exactly once through `on_receipt`: its Receipt (a rejected message
  // is a Receipt), or an error: kTimeout after receipt_timeout, kProtocol when the receipt's
  // signature does not verify. Resending, reconnects and failover work as for send().
  //
  // Threading: `on_receipt` runs on the caller's thread inside a later call of this Client
  // (poll, flush, send, receive, or submit_async itself), never on another thread. It must not
  // call the Client. Back-pressure: with `window` messages unanswered, submit_async() first
  // waits for receipts (running their callbacks); kTimeout if none comes within receipt_timeout.
  // kTransport on a closed client; the callback is then not called.
  [[nodiscard]] Result<void> submit_async(contracts::Submit submit, ReceiptCallback on_receipt);

  // Submits every message with natural batching (the first leaves at once, the others in batches
  // behind it) and waits until each is answered; element i answers submits[i], as send() would
  // (a Receipt, or kTimeout / kProtocol for that message alone). `on_answer(i, answer)`, when
  // given, runs as each answer arrives, in arrival order, on this thread. The call itself fails
  // only when the socket does (kTransport) or the client is closed.
  [[nodiscard]] Result<std::vector<Result<contracts::Receipt>>> send_all(
      const std::vector<contracts::Submit>& submits,
      std::function<void(std::size_t, const Result<contracts::Receipt>&)> on_answer = {});

  // Reads what the broker sent for up to `wait` (returning as soon as at least one submit was
  // answered), runs the callbacks of the answered submits, and sends what queued. Returns how
  // many submits were answered. Deliveries arriving meanwhile wait for receive(). poll(0), after
  // each submit_async, is cheap: one non-blocking receive, and a look at the unanswered messages
  // only when one may be due for a resend or timeout. Such calls and submit_async() read
  // connection events at most every 10 ms (every wait reads them); a reconnect seen that late
  // costs at most one extra copy, which the broker answers as a duplicate.
  [[nodiscard]] Result<std::size_t> poll(std::chrono::milliseconds wait);

  // Waits until every submit_async() is answered (its callback run), up to `wait`; kTimeout if
  // some are still outstanding then (they stay outstanding).
  [[nodiscard]] Result<void> flush(std::chrono::milliseconds wait);

  // Submits not yet answered (queued or on the wire).
  std::size_t outstanding() const;

  // Frames sent so far by type (see FrameCounts).
  FrameCounts frame_counts() const;

  // The endpoint the client currently talks to.
  const std::string& endpoint() const;

  // Pipelined submitting, for producers that keep many submits in flight on one connection:
  // submit() queues the frame and returns at once; next_receipt() returns the next receipt (or
  // frame-level Error turned into a Rejected receipt, as send() does) in arrival order, waiting up
  // to `wait`, std::nullopt when none came. No resend and no timeout here: the caller tracks what
  // is outstanding and resubmits the same message id if it must (the broker answers Duplicate).
  // With profile.broker_signing_key, a receipt whose signature does not verify is kProtocol.
  // Deliveries arriving meanwhile wait for receive(). kTransport when the send queue is full.
  [[nodiscard]] Result<void> submit(const contracts::Submit& submit);
  [[nodiscard]] Result<std::optional<contracts::Receipt>> next_receipt(std::chrono::milliseconds wait);

  // Returns the next delivery, waiting up to `wait` for one; std::nullopt when none came. The
  // first call grants the broker `credit`. Sends heartbeats while it waits. Every delivery must be
  // answered with ack() or nack(); the same message may come again (attempt > 1) and must again be
  // answered. Call it at least every `heartbeat` while receiving: the broker takes back the
  // deliveries of a connection silent for about three heartbeats.
  [[nodiscard]] Result<std::optional<contracts::Deliver>> receive(std::chrono::milliseconds wait);

  // Queue the answer to a delivery; kTransport when the socket fails. Acks are batched without
  // delay: an ack leaves at once when every delivery received so far has been handed out; else
  // more handed-out deliveries are still being processed, and it waits for the next ack that
  // finds them all handed out, for the next receive() that has to wait for the broker, or for
  // close(), which send all waiting acks as one AckBatch.
  [[nodiscard]] Result<void> ack(std::uint64_t delivery_id);
  [[nodiscard]] Result<void> nack(std::uint64_t delivery_id, std::string_view reason);

  // The AckReceipts that arrived so far (options.ack_receipts), oldest first, each handed out once.
  // They come while receive(), send() or next_receipt() read frames, after the broker committed
  // the acks (an ack still waiting in ack()'s batch has none yet). With profile.broker_signing_key
  // set, one whose checkpoint does not verify with that key or does not hold its events is a
  // kProtocol error in its place.
  [[nodiscard]] std::vector<Result<contracts::AckReceipt>> take_ack_receipts();

  // Reports that we processed an acknowledged delivery (docs/protocol.md, "Processed"): done, or
  // refused with a reason (required; for done an optional note), one line of at most
  // contracts::kMaxProcessedReasonBytes. Sends any acks still waiting in ack()'s batch first, since
  // the broker takes a report only after the delivery's Ack. The broker answers nothing when it
  // logs the report; a refusal (unknown delivery, not acknowledged, reported before, bad reason)
  // comes back as an Error frame, kept for take_delivery_errors(). kProtocol or kTooLarge here for
  // a reason the broker would refuse; kTransport when the socket fails.
  [[nodiscard]] Result<void> processed(std::uint64_t delivery_id, contracts::ProcessedOutcome outcome,
                                       std::string_view reason = {});
  // The Error frames the broker sent about a delivery id (a refused Ack, Nack or Processed) that
  // arrived so far, oldest first, each handed out once (the newest 1000 are kept). They come while
  // receive(), send() or next_receipt() read frames.
  [[nodiscard]] std::vector<contracts::ErrorFrame> take_delivery_errors();

  // Changes the number of unacknowledged deliveries the broker may send (>= 1; kConfig for 0) and
  // tells the broker now. receive() grants options.credit unless this was called first.
  [[nodiscard]] Result<void> set_credit(std::uint32_t credit);

  // Ok once a CurveZMQ handshake with the broker has succeeded (on this socket or an earlier
  // one). Otherwise kTransport saying what is known: no connection yet, our key refused, or the
  // handshake failed (wrong broker key?). Lets a caller that received nothing tell "nothing for
  // us" from "no broker".
  [[nodiscard]] Result<void> check_connection() const;

  // Says goodbye and closes: sends the acks still waiting; if credit was granted, sends Credit{0} so the broker puts our
  // unacknowledged deliveries back at once, then gives queued frames up to `linger` to leave.
  // Submits still outstanding are dropped without their callbacks (call flush() first); their
  // number is logged. Idempotent. Every other call on a closed client returns kTransport.
  void close();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh message id: UUID v7 text, lower-case, 36 characters, later ids sorting later
// (message_id.h says why). Thread-safe.
std::string new_message_id();

}  // namespace partner
