#include "bench/broker_child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <sodium.h>
#include <zmq.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "bench/bench_signing.h"
#include "bench/proc_stats.h"

namespace bench {
namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;

namespace {

struct KeyPair {
  std::string public_key, secret_key;
};

// A fresh payload key (the bench contract has a medical field, so its payloads are sealed).
std::string random_hex_key() {
  if (sodium_init() < 0) return {};  // the broker then refuses to start, naming payload_key
  std::array<unsigned char, 32> key{};
  randombytes_buf(key.data(), key.size());
  std::array<char, 65> hex{};
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  return std::string(hex.data(), 64);
}

// The payload key for the child's store. A store given by path (used across runs) keeps its key
// beside it in <store>.payload_key, since the broker refuses a store whose sealed rows do not open.
std::string payload_key_for(const fs::path& store) {
  if (store.empty()) return random_hex_key();
  const fs::path file = store.string() + ".payload_key";
  std::ifstream in(file);
  std::string key;
  if (in >> key && key.size() == 64) return key;
  key = random_hex_key();
  std::ofstream(file) << key << "\n";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  return key;
}

bool make_keys(KeyPair& out) {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) return false;
  out = {std::string(pub.data(), 40), std::string(sec.data(), 40)};
  return true;
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Waits up to `timeout` for the first complete line of the file at `path` (the child's stdout) that
// starts with `prefix` (a broker on PostgreSQL prints "standby" and "leader epoch" lines first);
// "" when none came or the child `pid` exited first (then `exited` is set: it has been reaped).
std::string first_line(const fs::path& path, const std::string& prefix, pid_t pid, std::chrono::milliseconds timeout,
                       bool& exited) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (!in.eof() && line.rfind(prefix, 0) == 0) return line;  // a complete line (ends in a newline)
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

}  // namespace

contracts::Result<std::unique_ptr<ChildBroker>> ChildBroker::start(const ChildBrokerOptions& options) {
  std::unique_ptr<ChildBroker> b(new ChildBroker());
  b->options_ = options;
  if (options.dir.empty()) {
    std::string templ = (fs::temp_directory_path() / "keten-bench-XXXXXX").string();
    if (!mkdtemp(templ.data())) return Error{ErrorCode::kConfig, "cannot create a temporary folder under " + fs::temp_directory_path().string()};
    b->dir_ = templ;
  } else {
    b->dir_ = options.dir;
    fs::create_directories(b->dir_);
  }
  KeyPair broker;
  if (!make_keys(broker)) return Error{ErrorCode::kConfig, "zmq_curve_keypair failed (libzmq without CurveZMQ?)"};
  b->broker_public_key_ = broker.public_key;
  const bool on_postgres = is_postgres_url(options.store.string());
  const std::string store = options.store.empty() ? "store/keten.db"
                            : on_postgres         ? options.store.string()
                                                  : fs::absolute(options.store).string();
  std::string config = "[broker]\nlisten = \"tcp://127.0.0.1:*\"\nstore = \"" + store + "\"\ncontracts = \"" +
                       fs::absolute(options.contracts).string() + "\"\nsecret_key = \"" + broker.secret_key +
                       "\"\nsync = \"" + (options.sync_full ? "full" : "normal") +
                       "\"\nmax_batch = " + std::to_string(options.max_batch) + "\n" +
                       "payload_key = \"" + (on_postgres ? random_hex_key() : payload_key_for(options.store)) +
                       "\"\n" + (options.signs ? "signing_key = \"" + bench_signing_seed_hex() + "\"\n" : "") +
                       options.broker_keys;
  for (const auto& id : options.partners) {
    KeyPair k;
    if (!make_keys(k)) return Error{ErrorCode::kConfig, "zmq_curve_keypair failed"};
    b->secret_keys_[id] = k.secret_key;
    config += "\n[[partner]]\nid = \"" + id + "\"\nrole = \"chain-partner\"\npublic_key = \"" + k.public_key + "\"\n";
  }
  write_file(b->dir_ / "keten.toml", config);

  const std::string binary = options.keten_binary.string();
  const std::string config_path = (b->dir_ / "keten.toml").string();
  const std::string log_path = (b->dir_ / "broker.log").string();
  const std::string out_path = (b->dir_ / "broker.out").string();
  pid_t pid = fork();
  if (pid < 0) return Error{ErrorCode::kConfig, "fork failed"};
  if (pid == 0) {
    // stdout and stderr go to files: a pipe nobody reads could block or kill the broker later.
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) dup2(out, STDOUT_FILENO);
    if (log >= 0) dup2(log, STDERR_FILENO);
    // --no-quick-check: a pre-filled store of tens of GB would spend minutes in SQLite's page check
    // before the first message; the bench measures the broker serving, not its start.
    execl(binary.c_str(), binary.c_str(), "--log-level", options.log_level.c_str(), "serve", "--config",
          config_path.c_str(), "--no-quick-check", static_cast<char*>(nullptr));
    _exit(127);
  }
  b->pid_ = pid;
  bool exited = false;
  const std::string prefix = "listening ";
  std::string line = first_line(out_path, prefix, pid, options.start_timeout, exited);
  if (exited) b->pid_ = -1;
  if (line.rfind(prefix, 0) != 0) {
    std::ifstream log(log_path);
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    b->stop();
    return Error{ErrorCode::kConfig, "the bench broker did not start (" + binary + " serve --config " + config_path +
                                         "): " + (text.empty() ? "no output" : text)};
  }
  b->endpoint_ = line.substr(prefix.size());
  return b;
}

ChildBroker::~ChildBroker() {
  stop();
  if (!options_.keep_dir && !dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

partner::Profile ChildBroker::profile(const std::string& partner) const {
  partner::Profile p;
  p.broker = endpoint_;
  p.broker_public_key = broker_public_key_;
  p.partner = partner;
  p.secret_key = secret_keys_.at(partner);
  return p;
}

std::string ChildBroker::signing_public_key() const {
  if (!options_.signs || sodium_init() < 0) return {};
  const std::string seed = bench_signing_seed();
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(secret_key.data(), secret_key.size());
  std::array<char, 2 * crypto_sign_PUBLICKEYBYTES + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), public_key.data(), public_key.size());
  return std::string(hex.data(), 2 * crypto_sign_PUBLICKEYBYTES);
}

ProcessUsage ChildBroker::usage() const {
  if (pid_ <= 0) return {};
  return read_process_usage(pid_);
}

std::string ChildBroker::stop() {
  if (pid_ <= 0) return "not running";
  ::kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  pid_t done = 0;
  while ((done = waitpid(pid_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (done == 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  return "signal " + std::to_string(WTERMSIG(status));
}

}  // namespace bench
