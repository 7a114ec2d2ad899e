#include "broker/http_api/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "broker/http_api/log.h"
#include "contracts/registry.h"
#include "contracts/time.h"

namespace broker::http_api {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using json = nlohmann::ordered_json;

constexpr std::chrono::seconds kBrokerAnswerTimeout{30};
constexpr std::uint32_t kMaxDeliveriesPerPoll = 1000;
constexpr const char* kProblemJson = "application/problem+json";

struct Problem {
  int status = 400;
  std::string code;    // machine word: schema_violation, not_found, ...
  std::string title;
  std::string detail;
  std::vector<contracts::FieldError> errors{};
  json extra = json::object();  // message_id, payload_digest, ...
};

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotOwner:
    case ErrorCode::kRecipientNotAllowed: return 403;
    case ErrorCode::kUnknownDelivery: return 404;
    case ErrorCode::kMessageIdTaken: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kRateLimited:
    case ErrorCode::kBacklogFull: return 429;
    case ErrorCode::kStorage:
    case ErrorCode::kTransport: return 503;
    case ErrorCode::kTimeout: return 504;
    default: return 400;
  }
}

std::string title_of(int status) {
  switch (status) {
    case 400: return "The request breaks the API or the contract";
    case 401: return "The client certificate is not known to this broker";
    case 403: return "Not allowed for this partner";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 413: return "Content too large";
    case 415: return "Unsupported media type";
    case 429: return "Too many requests";
    case 431: return "Request headers too large";
    case 503: return "The broker could not take the request now";
    case 501: return "Not implemented";
    case 504: return "The broker did not answer in time";
    default: return "Error";
  }
}

// Text from outside (a parser's message quoting the body, a header field) may hold bytes that are
// not UTF-8: they are replaced in the answer rather than making dump() throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse problem_response(const Problem& p, const std::string& instance = {}) {
  json j = json::object();
  j["type"] = "urn:keten:problem:" + p.code;
  j["title"] = p.title.empty() ? title_of(p.status) : p.title;
  j["status"] = p.status;
  j["detail"] = p.detail;
  if (!instance.empty()) j["instance"] = instance;
  j["code"] = p.code;
  for (auto& [k, v] : p.extra.items()) j[k] = v;
  if (!p.errors.empty()) {
    json list = json::array();
    for (const auto& e : p.errors) list.push_back({{"pointer", e.pointer}, {"code", e.code}, {"reason", e.reason}});
    j["errors"] = std::move(list);
  }
  HttpResponse r;
  r.status = p.status;
  r.content_type = kProblemJson;
  r.body = dump(j);
  if (p.status == 429) r.headers["Retry-After"] = "1";
  return r;
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

// A broker pointer (into the payload, or `header.<field>`) as a pointer into the request body:
// "/std" -> "<prefix>/payload/std", "header.recipients[1]" -> "<prefix>/recipients/1".
std::string body_pointer(const std::string& prefix, const std::string& pointer) {
  if (pointer.rfind("header.", 0) == 0) {
    std::string field = pointer.substr(7), out = prefix + "/";
    for (char c : field) {
      if (c == '[') out += '/';
      else if (c != ']') out += c;
    }
    return out;
  }
  return prefix + "/payload" + pointer;
}

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

json receipt_json(const contracts::Receipt& r, const std::string& prefix) {
  json j = json::object();
  j["message_id"] = r.message_id;
  j["status"] = std::string(contracts::to_string(r.status));
  if (r.status != contracts::ReceiptStatus::kRejected) {
    j["recipients"] = r.recipients;
    j["log_seq"] = r.log_seq;
    j["accepted_at"] = contracts::format_rfc3339(r.accepted_at);
  } else {
    j["code"] = std::string(contracts::to_string(r.code));
    j["detail"] = r.detail;
    json list = json::array();
    for (const auto& e : r.errors) {
      list.push_back({{"pointer", body_pointer(prefix, e.pointer)}, {"code", e.code}, {"reason", e.reason}});
    }
    j["errors"] = std::move(list);
  }
  j["payload_digest"] = r.payload_digest;
  if (!r.signature.empty()) j["signature"] = hex(r.signature);
  if (r.signed_count > 0) {  // the signature covers the commit's receipts (handover-log-format.md §5)
    j["signed_count"] = r.signed_count;
    j["signed_index"] = r.signed_index;
    j["signed_path"] = hex(r.signed_path);
  }
  if (!r.checkpoint.empty()) j["checkpoint"] = r.checkpoint;
  return j;
}

