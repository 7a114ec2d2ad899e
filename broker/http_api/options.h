#pragma once
// HttpApiOptions: the [http_api] section of the broker config (docs/configuration.md, docs/http-api.md).
// A plain aggregate so broker/core can hold it without linking the HTTPS library.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

namespace broker::http_api {

struct HttpApiOptions {
  std::string listen;                 // host:port of the HTTPS listener; "" = off (the default)
  std::filesystem::path cert_file;    // the server's certificate chain (PEM)
  std::filesystem::path key_file;     // its private key (PEM)
  std::filesystem::path ca_file;      // CA bundle that client certificates must chain to (PEM)
  std::filesystem::path crl_file;     // optional CRL(s) of that CA (PEM); "" = no revocation check
  std::size_t max_body_bytes = 1 << 20;   // larger request bodies get 413 before they are read
  std::size_t max_connections = 256;      // concurrent TLS connections; more are closed at once
  std::chrono::milliseconds io_timeout{30'000};  // a client silent this long mid-request is dropped
  std::chrono::seconds max_wait{60};      // the longest long poll GET /v1/deliveries may ask for

  bool enabled() const { return !listen.empty(); }
};

}  // namespace broker::http_api
