// Reading the email adapter's TOML file. Every key is checked: unknown keys, wrong types and
// missing required keys are refused naming the key, so a typo never passes silently.
#include "adapters/email/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "contracts/toml_file.h"

namespace email {
namespace {

namespace fs = std::filesystem;
using contracts::Error;
using contracts::ErrorCode;

// One TOML table and the keys read from it; unknown() lists the rest.
class Table {
 public:
  Table(const toml::table* table, std::string prefix) : table_(table), prefix_(std::move(prefix)) {}

  bool present() const { return table_ != nullptr; }

  // Reads `key` into `out` when present; an error naming the key when its type is wrong.
  template <class T>
  void read(const char* key, T& out, std::vector<std::string>& errors) {
    seen_.insert(key);
    if (!table_) return;
    const toml::node* node = table_->get(key);
    if (!node) return;
    if (auto v = node->value<T>()) {
      out = *v;
    } else {
      errors.push_back("key " + prefix_ + key + ": wrong type");
    }
  }
  void read_list(const char* key, std::vector<std::string>& out, std::vector<std::string>& errors) {
    seen_.insert(key);
    if (!table_) return;
    const toml::node* node = table_->get(key);
    if (!node) return;
    const toml::array* array = node->as_array();
    if (!array) {
      errors.push_back("key " + prefix_ + key + ": must be a list of strings");
      return;
    }
    for (const auto& item : *array) {
      if (auto s = item.value<std::string>()) {
        out.push_back(*s);
      } else {
        errors.push_back("key " + prefix_ + key + ": must be a list of strings");
        return;
      }
    }
  }
  void require(const char* key, std::string& out, std::vector<std::string>& errors) {
    read(key, out, errors);
    if (out.empty()) errors.push_back("key " + prefix_ + key + ": required");
  }
  void skip(const char* key) { seen_.insert(key); }
  const toml::table* sub(const char* key) {
    seen_.insert(key);
    return table_ ? (*table_)[key].as_table() : nullptr;
  }
  void unknown(std::vector<std::string>& errors) const {
    if (!table_) return;
    for (const auto& [k, v] : *table_) {
      if (!seen_.count(std::string(k.str()))) errors.push_back("key " + prefix_ + std::string(k.str()) + ": unknown");
    }
  }

