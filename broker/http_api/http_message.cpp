#include "broker/http_api/http_message.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "broker/http_api/api_version.h"
#include "broker/http_api/tls.h"

namespace broker::http_api {
namespace {

constexpr std::size_t kMaxHeadBytes = 16 * 1024;  // request line and headers together
constexpr std::size_t kReadChunk = 16 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

}  // namespace

std::string HttpRequest::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

std::optional<std::string> url_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int value = 0;
      auto [p, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc() || p != text.data() + i + 3) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using contracts::Error;
using contracts::ErrorCode;

// A line's bytes may not hold CR, LF or other control characters (tab aside).
bool has_control(std::string_view line) {
  return std::any_of(line.begin(), line.end(), [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

HttpReadError read_error_of(const contracts::Error& error) {
  return HttpReadError{error.code == ErrorCode::kTooLarge ? 413 : 400, error.detail};
}

contracts::Result<bool> ChunkedDecoder::feed(std::string& input) {
  std::size_t pos = 0;  // consumed from the front of input
  auto need_more = [&]() -> contracts::Result<bool> {
    input.erase(0, pos);
    return false;
  };
  // The next CRLF-ended line from pos: its text, or nullopt when it has not all arrived yet.
  // `max` bounds the line (what is buffered while it has not ended); `limit` is the bound named.
  auto next_line = [&](std::size_t max, std::size_t limit,
                       const char* what) -> contracts::Result<std::optional<std::string_view>> {
    const std::string_view rest = std::string_view(input).substr(pos);
    const std::size_t lf = rest.find('\n');
    const std::string too_long = std::string(what) + " is longer than " + std::to_string(limit) + " bytes";
    if (lf == std::string_view::npos) {
      if (rest.size() > max) return Error{ErrorCode::kProtocol, too_long};
      return std::optional<std::string_view>();
    }
    if (lf == 0 || rest[lf - 1] != '\r') return Error{ErrorCode::kProtocol, std::string(what) + " does not end with CRLF"};
    if (lf - 1 > max) return Error{ErrorCode::kProtocol, too_long};
    pos += lf + 1;
    return std::optional<std::string_view>(rest.substr(0, lf - 1));
  };
  while (true) {
    switch (state_) {
      case State::kSize: {
        auto line = next_line(kMaxLineBytes, kMaxLineBytes, "a chunk size line");
        if (!line) return line.error();
        if (!*line) return need_more();
        std::string_view text = **line;
        if (has_control(text)) return Error{ErrorCode::kProtocol, "a chunk size line holds a control character"};
        // chunk-size = 1*HEXDIG, then optional extensions (BWS ";" ...), which are ignored.
        std::size_t digits = 0;
        std::size_t size = 0;
        bool over = false;
        const std::size_t room = max_body_ - body_.size();
        while (digits < text.size() && hex_value(text[digits]) >= 0) {
          // Saturates past the limit: no size, however many digits, can overflow.
          if (!over) {
            size = size * 16 + static_cast<std::size_t>(hex_value(text[digits]));
            if (size > room) over = true;
          }
          ++digits;
        }
        if (digits == 0) {
          return Error{ErrorCode::kProtocol, "a chunk size is not hexadecimal (\"" + std::string(text.substr(0, 32)) + "\")"};
        }
        std::string_view ext = text.substr(digits);
        while (!ext.empty() && (ext.front() == ' ' || ext.front() == '\t')) ext.remove_prefix(1);
        if (!ext.empty() && ext.front() != ';') {
          return Error{ErrorCode::kProtocol, "a chunk size is followed by \"" + std::string(ext.substr(0, 32)) +
                                                 "\" (only ;extensions may follow it)"};
        }
        if (over) {
          return Error{ErrorCode::kTooLarge, "a chunk of 0x" + std::string(text.substr(0, std::min<std::size_t>(digits, 32))) +
                                                 " bytes takes the body past the limit of " + std::to_string(max_body_) +
                                                 " bytes (http_api.max_body_bytes)"};
        }
        remaining_ = size;
        state_ = size == 0 ? State::kTrailers : State::kData;
        break;
      }
      case State::kData: {
        const std::size_t take = std::min(remaining_, input.size() - pos);
        body_.append(input, pos, take);
        pos += take;
        remaining_ -= take;
        if (remaining_ > 0) return need_more();
        state_ = State::kDataEnd;
        break;
      }
      case State::kDataEnd: {
        if (input.size() - pos < 2) {
          if (input.size() - pos == 1 && input[pos] != '\r') {
            return Error{ErrorCode::kProtocol, "a chunk's data is not followed by CRLF (more data than its size said)"};
          }
          return need_more();
        }
        if (input.compare(pos, 2, "\r\n") != 0) {
          return Error{ErrorCode::kProtocol, "a chunk's data is not followed by CRLF (more data than its size said)"};
        }
        pos += 2;
        state_ = State::kSize;
        break;
      }
      case State::kTrailers: {
        // A line may use up the section exactly (then trailer_bytes_ passes the limit by its CRLF).
        const std::size_t room = trailer_bytes_ >= kMaxTrailerBytes ? 0 : kMaxTrailerBytes - trailer_bytes_;
        auto line = next_line(room, kMaxTrailerBytes, "the trailer section");
        if (!line) return line.error();
        if (!*line) return need_more();
        trailer_bytes_ += (*line)->size() + 2;
        if ((*line)->empty()) {
          state_ = State::kDone;
          break;
        }
        // Trailer fields are ignored (none of them may change how the request is handled), but
        // each must still be a field line.
        const std::size_t colon = (*line)->find(':');
        if (colon == std::string_view::npos || colon == 0 || has_control(**line)) {
          return Error{ErrorCode::kProtocol, "a trailer line is not a header field"};
        }
        break;
      }
      case State::kDone:
        input.erase(0, pos);
        return true;
    }
  }
}

bool HttpReader::fill() {
  std::array<char, kReadChunk> chunk{};
  std::size_t n = connection_.read_some(chunk.data(), chunk.size());
  if (n == 0) return false;
  buffer_.append(chunk.data(), n);
  return true;
}

HttpReader::Outcome HttpReader::next() {
  Outcome out;
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) {
      out.error = HttpReadError{431, "the request line and headers exceed " + std::to_string(kMaxHeadBytes) + " bytes"};
      return out;
    }
    if (!fill()) {
      if (!buffer_.empty()) out.error = HttpReadError{400, "the request ended before its headers did"};
      return out;
    }
  }
  if (end > kMaxHeadBytes) {
    out.error = HttpReadError{431, "the request line and headers exceed " + std::to_string(kMaxHeadBytes) + " bytes"};
    return out;
  }
  std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  HttpRequest req;
  std::size_t line_end = head.find("\r\n");
  std::string line = head.substr(0, line_end);
  std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) {
    out.error = HttpReadError{400, "malformed request line"};
    return out;
  }
  req.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    out.error = HttpReadError{400, "only HTTP/1.1 is served"};
    return out;
  }
  req.keep_alive = version == "HTTP/1.1";
  std::size_t q = target.find('?');
  auto path = url_decode(target.substr(0, q));
  if (!path || path->empty() || path->front() != '/') {
    out.error = HttpReadError{400, "malformed request target"};
    return out;
  }
  req.path = *path;
  if (q != std::string::npos) {
    std::string query = target.substr(q + 1);
    std::size_t start = 0;
    while (start <= query.size()) {
      std::size_t amp = query.find('&', start);
      std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
      if (!pair.empty()) {
        std::size_t eq = pair.find('=');
        auto key = url_decode(pair.substr(0, eq));
        auto value = url_decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
        if (!key || !value) {
          out.error = HttpReadError{400, "malformed query string"};
          return out;
        }
        req.query[*key] = *value;
      }
      if (amp == std::string::npos) break;
      start = amp + 1;
    }
  }
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    std::size_t next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string field = head.substr(pos, next - pos);
    pos = next + 2;
    std::size_t colon = field.find(':');
    if (colon == std::string::npos || colon == 0) {
      out.error = HttpReadError{400, "malformed header line"};
      return out;
    }
    req.headers[lower(field.substr(0, colon))] = trim(std::string_view(field).substr(colon + 1));
  }
  const std::string connection = lower(req.header("connection"));
  if (connection == "close") req.keep_alive = false;
  if (connection == "keep-alive") req.keep_alive = true;
  if (req.headers.count("transfer-encoding")) {
    return read_chunked(std::move(req));
  }
  std::size_t length = 0;
  if (std::string cl = req.header("content-length"); !cl.empty()) {
    auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
    if (ec != std::errc() || p != cl.data() + cl.size()) {
      out.error = HttpReadError{400, "Content-Length is not a number"};
      return out;
    }
  }
  // Refused from its declared length: the body is never read, and the connection is closed after
  // the answer (what follows on it is that body).
  if (length > max_body_) {
    out.error = HttpReadError{413, "the body of " + std::to_string(length) + " bytes exceeds the limit of " +
                                       std::to_string(max_body_) + " bytes (http_api.max_body_bytes)"};
    return out;
  }
  // A client that asked to be told before it sends the body (curl does for larger bodies) is told
  // now; otherwise it waits a second for this line before sending anyway.
  if (length > buffer_.size() && lower(req.header("expect")) == "100-continue") {
    if (!connection_.write_all("HTTP/1.1 100 Continue\r\n\r\n")) return out;
  }
  while (buffer_.size() < length) {
    if (!fill()) {
      out.error = HttpReadError{400, "the request ended before its body did"};
      return out;
    }
  }
  req.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  out.request = std::move(req);
  return out;
}

