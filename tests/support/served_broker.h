#pragma once
// A real `keten serve` process on a BrokerHarness's files (keys, config, store), with client
// profiles for its partners, for tests that pause, kill and restart the broker. Restarts reuse
// the first run's port and store, so clients reconnect to the same endpoint.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/broker_harness.h"
#include "tests/support/process.h"

namespace test_support {

class ServedBroker {
 public:
  explicit ServedBroker(BrokerHarness& h) : h_(h), config_(h.write_files("tcp://127.0.0.1:*")) {
    start();
    for (const auto& partner : {"ALPHA", "BRAVO", "CHARLIE"}) {
      std::ofstream(profile(partner))
          << "broker = \"" << endpoint_ << "\"\nbroker_public_key = \"keys/broker.public\"\n"
          << "partner = \"" << partner << "\"\nsecret_key = \"keys/" << partner << ".secret\"\n";
    }
  }
  ~ServedBroker() {
    if (process_) {  // a test that failed half-way: no assertions here
      process_->signal(SIGCONT);
      process_->signal(SIGTERM);
      (void)process_->wait(std::chrono::seconds(30));
    }
  }
  ServedBroker(const ServedBroker&) = delete;
  ServedBroker& operator=(const ServedBroker&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  std::filesystem::path store() const { return h_.dir() / "store" / "keten.db"; }
  std::string profile(const std::string& partner) const {
    return (h_.dir() / (partner + ".profile.toml")).string();
  }
  pid_t pid() const { return process_->pid(); }
  void signal(int sig) { process_->signal(sig); }

  // Starts the broker (again): on the first run's endpoint once there is one.
  void start() {
    std::vector<std::string> argv = {keten_binary(), "serve", "--config", config_.string()};
    if (!endpoint_.empty()) {
      argv.push_back("--listen");
      argv.push_back(endpoint_);
    }
    process_ = std::make_unique<ChildProcess>(argv);
    auto line = process_->read_line(std::chrono::seconds(60));
    REQUIRE(line);
    REQUIRE(line->rfind("listening ", 0) == 0);
    endpoint_ = line->substr(10);
  }
  // kill -9: no clean-up of any kind, as in a power cut of the process.
  void kill9() {
    process_->signal(SIGKILL);
    REQUIRE(process_->wait(std::chrono::seconds(30)) == -SIGKILL);
    process_.reset();
  }
  // Waits for the process to end after signals the test sent: its exit status (nullopt: still
  // running after `limit`; it is then killed by the destructor).
  std::optional<int> wait(std::chrono::milliseconds limit) {
    auto status = process_->wait(limit);
    if (status) process_.reset();
    return status;
  }
  // SIGTERM and a clean exit (0).
  void stop() {
    process_->signal(SIGTERM);
    CHECK(process_->wait(std::chrono::seconds(60)) == 0);
    process_.reset();
  }

 private:
  BrokerHarness& h_;
  std::filesystem::path config_;
  std::unique_ptr<ChildProcess> process_;
  std::string endpoint_;
};

}  // namespace test_support