 private:
  const toml::table* table_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

fs::path resolve(const std::string& value, const fs::path& base) {
  fs::path path(value);
  return (path.is_relative() ? base / path : path).lexically_normal();
}

// `password` inline or `password_file` (first line); the file wins when both are given.
void read_password(Table& t, const fs::path& base, std::string& out, std::vector<std::string>& errors,
                   const std::string& prefix) {
  std::string file;
  t.read("password", out, errors);
  t.read("password_file", file, errors);
  if (file.empty()) return;
  std::ifstream in(resolve(file, base));
  if (!in || !std::getline(in, out)) errors.push_back("key " + prefix + "password_file: cannot read " + file);
}

// `ca_file`: PEM certificates of the CAs to trust for TLS instead of the system's (a private CA).
// Resolved against the config's folder and checked to be readable now, not at the first send.
void read_ca_file(Table& t, const fs::path& base, std::string& out, std::vector<std::string>& errors,
                  const std::string& prefix) {
  std::string file;
  t.read("ca_file", file, errors);
  if (file.empty()) return;
  out = resolve(file, base).string();
  if (!std::ifstream(out)) errors.push_back("key " + prefix + "ca_file: cannot read " + out);
}

std::chrono::milliseconds read_ms(Table& t, const char* key, std::chrono::milliseconds def,
                                  std::vector<std::string>& errors, const std::string& prefix) {
  std::int64_t value = def.count();
  t.read(key, value, errors);
  if (value < 100 || value > 86'400'000) {
    errors.push_back("key " + prefix + key + ": must be between 100 and 86400000 (milliseconds)");
  }
  return std::chrono::milliseconds(value);
}

}  // namespace

std::string address_domain(const std::string& address) {
  auto at = address.rfind('@');
  if (at == std::string::npos || at + 1 >= address.size()) return "keten.invalid";
  return address.substr(at + 1);
}

Result<EmailConfig> load_email_config(const fs::path& file) {
  const std::string where = "email config " + file.string() + ": ";
  auto parsed = contracts::read_toml_file(file);
  if (!parsed) return parsed.error();
  toml::table& root = *parsed;
  const fs::path base = file.parent_path();
  std::vector<std::string> errors;
  EmailConfig c;
  c.file = file;

  Table top(&root, "");
  std::string profile, contracts_dir;
  top.require("profile", profile, errors);
  top.read("contracts", contracts_dir, errors);
  if (!contracts_dir.empty()) c.contracts = resolve(contracts_dir, base);
  c.poll_interval = read_ms(top, "poll_interval_ms", c.poll_interval, errors, "");
  std::string handled_file;
  top.read("handled_file", handled_file, errors);
  c.handled_file = resolve(handled_file.empty() ? file.filename().string() + ".handled" : handled_file, base);

  Table party(top.sub("party"), "party.");
  if (!party.present()) errors.push_back("table [party]: required");
  party.read("name", c.party_name, errors);
  party.require("address", c.party_address, errors);
  party.require("from", c.from_address, errors);
  party.read_list("allowed_senders", c.allowed_senders, errors);
  for (auto& a : c.allowed_senders) a = lower(a);
  std::string unknown = "reply";
  party.read("unknown_senders", unknown, errors);
  if (unknown == "reply") {
    c.unknown_senders = UnknownSenders::kReply;
  } else if (unknown == "quarantine") {
    c.unknown_senders = UnknownSenders::kQuarantine;
  } else {
    errors.push_back("key party.unknown_senders: must be \"reply\" or \"quarantine\"");
  }
  party.unknown(errors);

  Table smtp(top.sub("smtp"), "smtp.");
  if (!smtp.present()) errors.push_back("table [smtp]: required");
  smtp.require("url", c.smtp.url, errors);
  smtp.read("starttls", c.smtp.starttls, errors);
  read_ca_file(smtp, base, c.smtp.ca_file, errors, "smtp.");
  smtp.read("username", c.smtp.username, errors);
  read_password(smtp, base, c.smtp.password, errors, "smtp.");
  c.smtp.timeout = read_ms(smtp, "timeout_ms", c.smtp.timeout, errors, "smtp.");
  smtp.unknown(errors);

  Table imap(top.sub("imap"), "imap.");
  if (imap.present()) {
    ImapOptions o;
    imap.require("url", o.url, errors);
    imap.read("mailbox", o.mailbox, errors);
    imap.read("starttls", o.starttls, errors);
    read_ca_file(imap, base, o.ca_file, errors, "imap.");
    imap.require("username", o.username, errors);
    read_password(imap, base, o.password, errors, "imap.");
    imap.read("processed_folder", o.processed_folder, errors);
    imap.read("quarantine_folder", o.quarantine_folder, errors);
    o.timeout = read_ms(imap, "timeout_ms", o.timeout, errors, "imap.");
    imap.unknown(errors);
    c.imap = std::move(o);
  }
  Table maildir(top.sub("maildir"), "maildir.");
  if (maildir.present()) {
    MaildirOptions o;
    std::string path;
    maildir.require("path", path, errors);
    o.path = resolve(path, base);
    maildir.read("processed_folder", o.processed_folder, errors);
    maildir.read("quarantine_folder", o.quarantine_folder, errors);
    maildir.unknown(errors);
    c.maildir = std::move(o);
  }
  if (c.imap && c.maildir) errors.push_back("tables [imap] and [maildir]: give one inbound source, not both");

  if (const toml::table* render = top.sub("render")) {
    for (const auto& [name, node] : *render) {
      const std::string prefix = "render." + std::string(name.str()) + ".";
      Table t(node.as_table(), prefix);
      if (!t.present()) {
        errors.push_back("key " + prefix + ": must be a table");
        continue;
      }
      Rendering r;
      t.read("subject", r.subject, errors);
      if (const toml::table* labels = t.sub("labels")) {
        for (const auto& [pointer, label] : *labels) {
          if (auto s = label.value<std::string>()) {
            r.labels[std::string(pointer.str())] = *s;
          } else {
            errors.push_back("key " + prefix + "labels: values must be strings");
          }
        }
      }
      t.unknown(errors);
      c.rendering[std::string(name.str())] = std::move(r);
    }
  }
  top.skip("csv");  // read by partner::load_csv_mappings below
  top.unknown(errors);

  if (!errors.empty()) {
    std::string detail = where;
    for (std::size_t i = 0; i < errors.size(); ++i) detail += (i ? "; " : "") + errors[i];
    return Error{ErrorCode::kConfig, detail};
  }
  auto csv = partner::load_csv_mappings(file);
  if (!csv) return Error{ErrorCode::kConfig, where + csv.error().detail};
  c.csv = std::move(*csv);
  auto loaded = partner::load_profile(resolve(profile, base));
  if (!loaded) return Error{ErrorCode::kConfig, where + "key profile: " + loaded.error().detail};
  c.profile = std::move(*loaded);
  c.party = c.profile.partner;
  if (c.party_name.empty()) c.party_name = c.party;
  return c;
}

}  // namespace email
