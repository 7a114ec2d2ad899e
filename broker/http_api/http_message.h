#pragma once
// HTTP/1.1 requests and responses on one TLS connection: just what the HTTPS API needs (docs/http-api.md).
// Bodies come with Content-Length only (no chunked uploads), and a body above the limit is refused
// from its Content-Length, before a byte of it is read.
//
// Threading: an HttpReader belongs to its connection's thread.

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace broker::http_api {

class TlsConnection;

struct HttpRequest {
  std::string method;                          // "GET", "POST"
  std::string path;                            // "/v1/messages", without the query
  std::map<std::string, std::string> query;    // decoded ?key=value pairs
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  bool keep_alive = true;
  std::string header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers{};  // extra headers (Location, Retry-After, ...)
  bool close = false;                            // close the connection after this answer
};

// A request that could not be read: the status to answer with (400, 411, 413, 431) and why; the
// connection is closed after the answer, since the rest of the stream cannot be trusted.
struct HttpReadError {
  int status = 400;
  std::string detail;
};

class HttpReader {
 public:
  HttpReader(TlsConnection& connection, std::size_t max_body_bytes) : connection_(connection), max_body_(max_body_bytes) {}

  // The next request; std::nullopt when the client closed the connection or went silent between
  // requests; an HttpReadError when what it sent is not a request we take.
  struct Outcome {
    std::optional<HttpRequest> request;
    std::optional<HttpReadError> error;
  };
  Outcome next();

 private:
  bool fill();
  TlsConnection& connection_;
  std::size_t max_body_;
  std::string buffer_;
};

// Writes the status line, Content-Type, Content-Length, the API-Version header, `extra` headers
// and the body. False when the connection failed.
bool write_response(TlsConnection& connection, const HttpResponse& response);

// "%2F" and "+" decoded; std::nullopt on a bad escape.
std::optional<std::string> url_decode(const std::string& text);

}  // namespace broker::http_api