// The broker refuses payloads nested deeper than 32 levels; a request may add its own two (a
// batch, a message). Checked before parsing, since the parsed value is later written out again
// by recursion, one stack frame per level.
constexpr std::size_t kMaxDepth = 40;

std::size_t nesting_depth(const std::string& text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Parses JSON, refusing a key named twice in one object (as the broker does for payloads: the
// API re-serialises the payload, which would otherwise drop one of the two silently).
std::optional<json> parse_strict(const std::string& text, std::string& problem) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  if (nesting_depth(text) > kMaxDepth) {
    problem = "the JSON nests deeper than " + std::to_string(kMaxDepth) + " levels";
    return std::nullopt;
  }
  auto callback = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    else if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (event == json::parse_event_t::key && !keys.empty() && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    json j = json::parse(text, callback);
    if (!duplicate.empty()) {
      problem = "the key \"" + duplicate + "\" appears twice in one object";
      return std::nullopt;
    }
    return j;
  } catch (const json::parse_error& e) {
    problem = e.what();
    return std::nullopt;
  }
}

void field_error(std::vector<contracts::FieldError>& errors, std::string pointer, std::string code, std::string reason) {
  errors.push_back({std::move(pointer), std::move(code), std::move(reason)});
}

// One message object of a POST /v1/messages body as a Submit; every problem goes to `errors`
// with a pointer under `prefix`.
contracts::Submit read_message(const json& m, const std::string& prefix, const std::string& origin,
                               std::vector<contracts::FieldError>& errors) {
  contracts::Submit s;
  if (!m.is_object()) {
    field_error(errors, prefix, "type", "a message is a JSON object");
    return s;
  }
  static const std::set<std::string> kKnown = {"message_id", "contract", "version", "case_ref", "recipients",
                                               "correlation_id", "causation_id", "supersedes", "occurred_at",
                                               "recorded_at", "payload"};
  for (const auto& [key, value] : m.items()) {
    if (!kKnown.count(key)) field_error(errors, prefix + "/" + key, "additionalProperties", "unknown field " + key);
  }
  auto text = [&](const char* key, std::string& out, bool required) {
    auto it = m.find(key);
    if (it == m.end()) {
      if (required) field_error(errors, prefix + "/" + key, "required", std::string(key) + " is required");
      return;
    }
    if (!it->is_string()) {
      field_error(errors, prefix + "/" + key, "type", std::string(key) + " must be a string");
      return;
    }
    out = it->get<std::string>();
  };
  auto time = [&](const char* key, contracts::Millis& out) {
    std::string value;
    text(key, value, false);
    if (value.empty()) return;
    auto parsed = contracts::parse_rfc3339(value);
    if (!parsed) field_error(errors, prefix + "/" + key, "format", std::string(key) + " must be an RFC 3339 date-time with an offset");
    else out = *parsed;
  };
  auto& h = s.header;
  text("message_id", h.message_id, true);
  text("contract", h.contract, true);
  text("case_ref", h.case_ref, true);
  text("correlation_id", h.correlation_id, false);
  text("causation_id", h.causation_id, false);
  text("supersedes", h.supersedes, false);
  time("occurred_at", h.occurred_at);
  time("recorded_at", h.recorded_at);
  if (auto it = m.find("version"); it == m.end()) {
    field_error(errors, prefix + "/version", "required", "version is required");
  } else if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > 1'000'000) {
    field_error(errors, prefix + "/version", "minimum", "version must be an integer of 1 or more");
  } else {
    h.version = static_cast<std::uint32_t>(it->get<std::uint64_t>());
  }
  if (auto it = m.find("recipients"); it != m.end()) {
    if (!it->is_array()) {
      field_error(errors, prefix + "/recipients", "type", "recipients must be an array of partner ids");
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) field_error(errors, prefix + "/recipients/" + std::to_string(i), "type", "a recipient is a partner id (string)");
        else h.recipients.push_back((*it)[i].get<std::string>());
      }
    }
  }
  if (auto it = m.find("payload"); it == m.end()) {
    field_error(errors, prefix + "/payload", "required", "payload is required (the message body as JSON)");
  } else {
    s.payload = it->dump();
  }
  h.origin = origin;
  return s;
}

