// keten log resend and replay --into (log_resend.h): the messages read from the store, re-sent
// through broker/console/resend.h, each re-send recorded as a `resent` event in that store.
#include "broker/cli/log_resend.h"

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "broker/cli/command.h"
#include "broker/cli/read_record.h"
#include "broker/cli/tool_store.h"
#include "broker/console/resend.h"
#include "broker/store/store.h"

namespace keten_cli {
namespace {

using contracts::ErrorCode;

int fail(int code, const std::string& detail) {
  std::cerr << "keten log: " << detail << "\n";
  return code;
}

}  // namespace

int resend_messages(const ResendRequest& args, const std::vector<std::string>& ids) {
  std::vector<broker::store::StoredMessage> messages;
  {
    // Payloads of contracts with medical fields are sealed in the store: reading them back needs
    // the broker's payload key (docs/store-format.md). Verification never does.
    auto store = open_tool_store(args.store, {true, args.payload_key});
    if (!store) return fail(kExitUsage, store.error().detail);
    for (const auto& id : ids) {
      auto m = (*store)->find_message_content(id);
      if (!m) {
        return fail(
            kExitFailed,
            m.error().detail + (args.payload_key.empty() ? " (give the broker's payload key with --payload-key)" : ""));
      }
      if (!*m) return fail(kExitFailed, "no accepted message with id " + id + " in " + args.store);
      if (!(*m)->unreadable.empty()) {
        // A shredded case is answered as such (retention), whatever key was given.
        const bool shredded = broker::store::is_shredded((*m)->unreadable);
        return fail(kExitFailed, (*m)->unreadable + (args.payload_key.empty() && !shredded
                                                         ? " (give the broker's payload key with --payload-key)"
                                                         : ""));
      }
      messages.push_back(std::move(**m));
    }
  }
  // The Submit and the `resent` row are built as the console builds them (broker/console/resend.h).
  broker::console::Resender resender(args.into,
                                     std::chrono::milliseconds(static_cast<long long>(args.timeout_seconds * 1000)));
  const broker::console::ResendActor actor{reader(), args.into, "", ""};
  std::map<std::string, std::string> new_ids;
  int exit = kExitOk;
  for (const auto& m : messages) {
    const auto submit = broker::console::resend_submit(m, args.to_partner, new_ids);
    auto receipt = resender.send(m.sender, submit);
    if (!receipt) {
      if (receipt.error().code == ErrorCode::kConfig) return fail(kExitUsage, receipt.error().detail);
      return fail(exit_code(receipt.error().code), "resend of " + m.header.message_id + ": " + receipt.error().detail);
    }
    new_ids[m.header.message_id] = submit.header.message_id;
    nlohmann::json line{{"original_message_id", m.header.message_id},
                        {"message_id", submit.header.message_id},
                        {"status", contracts::to_string(receipt->status)},
                        {"log_seq", receipt->log_seq},
                        {"payload_digest", receipt->payload_digest}};
    if (receipt->status == contracts::ReceiptStatus::kRejected) {
      line["code"] = contracts::to_string(receipt->code);
      line["detail"] = receipt->detail;
      exit = kExitFailed;
    }
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    // The `resent` event, in the source store (read_record.h says when it cannot be).
    (void)append_to_store(
        "keten log", args.store,
        broker::console::resent_event(m, args.to_partner, 0, submit, *receipt, actor, contracts::now_millis()));
  }
  return exit;
}

}  // namespace keten_cli
