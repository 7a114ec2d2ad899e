#pragma once
// HttpApi: the HTTPS listener with mutual TLS in front of the broker (docs/http-api.md). It runs on
// threads of its own: one accepts connections, one per connection reads its requests (so a slow
// client holds up nobody else), one sends the delivery sessions' heartbeats. It reaches the broker
// loop only as ZeroMQ partner connections (broker_link.h), never by sharing its state.
//
// Lifecycle: make the GatewayKeys first and give their public keys to the broker
// (BrokerOptions::gateway_keys) before it starts; then start() with the broker's bound endpoint.
// stop() (or the destructor) closes the listener and every connection and joins the threads.

#include <memory>
#include <string>
#include <vector>

#include "broker/http_api/broker_link.h"
#include "broker/http_api/options.h"
#include "contracts/error.h"

namespace contracts {
class ContractRegistry;
}
namespace broker::ops {
class MetricsRegistry;
}

namespace broker::http_api {

struct PartnerCertificate {
  std::string partner;      // partner id
  std::string oin;          // subject serialNumber that maps to it; "" = none
  std::string cert_sha256;  // certificate fingerprint that maps to it; "" = none
};

class HttpApi {
 public:
  // Loads the certificates, binds `options.listen` and starts serving. `registry` is the broker's
  // contract set (for GET /v1/contracts); `broker` its endpoint as bound and its public key;
  // `metrics` the broker's registry (its /metrics), where the keten_https_* families are counted
  // (docs/operations.md), or null to count nothing. It must outlive the HttpApi.
  // kConfig when a file or setting is bad, kTransport when the address cannot be bound.
  [[nodiscard]] static contracts::Result<std::unique_ptr<HttpApi>> start(
      const HttpApiOptions& options, const std::vector<PartnerCertificate>& partners, GatewayKeys keys,
      BrokerAddress broker, std::unique_ptr<contracts::ContractRegistry> registry, ops::MetricsRegistry* metrics);
  ~HttpApi();

  // Reads the certificate, key, CA bundle and CRL as start() would, and binds nothing (keten serve
  // --check-config). kConfig naming the key, the file and OpenSSL's reason.
  [[nodiscard]] static contracts::Result<void> check_files(const HttpApiOptions& options);

  // host:port as bound (the real port when the config said 0).
  std::string endpoint() const;
  void stop();

 private:
  struct Impl;
  explicit HttpApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace broker::http_api