std::optional<std::uint64_t> parse_number(const std::string& text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

json deliver_json(const contracts::Deliver& d) {
  json j = json::object();
  const auto& h = d.header;
  j["delivery_id"] = d.delivery_id;
  j["attempt"] = d.attempt;
  j["message_id"] = h.message_id;
  j["contract"] = h.contract;
  j["version"] = h.version;
  j["case_ref"] = h.case_ref;
  j["recipients"] = h.recipients;
  j["sender"] = d.sender;
  j["accepted_at"] = contracts::format_rfc3339(d.accepted_at);
  for (const auto& [key, value] : {std::pair{"correlation_id", &h.correlation_id}, std::pair{"causation_id", &h.causation_id},
                                   std::pair{"supersedes", &h.supersedes}, std::pair{"origin", &h.origin}}) {
    if (!value->empty()) j[key] = *value;
  }
  if (h.occurred_at != 0) j["occurred_at"] = contracts::format_rfc3339(h.occurred_at);
  if (h.recorded_at != 0) j["recorded_at"] = contracts::format_rfc3339(h.recorded_at);
  try {
    j["payload"] = json::parse(d.payload);
  } catch (const json::parse_error&) {
    j["payload_text"] = d.payload;  // never expected: the broker validated it as JSON
  }
  j["removed_fields"] = d.removed_fields;
  return j;
}

json roles_of(const contracts::Contract& c, const std::string& partner) {
  json roles = json::array();
  if (c.is_owner(partner)) roles.push_back("owner");
  if (c.is_consumer(partner)) roles.push_back("consumer");
  return roles;
}

}  // namespace

std::string CertificateMap::partner_of(const PeerIdentity& peer) const {
  if (!peer.serial_number.empty()) {
    if (auto it = by_oin.find(peer.serial_number); it != by_oin.end()) return it->second;
  }
  if (auto it = by_sha256.find(peer.sha256); it != by_sha256.end()) return it->second;
  return {};
}

Api::Api(const contracts::ContractRegistry& registry, zmq::context_t& context, BrokerAddress broker, GatewayKeys keys,
         std::chrono::seconds max_wait, std::chrono::milliseconds ack_timeout)
    : registry_(registry),
      context_(context),
      broker_(std::move(broker)),
      keys_(std::move(keys)),
      max_wait_(max_wait),
      ack_timeout_(ack_timeout) {}

Api::~Api() = default;

HttpResponse Api::read_error(const HttpReadError& error) {
  Problem p;
  p.status = error.status;
  p.code = error.status == 413 ? "too_large" : error.status == 501 ? "not_implemented" : "bad_request";
  p.detail = error.detail;
  HttpResponse r = problem_response(p);
  r.close = true;
  return r;
}

