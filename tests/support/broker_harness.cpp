#include "tests/support/broker_harness.h"

#include "broker/store/seal.h"

#include <zmq.h>

#include <array>
#include <fstream>
#include <stdexcept>

namespace test_support {

CurveKeys make_keys() {
  std::array<char, 41> pub{}, sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) throw std::runtime_error("zmq_curve_keypair failed");
  return {std::string(pub.data(), 40), std::string(sec.data(), 40)};
}

std::filesystem::path test_contracts_dir() { return std::filesystem::path(KETEN_SOURCE_DIR) / "tests/data/contracts"; }

BrokerHarness::BrokerHarness(std::vector<std::string> partners, std::filesystem::path contracts) {
  broker_keys_ = make_keys();
  options_.listen = "tcp://127.0.0.1:*";
  options_.store = dir_ / "store" / "keten.db";
  options_.contracts = std::move(contracts);
  options_.secret_key = broker_keys_.secret_key;
  options_.payload_key = broker::store::generate_payload_key_hex();  // the test contracts have medical fields
  options_.sync_full = false;                          // tests check crash safety with kill -9, not power loss
  options_.stop_grace = std::chrono::milliseconds(0);  // stop at once; the wind-down's own tests set it
  for (const auto& id : partners) {
    keys_[id] = make_keys();
    options_.partners.push_back({id, id + " (test)", broker::core::PartnerRole::kChainPartner, keys_[id].public_key});
  }
}

BrokerHarness::~BrokerHarness() { stop(); }

void BrokerHarness::start() {
  if (broker_) return;
  if (!endpoint_.empty()) options_.listen = endpoint_;  // a restart keeps the port
  auto broker = broker::core::Broker::start(options_, std::nullopt, clock_);
  if (!broker) throw std::runtime_error("broker start: " + broker.error().detail);
  broker_ = std::move(*broker);
  endpoint_ = broker_->endpoint();
  thread_ = std::thread([b = broker_.get()] {
    if (auto r = b->run(); !r) throw std::runtime_error("broker run: " + r.error().detail);
  });
}

void BrokerHarness::stop() {
  if (!broker_) return;
  broker_->stop();
  thread_.join();
  broker_.reset();
}

partner::Profile BrokerHarness::profile(const std::string& partner, const std::string& endpoint) const {
  partner::Profile p;
  p.broker = endpoint.empty() ? endpoint_ : endpoint;
  p.broker_public_key = broker_keys_.public_key;
  p.partner = partner;
  p.secret_key = keys_.at(partner).secret_key;
  p.public_key = keys_.at(partner).public_key;
  return p;
}

partner::Client BrokerHarness::client(const std::string& partner, partner::ClientOptions options,
                                      const std::string& endpoint) const {
  auto c = partner::Client::connect(profile(partner, endpoint), options);
  if (!c) throw std::runtime_error("client connect: " + c.error().detail);
  return std::move(*c);
}

std::filesystem::path BrokerHarness::write_files(const std::string& endpoint) const {
  auto keys_dir = dir_ / "keys";
  std::filesystem::create_directories(keys_dir);
  auto write = [](const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
  };
  write(keys_dir / "broker.public", broker_keys_.public_key + "\n");
  write(keys_dir / "broker.secret", broker_keys_.secret_key + "\n");
  std::string config = "[broker]\nlisten = \"" + endpoint + "\"\nstore = \"store/keten.db\"\ncontracts = \"" +
                       options_.contracts.string() + "\"\nsecret_key = \"keys/broker.secret\"\nsync = \"full\"\n" +
                       "payload_key = \"" + options_.payload_key + "\"\n" +
                       "ack_timeout_ms = " + std::to_string(options_.ack_timeout.count()) + "\n" +
                       "stop_grace_ms = " + std::to_string(options_.stop_grace.count()) + "\n";
  for (const auto& [id, k] : keys_) {
    write(keys_dir / (id + ".public"), k.public_key + "\n");
    write(keys_dir / (id + ".secret"), k.secret_key + "\n");
    config += "\n[[partner]]\nid = \"" + id + "\"\nrole = \"chain-partner\"\npublic_key = \"keys/" + id + ".public\"\n";
  }
  write(dir_ / "keten.toml", config);
  return dir_ / "keten.toml";
}

void write_profiles(const BrokerHarness& h, const std::filesystem::path& dir,
                    const std::vector<std::string>& partners) {
  std::filesystem::create_directories(dir);
  for (const auto& id : partners) {
    std::ofstream(dir / (id + ".toml")) << "broker = \"" << h.endpoint() << "\"\nbroker_public_key = \""
                                        << h.broker_keys().public_key << "\"\npartner = \"" << id
                                        << "\"\nsecret_key = \"" << h.keys(id).secret_key << "\"\n";
  }
}

contracts::Submit notice(const std::string& message_id, const std::string& case_ref) {
  contracts::Submit s;
  s.header.message_id = message_id;
  s.header.contract = "test.notice";
  s.header.version = 1;
  s.header.case_ref = case_ref;
  s.header.occurred_at = contracts::now_millis() - 60'000;
  s.header.recorded_at = contracts::now_millis() - 30'000;
  s.payload =
      R"({"planned_at":"2025-03-05T06:00:00+01:00","location":"AZC-TER-APEL","items":[{"id":"AB1234","count":2}]})";
  return s;
}

}  // namespace test_support
