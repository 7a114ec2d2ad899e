#include "tests/support/mail_servers.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace test_support {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool can_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::size_t count_files(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) n += it->is_regular_file() ? 1 : 0;
  return n;
}

// Waits without sleeping through the whole deadline: condition checks 20 ms apart.
template <class F>
bool poll_until(F done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

TestCertificate make_test_certificate(const fs::path& dir) {
  fs::create_directories(dir);
  TestCertificate c{dir / "cert.pem", dir / "key.pem"};
  auto r = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", c.key.string(),
                "-out", c.cert.string()});
  if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.err);
  // dovecot reads the key as root, aiosmtpd as this user; both fine with 0644 in a 0700 test folder.
  fs::permissions(c.key, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                             fs::perms::others_read);
  return c;
}

SmtpSink::SmtpSink(const fs::path& dir, int refuse_first, const TestCertificate* tls) : dir_(dir) {
  fs::create_directories(dir);
  const std::string script = std::string(KETEN_SOURCE_DIR) + "/tests/support/smtp_sink.py";
  // Debian's python3 sees the python3-aiosmtpd package; a python3 earlier on PATH may not.
  std::vector<std::string> argv{"/usr/bin/python3", script, dir.string(), std::to_string(refuse_first)};
  if (tls != nullptr) {
    argv.push_back(tls->cert.string());
    argv.push_back(tls->key.string());
  }
  process_ = std::make_unique<ChildProcess>(argv);
  auto line = process_->read_line(std::chrono::seconds(20));
  if (!line || line->rfind("PORT ", 0) != 0) throw std::runtime_error("smtp sink did not start");
  port_ = std::stoi(line->substr(5));
}

std::vector<std::string> SmtpSink::mails() const {
  std::vector<fs::path> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".eml") names.push_back(it->path());
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back(read_file(n));
  return out;
}

std::vector<std::string> SmtpSink::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::vector<std::string> got;
  poll_until([&] { return (got = mails()).size() >= n; }, timeout);
  return got;
}

int SmtpSink::refused() const {
  std::ifstream in(dir_ / "refused.log");
  return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

Dovecot::Dovecot(const fs::path& dir, const std::map<std::string, std::string>& users, const TestCertificate* tls)
    : dir_(dir) {
  const passwd* pw = getpwnam("dovecot");
  if (pw == nullptr) throw std::runtime_error("no dovecot user: is dovecot-imapd installed?");
  fs::create_directories(dir);
  // The dovecot user must reach the Maildirs: the test's temp folder is 0700 by default.
  fs::permissions(dir.parent_path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  for (const char* sub : {"run", "mail", "etc"}) fs::create_directories(dir / sub);
  if (chown((dir / "mail").c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown mail failed");
  std::string users_text;
  for (const auto& [user, password] : users) {
    users_text += user + ":{PLAIN}" + password + "\n";
    for (const char* sub : {"", "/new", "/cur", "/tmp"}) {
      fs::path p = dir / "mail" / (user + sub);
      fs::create_directories(p);
      if (chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown maildir failed");
    }
  }
  std::ofstream(dir / "etc" / "users") << users_text;

  std::string conf = read_file(fs::path(KETEN_SOURCE_DIR) / "tests/support/dovecot.conf.in");
  port_ = free_port();
  const std::string ssl = tls == nullptr ? "ssl = no\ndisable_plaintext_auth = no"
                                          : "ssl = required\ndisable_plaintext_auth = yes\nssl_cert = <" +
                                                tls->cert.string() + "\nssl_key = <" + tls->key.string();
  for (auto [key, value] : {std::pair<std::string, std::string>{"@DIR@", dir.string()},
                            {"@PORT@", std::to_string(port_)},
                            {"@SSL@", ssl}}) {
    for (std::size_t at; (at = conf.find(key)) != std::string::npos;) conf.replace(at, key.size(), value);
  }
  std::ofstream(dir / "etc" / "dovecot.conf") << conf;
  // -F: in the foreground, as our child, so it never outlives the test process.
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/sbin/dovecot", "-F", "-c", (dir / "etc" / "dovecot.conf").string()});
  if (!poll_until([&] { return can_connect(port_); }, std::chrono::seconds(20))) {
    throw std::runtime_error("dovecot does not listen on port " + std::to_string(port_) + ": " +
                             read_file(dir / "run" / "dovecot.log"));
  }
}

Dovecot::~Dovecot() {
  process_->signal(SIGTERM);
  process_->wait(std::chrono::seconds(10));  // ChildProcess's destructor kills it if still there
}

ImapRefusing::ImapRefusing(const Dovecot& upstream, const fs::path& dir, bool refuse_copy) : dir_(dir) {
  fs::create_directories(dir);
  const std::string script = std::string(KETEN_SOURCE_DIR) + "/tests/support/imap_refuse.py";
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      "/usr/bin/python3", script, std::to_string(upstream.port()), refuse_copy ? "copy" : "move", dir.string()});
  auto line = process_->read_line(std::chrono::seconds(20));
  if (!line || line->rfind("PORT ", 0) != 0) throw std::runtime_error("imap proxy did not start");
  port_ = std::stoi(line->substr(5));
}

int ImapRefusing::refused(const std::string& verb) const {
  std::ifstream in(dir_ / "refused.log");
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line == verb ? 1 : 0;
  return n;
}

void Dovecot::deliver(const std::string& user, const std::string& raw_mail) const {
  static std::atomic<int> counter{0};
  const std::string name = std::to_string(std::time(nullptr)) + ".M" + std::to_string(counter++) + "P" +
                           std::to_string(getpid()) + ".test";
  const fs::path box = dir_ / "mail" / user;
  std::ofstream(box / "tmp" / name, std::ios::binary) << raw_mail;
  const passwd* pw = getpwnam("dovecot");
  if (pw == nullptr || chown((box / "tmp" / name).c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown mail failed");
  }
  fs::rename(box / "tmp" / name, box / "new" / name);
}

std::size_t Dovecot::count(const std::string& user, const std::string& folder) const {
  const fs::path box = folder == "INBOX" ? dir_ / "mail" / user : dir_ / "mail" / user / ("." + folder);
  return count_files(box / "new") + count_files(box / "cur");
}

}  // namespace test_support
