#pragma once
// BrokerHarness: a real broker for integration tests, in-process on its own thread, bound to an
// ephemeral loopback port, with a real SQLite file and freshly generated Curve keys in a per-test
// temporary folder. Also writes the same set-up as files (config, key files, client profiles) for
// tests that run the `keten` binary.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/sdk/client.h"
#include "broker/core/broker.h"
#include "broker/core/clock.h"
#include "broker/core/options.h"
#include "tests/support/temp_dir.h"

namespace test_support {

struct CurveKeys {
  std::string public_key;
  std::string secret_key;
};
CurveKeys make_keys();

// The test contract set (tests/data/contracts): ALPHA produces test.notice for BRAVO and CHARLIE.
std::filesystem::path test_contracts_dir();

class BrokerHarness {
 public:
  // Partners ALPHA, BRAVO, CHARLIE (chain partners) unless `partners` says otherwise.
  explicit BrokerHarness(std::vector<std::string> partners = {"ALPHA", "BRAVO", "CHARLIE"},
                         std::filesystem::path contracts = test_contracts_dir());
  ~BrokerHarness();

  broker::core::BrokerOptions& options() { return options_; }  // change before start()
  // The clock the broker's loop reads (default: the system clock), given at the next start(); a
  // test of a broker timeout passes a ManualClock's (tests/support/manual_clock.h), which must
  // outlive the broker.
  void use_clock(broker::core::Clock clock) { clock_ = std::move(clock); }
  void start();  // starts the in-process broker (throws on failure)
  void stop();   // stops it and joins the thread
  void restart() {
    stop();
    start();
  }

  const std::string& endpoint() const { return endpoint_; }
  // A profile for `partner` pointing at `endpoint` (default: the in-process broker's).
  partner::Profile profile(const std::string& partner, const std::string& endpoint = {}) const;
  partner::Client client(const std::string& partner, partner::ClientOptions options = {},
                         const std::string& endpoint = {}) const;
  const CurveKeys& keys(const std::string& partner) const { return keys_.at(partner); }
  const CurveKeys& broker_keys() const { return broker_keys_; }
  const TempDir& dir() const { return dir_; }

  // Writes keys/, keten.toml (listen on tcp://127.0.0.1:*) and <partner>.profile.toml for `endpoint`,
  // for tests that run the keten binary. Returns the config path.
  std::filesystem::path write_files(const std::string& endpoint = "tcp://127.0.0.1:*") const;

 private:
  TempDir dir_;
  broker::core::BrokerOptions options_;
  broker::core::Clock clock_ = broker::core::system_clock();
  CurveKeys broker_keys_;
  std::map<std::string, CurveKeys> keys_;
  std::unique_ptr<broker::core::Broker> broker_;
  std::thread thread_;
  std::string endpoint_;
};

// Client profiles for each of `partners` of `h`, as files `<partner>.toml` in `dir` (inline keys):
// what `keten send`, `keten log resend --into DIR` and the adapters read.
void write_profiles(const BrokerHarness& h, const std::filesystem::path& dir, const std::vector<std::string>& partners);

// A Submit of test.notice from ALPHA's point of view, valid unless the test changes it.
contracts::Submit notice(const std::string& message_id = partner::new_message_id(),
                         const std::string& case_ref = "9990012345");

}  // namespace test_support
