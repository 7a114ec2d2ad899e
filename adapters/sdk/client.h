#pragma once
// partner::Client: what a partner's system uses to talk to a Keten broker over ZeroMQ + CurveZMQ.
// The only header partners include. Protocol: docs/protocol.md.
//
// Threading: a Client belongs to one thread. Movable, not copyable.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace partner {

using contracts::Result;

// A partner's client profile (TOML, docs/configuration.md):
//   broker = "tcp://127.0.0.1:5555"
//   broker_public_key = "keys/broker.public"   # Z85 text, or a file holding it
//   partner = "DTV"
//   secret_key = "keys/DTV.secret"             # Z85 text, or a file holding it
// Relative paths resolve against the profile's folder.
struct Profile {
  std::string broker;             // ZeroMQ endpoint of the broker
  std::string broker_public_key;  // Z85, 40 characters
  std::string partner;            // our partner id (informational; the broker decides by key)
  std::string secret_key;         // Z85, 40 characters
  std::string public_key;         // Z85, derived from secret_key
};

// Reads a profile; kConfig naming the key and file on any problem.
[[nodiscard]] Result<Profile> load_profile(const std::filesystem::path& path);

// Reads a key given inline (40 Z85 characters) or as a path to a file holding one (relative to
// `base`). kConfig when neither.
[[nodiscard]] Result<std::string> read_key(std::string_view value, const std::filesystem::path& base);

struct ClientOptions {
  std::chrono::milliseconds receipt_timeout{10'000};  // give up on a submit after this
  std::chrono::milliseconds resend_after{2'000};      // reconnect and resend the same id after this
  std::uint32_t credit = 32;                          // deliveries in flight at once
  std::chrono::milliseconds heartbeat{5'000};         // send a heartbeat when idle this long
};

class Client {
 public:
  // Sets up the socket and connects (ZeroMQ connects in the background; nothing blocks here).
  [[nodiscard]] static Result<Client> connect(const Profile& profile, ClientOptions options = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Submits one message and waits for its receipt. If no receipt comes within resend_after, the
  // client reconnects and resends the same message id (the broker answers a resubmission with the
  // first receipt). kTimeout after receipt_timeout. A rejected message is a Receipt, not an error.
  [[nodiscard]] Result<contracts::Receipt> send(const contracts::Submit& submit);

  // Waits up to `wait` for the next delivery; std::nullopt when none came. The first call grants
  // the broker `credit`. Every delivery must be answered with ack() or nack().
  [[nodiscard]] Result<std::optional<contracts::Deliver>> receive(std::chrono::milliseconds wait);

  [[nodiscard]] Result<void> ack(std::uint64_t delivery_id);
  [[nodiscard]] Result<void> nack(std::uint64_t delivery_id, std::string_view reason);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A fresh message id (random UUID v4 text, libsodium).
std::string new_message_id();

}  // namespace partner
