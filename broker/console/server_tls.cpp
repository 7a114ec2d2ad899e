#include "broker/console/server_impl.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>

namespace broker::console {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;

namespace {

std::string hex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string subject_text(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

ClientCertificate client_certificate(const httplib::Request& req) {
  ClientCertificate out;
  if (req.ssl == nullptr) return out;
  // Only a certificate the handshake verified against --client-ca names anyone.
  if (SSL_get_verify_result(req.ssl) != X509_V_OK) return out;
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(req.ssl), &X509_free);
  if (!cert) return out;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &n) != 1) return out;
  out.sha256 = hex(digest, n);
  out.subject = subject_text(cert.get());
  return out;
}

const Viewer* ConsoleServer::Impl::certificate_viewer(const httplib::Request& req) const {
  if (req.ssl == nullptr) return nullptr;
  const auto c = client_certificate(req);
  if (c.sha256.empty()) return nullptr;
  return options.access.find_certificate(c.sha256, c.subject);
}

Result<std::unique_ptr<httplib::Server>> make_server(const ConsoleOptions& o) {
  if (o.tls_cert.empty() && o.tls_key.empty() && o.client_ca.empty()) return std::make_unique<httplib::Server>();
  if (o.tls_cert.empty() || o.tls_key.empty()) {
    return Error{ErrorCode::kConfig, "TLS needs both --tls-cert and --tls-key (--client-ca is optional)"};
  }
  std::error_code ec;
  for (const auto& [flag, path] : {std::pair{"--tls-cert", &o.tls_cert}, std::pair{"--tls-key", &o.tls_key},
                                   std::pair{"--client-ca", &o.client_ca}}) {
    if (!path->empty() && !std::filesystem::is_regular_file(*path, ec)) {
      return Error{ErrorCode::kConfig, std::string(flag) + " " + path->string() + ": no such file"};
    }
  }
  const std::string cert = o.tls_cert.string(), key = o.tls_key.string(), ca = o.client_ca.string();
  auto server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str(), ca.empty() ? nullptr : ca.c_str());
  if (!server->is_valid()) {
    return Error{ErrorCode::kConfig, "--tls-cert " + cert + " / --tls-key " + key +
                                         (ca.empty() ? "" : " / --client-ca " + ca) +
                                         ": cannot be loaded (PEM certificate, its private key, PEM CA certificates)"};
  }
  if (!ca.empty()) {
    // A client certificate is asked for and, when one is sent, must chain to --client-ca or the
    // handshake fails; a client without one may still log in with a token.
    SSL_CTX_set_verify(server->ssl_context(), SSL_VERIFY_PEER, nullptr);
  }
  return std::unique_ptr<httplib::Server>(std::move(server));
}

}  // namespace broker::console
