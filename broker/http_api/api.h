#pragma once
// Api: the endpoints under /v1 (docs/http-api.md): one request in, one answer out, for a partner
// already identified by its client certificate. JSON (nlohmann) stays in api.cpp.
//
// Threading: one Api serves every connection thread at once; the per-connection state is theirs.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "broker/http_api/broker_link.h"
#include "broker/http_api/http_message.h"
#include "broker/http_api/tls.h"

namespace zmq {
class context_t;
}
namespace contracts {
class ContractRegistry;
}

namespace broker::http_api {

// The partner behind a client certificate: by OIN (subject serialNumber) first, then by SHA-256
// fingerprint. "" when the certificate maps to no partner.
struct CertificateMap {
  std::map<std::string, std::string> by_oin;     // OIN -> partner id
  std::map<std::string, std::string> by_sha256;  // lowercase hex fingerprint -> partner id
  std::string partner_of(const PeerIdentity& peer) const;
};

// What one TLS connection carries between its requests.
struct ConnectionState {
  PeerIdentity peer;
  std::string partner;  // "" when the certificate maps to no partner
  std::string origin;   // the origin its submits carry: https:oin=...;serial=...;sha256=...
  std::optional<GatewaySocket> submit_socket;  // made at the first submit, closed with the connection
};

class Api {
 public:
  // `registry` and `context` must outlive the Api. `max_wait` bounds a long poll; `ack_timeout` is
  // the broker's (DeliverySession).
  Api(const contracts::ContractRegistry& registry, zmq::context_t& context, BrokerAddress broker, GatewayKeys keys,
      std::chrono::seconds max_wait, std::chrono::milliseconds ack_timeout);
  ~Api();

  HttpResponse handle(const HttpRequest& request, ConnectionState& connection);
  // The answer to a request that could not be read (HttpReadError), as problem+json.
  static HttpResponse read_error(const HttpReadError& error);
  // Heartbeats for every delivery session; called every few seconds by one housekeeping thread.
  void keep_alive();

 private:
  DeliverySession* session_of(const std::string& partner, contracts::Error* error);
  HttpResponse post_messages(const HttpRequest& request, ConnectionState& connection);
  HttpResponse get_deliveries(const HttpRequest& request, ConnectionState& connection);
  HttpResponse answer_delivery(const HttpRequest& request, ConnectionState& connection, const std::string& id,
                               bool nack);
  // POST /v1/deliveries/{id}/processed: {"outcome": "done"|"refused", "reason": "..."}, 204 when logged.
  HttpResponse report_processed(const HttpRequest& request, ConnectionState& connection, const std::string& id);
  HttpResponse get_contracts(const ConnectionState& connection) const;
  HttpResponse get_contract(const ConnectionState& connection, const std::string& name, const std::string& version) const;

  const contracts::ContractRegistry& registry_;
  zmq::context_t& context_;
  BrokerAddress broker_;
  GatewayKeys keys_;
  std::chrono::seconds max_wait_;
  std::chrono::milliseconds ack_timeout_;
  std::mutex sessions_mu_;
  std::map<std::string, std::unique_ptr<DeliverySession>> sessions_;
};

// The route a request path falls under, for metric labels: "/v1/messages",
// "/v1/deliveries/{id}/ack", "/v1/contracts/{name}/{version}", ...; "other" for any path the API
// does not serve (so a client cannot make a label per path it invents).
std::string route_of(const std::string& path);

// The OpenAPI 3.0 document of this API (docs/openapi.json, compiled in).
const std::string& openapi_document();

}  // namespace broker::http_api
