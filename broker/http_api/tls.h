#pragma once
// The TLS side of the HTTPS API, over OpenSSL: a server context that speaks TLS 1.2 and 1.3 only
// and requires a client certificate chaining to the configured CA bundle (checked against the CRL
// file when one is configured), and one accepted connection with the identity its certificate
// carries. OpenSSL stays inside tls.cpp.
//
// Threading: a TlsContext is shared read-only by every connection thread once made. A
// TlsConnection belongs to the thread that accepted it.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "broker/http_api/options.h"
#include "contracts/error.h"

namespace broker::http_api {

// What the verified client certificate says about its holder.
struct PeerIdentity {
  std::string subject;        // the subject DN, RFC 2253 form ("serialNumber=...,CN=...,O=...")
  std::string serial_number;  // the subject's serialNumber attribute: the OIN for PKIoverheid; "" if absent
  std::string cert_serial;    // the certificate's own serial, hex
  std::string sha256;         // SHA-256 fingerprint of the DER certificate, 64 lowercase hex
};

// The kind of a handshake refusal, from TlsConnection::accept's reason, for the metric label:
// "unknown_ca", "expired", "revoked", "no_certificate", "protocol" (a TLS version or cipher we do
// not speak), "other" (a client that hung up or timed out mid-handshake, not TLS at all, ...).
std::string refusal_kind(const std::string& reason);

class TlsContext {
 public:
  // Loads the server certificate and key, the CA bundle and the CRL file. kConfig naming the file
  // and OpenSSL's reason when one cannot be read or the key does not match the certificate.
  [[nodiscard]] static contracts::Result<TlsContext> create(const HttpApiOptions& options);
  TlsContext(TlsContext&&) noexcept;
  TlsContext& operator=(TlsContext&&) noexcept;
  ~TlsContext();

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One accepted TCP connection after its TLS handshake. Owns the socket: closed on destruction.
class TlsConnection {
 public:
  // Runs the handshake on `fd` (taken over: closed on failure too) with `io_timeout` for each read
  // and write. kTransport with OpenSSL's reason (unknown CA, expired, revoked, no certificate,
  // old protocol) when the client is refused.
  [[nodiscard]] static contracts::Result<TlsConnection> accept(const TlsContext& context, int fd,
                                                               std::chrono::milliseconds io_timeout);
  TlsConnection(TlsConnection&&) noexcept;
  TlsConnection& operator=(TlsConnection&&) noexcept;
  ~TlsConnection();

  const PeerIdentity& peer() const;
  // Reads at most `max` bytes; 0 at end of stream, on a timeout or an error (the connection is
  // then done).
  std::size_t read_some(char* buffer, std::size_t max);
  // Writes all of `bytes`; false when the connection failed or timed out.
  bool write_all(std::string_view bytes);
  // After an answer that ends the connection while the client may still be sending (a refused
  // body): sends close_notify, shuts down our sending side, and reads and discards what the
  // client still sends, for at most `for_at_most` and `max_bytes`, so that closing the socket
  // does not reset the connection before the client has read the answer. Nothing is kept.
  void linger(std::chrono::milliseconds for_at_most, std::size_t max_bytes);

 private:
  struct Impl;
  explicit TlsConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::http_api
