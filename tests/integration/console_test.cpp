// `keten console` as its own process beside a real broker (in-process, tests/support/broker_harness.h)
// on the same SQLite store, over real HTTP: access, the purpose and log_read rule, the dead letters
// and their resend (received by the recipient), an inspector's limits, the as-of case view, and
// the same in headless chromium (console_browser.py). docs/console.md.
#include <sqlite3.h>

#include <csignal>

#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "broker/audit/replay.h"
#include "broker/audit/signing.h"
#include "broker/events/codec.h"
#include "broker/store/event_block.h"
#include "broker/store/sqlite_handle.h"
#include "broker/store/sqlite_store.h"
#include "broker/tlog/base64.h"
#include "broker/tlog/checkpoint.h"
#include "broker/tlog/proof.h"
#include "contracts/digest.h"
#include "tests/support/http_client.h"
#include "tests/support/broker_harness.h"
#include "tests/support/log_tamper.h"
#include "tests/support/process.h"

namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using test_support::http;
using test_support::BrokerHarness;
using test_support::ChildProcess;
using test_support::free_port;

const std::string kDeadCase = "9990012345";
const std::string kOtherCase = "9990067890";
const std::string kOperatorToken = "operator-token-0123456789";
const std::string kInspectorToken = "inspector-token-0123456789";  // limited to kOtherCase
const std::string kAllCasesToken = "inspector-all-cases-token";

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

std::map<std::string, std::string> bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A broker with one dead letter (ALPHA's notice of kDeadCase, nacked by BRAVO with max_attempts 1),
// one acknowledged notice of kOtherCase, and `keten console` on its store.
struct Setup {
  BrokerHarness h;
  std::string dead_id;   // the dead-lettered message
  std::string other_id;  // the delivered one
  std::unique_ptr<partner::Client> bravo;
  std::unique_ptr<ChildProcess> console;
  std::string endpoint;  // the console's host:port

  std::string broker_http;  // the broker's operator endpoint (its /metrics)

  std::optional<broker::audit::SigningKey> signing;  // with Setup(true): the broker signs its checkpoints

  explicit Setup(bool sign = false) {
    if (sign) {
      signing = broker::audit::generate_signing_key();
      h.options().signing_key = broker::audit::seed_hex(*signing);
      h.options().checkpoint_interval = 100ms;
    }
    h.options().max_attempts = 1;
    broker_http = "127.0.0.1:" + std::to_string(free_port());
    h.options().ops.http_listen = broker_http;
    h.start();
    auto alpha = h.client("ALPHA");
    dead_id = partner::new_message_id();
    other_id = partner::new_message_id();
    for (const auto& [id, case_ref] : {std::pair{dead_id, kDeadCase}, std::pair{other_id, kOtherCase}}) {
      auto r = alpha.send(test_support::notice(id, case_ref));
      REQUIRE(r);
      REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
    }
    auto refused = test_support::notice(partner::new_message_id(), kOtherCase);
    refused.payload = "{}";
    auto r = alpha.send(refused);
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kRejected);
    bravo = std::make_unique<partner::Client>(h.client("BRAVO"));
    auto charlie = h.client("CHARLIE");
    int handled = 0;
    REQUIRE(eventually([&] {
      auto d = bravo->receive(200ms);
      REQUIRE(d);
      if (d->has_value()) {
        if ((*d)->header.message_id == dead_id) REQUIRE(bravo->nack((*d)->delivery_id, "cannot process"));
        else REQUIRE(bravo->ack((*d)->delivery_id));
        ++handled;
      }
      auto c = charlie.receive(50ms);
      REQUIRE(c);
      if (c->has_value()) REQUIRE(charlie.ack((*c)->delivery_id));
      return handled == 2 && dead_letters("BRAVO") == 1;
    }));

    std::filesystem::create_directories(h.dir() / "profiles");
    for (const std::string id : {"ALPHA", "BRAVO", "CHARLIE"}) {
      std::ofstream(h.dir() / "profiles" / (id + ".toml"))
          << "broker = \"" << h.endpoint() << "\"\nbroker_public_key = \"" << h.broker_keys().public_key
          << "\"\npartner = \"" << id << "\"\nsecret_key = \"" << h.keys(id).secret_key << "\"\n";
    }
    std::ofstream(h.dir() / "access.toml")
        << "[[viewer]]\nname = \"anna\"\nrole = \"operator\"\ntoken = \"" << kOperatorToken << "\"\n\n"
        << "[[viewer]]\nname = \"ilse\"\nrole = \"inspector\"\ntoken_sha256 = \"" << contracts::sha256_hex(kInspectorToken)
        << "\"\ncases = [\"" << kOtherCase << "\"]\n\n"
        << "[[viewer]]\nname = \"ivo\"\nrole = \"inspector\"\ntoken = \"" << kAllCasesToken << "\"\n";
    // The broker has a payload key, so every stored payload is sealed (under its case key): the
    // console is given the key, as an operator would give it.
    endpoint = launch(console, {"--payload-key", h.options().payload_key});
  }

  // Starts `keten console` on the store with `extra` flags; returns its host:port.
  std::string launch(std::unique_ptr<ChildProcess>& process, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{test_support::keten_binary(), "console", "--store", h.options().store.string(),
                                  "--listen", "127.0.0.1:0", "--access", (h.dir() / "access.toml").string(),
                                  "--contracts", h.options().contracts.string(), "--profiles",
                                  (h.dir() / "profiles").string(), "--broker-http", broker_http};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<ChildProcess>(argv);
    auto line = process->read_line(60s);
    REQUIRE(line);
    const std::string prefix = "console listening on http";  // http:// or https://
    REQUIRE(line->rfind(prefix, 0) == 0);
    const auto host = line->find("://") + 3;
    return line->substr(host, line->size() - host - 1);
  }

  ~Setup() {
    if (console) {
      console->signal(SIGTERM);
      console->wait(30s);
    }
  }

  std::int64_t dead_letters(const std::string& recipient) {
    broker::store::StoreOptions o;
    o.path = h.options().store;
    o.read_only = true;
    auto s = broker::store::SqliteStore::open(o);
    if (!s) return -1;
    auto c = s->count_deliveries(recipient);
    return c ? c->dead : -1;
  }

  std::vector<broker::store::LogEvent> rows(const std::string& event) {
    broker::store::StoreOptions o;
    o.path = h.options().store;
    o.read_only = true;
    auto s = broker::store::SqliteStore::open(o);
    REQUIRE(s);
    auto all = s->read_log(1, 1'000'000);
    REQUIRE(all);
    std::vector<broker::store::LogEvent> out;
    for (auto& r : *all) {
      if (r.event == event) out.push_back(std::move(r));
    }
    return out;
  }

  std::int64_t dead_delivery_id() {
    for (const auto& r : rows("dead_lettered")) {
      if (r.message_id == dead_id) return r.delivery_id;
    }
    return 0;
  }
};

