#pragma once
// Which inbound mail may get an automatic answer. RFC 3834 §2: an automatic responder must not
// answer mail that is itself automatic (bounces, other robots' replies) or sent to many (lists,
// newsletters); answering those starts mail loops or answers nobody. Pure functions.

#include <string>

#include "adapters/email/mime.h"

namespace email {

// "" when `mail` may be answered; otherwise why not, for the log, e.g.
// "Auto-Submitted: auto-replied", "sender mailer-daemon@x.example", "empty Return-Path (a bounce)",
// "Precedence: bulk", "List-Id header (list mail)".
std::string reason_not_to_answer(const ParsedMail& mail);

}  // namespace email
