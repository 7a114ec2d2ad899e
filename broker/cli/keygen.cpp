// keten keygen: makes a CurveZMQ key pair for a partner or the broker, as two one-line Z85 files,
// or with --signing the broker's Ed25519 signing key pair as two one-line hex files, or with
// --payload the broker's payload key (seals stored medical payloads) as one one-line hex file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "broker/audit/signing.h"
#include "broker/cli/command.h"
#include "broker/store/seal.h"

namespace keten_cli {
namespace {

namespace fs = std::filesystem;

struct KeygenOptions {
  std::string name;
  std::string dir = ".";
  bool force = false;
  bool signing = false;
  bool payload = false;
};

int fail(std::string_view detail) {
  std::cerr << "keten keygen: " << detail << "\n";
  return kExitUsage;
}

// A name becomes a file name; keep it to one harmless path component.
bool is_valid_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

// Writes `line` and a newline to `path` with `mode`, which open() applies from the first byte on,
// so a secret is never readable by others even briefly. fchmod covers a file that existed
// (--force).
std::string write_key_file(const fs::path& path, const std::string& line, mode_t mode, bool force) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) return path.string() + ": " + std::strerror(errno);
  std::string text = line + "\n";
  std::string error;
  if (::fchmod(fd, mode) != 0 ||
      ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    error = path.string() + ": " + std::strerror(errno);
  }
  if (::close(fd) != 0 && error.empty()) error = path.string() + ": " + std::strerror(errno);
  return error;
}

// One secret file, DIR/NAME.payload.secret: 64 hex characters (32 bytes) for [broker] payload_key.
// Prints the file's path, never the key.
int payload_keygen(const KeygenOptions& options, const fs::path& dir) {
  const fs::path secret_file = dir / (options.name + ".payload.secret");
  std::error_code ec;
  if (!options.force && fs::exists(secret_file, ec)) {
    return fail(secret_file.string() + " exists (use --force to overwrite; stored payloads sealed with the "
                                       "old key then no longer open)");
  }
  const std::string key = broker::store::generate_payload_key_hex();
  if (key.empty()) return fail("cannot make a payload key (libsodium failed to initialise)");
  if (auto error = write_key_file(secret_file, key, 0600, options.force); !error.empty()) return fail(error);
  std::cout << secret_file.string() << "\n";
  return kExitOk;
}

int keygen(const KeygenOptions& options) {
  if (!is_valid_name(options.name)) {
    return fail("name '" + options.name +
                "': use letters, digits, '.', '_' and '-', not starting with '.' or '-'");
  }
  if (options.signing && options.payload) return fail("--signing and --payload make different keys; pick one");
  const fs::path dir(options.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("directory " + dir.string() + ": " + ec.message());
  if (options.payload) return payload_keygen(options, dir);
  const std::string suffix = options.signing ? ".sign" : "";
  const fs::path public_file = dir / (options.name + suffix + ".public");
  const fs::path secret_file = dir / (options.name + suffix + ".secret");
  if (!options.force) {
    for (const auto& file : {public_file, secret_file}) {
      if (fs::exists(file, ec)) return fail(file.string() + " exists (use --force to overwrite)");
    }
  }

  std::string public_key, secret_key;
  if (options.signing) {
    auto key = broker::audit::generate_signing_key();
    if (key.empty()) return fail("cannot make a signing key (libsodium failed to initialise)");
    public_key = key.public_hex;
    secret_key = broker::audit::seed_hex(key);
  } else {
    std::array<char, 41> curve_public{};
    std::array<char, 41> curve_secret{};
    if (zmq_curve_keypair(curve_public.data(), curve_secret.data()) != 0) {
      return fail(std::string("cannot make a key pair: ") + zmq_strerror(zmq_errno()) +
                  " (is libzmq built with CURVE?)");
    }
    public_key = curve_public.data();
    secret_key = curve_secret.data();
  }
  if (auto error = write_key_file(secret_file, secret_key, 0600, options.force);
      !error.empty()) {
    return fail(error);
  }
  if (auto error = write_key_file(public_file, public_key, 0644, options.force);
      !error.empty()) {
    fs::remove(secret_file, ec);  // half a key pair is no use to anyone
    return fail(error);
  }
  std::cout << public_key << "\n";
  return kExitOk;
}

}  // namespace

Command add_keygen(CLI::App& root) {
  auto options = std::make_shared<KeygenOptions>();
  CLI::App* app = root.add_subcommand("keygen",
                                      "Make a CurveZMQ key pair: DIR/NAME.public and "
                                      "DIR/NAME.secret (mode 0600); prints the public key");
  app->add_option("NAME", options->name, "Whose keys these are: a partner id or 'broker'")
      ->required();
  app->add_option("--dir", options->dir, "Folder for the two key files (created if missing)")
      ->capture_default_str();
  app->add_flag("--force", options->force, "Overwrite existing key files");
  app->add_flag("--signing", options->signing,
                "Make the broker's Ed25519 signing key instead: DIR/NAME.sign.public and "
                "DIR/NAME.sign.secret, 64 hex characters each (for [broker] signing_key and the "
                "profiles' broker_signing_key)");
  app->add_flag("--payload", options->payload,
                "Make the broker's payload key instead: DIR/NAME.payload.secret, 64 hex characters "
                "(mode 0600), for [broker] payload_key; prints the file's path. It encrypts stored "
                "payloads of contracts with medical fields: keep it with the store's backups");
  app->footer(
      "Exit codes: 0 written, 2 usage or I/O error (nothing is overwritten without --force).");
  return {app, [options] { return keygen(*options); }};
}

}  // namespace keten_cli