nlohmann::json detail(const broker::store::LogEvent& e) { return nlohmann::json::parse(e.detail); }

}  // namespace

TEST_CASE("the console answers only a valid token, by bearer header or the login cookie", "[integration][console]") {
  Setup s;
  CHECK(http(s.endpoint, "GET", "/partners").status == 401);
  CHECK(http(s.endpoint, "GET", "/partners", bearer("wrong-token-0123456789")).status == 401);
  auto ok = http(s.endpoint, "GET", "/partners", bearer(kOperatorToken));
  REQUIRE(ok.status == 200);
  CHECK(has(ok.body, "data-partner=\"BRAVO\""));
  CHECK(has(ok.body, "<td class=\"num\">33.3%</td>"));  // ALPHA: 2 accepted, 1 refused
  // From the broker's /metrics: BRAVO's client is connected.
  CHECK(has(ok.body, "<tr class=\"bad\" data-partner=\"BRAVO\"><td>BRAVO</td><td class=\"connection\" "
                     "data-connected=\"yes\">"));
  CHECK(has(ok.body, "<tr data-partner=\"ALPHA\" data-contract=\"test.notice\">"));
  CHECK(has(ok.body, "<tr data-partner=\"BRAVO\" data-contract=\"test.notice\">"));  // its dead letter
  CHECK(has(ok.body, "anna (operator)"));

  auto refused = http(s.endpoint, "POST", "/login", {}, "token=nope");
  CHECK(refused.status == 401);
  auto login = http(s.endpoint, "POST", "/login", {}, "token=" + kInspectorToken);
  REQUIRE(login.status == 303);
  const std::string& set = login.headers["set-cookie"];
  const auto at = set.find("keten_console=");
  REQUIRE(at != std::string::npos);
  const std::string cookie = set.substr(at, set.find(';', at) - at);
  CHECK_THAT(set, Contains("HttpOnly"));
  CHECK_THAT(set, Contains("keten_purpose=; Path=/; Max-Age=0"));  // a new login asks for a purpose again
  auto with_cookie = http(s.endpoint, "GET", "/partners", {{"Cookie", cookie}});
  CHECK(with_cookie.status == 200);
  CHECK(has(with_cookie.body, "ilse (inspector)"));
  // The partners overview holds counts only: it is not a read of case data.
  CHECK(s.rows("log_read").empty());
}

// The href of the element with this id in a page, HTML-unescaped ("&amp;" only: the pager's links).
std::string link(const std::string& body, const std::string& id) {
  const auto at = body.find("id=\"" + id + "\" href=\"");
  if (at == std::string::npos) return {};
  const auto from = body.find("href=\"", at) + 6;
  std::string href = body.substr(from, body.find('"', from) - from);
  for (std::size_t amp; (amp = href.find("&amp;")) != std::string::npos;) href.replace(amp, 5, "&");
  return href;
}

TEST_CASE("the lists page by key over HTTP: each row once, bad page parameters refused naming them",
          "[integration][console][paging]") {
  Setup s;
  const auto op = bearer(kOperatorToken);
  // Two accepted messages: one a page, the second page through the first page's "Older" link.
  auto first = http(s.endpoint, "GET", "/messages?per=1&purpose=paging", op);
  REQUIRE(first.status == 200);
  const std::string next = link(first.body, "next-page");
  REQUIRE_THAT(next, Contains("after="));
  CHECK(link(first.body, "first-page").empty());
  // The pager's links leave the purpose out (the browser keeps it in a cookie): give it again.
  auto second = http(s.endpoint, "GET", next + "&purpose=paging", op);
  REQUIRE(second.status == 200);
  CHECK(link(second.body, "next-page").empty());  // the last page
  CHECK_FALSE(link(second.body, "first-page").empty());
  // Newest first: the second message sent is on the first page, the dead one on the second.
  CHECK(has(first.body, s.other_id));
  CHECK_FALSE(has(first.body, s.dead_id));
  CHECK(has(second.body, s.dead_id));
  CHECK_FALSE(has(second.body, s.other_id));

  for (const char* bad : {"/messages?per=0", "/messages?per=201", "/messages?after=x", "/dead-letters?after=12",
                          "/dead-letters?dead_from=yesterday", "/partners?per=-1"}) {
    INFO(bad);
    auto r = http(s.endpoint, "GET", std::string(bad) + "&purpose=paging", op);
    CHECK(r.status == 400);
    CHECK(has(r.body, "class=\"error\""));
  }
  // The dead letters' time range: given up after 2000, and not before it.
  auto dead = http(s.endpoint, "GET", "/dead-letters?dead_from=2000-01-01&purpose=paging", op);
  REQUIRE(dead.status == 200);
  CHECK(has(dead.body, s.dead_id));
  auto none = http(s.endpoint, "GET", "/dead-letters?dead_to=2000-01-01&purpose=paging", op);
  REQUIRE(none.status == 200);
  CHECK(has(none.body, "No dead letters match."));
  // Three partners, one a page, each once.
  std::vector<std::string> partners;
  std::string target = "/partners?per=1";
  for (int pages = 0; pages < 10 && !target.empty(); ++pages) {
    auto page = http(s.endpoint, "GET", target, op);
    REQUIRE(page.status == 200);
    for (const char* p : {"ALPHA", "BRAVO", "CHARLIE"}) {
      if (has(page.body, "<td>" + std::string(p) + "</td><td class=\"connection\"")) partners.push_back(p);
    }
    target = link(page.body, "next-page");
  }
  CHECK(partners == std::vector<std::string>{"ALPHA", "BRAVO", "CHARLIE"});
}

