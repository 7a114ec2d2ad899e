// Writes the seed inputs of fuzz_event: one canonical event of each kind, converted from a
// schema-4 row as the broker writes it, one with every common field set, and one migrated row
// that keeps its legacy detail. Usage: make_event_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "broker/events/codec.h"
#include "broker/events/legacy.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_event_seeds DIR\n");
    return 2;
  }
  using broker::events::LegacyRow;
  const std::string d(64, 'a');
  const std::vector<std::pair<std::string, std::string>> kinds{
      {"started", R"j({"config_changed":true,"config_digest":")j" + std::string(64, 'c') +
                      R"j(","contracts":31,"contracts_changed":false,"contracts_digest":")j" + std::string(64, 'd') +
                      R"j(","partners":7,"previous_config_digest":")j" + std::string(64, 'b') +
                      R"j(","previous_contracts_digest":")j" + std::string(64, 'd') + R"j(","signing_key":""})j"},
      {"received", R"j({"bytes":120})j"},
      {"rejected", R"j({"code":"schema_violation","detail":"payload does not match","errors":[{"code":"format","pointer":"/std","reason":"not a date-time"}]})j"},
      {"accepted", R"j({"causation_id":"m-0","correlation_id":"c-1","occurred_at":1740999995000,"origin":"file:KLM/a.json","recipients":["KMAR","DVO"],"recorded_at":1740999996000,"skipped":[{"partner":"COA","reason":"takes versions 2"}],"supersedes":"m-old"})j"},
      {"duplicate", R"j({"first_payload_digest":")j" + d + R"j(","same_payload":true})j"},
      {"routed", ""},
      {"delivered", R"j({"attempt":1})j"},
      {"redelivered", R"j({"attempt":2})j"},
      {"acknowledged", ""},
      {"nacked", R"j({"reason":"cannot parse"})j"},
      {"dead_lettered", R"j({"attempt":5})j"},
      {"redacted", R"j({"basis":"","removed":[{"pointer":"/fit_to_travel","rule":"medical:no-consent"}]})j"},
      {"policy_allowed", R"j({"basis":"consent:m-c","removed":[]})j"},
      {"norm_violated", R"j({"by_ms":3600000,"done_at":1741007200000,"due_at":1741003600000,"expected_contract":"departure.outcome","explanation":"late","kind":"follow_up","norm":"n-1","state":"closed","was_open":true})j"},
      {"alert", R"j({"kind":"backlog","subject":"DVO","threshold":1000.0,"value":1250.0})j"},
      {"resent", R"j({"new_message_id":"m-2","status":"accepted","target":"tcp://127.0.0.1:5555","target_log_seq":4711,"user":"u@h (uid 1)"})j"},
      {"undelivered", R"j({"attempt":1,"reason":"connection gone"})j"},
      {"log_read", R"j({"command":"keten log replay --case 9990012345","user":"u@h (uid 1)"})j"},
      {"processed", R"j({"acknowledged_at":1740999999000,"outcome":"refused","reason":"case unknown here"})j"},
  };
  auto write = [&](const std::string& name, const broker::events::Event& e) {
    std::ofstream(std::string(argv[1]) + "/" + name + ".kev", std::ios::binary) << broker::events::encode_event(e);
  };
  for (const auto& [event, detail] : kinds) {
    LegacyRow row{1741000000000, event, "m-1", "departure.scheduled", 1, "9990012345", "DTV", "KMAR", 4, d, detail};
    auto e = broker::events::from_legacy_row(row);
    if (!e || e->legacy_detail) {
      std::fprintf(stderr, "make_event_seeds: %s does not convert exactly\n", event.c_str());
      return 1;
    }
    write(event, *e);
  }
  LegacyRow row{1741000000000, "received", "m-1", "departure.scheduled", 1, "9990012345", "DTV", "", 0, "",
                R"j({"bytes":120,"connection":"x"})j"};
  auto legacy = broker::events::from_legacy_row(row);
  if (!legacy) return 1;
  write("legacy-detail", *legacy);
  auto full = *legacy;
  full.legacy_detail.reset();
  full.trace_id = broker::events::TraceId{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                          0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  full.span_id = broker::events::SpanId{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  full.processing_activity = "https://example.org/processing/removal";
  write("trace", full);
  return 0;
}
