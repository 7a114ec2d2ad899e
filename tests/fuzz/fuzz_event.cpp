// libFuzzer target: broker::events::decode_event on arbitrary bytes (an event as a store block or
// an evidence bundle holds it; whoever edited the file chose the bytes). Besides ASan/UBSan: a
// refusal is malformed_envelope with a detail starting "event: "; an accepted event is canonical
// (encoding it gives the input back), and every rendering of it runs, its detail JSON parses
// (without a legacy detail) and its schema-4 row converts back to the same kind.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "broker/events/codec.h"
#include "broker/events/legacy.h"
#include "broker/events/render.h"
#include "tests/fuzz/fuzz_check.h"

const char* const fuzz_check::kTarget = "fuzz_event";

using fuzz_check::fail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto event = broker::events::decode_event(bytes);
  if (!event) {
    fuzz_check::check_refusal(event.error(), "event: ");
    return 0;
  }
  if (broker::events::encode_event(*event) != bytes) fail("an accepted event is not in canonical form");
  auto kind = broker::events::peek_kind(bytes);
  if (!kind || *kind != event->kind()) fail("peek_kind disagrees with decode_event");
  (void)broker::events::text_line(*event, 1);
  (void)broker::events::html_card(*event);
  (void)broker::events::event_object(*event, 1, "");
  const std::string detail = broker::events::detail_json(*event);
  if (!event->legacy_detail && !detail.empty() && !nlohmann::json::accept(detail)) fail("a detail is not JSON");
  auto row = broker::events::from_legacy_row(broker::events::to_legacy_row(*event));
  if (!row || row->kind() != event->kind()) fail("the schema-4 row does not convert back");
  return 0;
}