TEST_CASE("a message search without a case reads a window of messages a page and goes on below it through Older",
          "[integration][console][paging]") {
  Setup s;
  const auto op = bearer(kOperatorToken);
  std::unique_ptr<ChildProcess> narrow;
  // A window of one message: each page of ALPHA's messages reads one, newest first.
  const auto endpoint = s.launch(narrow, {"--payload-key", s.h.options().payload_key, "--search-rows", "1"});
  auto first = http(endpoint, "GET", "/messages?sender=ALPHA&purpose=paging", op);
  REQUIRE(first.status == 200);
  CHECK(has(first.body, s.other_id));
  CHECK_FALSE(has(first.body, s.dead_id));
  CHECK(has(first.body, "id=\"search-window\""));
  const std::string next = link(first.body, "next-page");
  REQUIRE_THAT(next, Contains("after="));
  auto second = http(endpoint, "GET", next + "&purpose=paging", op);
  REQUIRE(second.status == 200);
  CHECK(has(second.body, s.dead_id));
  CHECK_FALSE(has(second.body, s.other_id));
  CHECK_FALSE(has(second.body, "id=\"search-window\""));  // it reached the oldest message
  CHECK(link(second.body, "next-page").empty());
  // A window with no match says so and still leads on.
  auto none = http(endpoint, "GET", "/messages?case=" + std::string(kDeadCase) + "&purpose=paging", op);
  REQUIRE(none.status == 200);
  CHECK(has(none.body, s.dead_id));  // a case is found through its index, whatever the window
  CHECK_FALSE(has(none.body, "id=\"search-window\""));
  auto empty = http(endpoint, "GET", "/messages?state=dead&purpose=paging", op);  // only the older one
  REQUIRE(empty.status == 200);
  CHECK(has(empty.body, "No messages match."));
  CHECK(has(empty.body, "id=\"search-window\""));
  const std::string on = link(empty.body, "next-page");
  REQUIRE_FALSE(on.empty());
  auto found = http(endpoint, "GET", on + "&purpose=paging", op);
  REQUIRE(found.status == 200);
  CHECK(has(found.body, s.dead_id));
  narrow->signal(SIGTERM);
  narrow->wait(30s);
}

// A throwaway PKI made by the openssl command: our CA, someone else's, the console's server
// certificate and client certificates.
struct Pki {
  std::filesystem::path dir;

  explicit Pki(std::filesystem::path d) : dir(std::move(d)) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "server.ext") << "subjectAltName=IP:127.0.0.1\n";
    ca("ca");
    ca("other-ca");
    issue("server", "/CN=127.0.0.1", "ca", "server.ext");
  }
  void openssl(std::vector<std::string> args) const {
    args.insert(args.begin(), "/usr/bin/openssl");
    auto r = test_support::run(args, "", 60s);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  void ca(const std::string& name) const {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             path(name + ".key"), "-out", path(name + ".pem"), "-days", "2", "-subj", "/CN=" + name});
  }
  void issue(const std::string& name, const std::string& subject, const std::string& by, const std::string& ext = "") const {
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             path(name + ".key"), "-out", path(name + ".csr"), "-subj", subject});
    std::vector<std::string> sign{"x509", "-req", "-in", path(name + ".csr"), "-CA", path(by + ".pem"), "-CAkey",
                                  path(by + ".key"), "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2"};
    if (!ext.empty()) sign.insert(sign.end(), {"-extfile", path(ext)});
    openssl(sign);
  }
  // "AB:CD:..." as `openssl x509 -fingerprint -sha256` prints it.
  std::string fingerprint(const std::string& name) const {
    auto r = test_support::run({"/usr/bin/openssl", "x509", "-in", path(name + ".pem"), "-noout", "-fingerprint", "-sha256"});
    REQUIRE(r.exit_code == 0);
    return r.out.substr(r.out.find('=') + 1, 95);
  }
};

// curl over HTTPS trusting `pki`'s CA, with `client`'s certificate unless it is ""; the status
// code, 0 when the connection or handshake failed.
struct Curl {
  int status = 0;
  int exit_code = 0;
  std::string body;
};
Curl curl(const Pki& pki, const std::string& client, const std::string& url, const std::vector<std::string>& extra = {}) {
  const std::string body = pki.path("body-" + client + ".html");
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--max-time", "60", "--cacert", pki.path("ca.pem"), "-o", body,
                                "--write-out", "%{http_code}"};
  if (!client.empty()) argv.insert(argv.end(), {"--cert", pki.path(client + ".pem"), "--key", pki.path(client + ".key")});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  auto r = test_support::run(argv, "", 90s);
  Curl c;
  c.exit_code = r.exit_code;
  c.status = std::atoi(r.out.c_str());
  std::ifstream in(body);
  c.body.assign(std::istreambuf_iterator<char>(in), {});
  std::filesystem::remove(body);
  return c;
}