namespace {

std::vector<std::string> path_parts(const std::string& path) {
  std::vector<std::string> parts;
  for (std::size_t start = 1; start <= path.size();) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::string route_of(const std::string& path) {
  const auto parts = path_parts(path);
  if (parts.empty() || parts[0] != "v1") return "other";
  if (parts.size() == 2 && (parts[1] == "messages" || parts[1] == "deliveries" || parts[1] == "contracts" ||
                            parts[1] == "openapi.json")) {
    return "/v1/" + parts[1];
  }
  if (parts.size() == 4 && parts[1] == "deliveries" &&
      (parts[3] == "ack" || parts[3] == "nack" || parts[3] == "processed")) {
    return "/v1/deliveries/{id}/" + parts[3];
  }
  if (parts.size() == 4 && parts[1] == "contracts") return "/v1/contracts/{name}/{version}";
  return "other";
}

HttpResponse Api::handle(const HttpRequest& request, ConnectionState& connection) {
  const std::vector<std::string> parts = path_parts(request.path);
  auto method_not_allowed = [&](const char* allow) {
    Problem p{405, "method_not_allowed", "", request.method + " is not served on " + request.path};
    HttpResponse r = problem_response(p, request.path);
    r.headers["Allow"] = allow;
    return r;
  };
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "openapi.json") {
    if (request.method != "GET") return method_not_allowed("GET");
    HttpResponse r;
    r.body = openapi_document();
    return r;
  }
  if (connection.partner.empty()) {
    Problem p{401, "unknown_certificate", "",
              "no partner is configured for this certificate (subject serialNumber \"" + connection.peer.serial_number +
                  "\", SHA-256 " + connection.peer.sha256 + "); ask the broker's operator to map it"};
    return problem_response(p, request.path);
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "messages") {
    if (request.method != "POST") return method_not_allowed("POST");
    return post_messages(request, connection);
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "deliveries") {
    if (request.method != "GET") return method_not_allowed("GET");
    return get_deliveries(request, connection);
  }
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "deliveries" && (parts[3] == "ack" || parts[3] == "nack")) {
    if (request.method != "POST") return method_not_allowed("POST");
    return answer_delivery(request, connection, parts[2], parts[3] == "nack");
  }
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "deliveries" && parts[3] == "processed") {
    if (request.method != "POST") return method_not_allowed("POST");
    return report_processed(request, connection, parts[2]);
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "contracts") {
    if (request.method != "GET") return method_not_allowed("GET");
    return get_contracts(connection);
  }
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "contracts") {
    if (request.method != "GET") return method_not_allowed("GET");
    return get_contract(connection, parts[2], parts[3]);
  }
  return problem_response(Problem{404, "not_found", "", "no resource " + request.path + " (see /v1/openapi.json)"},
                          request.path);
}

HttpResponse Api::post_messages(const HttpRequest& request, ConnectionState& connection) {
  const std::string type = request.header("content-type");
  if (type.rfind("application/json", 0) != 0) {
    return problem_response(Problem{415, "unsupported_media_type", "", "send the message(s) as application/json"}, request.path);
  }
  std::string parse_problem;
  auto body = parse_strict(request.body, parse_problem);
  if (!body) {
    const std::string code = parse_problem.rfind("the key", 0) == 0          ? "duplicate_key"
                             : parse_problem.rfind("the JSON nests", 0) == 0 ? "depth"
                                                                             : "json";
    Problem p{400, code, "", "the body is not acceptable JSON: " + parse_problem};
    p.errors.push_back({"", code, parse_problem});
    return problem_response(p, request.path);
  }
  const bool batch = body->is_array();
  std::vector<contracts::Submit> messages;
  std::vector<contracts::FieldError> errors;
  if (batch) {
    if (body->empty()) errors.push_back({"", "minItems", "a batch holds at least one message"});
    if (body->size() > contracts::kMaxBatchMessages) {
      return problem_response(Problem{413, "too_large", "", "a batch holds at most " + std::to_string(contracts::kMaxBatchMessages) + " messages"},
                              request.path);
    }
    for (std::size_t i = 0; i < body->size(); ++i) {
      messages.push_back(read_message((*body)[i], "/" + std::to_string(i), connection.origin, errors));
    }
  } else {
    messages.push_back(read_message(*body, "", connection.origin, errors));
  }
  if (!errors.empty()) {
    Problem p{400, "malformed_request", "", "the request body does not match the API (" + std::to_string(errors.size()) +
                                                " problem" + (errors.size() == 1 ? "" : "s") + "); nothing was submitted"};
    p.errors = std::move(errors);
    return problem_response(p, request.path);
  }
  if (!connection.submit_socket) {
    const CurvePair* keys = keys_.find(connection.partner);
    if (!keys) return problem_response(Problem{503, "unavailable", "", "no gateway key for this partner"}, request.path);
    auto socket = GatewaySocket::connect(context_, broker_, *keys);
    if (!socket) return problem_response(Problem{503, "unavailable", "", socket.error().detail}, request.path);
    connection.submit_socket = std::move(*socket);
  }
  std::vector<std::string> ids;
  for (const auto& m : messages) ids.push_back(m.header.message_id);
  auto receipts = submit(*connection.submit_socket, std::move(messages), batch, kBrokerAnswerTimeout);
  if (!receipts) {
    // The socket may hold a late answer: a fresh one for the next request.
    if (receipts.error().code == ErrorCode::kTimeout) connection.submit_socket.reset();
    const int status = status_of(receipts.error().code);
    Problem p{status, std::string(contracts::to_string(receipts.error().code)), "", receipts.error().detail};
    return problem_response(p, request.path);
  }
  if (!batch) {
    const auto& r = receipts->front();
    if (r.status == contracts::ReceiptStatus::kRejected) {
      Problem p{status_of(r.code), std::string(contracts::to_string(r.code)), "", r.detail};
      for (const auto& e : r.errors) p.errors.push_back({body_pointer("", e.pointer), e.code, e.reason});
      p.extra["message_id"] = r.message_id;
      p.extra["payload_digest"] = r.payload_digest;
      return problem_response(p, request.path);
    }
    return json_response(r.status == contracts::ReceiptStatus::kAccepted ? 201 : 200, receipt_json(r, ""));
  }
  json list = json::array();
  bool all_accepted = true;
  for (std::size_t i = 0; i < receipts->size(); ++i) {
    all_accepted = all_accepted && (*receipts)[i].status == contracts::ReceiptStatus::kAccepted;
    list.push_back(receipt_json((*receipts)[i], "/" + std::to_string(i)));
  }
  return json_response(all_accepted ? 201 : 200, json{{"receipts", std::move(list)}});
}

