#pragma once
// A minimal HTTP/1.0 client for the integration tests (the console and the ops endpoints): one
// request over a plain loopback socket, the server closes after the reply. status 0 when the
// connection failed. The 60 s receive timeout only bounds a hang; no test depends on it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <string>

namespace test_support {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; repeated ones joined by "\n"
  std::string body;
};

inline HttpReply http(const std::string& endpoint, const std::string& method, const std::string& target,
                  const std::map<std::string, std::string>& headers = {}, const std::string& body = {}) {
  HttpReply reply;
  const auto colon = endpoint.rfind(':');
  const std::string host = endpoint.substr(0, colon);
  const int port = std::stoi(endpoint.substr(colon + 1));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  timeval tv{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return reply;
  }
  std::string request = method + " " + target + " HTTP/1.0\r\nHost: " + endpoint + "\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    request += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return reply;
  }
  std::string raw;
  char buf[16384];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return reply;
  reply.status = std::stoi(raw.substr(9, 3));
  const auto end = raw.find("\r\n\r\n");
  std::size_t line = raw.find("\r\n") + 2;
  while (line < end) {
    const auto next = raw.find("\r\n", line);
    const std::string h = raw.substr(line, next - line);
    const auto sep = h.find(':');
    if (sep != std::string::npos) {
      std::string name = h.substr(0, sep);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& value = reply.headers[name];
      value += (value.empty() ? "" : "\n") + h.substr(h.find_first_not_of(' ', sep + 1));
    }
    line = next + 2;
  }
  if (end != std::string::npos) reply.body = raw.substr(end + 4);
  return reply;
}

}  // namespace test_support