TEST_CASE("over TLS a client certificate names its viewer and role, another CA's certificate is refused at the "
          "handshake",
          "[integration][console][tls]") {
  Setup s;
  Pki pki(s.h.dir() / "pki");
  pki.issue("carla", "/CN=carla/O=Operations", "ca");
  pki.issue("ines", "/CN=ines/O=Inspectorate", "ca");
  pki.issue("mallory", "/CN=carla/O=Operations", "other-ca");  // carla's subject, the wrong issuer
  // Even listed by its fingerprint, a certificate --client-ca did not issue gets nowhere.
  std::ofstream(s.h.dir() / "access.toml", std::ios::app)
      << "\n[[viewer]]\nname = \"carla\"\nrole = \"operator\"\ncert_sha256 = \"" << pki.fingerprint("carla") << "\"\n"
      << "\n[[viewer]]\nname = \"ines\"\nrole = \"inspector\"\ncert_subject = \"O=Inspectorate,CN=ines\"\n"
      << "\n[[viewer]]\nname = \"mallory\"\nrole = \"operator\"\ncert_sha256 = \"" << pki.fingerprint("mallory")
      << "\"\n";
  std::unique_ptr<ChildProcess> tls;
  const std::string url = "https://" + s.launch(tls, {"--tls-cert", pki.path("server.pem"), "--tls-key",
                                                      pki.path("server.key"), "--client-ca", pki.path("ca.pem")});

  auto carla = curl(pki, "carla", url + "/dead-letters?purpose=tls%20test");
  REQUIRE(carla.status == 200);
  CHECK(has(carla.body, "carla (operator)"));
  CHECK(has(carla.body, s.dead_id));
  CHECK(has(carla.body, "id=\"resend-all\""));
  // The read is recorded with the certificate that made it.
  const auto reads = s.rows("log_read");
  REQUIRE(reads.size() == 1);
  CHECK(detail(reads[0])["user"] == "carla");
  std::string fingerprint = pki.fingerprint("carla");
  fingerprint.erase(std::remove(fingerprint.begin(), fingerprint.end(), ':'), fingerprint.end());
  std::transform(fingerprint.begin(), fingerprint.end(), fingerprint.begin(), [](unsigned char c) { return std::tolower(c); });
  CHECK(detail(reads[0])["certificate"]["sha256"] == fingerprint);
  CHECK(detail(reads[0])["certificate"]["subject"] == "O=Operations,CN=carla");

  auto ines = curl(pki, "ines", url + "/dead-letters?purpose=tls%20test");
  REQUIRE(ines.status == 200);
  CHECK(has(ines.body, "ines (inspector)"));
  CHECK_FALSE(has(ines.body, "resend-all"));
  auto post = curl(pki, "ines", url + "/dead-letters/resend", {"--data", "all=1"});
  CHECK(post.status == 403);
  CHECK(has(post.body, "Only an operator may resend"));
  CHECK(s.rows("resent").empty());

  auto mallory = curl(pki, "mallory", url + "/partners");
  CHECK(mallory.status == 0);
  CHECK(mallory.exit_code != 0);  // the handshake failed: no HTTP at all
  CHECK(mallory.body.empty());

  // Without a certificate: the token still works, and nothing else does.
  CHECK(curl(pki, "", url + "/partners").status == 401);
  auto token = curl(pki, "", url + "/partners", {"-H", "Authorization: Bearer " + kOperatorToken});
  CHECK(token.status == 200);
  CHECK(has(token.body, "anna (operator)"));
}

