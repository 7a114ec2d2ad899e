#pragma once
// partner::Client: what a partner's system uses to talk to a Keten broker over ZeroMQ + CurveZMQ.
// The only header partners include. Protocol: docs/protocol.md.
//
// Threading: a Client belongs to one thread. Movable, not copyable.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/envelope.h"
#include "contracts/error.h"
#include "contracts/keys.h"

namespace partner {

using contracts::Result;

// A partner's client profile (TOML, docs/configuration.md):
//   broker = "tcp://127.0.0.1:5555"
//   broker_public_key = "keys/broker.public"   # Z85 text, or a file holding it
//   partner = "DTV"
//   secret_key = "keys/DTV.secret"             # Z85 text, or a file holding it
//   broker_signing_key = "keys/broker.sign.public"  # optional: 64 hex characters, or a file
//   receipt_timeout_ms = 30000   # optional: how send() waits for a receipt (ClientOptions)
//   resend_after_ms = 2000
//   resend_max_ms = 8000
// Relative paths resolve against the profile's folder.
struct Profile {
  std::string broker;             // ZeroMQ endpoint of the broker
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
};

// One connection to the broker: a DEALER socket with CurveZMQ, owned with its own ZeroMQ context.
// Lives from connect() until close() or destruction. No call throws; every failure is a Result.
// ZeroMQ reconnects by itself after a broken connection; the client then grants its credit again.
class Client {
 public:
  // Sets up the socket and connects (ZeroMQ connects in the background; nothing blocks here).
  // kConfig for unusable options, keys or endpoint; kTransport when ZeroMQ fails otherwise. An
  // unreachable broker or a refused key shows later, as kTimeout from send().
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
  // (and an accepted one the digest of our payload), else kProtocol: the receipt is not evidence.
  // The returned receipt keeps its signature and payload_digest, so the caller can store them as
  // proof of what the broker accepted (verify later with contracts::verify_receipt_signature).
  [[nodiscard]] Result<contracts::Receipt> send(const contracts::Submit& submit);

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

  // Queue the answer to a delivery; kTransport when the socket fails.
  [[nodiscard]] Result<void> ack(std::uint64_t delivery_id);
  [[nodiscard]] Result<void> nack(std::uint64_t delivery_id, std::string_view reason);

  // Changes the number of unacknowledged deliveries the broker may send (>= 1; kConfig for 0) and
  // tells the broker now. receive() grants options.credit unless this was called first.
  [[nodiscard]] Result<void> set_credit(std::uint32_t credit);

  // Ok once a CurveZMQ handshake with the broker has succeeded (on this socket or an earlier
  // one). Otherwise kTransport saying what is known: no connection yet, our key refused, or the
  // handshake failed (wrong broker key?). Lets a caller that received nothing tell "nothing for
  // us" from "no broker".
  [[nodiscard]] Result<void> check_connection() const;

  // Says goodbye and closes: if credit was granted, sends Credit{0} so the broker puts our
  // unacknowledged deliveries back at once, then gives queued frames up to `linger` to leave.
  // Idempotent. Every other call on a closed client returns kTransport.
  void close();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh message id: random UUID v4 text, lower-case, 36 characters (libsodium randombytes).
// Thread-safe.
std::string new_message_id();

}  // namespace partner