DeliverySession* Api::session_of(const std::string& partner, Error* error) {
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(partner);
  if (it != sessions_.end()) return it->second.get();
  const CurvePair* keys = keys_.find(partner);
  if (!keys) {
    *error = Error{ErrorCode::kConfig, "no gateway key for " + partner};
    return nullptr;
  }
  auto socket = GatewaySocket::connect(context_, broker_, *keys);
  if (!socket) {
    *error = socket.error();
    return nullptr;
  }
  auto session = std::make_unique<DeliverySession>(std::move(*socket), ack_timeout_);
  DeliverySession* out = session.get();
  sessions_[partner] = std::move(session);
  return out;
}

HttpResponse Api::get_deliveries(const HttpRequest& request, ConnectionState& connection) {
  std::vector<contracts::FieldError> errors;
  std::uint64_t max = 10, wait = 0;
  if (auto it = request.query.find("max"); it != request.query.end()) {
    auto v = parse_number(it->second);
    if (!v || *v < 1 || *v > kMaxDeliveriesPerPoll) {
      errors.push_back({"?max", "range", "max must be an integer from 1 to " + std::to_string(kMaxDeliveriesPerPoll)});
    } else {
      max = *v;
    }
  }
  if (auto it = request.query.find("wait"); it != request.query.end()) {
    auto v = parse_number(it->second);
    if (!v || *v > static_cast<std::uint64_t>(max_wait_.count())) {
      errors.push_back({"?wait", "range", "wait must be a whole number of seconds from 0 to " + std::to_string(max_wait_.count())});
    } else {
      wait = *v;
    }
  }
  if (!errors.empty()) {
    Problem p{400, "bad_query", "", "the query parameters are not valid"};
    p.errors = std::move(errors);
    return problem_response(p, request.path);
  }
  Error error;
  DeliverySession* session = session_of(connection.partner, &error);
  if (!session) return problem_response(Problem{503, "unavailable", "", error.detail}, request.path);
  auto taken = session->take(static_cast<std::uint32_t>(max), std::chrono::seconds(wait));
  if (!taken) return problem_response(Problem{503, "unavailable", "", taken.error().detail}, request.path);
  json list = json::array();
  for (const auto& d : *taken) list.push_back(deliver_json(d));
  return json_response(200, json{{"deliveries", std::move(list)}});
}

