#pragma once
// ErrorCode, Error and Result<T>: how every Keten library reports a failure caused by the outside
// world (wire bytes, partner files, config, schemas, disk, sockets). See STYLE.md §3.

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace contracts {

// The numeric values are on the wire (contracts/envelope.fbs, enum ErrorCode): never renumber.
enum class ErrorCode : std::uint8_t {
  kNone = 0,
  kMalformedEnvelope = 1,    // frame failed the FlatBuffers verifier, or a required field is missing
  kUnknownPartner = 2,       // sender or recipient is not a configured partner
  kUnknownContract = 3,      // no contract of that name
  kUnknownVersion = 4,       // the contract exists, this version does not
  kNotOwner = 5,             // the sender may not produce this contract
  kRecipientNotAllowed = 6,  // an explicit recipient is not a consumer of the contract
  kInvalidPayload = 7,       // payload is not UTF-8 or not JSON
  kSchemaViolation = 8,      // payload does not match the contract's schema
  kTooLarge = 9,             // frame above max_message_bytes
  kStorage = 10,             // the store failed; the message was not accepted
  kTransport = 11,           // socket-level failure
  kTimeout = 12,             // no answer in time
  kConfig = 13,              // bad configuration or profile
  kUnknownDelivery = 14,     // ack/nack for a delivery the partner does not hold
  kProtocol = 15,            // a valid frame that this side does not accept (e.g. Deliver sent to the broker)
  kRateLimited = 16,         // the sender submitted faster than its rate limit; resend later
  kBacklogFull = 17,         // a recipient's backlog is at its bound; resend later
  kMessageIdTaken = 18,      // another producer already used this message id; choose another
};
// The highest code: readers of stored or received codes accept 0..kLastErrorCode. A new code goes
// above it (and into envelope.fbs's ErrorCode), and this moves with it.
inline constexpr ErrorCode kLastErrorCode = ErrorCode::kMessageIdTaken;

// Stable lower-case name of a code, used in logs, JSON output and docs ("schema_violation").
std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code{ErrorCode::kNone};
  std::string detail;
};

// Holds a T or an Error. Test with `if (!r)`, read with `*r` / `r->`, take the error with
// `r.error()`. Accessing the wrong alternative is a bug (assert).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                     // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}                 // NOLINT(google-explicit-constructor)
  Result(ErrorCode code, std::string detail) : v_(Error{code, std::move(detail)}) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  Result(ErrorCode code, std::string detail) : error_{code, std::move(detail)}, ok_(false) {}

  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace contracts
