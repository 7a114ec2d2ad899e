// The RFC 3834 §2 checks, in the order the RFC gives them, then the robot addresses it names
// (§2, "MAILER-DAEMON", "LISTSERV", "majordomo", "owner-*", "*-request") and the usual no-reply
// and postmaster mailboxes, which no person reads.
#include "adapters/email/reply_policy.h"

#include <array>
#include <string_view>

namespace email {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// `address` is lower-case (ParsedMail::from is).
bool is_robot_address(std::string_view address) {
  const std::string_view local = address.substr(0, address.rfind('@'));
  static constexpr std::array<std::string_view, 8> kRobots = {
      "mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply", "do-not-reply", "donotreply"};
  for (const auto robot : kRobots) {
    if (local == robot) return true;
  }
  return starts_with(local, "owner-") || ends_with(local, "-request");
}

}  // namespace

std::string reason_not_to_answer(const ParsedMail& mail) {
  if (mail.auto_submitted) return "Auto-Submitted: " + mail.auto_submitted_value;
  if (mail.return_path && mail.return_path->empty()) return "empty Return-Path (a bounce)";
  if (mail.from.empty()) return "no From address";
  if (is_robot_address(mail.from)) return "sender " + mail.from + " is a robot mailbox";
  if (mail.return_path && is_robot_address(*mail.return_path)) {
    return "Return-Path " + *mail.return_path + " is a robot mailbox";
  }
  if (mail.precedence == "bulk" || mail.precedence == "list" || mail.precedence == "junk") {
    return "Precedence: " + mail.precedence;
  }
  if (!mail.list_header.empty()) return mail.list_header + " header (list mail)";
  return "";
}

}  // namespace email
