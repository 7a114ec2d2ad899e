// ChunkedDecoder: the chunked transfer coding of request bodies (RFC 9112 §7.1), fed the bytes a
// connection would deliver, whole and one byte at a time, and the hostile framings a client may
// send instead.
#include <catch2/catch.hpp>
#include <string>

#include "broker/http_api/http_message.h"

using broker::http_api::ChunkedDecoder;
using contracts::ErrorCode;

namespace {

struct Decoded {
  bool done = false;
  std::string body;
  std::string left;  // what the decoder left in the buffer (the next request)
  std::optional<contracts::Error> error;
};

Decoded decode_whole(const std::string& wire, std::size_t limit = 1024) {
  ChunkedDecoder d(limit);
  std::string input = wire;
  Decoded out;
  auto r = d.feed(input);
  if (!r) {
    out.error = r.error();
    return out;
  }
  out.done = *r;
  out.body = d.body();
  out.left = input;
  return out;
}

// As a slow client sends it: one byte per read.
Decoded decode_bytewise(const std::string& wire, std::size_t limit = 1024) {
  ChunkedDecoder d(limit);
  std::string input;
  Decoded out;
  for (char c : wire) {
    input += c;
    auto r = d.feed(input);
    if (!r) {
      out.error = r.error();
      return out;
    }
    if (*r) {
      out.done = true;
      break;
    }
  }
  out.body = d.body();
  out.left = input;
  return out;
}

}  // namespace

TEST_CASE("chunked: chunks, extensions and trailers give the body, whole or a byte at a time", "[http_api]") {
  const std::string wire =
      "5\r\nhello\r\n"
      "1;name=value;flag\r\n \r\n"
      "0000b ; ext=\"quoted;\"\r\nworld again\r\n"
      "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
  for (const auto& d : {decode_whole(wire), decode_bytewise(wire)}) {
    REQUIRE_FALSE(d.error);
    CHECK(d.done);
    CHECK(d.body == "hello world again");
    CHECK(d.left.empty());
  }
}

TEST_CASE("chunked: what follows the last chunk stays for the next request", "[http_api]") {
  auto d = decode_whole("3\r\nabc\r\n0\r\n\r\nGET /v1/contracts HTTP/1.1\r\n");
  REQUIRE_FALSE(d.error);
  CHECK(d.done);
  CHECK(d.body == "abc");
  CHECK(d.left == "GET /v1/contracts HTTP/1.1\r\n");
}

TEST_CASE("chunked: an empty body is the last chunk alone; hex digits of either case", "[http_api]") {
  CHECK(decode_whole("0\r\n\r\n").done);
  CHECK(decode_whole("0\r\n\r\n").body.empty());
  auto d = decode_whole("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n");
  CHECK(d.done);
  CHECK(d.body == "0123456789abcdefghij");
}

TEST_CASE("chunked: an incomplete body asks for more and keeps nothing it has decoded twice", "[http_api]") {
  ChunkedDecoder d(1024);
  std::string input = "5\r\nhel";
  auto r = d.feed(input);
  REQUIRE(r);
  CHECK_FALSE(*r);
  CHECK(input.empty());  // the data is in the body, the buffer holds nothing twice
  input += "lo\r\n0\r";
  r = d.feed(input);
  REQUIRE(r);
  CHECK_FALSE(*r);
  input += "\n\r\n";
  r = d.feed(input);
  REQUIRE(r);
  CHECK(*r);
  CHECK(d.body() == "hello");
}

TEST_CASE("chunked: a chunk size past the limit is refused from its size line, before its data", "[http_api]") {
  ChunkedDecoder d(100);
  std::string input = "65\r\n";  // 101 bytes declared; not one of them sent
  auto r = d.feed(input);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kTooLarge);
  CHECK(r.error().detail.find("100 bytes") != std::string::npos);
  // Exactly the limit is fine.
  auto ok = decode_whole("64\r\n" + std::string(100, 'x') + "\r\n0\r\n\r\n", 100);
  CHECK(ok.done);
  CHECK(ok.body.size() == 100);
}

TEST_CASE("chunked: small chunks adding up past the limit are refused at the one that crosses it", "[http_api]") {
  std::string wire;
  for (int i = 0; i < 20; ++i) wire += "a\r\n0123456789\r\n";  // 200 bytes in 20 chunks
  auto d = decode_whole(wire, 95);
  REQUIRE(d.error);
  CHECK(d.error->code == ErrorCode::kTooLarge);
}

