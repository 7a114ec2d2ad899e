// One look at the inbox submits the messages of several files together: the file adapter against a
// stand-in broker (tests/unit/sdk/test_router.h) that shows which frames arrive. Frame types and
// counts are asserted; time only bounds a hang.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <string>

#include "adapters/file/file_adapter.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/sdk/test_router.h"

using namespace sdk_test;

TEST_CASE("one inbox scan submits the messages of several files in one batch", "[file][batching]") {
  namespace fs = std::filesystem;
  TestRouter router;
  test_support::TempDir dir;
  file_adapter::FileAdapterConfig config;
  config.inbox = dir / "in";
  config.outbox = dir / "out";
  config.processed = dir / "in" / "processed";
  config.rejected = dir / "in" / "rejected";
  config.state = dir / "out" / ".keten";
  config.stable = std::chrono::milliseconds(0);
  config.poll = std::chrono::milliseconds(20);
  config.use_inotify = false;
  fs::create_directories(config.inbox);
  for (int i = 0; i < 4; ++i) {
    std::ofstream(config.inbox / ("notice-" + std::to_string(i) + ".json"))
        << R"({"contract":"test.notice","case":"999001234)" << i << R"(","payload":{"n":)" << i << "}}";
  }

  partner::ClientOptions options;
  options.frames_in_flight = 1;  // the first message alone, then everything else in one frame
  auto processed = std::async(std::launch::async, [&, profile = profile_for(router)] {
    auto client = partner::Client::connect(profile, options);
    if (!client) throw std::runtime_error(client.error().detail);
    file_adapter::FileAdapter adapter(config, *client, "AIRLINE");
    if (!adapter.prepare()) throw std::runtime_error("prepare");
    const auto until = Clock::now() + 30s;
    while (adapter.counts().processed < 4 && Clock::now() < until) {
      if (auto r = adapter.step(config.poll); !r) throw std::runtime_error(r.error().detail);
    }
    return adapter.counts().processed;
  });

  std::size_t answered = 0;
  std::size_t submits = 0;
  std::vector<std::set<std::string>> batch_origins;  // the files each SubmitBatch came from
  while (answered < 4) {
    auto frame = router.receive(30s);
    REQUIRE(frame);
    REQUIRE(frame->envelope);
    if (auto* s = std::get_if<contracts::Submit>(&*frame->envelope)) {
      ++submits;
      router.send(frame->routing_id, accepted(s->header.message_id));
      ++answered;
    } else if (auto* b = std::get_if<contracts::SubmitBatch>(&*frame->envelope)) {
      std::set<std::string> origins;
      contracts::ReceiptBatch receipts;
      for (const auto& m : b->messages) {
        origins.insert(m.header.origin);
        receipts.receipts.push_back(accepted(m.header.message_id));
      }
      batch_origins.push_back(origins);
      router.send(frame->routing_id, receipts);
      answered += b->messages.size();
    }
  }
  CHECK(processed.get() == 4);
  CHECK(submits == 1);  // the scan's first message, at once
  REQUIRE(batch_origins.size() == 1);
  CHECK(batch_origins[0] == std::set<std::string>{"file:AIRLINE/notice-1.json", "file:AIRLINE/notice-2.json",
                                                  "file:AIRLINE/notice-3.json"});
}
