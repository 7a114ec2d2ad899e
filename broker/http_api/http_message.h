#pragma once
// HTTP/1.1 requests and responses on one TLS connection: just what the HTTPS API needs (docs/http-api.md).
// Bodies come with Content-Length or in the chunked transfer coding (RFC 9112 §7.1). A body above
// the limit is refused from its Content-Length before a byte of it is read; a chunked one as soon
// as a chunk's size line (or the chunks read so far) take it past the limit.
//
// Threading: an HttpReader belongs to its connection's thread; a ChunkedDecoder to its request.

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "contracts/error.h"

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

// A request that could not be read: the status to answer with (400, 413, 431, 501) and why; the
// connection is closed after the answer, since the rest of the stream cannot be trusted.
struct HttpReadError {
  int status = 400;
  std::string detail;
};

// The chunked transfer coding of a request body (RFC 9112 §7.1), decoded from bytes as they
// arrive. Pure: it is handed what the connection read so far and never reads itself. Chunk
// extensions and trailer fields are read and ignored. Lines end with CRLF (a bare LF is refused);
// a size line may hold at most kMaxLineBytes, the trailer section at most kMaxTrailerBytes.
class ChunkedDecoder {
 public:
  static constexpr std::size_t kMaxLineBytes = 4096;
  static constexpr std::size_t kMaxTrailerBytes = 16 * 1024;

  explicit ChunkedDecoder(std::size_t max_body_bytes) : max_body_(max_body_bytes) {}

  // Decodes from the front of `input`, erasing what it consumed (after the last chunk and its
  // trailers, what is left is the connection's next request). True when the body is complete,
  // false when it needs more input. kTooLarge when a chunk's declared size or the data so far
  // exceed the limit (decided from the size line, before that chunk's data is read); kProtocol
  // naming the problem for malformed framing. After an error the decoder must not be fed again.
  [[nodiscard]] contracts::Result<bool> feed(std::string& input);

  // The data of the chunks decoded so far.
  std::string& body() { return body_; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailers, kDone };
  State state_ = State::kSize;
  std::size_t max_body_;
  std::size_t remaining_ = 0;      // data bytes of the current chunk not yet read
  std::size_t trailer_bytes_ = 0;  // trailer section bytes read so far
  std::string body_;
};

// The status a body-reading error answers with: 413 for kTooLarge, 400 otherwise.
HttpReadError read_error_of(const contracts::Error& error);

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
  Outcome read_chunked(HttpRequest req);  // the body in the chunked coding (ChunkedDecoder)
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