HttpResponse Api::answer_delivery(const HttpRequest& request, ConnectionState& connection, const std::string& id_text,
                                  bool nack) {
  auto id = parse_number(id_text);
  if (!id || *id == 0) {
    return problem_response(Problem{404, "unknown_delivery", "", "no delivery " + id_text + " for " + connection.partner},
                            request.path);
  }
  std::string reason;
  if (nack && !request.body.empty()) {
    std::string parse_problem;
    auto body = parse_strict(request.body, parse_problem);
    if (!body || !body->is_object() || (body->contains("reason") && !(*body)["reason"].is_string())) {
      Problem p{400, "malformed_request", "", "a nack body is {\"reason\": \"...\"}"};
      p.errors.push_back({"/reason", "type", "reason must be a string"});
      return problem_response(p, request.path);
    }
    reason = body->value("reason", "");
  }
  Error error;
  DeliverySession* session = session_of(connection.partner, &error);
  if (!session) return problem_response(Problem{503, "unavailable", "", error.detail}, request.path);
  auto answered = session->answer(*id, nack, reason, std::chrono::seconds(10));
  if (!answered) {
    const auto code = answered.error().code;
    return problem_response(Problem{status_of(code), std::string(contracts::to_string(code)), "", answered.error().detail},
                            request.path);
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse Api::report_processed(const HttpRequest& request, ConnectionState& connection, const std::string& id_text) {
  auto id = parse_number(id_text);
  if (!id || *id == 0) {
    return problem_response(Problem{404, "unknown_delivery", "", "no delivery " + id_text + " for " + connection.partner},
                            request.path);
  }
  std::string parse_problem;
  auto body = parse_strict(request.body, parse_problem);
  const bool outcome_ok = body && body->is_object() && body->contains("outcome") && (*body)["outcome"].is_string() &&
                          ((*body)["outcome"] == "done" || (*body)["outcome"] == "refused");
  const bool reason_ok = body && body->is_object() && (!body->contains("reason") || (*body)["reason"].is_string());
  if (!outcome_ok || !reason_ok) {
    Problem p{400, "malformed_request", "", "a processed body is {\"outcome\": \"done\"|\"refused\", \"reason\": \"...\"}"};
    if (!outcome_ok) p.errors.push_back({"/outcome", "enum", "outcome must be \"done\" or \"refused\""});
    if (!reason_ok) p.errors.push_back({"/reason", "type", "reason must be a string"});
    return problem_response(p, request.path);
  }
  contracts::Processed report;
  report.delivery_id = *id;
  report.outcome = (*body)["outcome"] == "refused" ? contracts::ProcessedOutcome::kRefused : contracts::ProcessedOutcome::kDone;
  report.reason = body->value("reason", "");
  Error error;
  DeliverySession* session = session_of(connection.partner, &error);
  if (!session) return problem_response(Problem{503, "unavailable", "", error.detail}, request.path);
  auto reported = session->report_processed(report, std::chrono::seconds(10));
  if (!reported) {
    const auto code = reported.error().code;
    return problem_response(Problem{status_of(code), std::string(contracts::to_string(code)), "", reported.error().detail},
                            request.path);
  }
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse Api::get_contracts(const ConnectionState& connection) const {
  json list = json::array();
  for (const auto& [key, c] : registry_.all()) {
    list.push_back({{"name", c.name},
                    {"version", c.version},
                    {"description", c.description},
                    {"roles", roles_of(c, connection.partner)},
                    {"href", "/v1/contracts/" + c.name + "/" + std::to_string(c.version)}});
  }
  return json_response(200, json{{"contracts", std::move(list)}});
}

HttpResponse Api::get_contract(const ConnectionState& connection, const std::string& name, const std::string& version) const {
  const std::string path = "/v1/contracts/" + name + "/" + version;
  auto v = parse_number(version);
  const auto& all = registry_.all();
  auto it = v ? all.find(std::pair<std::string, std::uint32_t>(name, static_cast<std::uint32_t>(*v))) : all.end();
  if (it == all.end()) {
    return problem_response(Problem{404, "unknown_contract", "", "no contract " + name + " version " + version}, path);
  }
  const auto& c = it->second;
  json j = {{"name", c.name},         {"version", c.version},     {"description", c.description},
            {"owners", c.owners},     {"consumers", c.consumers}, {"roles", roles_of(c, connection.partner)}};
  try {
    j["schema"] = json::parse(c.schema_json);
  } catch (const json::parse_error&) {
    j["schema"] = nullptr;
  }
  return json_response(200, j);
}

void Api::keep_alive() {
  std::vector<DeliverySession*> sessions;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, s] : sessions_) sessions.push_back(s.get());
  }
  for (auto* s : sessions) s->keep_alive();
}

}  // namespace broker::http_api
