#include <catch2/catch.hpp>

#include "adapters/email/mime.h"

TEST_CASE("a built mail parses back with its headers, text and attachment", "[email]") {
  email::OutgoingMail m;
  m.from = "keten@broker.example";
  m.to = "desk@gem.example";
  m.subject = "Vertrek – case 9990012345";
  m.message_id = "abc.GEM-0014@broker.example";
  m.text = "Gemeente Groningen\nZaak: 9990012345\n";
  m.attachments.push_back({"delivery.json", "application/json", "{\"a\": \"é\"}\n"});
  const std::string raw = email::build_mail(m);
  CHECK(raw.find("\r\n") != std::string::npos);
  CHECK(raw.find("Auto-Submitted: auto-generated") != std::string::npos);

  auto p = email::parse_mail(raw);
  REQUIRE(p);
  CHECK(p->message_id == m.message_id);
  CHECK(p->from == "keten@broker.example");
  CHECK(p->subject == m.subject);
  CHECK(p->auto_submitted);
  CHECK(p->text.find("Zaak: 9990012345") != std::string::npos);
  REQUIRE(p->attachments.size() == 1);
  CHECK(p->attachments[0].filename == "delivery.json");
  CHECK(p->attachments[0].content_type == "application/json");
  CHECK(p->attachments[0].data == "{\"a\": \"é\"}\n");
}

TEST_CASE("parsing a mail takes the From address lower-cased and sees no attachment in a plain mail",
          "[email]") {
  auto p = email::parse_mail("From: Clerk <Clerk@GEM.Example>\r\nSubject: hi\r\n\r\nhello\r\n");
  REQUIRE(p);
  CHECK(p->from == "clerk@gem.example");
  CHECK(p->message_id.empty());
  CHECK_FALSE(p->auto_submitted);
  CHECK(p->attachments.empty());
  CHECK(p->text == "hello\r\n");
}
