#include "broker/core/evidence.h"

#include <spdlog/spdlog.h>

#include <cstdint>

#include "broker/core/log.h"
#include "broker/store/seal.h"

namespace broker::core {
namespace {

void put_length_prefixed(std::string& out, std::string_view text) {
  const auto n = static_cast<std::uint32_t>(text.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += text;
}

}  // namespace

std::string evidence_associated_data(std::string_view message_id, std::string_view pointer) {
  std::string out;
  put_length_prefixed(out, "keten evidence v1");
  put_length_prefixed(out, message_id);
  put_length_prefixed(out, pointer);
  return out;
}

contracts::Result<std::vector<events::Evidence>> evidence_of(const std::vector<contracts::EvidenceField>& fields,
                                                             std::string_view payload, std::string_view message_id,
                                                             std::string_view payload_key) {
  std::vector<events::Evidence> out;
  if (fields.empty()) return out;
  for (auto& value : contracts::evidence_values(fields, payload)) {
    if (!value.medical) {
      out.push_back({std::move(value.pointer), std::move(value.json), false});
      continue;
    }
    if (payload_key.empty()) {
      log().warn("evidence left out message_id={} pointer={} reason=medical value and no payload key", message_id,
                 value.pointer);
      continue;
    }
    auto sealed = store::seal_payload(payload_key, value.json, evidence_associated_data(message_id, value.pointer));
    if (!sealed) return sealed.error();
    out.push_back({std::move(value.pointer), std::move(*sealed), true});
  }
  return out;
}

events::Unsealer evidence_unsealer(std::string payload_key) {
  return [key = std::move(payload_key)](const events::Event& e,
                                        const events::Evidence& v) -> std::optional<std::string> {
    if (!v.sealed || key.empty()) return std::nullopt;
    auto opened = store::open_payload(key, v.value, evidence_associated_data(e.message_id, v.pointer));
    if (!opened) return std::nullopt;
    return std::move(*opened);
  };
}

}  // namespace broker::core
