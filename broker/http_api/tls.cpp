#include "broker/http_api/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstdio>

namespace broker::http_api {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

std::string openssl_reason() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(e, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

// Every CRL in a PEM file into the store; the count added.
Result<int> add_crls(X509_STORE* store, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return Error{ErrorCode::kConfig, "http_api.crl_file " + path + ": cannot be read"};
  int count = 0;
  while (X509_CRL* crl = PEM_read_X509_CRL(f, nullptr, nullptr, nullptr)) {
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    ++count;
  }
  std::fclose(f);
  ERR_clear_error();  // the read that ended the loop
  if (count == 0) return Error{ErrorCode::kConfig, "http_api.crl_file " + path + ": holds no PEM CRL"};
  return count;
}

PeerIdentity identity_of(X509* cert) {
  PeerIdentity id;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) id.subject.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
  }
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
  if (index >= 0) {
    ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, value);
    if (n > 0) id.serial_number.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
  }
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(cert)) {
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr)) {
      if (char* text = BN_bn2hex(bn)) {
        id.cert_serial = text;
        OPENSSL_free(text);
      }
      BN_free(bn);
    }
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) == 1) id.sha256 = hex(md.data(), md_len);
  return id;
}

}  // namespace

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() {
    if (ctx) SSL_CTX_free(ctx);
  }
};

TlsContext::TlsContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsContext::TlsContext(TlsContext&&) noexcept = default;
TlsContext& TlsContext::operator=(TlsContext&&) noexcept = default;
TlsContext::~TlsContext() = default;

Result<TlsContext> TlsContext::create(const HttpApiOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = SSL_CTX_new(TLS_server_method());
  if (!impl->ctx) return Error{ErrorCode::kConfig, "http_api: " + openssl_reason()};
  SSL_CTX* ctx = impl->ctx;
  // TLS 1.2 and 1.3 only (the Digikoppeling and NCSC guidelines); no renegotiation, no compression.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM");
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  auto fail = [](const char* key, const std::filesystem::path& path) {
    return Error{ErrorCode::kConfig, std::string("http_api.") + key + " " + path.string() + ": " + openssl_reason()};
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) return fail("cert_file", options.cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) return fail("key_file", options.key_file);
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("key_file", options.key_file);
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) return fail("ca_file", options.ca_file);
  // Tell clients which CAs we accept, so a client with several certificates picks the right one.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca_file.c_str())) SSL_CTX_set_client_CA_list(ctx, names);
  if (!options.crl_file.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    auto added = add_crls(store, options.crl_file.string());
    if (!added) return added.error();
    // The client's own certificate is checked against its issuer's CRL (the CA bundle's
    // intermediates are trusted as configured).
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, nullptr);
  SSL_CTX_set_verify_depth(ctx, 8);
  return TlsContext(std::move(impl));
}

std::string refusal_kind(const std::string& reason) {
  auto has = [&](const char* text) { return reason.find(text) != std::string::npos; };
  if (has("certificate revoked")) return "revoked";
  if (has("certificate has expired") || has("certificate is not yet valid")) return "expired";
  if (has("unable to get local issuer certificate") || has("unable to verify the first certificate") ||
      has("self-signed certificate") || has("self signed certificate") || has("unable to get issuer certificate") ||
      has("certificate signature failure")) {
    return "unknown_ca";
  }
  if (has("peer did not return a certificate")) return "no_certificate";
  if (has("unsupported protocol") || has("no shared cipher") || has("wrong version number") ||
      has("version too low") || has("no protocols available")) {
    return "protocol";
  }
  return "other";
}

struct TlsConnection::Impl {
  int fd = -1;
  SSL* ssl = nullptr;
  PeerIdentity peer;
  ~Impl() {
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
    if (fd >= 0) ::close(fd);
  }
};

TlsConnection::TlsConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsConnection::TlsConnection(TlsConnection&&) noexcept = default;
TlsConnection& TlsConnection::operator=(TlsConnection&&) noexcept = default;
TlsConnection::~TlsConnection() = default;

Result<TlsConnection> TlsConnection::accept(const TlsContext& context, int fd, std::chrono::milliseconds io_timeout) {
  auto impl = std::make_unique<Impl>();
  impl->fd = fd;
  // Blocking I/O with a deadline per read and write: a slow or silent client ties up only its own
  // thread, and only for this long.
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(io_timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((io_timeout.count() % 1000) * 1000);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  impl->ssl = SSL_new(context.impl().ctx);
  if (!impl->ssl) return Error{ErrorCode::kTransport, openssl_reason()};
  SSL_set_fd(impl->ssl, fd);
  ERR_clear_error();
  if (SSL_accept(impl->ssl) != 1) {
    std::string reason = openssl_reason();
    long verify = SSL_get_verify_result(impl->ssl);
    if (verify != X509_V_OK) reason = std::string(X509_verify_cert_error_string(verify)) + " (" + reason + ")";
    SSL_free(impl->ssl);  // no close_notify to a refused client
    impl->ssl = nullptr;
    return Error{ErrorCode::kTransport, reason};
  }
  X509* cert = SSL_get0_peer_certificate(impl->ssl);
  if (!cert) return Error{ErrorCode::kTransport, "no client certificate"};
  impl->peer = identity_of(cert);
  return TlsConnection(std::move(impl));
}

const PeerIdentity& TlsConnection::peer() const { return impl_->peer; }

std::size_t TlsConnection::read_some(char* buffer, std::size_t max) {
  std::size_t got = 0;
  if (SSL_read_ex(impl_->ssl, buffer, max, &got) != 1) {
    ERR_clear_error();
    return 0;
  }
  return got;
}

void TlsConnection::linger(std::chrono::milliseconds for_at_most, std::size_t max_bytes) {
  (void)SSL_shutdown(impl_->ssl);
  ERR_clear_error();
  ::shutdown(impl_->fd, SHUT_WR);
  timeval tv{};
  tv.tv_usec = 200'000;  // each read: a client that went quiet is not waited for
  setsockopt(impl_->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto deadline = std::chrono::steady_clock::now() + for_at_most;
  std::array<char, 16 * 1024> scratch{};
  std::size_t drained = 0;
  while (drained < max_bytes && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(impl_->fd, scratch.data(), scratch.size(), 0);
    if (n <= 0) break;
    drained += static_cast<std::size_t>(n);
  }
}

bool TlsConnection::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    std::size_t written = 0;
    if (SSL_write_ex(impl_->ssl, bytes.data(), bytes.size(), &written) != 1) {
      ERR_clear_error();
      return false;
    }
    bytes.remove_prefix(written);
  }
  return true;
}

}  // namespace broker::http_api
