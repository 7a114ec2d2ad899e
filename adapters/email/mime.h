#pragma once
// Building and parsing mail with GMime: the only file that includes GMime headers.
// Every function may be called from any thread after init_mime() (idempotent, thread-safe).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "contracts/envelope.h"
#include "contracts/error.h"

namespace email {

using contracts::Result;

struct Attachment {
  std::string filename;      // as sent; may be empty
  std::string content_type;  // lower-case "type/subtype"
  std::string data;          // decoded bytes
};

struct OutgoingMail {
  std::string from;
  std::string from_name;
  std::string to;
  std::string subject;
  std::string message_id;   // without angle brackets
  std::string in_reply_to;  // without angle brackets; "" for none
  std::string auto_submitted = "auto-generated";  // RFC 3834: keeps auto-responders quiet
  contracts::Millis date = 0;                     // 0: now
  std::string text;                               // UTF-8 plain-text body
  std::vector<Attachment> attachments;
};

struct ParsedMail {
  std::string message_id;  // without angle brackets; "" when the mail has none
  std::string from;        // the first From address, lower-case; "" when none
  std::string subject;
  bool auto_submitted = false;  // Auto-Submitted present and not "no": never answered
  std::string auto_submitted_value;  // that header, lower-case; "" when absent
  // The Return-Path's address without brackets; "" for the null path "<>" (a bounce); nullopt
  // when the mail has no Return-Path (mail read straight from a Maildir may have none).
  std::optional<std::string> return_path;
  std::string precedence;    // Precedence header, lower-case ("bulk", "list", "junk"); "" when absent
  std::string list_header;   // "List-Id" or "List-Unsubscribe" when present (mailing-list mail); else ""
  std::string text;             // the first text/plain body part, decoded; "" when none
  std::vector<Attachment> attachments;  // leaf parts with a file name or a non-text type
};

void init_mime();

// RFC 5322 bytes with CRLF line ends: multipart/mixed when there are attachments (base64).
std::string build_mail(const OutgoingMail& mail);

// Parses a mail. kInvalidPayload when GMime cannot make a message of the bytes.
[[nodiscard]] Result<ParsedMail> parse_mail(std::string_view raw);

}  // namespace email