HttpReader::Outcome HttpReader::read_chunked(HttpRequest req) {
  Outcome out;
  // Only the chunked coding alone: any other coding (gzip, ...) is not understood (RFC 9112 §6.1).
  if (lower(req.header("transfer-encoding")) != "chunked") {
    out.error = HttpReadError{501, "Transfer-Encoding \"" + req.header("transfer-encoding") +
                                       "\" is not served (only chunked, or a Content-Length body)"};
    return out;
  }
  // Both framings at once is how requests are smuggled past proxies: refused, not guessed at.
  if (req.headers.count("content-length")) {
    out.error = HttpReadError{400, "both Transfer-Encoding and Content-Length are set"};
    return out;
  }
  if (buffer_.empty() && lower(req.header("expect")) == "100-continue") {
    if (!connection_.write_all("HTTP/1.1 100 Continue\r\n\r\n")) return out;
  }
  ChunkedDecoder decoder(max_body_);
  while (true) {
    auto done = decoder.feed(buffer_);
    if (!done) {
      out.error = read_error_of(done.error());
      return out;
    }
    if (*done) break;
    if (!fill()) {
      out.error = HttpReadError{400, "the request ended before its last chunk did"};
      return out;
    }
  }
  req.body = std::move(decoder.body());
  out.request = std::move(req);
  return out;
}

bool write_response(TlsConnection& connection, const HttpResponse& response) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  if (!response.body.empty() || response.status != 204) {
    head += "Content-Type: " + response.content_type + "\r\n";
  }
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  head += "API-Version: " + std::string(kApiVersion) + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  if (response.close) head += "Connection: close\r\n";
  head += "\r\n";
  return connection.write_all(head + response.body);
}

}  // namespace broker::http_api
