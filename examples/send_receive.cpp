// A partner program on one page: send one message, print its receipt, then receive and
// acknowledge deliveries for a few seconds. Built on the partner SDK (adapters/sdk/client.h).
//
//   example_send_receive PROFILE CONTRACT CASE PAYLOAD_JSON [SECONDS]
//   example_send_receive dtv.profile.toml departure.scheduled 9990012345 '{"flight":"KL1234"}'
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "adapters/sdk/client.h"

namespace {

int fail(const std::string& what, const contracts::Error& error) {
  std::cerr << "example: " << what << ": " << error.detail << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::cerr << "usage: " << argv[0] << " PROFILE CONTRACT CASE PAYLOAD_JSON [SECONDS]\n";
    return 2;
  }
  const int seconds = argc == 6 ? std::atoi(argv[5]) : 5;

  // 1. The profile names the broker and our keys; the broker knows us by our public key.
  auto profile = partner::load_profile(argv[1]);
  if (!profile) return fail("profile", profile.error());
  auto client = partner::Client::connect(*profile);
  if (!client) return fail("connect", client.error());

  // 2. One message. The message id is the idempotency key: keep it if you ever need to resend.
  contracts::Submit submit;
  submit.header.message_id = partner::new_message_id();
  submit.header.contract = argv[2];
  submit.header.version = 1;
  submit.header.case_ref = argv[3];
  submit.header.recorded_at = contracts::now_millis();
  submit.payload = argv[4];

  auto receipt = client->send(submit);
  if (!receipt) return fail("send", receipt.error());  // kTimeout: broker unreachable or silent
  std::cout << "receipt message_id=" << receipt->message_id
            << " status=" << contracts::to_string(receipt->status);
  if (receipt->status == contracts::ReceiptStatus::kRejected) {
    std::cout << " code=" << contracts::to_string(receipt->code) << " detail=" << receipt->detail
              << "\n";
    for (const auto& e : receipt->errors)
      std::cout << "  " << e.pointer << ": " << e.code << ": " << e.reason << "\n";
  } else {
    std::cout << " log_seq=" << receipt->log_seq << " recipients=" << receipt->recipients.size()
              << "\n";
  }

  // 3. Deliveries for us. Handle each, then ack it (or nack with a reason). The same message can
  //    come again (attempt > 1) after a failure: process by message id.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    auto delivery = client->receive(std::chrono::milliseconds(500));
    if (!delivery) return fail("receive", delivery.error());
    if (!*delivery) continue;
    const contracts::Deliver& d = **delivery;
    std::cout << "delivery id=" << d.delivery_id << " message_id=" << d.header.message_id
              << " contract=" << d.header.contract << " case=" << d.header.case_ref
              << " from=" << d.sender << " attempt=" << d.attempt << " payload=" << d.payload
              << "\n";
    if (auto acked = client->ack(d.delivery_id); !acked) return fail("ack", acked.error());
  }
  // 4. The destructor says goodbye (Credit{0}), so anything unacknowledged goes back at once.
  return 0;
}