TEST_CASE("keten console refuses TLS files it cannot use with exit code 2 naming the flag", "[integration][console][tls]") {
  Setup s;
  Pki pki(s.h.dir() / "pki");
  for (const auto& [args, named] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--tls-cert", pki.path("server.pem")}, "--tls-key"},
           {{"--tls-cert", pki.path("missing.pem"), "--tls-key", pki.path("server.key")}, "--tls-cert"},
           {{"--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("ca.key")}, "cannot be loaded"}}) {
    std::vector<std::string> argv{test_support::keten_binary(), "console", "--store", s.h.options().store.string(),
                                  "--listen", "127.0.0.1:0", "--access", (s.h.dir() / "access.toml").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = test_support::run(argv, "", 60s);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(named));
  }
}

TEST_CASE("case data is shown only with a purpose, and each view is a log_read row with the viewer",
          "[integration][console]") {
  Setup s;
  auto asked = http(s.endpoint, "GET", "/dead-letters", bearer(kOperatorToken));
  REQUIRE(asked.status == 200);
  CHECK(has(asked.body, "name=\"purpose\""));
  CHECK_FALSE(has(asked.body, s.dead_id));
  CHECK(s.rows("log_read").empty());

  auto shown = http(s.endpoint, "GET", "/dead-letters?purpose=incident%2042", bearer(kOperatorToken));
  REQUIRE(shown.status == 200);
  CHECK(has(shown.body, "data-message=\"" + s.dead_id + "\""));
  CHECK_FALSE(has(shown.body, "data-message=\"" + s.other_id + "\""));
  auto reads = s.rows("log_read");
  REQUIRE(reads.size() == 1);
  CHECK(detail(reads[0])["user"] == "anna");
  CHECK(detail(reads[0])["role"] == "operator");
  CHECK(detail(reads[0])["purpose"] == "incident 42");
  CHECK(detail(reads[0])["command"] == "console GET /dead-letters");
  // The purpose is remembered in a cookie for the next pages.
  CHECK_THAT(shown.headers["set-cookie"], Contains("keten_purpose=incident%2042"));

  auto message = http(s.endpoint, "GET", "/messages/" + s.dead_id,
                      {{"Authorization", "Bearer " + kOperatorToken}, {"Cookie", "keten_purpose=incident%2042"}});
  REQUIRE(message.status == 200);
  CHECK(has(message.body, "<td class=\"state\">dead</td>"));
  CHECK(has(message.body, "Operators see headers"));
  CHECK_FALSE(has(message.body, "AZC-TER-APEL"));  // no payload for an operator
  reads = s.rows("log_read");
  REQUIRE(reads.size() == 2);
  CHECK(reads[1].case_ref == kDeadCase);

  // An inspector sees the payload of a case it may see (test.notice has no medical fields).
  auto inspected = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", bearer(kInspectorToken));
  REQUIRE(inspected.status == 200);
  CHECK(has(inspected.body, "AZC-TER-APEL"));
}

TEST_CASE("case data is not shown when its read cannot be recorded in the handover log", "[integration][console]") {
  Setup s;
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(s.h.options().store.c_str(), &raw) == SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3_busy_timeout(db.get(), 30'000);
  // Another writer holds the store's write lock for longer than the console's busy timeout (5 s).
  REQUIRE(sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto refused = http(s.endpoint, "GET", "/dead-letters?purpose=audit", bearer(kOperatorToken));
  sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  CHECK(refused.status == 503);
  CHECK(has(refused.body, "could not be recorded"));
  CHECK_FALSE(has(refused.body, s.dead_id));
  CHECK(s.rows("log_read").empty());
  // Once the lock is gone the same page is recorded and shown.
  auto shown = http(s.endpoint, "GET", "/dead-letters?purpose=audit", bearer(kOperatorToken));
  CHECK(shown.status == 200);
  CHECK(has(shown.body, s.dead_id));
  CHECK(s.rows("log_read").size() == 1);
}

TEST_CASE("an inspector sees a sealed medical payload only with the payload key, and never its medical fields",
          "[integration][console]") {
  Setup s;
  contracts::Submit health = test_support::notice(partner::new_message_id(), kOtherCase);
  health.header.contract = "test.health";
  health.payload = R"({"fit_to_travel":"no","transport_requirements":["LYING"]})";
  {
    auto alpha = s.h.client("ALPHA");
    auto r = alpha.send(health);
    REQUIRE(r);
    REQUIRE(r->status == contracts::ReceiptStatus::kAccepted);
  }
  const std::string path = "/messages/" + health.header.message_id + "?purpose=audit";
  std::unique_ptr<ChildProcess> keyless;
  const auto keyless_endpoint = s.launch(keyless);
  auto without_key = http(keyless_endpoint, "GET", path, bearer(kInspectorToken));
  REQUIRE(without_key.status == 200);
  CHECK(has(without_key.body, "sealed"));
  CHECK_FALSE(has(without_key.body, "LYING"));

  std::unique_ptr<ChildProcess> keyed;
  const auto endpoint = s.launch(keyed, {"--payload-key", s.h.options().payload_key});
  auto with_key = http(endpoint, "GET", path, bearer(kInspectorToken));
  REQUIRE(with_key.status == 200);
  CHECK(has(with_key.body, "LYING"));
  CHECK(has(with_key.body, "Removed: /fit_to_travel"));
  CHECK_FALSE(has(with_key.body, "&quot;fit_to_travel&quot;"));
  // An operator gets no payload with or without the key.
  auto as_operator = http(endpoint, "GET", path, bearer(kOperatorToken));
  REQUIRE(as_operator.status == 200);
  CHECK_FALSE(has(as_operator.body, "LYING"));
  keyed->signal(SIGTERM);
  CHECK(keyed->wait(30s) == 0);
  keyless->signal(SIGTERM);
  CHECK(keyless->wait(30s) == 0);
}

TEST_CASE("an operator resends a dead letter as a new linked message, recorded with its name, and the recipient "
          "receives it",
          "[integration][console]") {
  Setup s;
  const auto delivery = s.dead_delivery_id();
  REQUIRE(delivery != 0);
  auto result = http(s.endpoint, "POST", "/dead-letters/resend",
                     {{"Authorization", "Bearer " + kOperatorToken}, {"Cookie", "keten_purpose=replay%20after%20fix"}},
                     "one=" + std::to_string(delivery));
  INFO(result.body);
  REQUIRE(result.status == 200);
  CHECK(has(result.body, "<td class=\"status\">accepted</td>"));

  auto resent = s.rows("resent");
  REQUIRE(resent.size() == 1);
  CHECK(resent[0].message_id == s.dead_id);
  CHECK(resent[0].recipient == "BRAVO");
  CHECK(resent[0].delivery_id == delivery);
  const auto d = detail(resent[0]);
  CHECK(d["user"] == "anna");
  CHECK(d["via"] == "console");
  CHECK(d["purpose"] == "replay after fix");
  CHECK(d["status"] == "accepted");
  const std::string new_id = d["new_message_id"];
  CHECK(has(result.body, new_id));

  bool received = false;
  REQUIRE(eventually([&] {
    auto got = s.bravo->receive(200ms);
    REQUIRE(got);
    if (got->has_value() && (*got)->header.message_id == new_id) {
      CHECK((*got)->header.origin == "resend:" + s.dead_id);
      CHECK((*got)->header.case_ref == kDeadCase);
      REQUIRE(s.bravo->ack((*got)->delivery_id));
      received = true;
    }
    return received;
  }));
  // The list shows what it was re-sent as.
  auto list = http(s.endpoint, "GET", "/dead-letters?purpose=check", bearer(kOperatorToken));
  CHECK(has(list.body, "/messages/" + new_id));

  // "All matching" follows the filter: nothing is dead for CHARLIE, one dead letter for BRAVO.
  auto none = http(s.endpoint, "POST", "/dead-letters/resend", bearer(kOperatorToken), "all=1&recipient=CHARLIE");
  REQUIRE(none.status == 200);
  CHECK(has(none.body, "Nothing was selected"));
  CHECK(s.rows("resent").size() == 1);
  auto all = http(s.endpoint, "POST", "/dead-letters/resend", bearer(kOperatorToken), "all=1&recipient=BRAVO");
  REQUIRE(all.status == 200);
  CHECK(has(all.body, "<td class=\"status\">accepted</td>"));
  CHECK(s.rows("resent").size() == 2);
  // The ticked rows of the list (checkboxes named delivery).
  auto selected = http(s.endpoint, "POST", "/dead-letters/resend", bearer(kOperatorToken),
                       "selected=1&delivery=" + std::to_string(delivery));
  REQUIRE(selected.status == 200);
  CHECK(has(selected.body, "<td class=\"status\">accepted</td>"));
  CHECK(s.rows("resent").size() == 3);
  // A delivery that is not a dead letter is refused by name, and nothing is sent.
  auto not_dead = http(s.endpoint, "POST", "/dead-letters/resend", bearer(kOperatorToken), "one=99999");
  REQUIRE(not_dead.status == 200);
  CHECK(has(not_dead.body, "no such delivery"));
  CHECK(s.rows("resent").size() == 3);
}

TEST_CASE("keten console refuses a bad token file or a missing store with exit code 2 naming the problem",
          "[integration][console]") {
  test_support::TempDir dir;
  std::ofstream(dir / "access.toml") << "[[viewer]]\nname = \"x\"\nrole = \"admin\"\ntoken = \"0123456789abcdef\"\n";
  std::ofstream(dir / "good.toml") << "[[viewer]]\nname = \"x\"\nrole = \"operator\"\ntoken = \"0123456789abcdef\"\n";
  auto bad_access = test_support::run({test_support::keten_binary(), "console", "--store", (dir / "none.db").string(),
                                       "--access", (dir / "access.toml").string(), "--listen", "127.0.0.1:0"});
  CHECK(bad_access.exit_code == 2);
  CHECK_THAT(bad_access.err, Contains("`role` must be"));
  auto no_store = test_support::run({test_support::keten_binary(), "console", "--store", (dir / "none.db").string(),
                                     "--access", (dir / "good.toml").string(), "--listen", "127.0.0.1:0"});
  CHECK(no_store.exit_code == 2);
  CHECK_THAT(no_store.err, Contains("does not exist"));
}

TEST_CASE("an inspector cannot resend and sees only the cases it is given", "[integration][console]") {
  Setup s;
  const auto delivery = s.dead_delivery_id();
  REQUIRE(delivery != 0);
  for (const auto& token : {kInspectorToken, kAllCasesToken}) {
    auto refused = http(s.endpoint, "POST", "/dead-letters/resend", bearer(token), "one=" + std::to_string(delivery));
    CHECK(refused.status == 403);
  }
  CHECK(s.rows("resent").empty());
  CHECK(s.dead_letters("BRAVO") == 1);

  auto everyone = http(s.endpoint, "GET", "/dead-letters?purpose=audit", bearer(kAllCasesToken));
  REQUIRE(everyone.status == 200);
  CHECK(has(everyone.body, "data-message=\"" + s.dead_id + "\""));
  CHECK_FALSE(has(everyone.body, "resend-one"));

  // ilse may see kOtherCase only.
  auto limited = http(s.endpoint, "GET", "/dead-letters?purpose=audit", bearer(kInspectorToken));
  REQUIRE(limited.status == 200);
  CHECK_FALSE(has(limited.body, s.dead_id));
  auto messages = http(s.endpoint, "GET", "/messages?purpose=audit", bearer(kInspectorToken));
  REQUIRE(messages.status == 200);
  CHECK(has(messages.body, s.other_id));
  CHECK_FALSE(has(messages.body, s.dead_id));
  CHECK(http(s.endpoint, "GET", "/messages/" + s.dead_id + "?purpose=audit", bearer(kInspectorToken)).status == 403);
  CHECK(http(s.endpoint, "GET", "/cases?case=" + kDeadCase + "&purpose=audit", bearer(kInspectorToken)).status == 403);
  CHECK(http(s.endpoint, "GET", "/cases?case=" + kOtherCase + "&purpose=audit", bearer(kInspectorToken)).status == 200);
}

TEST_CASE("the case page as a partner at a moment shows what the partner knew then", "[integration][console]") {
  Setup s;
  const auto accepted = s.rows("accepted");
  REQUIRE(!accepted.empty());
  const auto now = http(s.endpoint, "GET", "/cases?case=" + kOtherCase + "&partner=BRAVO&purpose=audit",
                        bearer(kAllCasesToken));
  REQUIRE(now.status == 200);
  CHECK(has(now.body, "data-received=\"1\""));
  CHECK(has(now.body, "id=\"slider\""));
  CHECK(has(now.body, "case events "));  // proven against the latest checkpoint (or said why not)
  CHECK_FALSE(has(now.body, "NOT INTACT"));
  // Just before ALPHA's notice was accepted (the broker may send it in the same millisecond),
  // BRAVO had received nothing of the case.
  std::string at;
  for (const auto& r : accepted) {
    if (r.message_id == s.other_id) at = broker::audit::format_time(r.at - 1);
  }
  const auto then = http(s.endpoint, "GET", "/cases?case=" + kOtherCase + "&partner=BRAVO&as_of=" + at + "&purpose=audit",
                         bearer(kAllCasesToken));
  REQUIRE(then.status == 200);
  CHECK(has(then.body, "data-received=\"0\""));
  auto reads = s.rows("log_read");
  REQUIRE(reads.size() == 2);
  CHECK(reads[1].case_ref == kOtherCase);
  CHECK(reads[1].recipient == "BRAVO");

  CHECK(http(s.endpoint, "GET", "/contracts", bearer(kAllCasesToken)).status == 200);
  auto quality = http(s.endpoint, "GET", "/quality?from=2000-01-01", bearer(kAllCasesToken));
  CHECK(quality.status == 200);
  CHECK(has(quality.body, "srcdoc="));
  CHECK(http(s.endpoint, "GET", "/quality?from=yesterday", bearer(kAllCasesToken)).status == 400);
}

TEST_CASE("the console in headless chromium: resend as operator, refused as inspector, the slider, small screens",
          "[integration][console][browser]") {
  Setup s(true);  // signed checkpoints: the message page's proofs verify
  const std::filesystem::path shots = std::filesystem::path(test_support::keten_binary()).parent_path() / "console-screenshots";
  std::filesystem::create_directories(shots);
  auto run = test_support::run({"/usr/bin/python3", std::string(KETEN_SOURCE_DIR) + "/tests/integration/console_browser.py",
                                "--url", "http://" + s.endpoint, "--operator-token", kOperatorToken,
                                "--inspector-token", kAllCasesToken, "--case", kOtherCase, "--dead-message", s.dead_id,
                                "--out", shots.string()},
                               "", std::chrono::seconds(300));
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  // The script's last line: {"new_message_id": ...} of the resend it clicked.
  const auto last = run.out.substr(run.out.rfind('{'));
  const std::string new_id = nlohmann::json::parse(last)["new_message_id"];
  bool received = false;
  REQUIRE(eventually([&] {
    auto got = s.bravo->receive(200ms);
    REQUIRE(got);
    if (got->has_value() && (*got)->header.message_id == new_id) {
      CHECK((*got)->header.origin == "resend:" + s.dead_id);
      REQUIRE(s.bravo->ack((*got)->delivery_id));
      received = true;
    }
    return received;
  }));
  auto resent = s.rows("resent");
  REQUIRE(resent.size() == 1);
  CHECK(detail(resent[0])["user"] == "anna");
  for (const char* name : {"partners-1280.png", "partners-390.png", "dead-letters-1280.png", "dead-letters-390.png",
                           "case-1280.png", "case-390.png", "messages-paged-1280.png", "messages-paged-390.png",
                           "partners-paged-1280.png", "partners-paged-390.png", "cases-1280.png", "cases-390.png"}) {
    CHECK(std::filesystem::file_size(shots / name) > 1000);
  }
}

namespace {

// The store of `s`, read-write, without the broker's signing key: what it appends is not signed.
broker::store::SqliteStore writable_store(Setup& s) {
  broker::store::StoreOptions o;
  o.path = s.h.options().store;
  auto store = broker::store::SqliteStore::open(o);
  REQUIRE(store);
  return std::move(*store);
}

// Rewrites event `seq` behind the store's back with its sender changed, re-encoded (a forger
// editing an event).
void forge_sender(const std::filesystem::path& path, std::uint64_t seq, const std::string& sender) {
  test_support::rewrite_event(path, seq, [&](broker::events::Event e) {
    e.sender = sender;
    return broker::events::encode_event(e);
  });
}

// The proof cell of event `seq` on a message page: its data-proof value ("verified", ...).
std::string proof_state(const std::string& body, std::uint64_t seq) {
  const auto row = body.find("<tr data-seq=\"" + std::to_string(seq) + "\">");
  if (row == std::string::npos) return "no row";
  const auto at = body.find("data-proof=\"", row);
  if (at == std::string::npos || at > body.find("</tr>", row)) return "no proof cell";
  return body.substr(at + 12, body.find('"', at + 12) - at - 12);
}

std::uint64_t accepted_seq(Setup& s, const std::string& message_id) {
  for (const auto& r : s.rows("accepted")) {
    if (r.message_id == message_id) return r.seq;
  }
  FAIL("no accepted event of " << message_id);
  return 0;
}

// The case bundle the console hands out for `case_ref` (as `viewer`): keten log verify checks it
// offline with the broker's key.
void check_case_bundle_verifies(Setup& s, const std::string& case_ref, const std::map<std::string, std::string>& viewer) {
  auto bundle = http(s.endpoint, "GET", "/cases/bundle?case=" + case_ref + "&purpose=audit", viewer);
  REQUIRE(bundle.status == 200);
  const auto file = s.h.dir() / "case.bundle";
  std::ofstream(file, std::ios::binary) << bundle.body;
  auto verified = test_support::run({test_support::keten_binary(), "log", "verify", "--bundle", file.string(),
                                     "--signing-key", s.signing->public_hex});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
}

}  // namespace

TEST_CASE("a message's events are proven against the latest signed checkpoint, and the downloaded proof is keten "
          "log prove's and verifies with the broker's key",
          "[integration][console][proofs]") {
  Setup s(true);
  s.h.stop();  // no checkpoint after this: the console's proofs and keten log prove's are against the same one
  const auto all = bearer(kAllCasesToken);
  const std::uint64_t seq = accepted_seq(s, s.other_id);
  auto page = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", all);
  REQUIRE(page.status == 200);
  CHECK(has(page.body, "data-signed=\"ok\""));
  CHECK(has(page.body, "id=\"checkpoint-note\">keten/"));  // the note as signed, origin first
  CHECK(proof_state(page.body, seq) == "verified");
  const std::string href = "/messages/" + s.other_id + "/proof/" + std::to_string(seq);
  CHECK(has(page.body, "href=\"" + href + "\""));

  auto proof = http(s.endpoint, "GET", href + "?purpose=audit", all);
  REQUIRE(proof.status == 200);
  CHECK_THAT(proof.headers["content-type"], Contains("application/json"));
  // The same text keten log prove prints for the store.
  auto cli = test_support::run({test_support::keten_binary(), "log", "prove", "--store", s.h.options().store.string(),
                                "--event", std::to_string(seq)});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  CHECK(proof.body == cli.out);

  // Checked offline with the broker's public key (not the one the log states) and tlog alone.
  const auto j = nlohmann::json::parse(proof.body);
  broker::tlog::PublicKey pk{};
  for (std::size_t i = 0; i < pk.size(); ++i) pk[i] = static_cast<unsigned char>(std::stoi(s.signing->public_hex.substr(2 * i, 2), nullptr, 16));
  const std::string note = j["checkpoint"];
  auto origin = note.substr(0, note.find('\n'));
  auto verifier = broker::tlog::make_verifier(origin, pk);
  REQUIRE(verifier);
  auto cp = broker::tlog::open_checkpoint(note, *verifier);
  REQUIRE(cp);
  CHECK(cp->size == j["tree_size"].get<std::uint64_t>());
  auto event = broker::tlog::from_base64(j["event"].get<std::string>(), "event");
  REQUIRE(event);
  broker::tlog::Proof path;
  for (const auto& h : j["proof"]) {
    auto bytes = broker::tlog::from_base64(h.get<std::string>(), "proof");
    REQUIRE(bytes);
    auto hash = broker::tlog::hash_from_bytes(*bytes, "proof");
    REQUIRE(hash);
    path.push_back(*hash);
  }
  CHECK(j["leaf_index"].get<std::uint64_t>() == seq - 1);
  CHECK(broker::tlog::verify_inclusion(seq - 1, cp->size, broker::tlog::leaf_hash(*event), path, cp->root));
  // The same proof does not pass for another event's bytes.
  CHECK_FALSE(broker::tlog::verify_inclusion(seq - 1, cp->size, broker::tlog::leaf_hash(*event + "x"), path, cp->root));

  // The case bundle behind the page's link: keten log verify checks it offline with the broker's key.
  check_case_bundle_verifies(s, kOtherCase, all);
  CHECK(http(s.endpoint, "GET", "/cases/bundle?case=" + kDeadCase + "&purpose=audit", bearer(kInspectorToken)).status == 403);

  // A proof of an event of another message is not handed out through this message.
  CHECK(http(s.endpoint, "GET", "/messages/" + s.other_id + "/proof/" + std::to_string(accepted_seq(s, s.dead_id)) +
                                    "?purpose=audit", all).status == 404);
  // Nor of a message of a case the inspector may not see.
  CHECK(http(s.endpoint, "GET", "/messages/" + s.dead_id + "/proof/" + std::to_string(accepted_seq(s, s.dead_id)) +
                                    "?purpose=audit", bearer(kInspectorToken)).status == 403);
}

TEST_CASE("a changed shortcut row of the store's tree is a finding on the case page, not a failed event, and the case "
          "bundle still verifies",
          "[integration][console][proofs][tamper]") {
  Setup s(true);
  s.h.stop();
  {
    // Every stored leaf hash zeroed: a proof through them cannot reach the signed root.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(s.h.options().store.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    broker::store::DbHandle db(raw);
    REQUIRE(sqlite3_exec(raw, "DROP TRIGGER log_leaves_no_update; UPDATE log_leaves SET hashes = zeroblob(length(hashes))",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  const auto all = bearer(kAllCasesToken);
  auto page = http(s.endpoint, "GET", "/cases?case=" + kOtherCase + "&purpose=audit", all);
  REQUIRE(page.status == 200);
  // In the timeline's frame (srcdoc: its HTML escaped once), above the events, by the replay's own renderer.
  CHECK(has(page.body, "&lt;div class=&quot;bad&quot; id=&quot;damaged-shortcuts&quot;&gt;"));
  CHECK(has(page.body, "FINDING: 1 stored shortcut row(s)"));
  CHECK(has(page.body, "&lt;li&gt;log_leaves row first_seq="));
  CHECK_FALSE(has(page.body, "LOG NOT INTACT"));
  CHECK(has(page.body, "case events proven: "));

  // The message page: each event's proof verifies without the row, and the row is named above them.
  auto message = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", all);
  REQUIRE(message.status == 200);
  CHECK(has(message.body, "data-proof=\"verified\""));
  CHECK_FALSE(has(message.body, "data-proof=\"failed\""));
  CHECK(has(message.body, "id=\"damaged-shortcuts\""));
  CHECK(has(message.body, "<li>log_leaves row first_seq="));

  check_case_bundle_verifies(s, kOtherCase, all);
}

TEST_CASE("an event written after the latest checkpoint is not yet covered, and a forged event does not verify",
          "[integration][console][proofs]") {
  Setup s(true);
  s.h.stop();
  const auto all = bearer(kAllCasesToken);
  const std::uint64_t accepted = accepted_seq(s, s.other_id);
  std::uint64_t late = 0;
  {
    auto store = writable_store(s);
    broker::events::Event e;
    e.at = contracts::now_millis();
    e.message_id = s.other_id;
    e.contract = "test.notice";
    e.version = 1;
    e.case_ref = kOtherCase;
    e.recipient = "BRAVO";
    e.record = broker::events::Nacked{"a late refusal, written without the signing key"};
    auto appended = store.append_event(e);
    REQUIRE(appended);
    late = *appended;
  }
  auto page = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", all);
  REQUIRE(page.status == 200);
  CHECK(proof_state(page.body, accepted) == "verified");
  CHECK(proof_state(page.body, late) == "not-covered");
  CHECK(has(page.body, "not yet covered by a signed checkpoint"));
  CHECK(http(s.endpoint, "GET", "/messages/" + s.other_id + "/proof/" + std::to_string(late) + "?purpose=audit", all).status ==
        409);

  forge_sender(s.h.options().store, accepted, "MALLORY");
  auto forged = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", all);
  REQUIRE(forged.status == 200);
  CHECK(proof_state(forged.body, accepted) == "failed");
  CHECK(has(forged.body, "does not verify"));
  auto refused = http(s.endpoint, "GET", "/messages/" + s.other_id + "/proof/" + std::to_string(accepted) + "?purpose=audit", all);
  CHECK(refused.status == 409);
  CHECK(has(refused.body, "not in the tree"));
}

TEST_CASE("a broker without a signing key: the message page says no event is covered by a signed checkpoint",
          "[integration][console][proofs]") {
  Setup s;
  auto page = http(s.endpoint, "GET", "/messages/" + s.other_id + "?purpose=audit", bearer(kAllCasesToken));
  REQUIRE(page.status == 200);
  CHECK(has(page.body, "data-signed=\"none\""));
  CHECK(proof_state(page.body, accepted_seq(s, s.other_id)) == "not-covered");
  CHECK_FALSE(has(page.body, "data-proof=\"verified\""));
}

TEST_CASE("the case list pages newest first, each case once, searches by prefix and keeps to an inspector's cases",
          "[integration][console][paging]") {
  Setup s;
  const auto op = bearer(kOperatorToken);
  // kOtherCase's message was accepted after kDeadCase's: it is on the first page.
  auto first = http(s.endpoint, "GET", "/cases?per=1&purpose=overview", op);
  REQUIRE(first.status == 200);
  CHECK(has(first.body, "data-case=\"" + kOtherCase + "\""));
  CHECK_FALSE(has(first.body, "data-case=\"" + kDeadCase + "\""));
  const std::string next = link(first.body, "next-page");
  REQUIRE_THAT(next, Contains("after="));
  auto second = http(s.endpoint, "GET", next + "&purpose=overview", op);
  REQUIRE(second.status == 200);
  CHECK(has(second.body, "data-case=\"" + kDeadCase + "\""));
  CHECK_FALSE(has(second.body, "data-case=\"" + kOtherCase + "\""));
  CHECK(link(second.body, "next-page").empty());
  // Counts and partners: kDeadCase has ALPHA's one message, to BRAVO and CHARLIE.
  CHECK(has(second.body, "<td class=\"num\">1</td><td>ALPHA, BRAVO, CHARLIE</td>"));

  auto prefixed = http(s.endpoint, "GET", "/cases?prefix=" + kDeadCase.substr(0, 6) + "&purpose=overview", op);
  REQUIRE(prefixed.status == 200);
  CHECK(has(prefixed.body, "data-case=\"" + kDeadCase + "\""));
  CHECK_FALSE(has(prefixed.body, "data-case=\"" + kOtherCase + "\""));
  CHECK(http(s.endpoint, "GET", "/cases?per=0&purpose=overview", op).status == 400);

  // ilse is given kOtherCase only.
  auto limited = http(s.endpoint, "GET", "/cases?purpose=overview", bearer(kInspectorToken));
  REQUIRE(limited.status == 200);
  CHECK(has(limited.body, "data-case=\"" + kOtherCase + "\""));
  CHECK_FALSE(has(limited.body, kDeadCase));
  auto none = http(s.endpoint, "GET", "/cases?prefix=" + kDeadCase + "&purpose=overview", bearer(kInspectorToken));
  REQUIRE(none.status == 200);
  CHECK(has(none.body, "No cases match."));
  // Which cases exist is case data: each list view is a log_read with its purpose.
  const auto reads = s.rows("log_read");
  REQUIRE(reads.size() == 5);
  CHECK(detail(reads[0])["purpose"] == "overview");
  // Without a purpose the list is not shown.
  auto asked = http(s.endpoint, "GET", "/cases", op);
  CHECK_FALSE(has(asked.body, "data-case="));
}
