#include <catch2/catch.hpp>

#include "adapters/email/mime.h"
#include "adapters/email/reply_policy.h"

namespace {

std::string why(const std::string& headers) {
  auto mail = email::parse_mail(headers + "Subject: x\r\n\r\nbody\r\n");
  REQUIRE(mail);
  return email::reason_not_to_answer(*mail);
}

}  // namespace

TEST_CASE("a person's mail may be answered", "[email]") {
  CHECK(why("From: Clerk <clerk@gem.example>\r\n") == "");
  CHECK(why("From: clerk@gem.example\r\nAuto-Submitted: no\r\nReturn-Path: <clerk@gem.example>\r\n") == "");
  CHECK(why("From: clerk@gem.example\r\nPrecedence: first-class\r\n") == "");
}

TEST_CASE("automatic and bulk mail is never answered (RFC 3834 section 2)", "[email]") {
  CHECK(why("From: a@x.example\r\nAuto-Submitted: auto-replied\r\n") == "Auto-Submitted: auto-replied");
  CHECK(why("From: a@x.example\r\nAuto-Submitted: Auto-Generated; owner-email=a@x\r\n") ==
        "Auto-Submitted: auto-generated; owner-email=a@x");
  CHECK(why("From: a@x.example\r\nReturn-Path: <>\r\n") == "empty Return-Path (a bounce)");
  CHECK(why("From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n") ==
        "sender mailer-daemon@mx.example is a robot mailbox");
  CHECK(why("From: postmaster@mx.example\r\n") == "sender postmaster@mx.example is a robot mailbox");
  CHECK(why("From: owner-list@lists.example\r\n") == "sender owner-list@lists.example is a robot mailbox");
  CHECK(why("From: list-request@lists.example\r\n") == "sender list-request@lists.example is a robot mailbox");
  CHECK(why("From: noreply@shop.example\r\n") == "sender noreply@shop.example is a robot mailbox");
  CHECK(why("From: a@x.example\r\nReturn-Path: <MAILER-DAEMON@mx.example>\r\n") ==
        "Return-Path mailer-daemon@mx.example is a robot mailbox");
  CHECK(why("From: a@x.example\r\nPrecedence: Bulk\r\n") == "Precedence: bulk");
  CHECK(why("From: a@x.example\r\nPrecedence: list\r\n") == "Precedence: list");
  CHECK(why("From: a@x.example\r\nPrecedence: junk\r\n") == "Precedence: junk");
  CHECK(why("From: a@x.example\r\nList-Id: <news.x.example>\r\n") == "List-Id header (list mail)");
  CHECK(why("From: a@x.example\r\nList-Unsubscribe: <mailto:u@x.example>\r\n") ==
        "List-Unsubscribe header (list mail)");
  CHECK(why("Subject: no sender\r\n") == "no From address");
}
