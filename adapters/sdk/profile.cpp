// Profile loading: a small TOML file naming the broker and the keys (adapters/sdk/client.h).
#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <zmq.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "adapters/sdk/client.h"
#include "adapters/sdk/log.h"
#include "contracts/toml_file.h"

namespace partner {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;

constexpr std::size_t kZ85KeyChars = 40;  // a 32-byte CurveZMQ key as Z85 text
constexpr std::array<std::string_view, 9> kProfileKeys = {"broker",          "broker_public_key",  "partner",
                                                          "secret_key",      "broker_signing_key", "receipt_timeout_ms",
                                                          "resend_after_ms", "resend_max_ms",      "failover_after_ms"};
// Bounds of the timing keys: at least a millisecond, at most a day.
constexpr std::int64_t kMaxTimingMs = 86'400'000;

bool is_hex_key(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Error config_error(std::string detail) { return Error{ErrorCode::kConfig, std::move(detail)}; }

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

Result<std::string> read_text_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return config_error("is a directory");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return config_error(std::string("cannot open (") + std::strerror(errno) + ")");
  std::string text;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) text.append(buffer.data(), n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return config_error("read failed");
  return text;
}

fs::path resolve(std::string_view value, const fs::path& base) {
  fs::path path(value);
  if (path.is_relative()) path = base / path;
  return path.lexically_normal();
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

// The secret key protects the partner's identity at the broker; warn when others can read it.
void warn_if_shared(const fs::path& key_file) {
  std::error_code ec;
  auto perms = fs::status(key_file, ec).permissions();
  if (ec) return;
  if ((perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
    log().warn("secret key file is readable by others path={} (chmod 600 it)", key_file.string());
  }
}

}  // namespace

Result<Profile> load_profile(const fs::path& path) {
  const std::string where = "profile " + path.string();
  auto parsed = contracts::read_toml_file(path);
  if (!parsed) return parsed.error();
  const toml::table& table = *parsed;

  for (const auto& [key, node] : table) {
    bool known = false;
    for (auto name : kProfileKeys) known = known || key.str() == name;
    if (!known) {
      log().warn("profile has an unknown key path={} key={} line={}", path.string(), key.str(),
                 node.source().begin.line);
    }
  }

  // Every key is a non-empty string; the error names the key so the operator can find it.
  auto string_at = [&](std::string_view key) -> Result<std::string> {
    const toml::node* node = table.get(key);
    if (node == nullptr) return config_error(where + ": key " + std::string(key) + ": missing");
    const auto* value = node->as_string();
    if (value == nullptr) {
      return config_error(where + ": key " + std::string(key) + " (line " + std::to_string(node->source().begin.line) +
                          "): expected a string, found " + std::string(type_name(node->type())));
    }
    if (trim(value->get()).empty()) return config_error(where + ": key " + std::string(key) + ": is empty");
    return std::string(trim(value->get()));
  };
  const fs::path base = path.has_parent_path() ? path.parent_path() : fs::path(".");
  auto key_from = [&](std::string_view key, const std::string& value) -> Result<std::string> {
    auto k = contracts::read_key(value, base);
    if (!k) return config_error(where + ": key " + std::string(key) + ": " + k.error().detail);
    return k;
  };

  Profile profile;
  // broker: one endpoint, or an array of them (the client fails over in that order).
  if (const auto* list = table.get_as<toml::array>("broker")) {
    const std::string at = where + ": key broker (line " + std::to_string(list->source().begin.line) + "): ";
    for (const auto& element : *list) {
      const auto* value = element.as_string();
      if (value == nullptr)
        return config_error(at + "expected strings, found " + std::string(type_name(element.type())));
      if (trim(value->get()).empty()) return config_error(at + "an endpoint is empty");
      profile.brokers.emplace_back(trim(value->get()));
    }
    if (profile.brokers.empty()) return config_error(at + "lists no endpoint");
    profile.broker = profile.brokers.front();
  } else {
    auto broker = string_at("broker");
    if (!broker) return broker.error();
    profile.broker = std::move(*broker);
    profile.brokers = {profile.broker};
  }
  auto partner = string_at("partner");
  if (!partner) return partner.error();
  profile.partner = std::move(*partner);
  auto broker_key_value = string_at("broker_public_key");
  if (!broker_key_value) return broker_key_value.error();
  auto broker_key = key_from("broker_public_key", *broker_key_value);
  if (!broker_key) return broker_key.error();
  profile.broker_public_key = std::move(*broker_key);
  auto secret_value = string_at("secret_key");
  if (!secret_value) return secret_value.error();
  auto secret = key_from("secret_key", *secret_value);
  if (!secret) return secret.error();
  profile.secret_key = std::move(*secret);

  std::array<char, kZ85KeyChars + 1> public_key{};
  if (zmq_curve_public(public_key.data(), profile.secret_key.c_str()) != 0) {
    return config_error(where + ": key secret_key: cannot derive the public key (" +
                        std::string(zmq_strerror(zmq_errno())) + "; is libzmq built with CURVE?)");
  }
  profile.public_key = public_key.data();

  if (table.get("broker_signing_key") != nullptr) {
    auto value = string_at("broker_signing_key");
    if (!value) return value.error();
    std::string key = *value;
    if (!is_hex_key(key)) {
      auto text = read_text_file(resolve(key, base));
      if (!text) return config_error(where + ": key broker_signing_key: " + key + ": " + text.error().detail);
      key = std::string(trim(text->substr(0, text->find('\n'))));
      if (!is_hex_key(key)) {
        return config_error(where + ": key broker_signing_key: " + *value +
                            ": first line is not 64 lower-case hex characters");
      }
    }
    profile.broker_signing_key = std::move(key);
  }

  // Optional whole milliseconds, 1 to a day; the error names the key and its line.
  auto millis_at = [&](std::string_view key) -> Result<std::optional<std::chrono::milliseconds>> {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::optional<std::chrono::milliseconds>{};
    const std::string at =
        where + ": key " + std::string(key) + " (line " + std::to_string(node->source().begin.line) + "): ";
    const auto* value = node->as_integer();
    if (value == nullptr) {
      return config_error(at + "expected a whole number of milliseconds, found " +
                          std::string(type_name(node->type())));
    }
    if (value->get() < 1 || value->get() > kMaxTimingMs) {
      return config_error(at + std::to_string(value->get()) + " is out of bounds (1 to " +
                          std::to_string(kMaxTimingMs) + " ms)");
    }
    return std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(value->get()));
  };
  for (auto [key, field] :
       {std::pair{"receipt_timeout_ms", &Profile::receipt_timeout},
        std::pair{"resend_after_ms", &Profile::resend_after}, std::pair{"resend_max_ms", &Profile::resend_max},
        std::pair{"failover_after_ms", &Profile::failover_after}}) {
    auto value = millis_at(key);
    if (!value) return value.error();
    profile.*field = *value;
  }
  if (profile.resend_after && profile.resend_max && *profile.resend_max < *profile.resend_after) {
    return config_error(where + ": key resend_max_ms: " + std::to_string(profile.resend_max->count()) +
                        " is below resend_after_ms (" + std::to_string(profile.resend_after->count()) + ")");
  }

  fs::path secret_file = resolve(*secret_value, base);
  std::error_code ec;
  if (fs::is_regular_file(secret_file, ec)) warn_if_shared(secret_file);
  return profile;
}

}  // namespace partner