TEST_CASE("chunked: a huge hex size is too large, not an overflow", "[http_api]") {
  for (const std::string size : {"FFFFFFFFFFFFFFFF", "10000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
                                 "7FFFFFFFFFFFFFFF", "100000001"}) {
    auto d = decode_whole(size + "\r\nabc\r\n0\r\n\r\n", 1 << 20);
    REQUIRE(d.error);
    CHECK(d.error->code == ErrorCode::kTooLarge);
  }
  // Leading zeros are digits of a small number.
  auto d = decode_whole(std::string(200, '0') + "3\r\nabc\r\n0\r\n\r\n");
  CHECK(d.done);
  CHECK(d.body == "abc");
}

TEST_CASE("chunked: malformed size lines are refused naming the problem", "[http_api]") {
  struct Case {
    std::string wire;
    std::string names;
  };
  auto c = GENERATE(values<Case>({
      {"-5\r\nhello\r\n0\r\n\r\n", "not hexadecimal"},       // negative
      {"\r\nhello\r\n0\r\n\r\n", "not hexadecimal"},         // empty size
      {"0x5\r\nhello\r\n0\r\n\r\n", "followed by"},          // a C prefix
      {"5 garbage\r\nhello\r\n0\r\n\r\n", "followed by"},    // trailing garbage
      {"5g\r\nhello\r\n0\r\n\r\n", "followed by"},           // not a hex digit
      {"+5\r\nhello\r\n0\r\n\r\n", "not hexadecimal"},       // a sign
      {"5\nhello\r\n0\r\n\r\n", "CRLF"},                     // a bare LF
      {"5\r\r\nhello\r\n0\r\n\r\n", "control character"},    // a CR inside the line
      {"5;ext\x01\r\nhello\r\n0\r\n\r\n", "control character"},
  }));
  auto d = decode_whole(c.wire);
  INFO(c.wire);
  REQUIRE(d.error);
  CHECK(d.error->code == ErrorCode::kProtocol);
  CHECK(d.error->detail.find(c.names) != std::string::npos);
}

TEST_CASE("chunked: data longer than its size, or not followed by CRLF, is refused", "[http_api]") {
  for (const std::string wire : {"3\r\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\n0\r\n\r\n"}) {
    auto whole = decode_whole(wire);
    auto bytewise = decode_bytewise(wire);
    INFO(wire);
    REQUIRE(whole.error);
    REQUIRE(bytewise.error);
    CHECK(whole.error->code == ErrorCode::kProtocol);
    CHECK(whole.error->detail.find("CRLF") != std::string::npos);
    CHECK(bytewise.error->code == ErrorCode::kProtocol);
  }
}

TEST_CASE("chunked: a size line that never ends is refused at its bound, not buffered", "[http_api]") {
  ChunkedDecoder d(1 << 20);
  std::string input(ChunkedDecoder::kMaxLineBytes + 1, '0');
  auto r = d.feed(input);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kProtocol);
  CHECK(r.error().detail.find("longer than") != std::string::npos);
  // One byte less is still waiting for its end.
  ChunkedDecoder e(1 << 20);
  std::string shorter(ChunkedDecoder::kMaxLineBytes, '0');
  auto waiting = e.feed(shorter);
  REQUIRE(waiting);
  CHECK_FALSE(*waiting);
}

TEST_CASE("chunked: trailers that are not fields, or that never end, are refused", "[http_api]") {
  auto not_field = decode_whole("3\r\nabc\r\n0\r\nno colon here\r\n\r\n");
  REQUIRE(not_field.error);
  CHECK(not_field.error->detail.find("trailer") != std::string::npos);
  std::string endless = "3\r\nabc\r\n0\r\n";
  for (int i = 0; i < 2000; ++i) endless += "X-Pad: 0123456789\r\n";  // 38 KB of trailer fields
  auto d = decode_whole(endless);
  REQUIRE(d.error);
  CHECK(d.error->code == ErrorCode::kProtocol);
  CHECK(d.error->detail.find("trailer section is longer than") != std::string::npos);
  // A first trailer line that fills the section to the byte: what follows is still bounded.
  std::string full = "3\r\nabc\r\n0\r\nX-Pad: " + std::string(ChunkedDecoder::kMaxTrailerBytes - 7, 'p') + "\r\n";
  for (int i = 0; i < 2000; ++i) full += "X-More: 0123456789\r\n";
  auto filled = decode_whole(full);
  REQUIRE(filled.error);
  CHECK(filled.error->detail.find("trailer section is longer than") != std::string::npos);
  auto bare_lf = decode_whole("3\r\nabc\r\n0\r\nX-A: 1\n\r\n");
  REQUIRE(bare_lf.error);
  CHECK(bare_lf.error->detail.find("CRLF") != std::string::npos);
}

TEST_CASE("chunked: a body-reading error answers 413 when too large, 400 otherwise", "[http_api]") {
  CHECK(broker::http_api::read_error_of({ErrorCode::kTooLarge, "x"}).status == 413);
  CHECK(broker::http_api::read_error_of({ErrorCode::kProtocol, "x"}).status == 400);
}
