#pragma once
// ConsoleServer::Impl, shared by the files of the console's server and included by them only:
// server.cpp (lifecycle and routes), server_gate.cpp (who is asking, the purpose and the `log_read`
// row before case data, store access), server_pages.cpp (the read-only pages) and
// server_resend.cpp (the resend form's POST). cpp-httplib stays behind this header.

#include <httplib.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/console/html.h"
#include "broker/console/server.h"
#include "broker/ops/serving_thread.h"
#include "broker/store/console_queries.h"
#include "broker/store/sqlite_store.h"
#include "contracts/error.h"

namespace broker::console {

// Request helpers (server_gate.cpp).
std::string param(const httplib::Request& req, const char* key);
std::string cookie(const httplib::Request& req, std::string_view name);
// The page in its frame, with the console's headers (no caching, no framing by others, a CSP).
void send_page(httplib::Response& res, int status, const Frame& frame, const std::string& body);
// "" = 0; a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time; kConfig naming `name` otherwise.
contracts::Result<Millis> time_param(const char* name, const std::string& text);

inline constexpr std::string_view kPurposeCookie = "keten_purpose";

// Paging of the lists (server_paging.cpp, paging.h): `per` and `after` read into the filter, and
// after the query the rows trimmed to the page with the pager's links returned. kConfig for a bad
// parameter.
contracts::Result<void> dead_letter_times(const httplib::Request& req, store::MessageFilter& f);
contracts::Result<std::size_t> message_page(const httplib::Request& req, store::MessageFilter& f);
contracts::Result<std::size_t> dead_letter_page(const httplib::Request& req, store::MessageFilter& f);
std::string message_pager(const httplib::Request& req, std::vector<store::MessageRow>& rows, store::MessageFilter& f,
                          std::size_t per);
std::string dead_letter_pager(const httplib::Request& req, std::vector<store::DeadLetter>& rows,
                              store::MessageFilter& f, std::size_t per);
// The case list: `per` and `after` (a case's newest message seq) into the filter; after the query
// the rows trimmed to the page and the pager's links.
contracts::Result<std::size_t> case_page_size(const httplib::Request& req, store::CaseFilter& f);
std::string case_pager(const httplib::Request& req, std::vector<store::CaseSummary>& rows, store::CaseFilter& f,
                       std::size_t per);
// The partners after `after` (by name), at most `per`, in place; the pager's links.
contracts::Result<std::string> partner_page(const httplib::Request& req, std::vector<store::PartnerSummary>& rows);

// TLS (server_tls.cpp). The client certificate the handshake verified: its SHA-256 fingerprint
// (lowercase hex) and subject (RFC 2253); both "" over plain HTTP or without a certificate.
struct ClientCertificate {
  std::string sha256;
  std::string subject;
};
ClientCertificate client_certificate(const httplib::Request& req);
// A plain server, or an SSLServer when options name a certificate; kConfig naming the flag and
// file that cannot be used.
contracts::Result<std::unique_ptr<httplib::Server>> make_server(const ConsoleOptions& options);

struct ConsoleServer::Impl {
  using Error = contracts::Error;
  template <class T>
  using Result = contracts::Result<T>;
  using Request = httplib::Request;
  using Response = httplib::Response;

  ConsoleOptions options;
  std::unique_ptr<httplib::Server> server;  // an httplib::SSLServer with TLS (server_tls.cpp)
  std::unique_ptr<ops::ServingThread> serving;  // after `server`: destroyed (stopped, joined) first

  // server.cpp
  void login(const Request& req, Response& res) const;
  void routes();

  // server_gate.cpp
  Result<store::SqliteStore> open_store(bool read_only) const;
  // Appends rows in one transaction of their own.
  Result<void> append(std::vector<events::Event> events) const;
  const Viewer* viewer(const Request& req) const;
  // server_tls.cpp: the viewer the request's verified client certificate names, or nullptr.
  const Viewer* certificate_viewer(const Request& req) const;
  // The viewer, or a 401 with the login form already in `res`.
  const Viewer* require_viewer(const Request& req, Response& res) const;
  std::string purpose(const Request& req, Response& res) const;
  // Before any case data is sent: the purpose (asking for it when missing) and the `log_read` row.
  // false when the response is already written (the purpose form, or a 503 when the read cannot be
  // recorded: case data is never shown unrecorded).
  bool record_read(const Request& req, Response& res, const Viewer& v, const Frame& frame, const std::string& case_ref,
                   const std::string& partner) const;
  store::MessageFilter filter_from(const Request& req, const Viewer& v) const;
  void storage_failure(Response& res, const Frame& frame, const Error& e) const;

  // server_pages.cpp
  void partners(const Request& req, Response& res) const;
  void dead_letters(const Request& req, Response& res) const;
  void messages(const Request& req, Response& res) const;
  // Answers 404 for an unknown message and 403 for one of a case `v` may not see (saying nothing
  // more about it) and returns true; false when the page may be shown.
  bool refuse_message(const Viewer& v, const std::optional<store::MessageRecord>& record, const Frame& frame,
                      Response& res) const;
  void message(const Request& req, Response& res) const;
  // /messages/<id>/proof/<seq>: the event's inclusion proof as `keten log prove` prints it (JSON).
  void message_proof(const Request& req, Response& res) const;
  void case_page(const Request& req, Response& res) const;
  // /cases/bundle?case=V: the case bundle as `keten log export --tree --case V` writes it.
  void case_bundle_download(const Request& req, Response& res) const;
  // /cases without a case: the paged list of cases the viewer may see.
  void case_list(const Request& req, Response& res, const Viewer& v, const Frame& frame) const;
  void contracts_page(const Request& req, Response& res) const;
  void quality(const Request& req, Response& res) const;

  // server_resend.cpp
  void resend(const Request& req, Response& res) const;
};

}  // namespace broker::console
