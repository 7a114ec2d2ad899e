#include "broker/events/codec.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <cstring>
#include <type_traits>

#include "contracts/events_generated.h"

namespace broker::events {
namespace {

namespace fb = keten::events;
namespace wire = keten::wire;
using contracts::Error;
using contracts::ErrorCode;
using contracts::Result;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using flatbuffers::String;
using flatbuffers::Vector;

Error bad(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, "event: " + std::move(detail)}; }

// The slots this version knows in the root table and in each kind's record (index: the kind), so
// that a field added by a later version is named as such instead of showing up as a
// non-canonical encoding. The asserts tie the counts to the schema's last field of each table.
constexpr std::uint16_t kEventSlots = 15;
constexpr std::array<std::uint16_t, kLastKind + 1> kRecordSlots{0, 16, 1, 3, 12, 2, 1, 1, 1, 0, 1, 2, 2, 2, 11, 5, 7, 7, 2, 2, 2, 2, 3};
constexpr std::uint16_t last_slot_count(std::uint16_t vt_offset) { return static_cast<std::uint16_t>((vt_offset - 4) / 2 + 1); }
static_assert(last_slot_count(fb::Event::VT_DETAIL) == kEventSlots);
static_assert(last_slot_count(fb::Started::VT_CLOCK_ERROR_US) == kRecordSlots[1]);
static_assert(last_slot_count(fb::Received::VT_BYTES) == kRecordSlots[2]);
static_assert(last_slot_count(fb::Rejected::VT_ERRORS) == kRecordSlots[3]);
static_assert(last_slot_count(fb::Accepted::VT_LEGAL_BASIS) == kRecordSlots[4]);
static_assert(last_slot_count(fb::Duplicate::VT_SAME_PAYLOAD) == kRecordSlots[5]);
static_assert(last_slot_count(fb::Routed::VT_BASIS) == kRecordSlots[6]);
static_assert(last_slot_count(fb::Delivered::VT_ATTEMPT) == kRecordSlots[7]);
static_assert(last_slot_count(fb::Redelivered::VT_ATTEMPT) == kRecordSlots[8]);
static_assert(last_slot_count(fb::Nacked::VT_REASON) == kRecordSlots[10]);
static_assert(last_slot_count(fb::DeadLettered::VT_REASON) == kRecordSlots[11]);
static_assert(last_slot_count(fb::Redacted::VT_BASIS) == kRecordSlots[12]);
static_assert(last_slot_count(fb::PolicyAllowed::VT_BASIS) == kRecordSlots[13]);
static_assert(last_slot_count(fb::NormViolated::VT_CORRECTS) == kRecordSlots[14]);
static_assert(last_slot_count(fb::Alert::VT_CASES) == kRecordSlots[15]);
static_assert(last_slot_count(fb::Resent::VT_PURPOSE) == kRecordSlots[16]);
static_assert(last_slot_count(fb::LogRead::VT_CERTIFICATE_SUBJECT) == kRecordSlots[17]);
static_assert(last_slot_count(fb::Undelivered::VT_REASON) == kRecordSlots[18]);
static_assert(last_slot_count(fb::Shredded::VT_MESSAGES) == kRecordSlots[19]);
static_assert(last_slot_count(fb::Hold::VT_USER) == kRecordSlots[20]);
static_assert(last_slot_count(fb::Release::VT_USER) == kRecordSlots[21]);
static_assert(last_slot_count(fb::Processed::VT_ACKNOWLEDGED_AT) == kRecordSlots[22]);

// The first slot at or after `known` that `table` (verified) has a field in, if any.
std::optional<std::size_t> unknown_slot(const flatbuffers::Table& table, std::uint16_t known) {
  const std::uint8_t* vtable = table.GetVTable();
  const auto size = flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable);
  for (std::size_t slot = known; 4 + 2 * slot + 2 <= size; ++slot) {
    if (flatbuffers::ReadScalar<flatbuffers::voffset_t>(vtable + 4 + 2 * slot) != 0) return slot;
  }
  return std::nullopt;
}

// --- writing: every helper leaves a text or list out when it is empty (the canonical form) ---

Offset<String> text(FlatBufferBuilder& fbb, const std::string& s) { return s.empty() ? 0 : fbb.CreateString(s); }

Offset<Vector<Offset<String>>> texts(FlatBufferBuilder& fbb, const std::vector<std::string>& v) {
  if (v.empty()) return 0;
  std::vector<Offset<String>> offsets;
  offsets.reserve(v.size());
  for (const auto& s : v) offsets.push_back(fbb.CreateString(s));
  return fbb.CreateVector(offsets);
}

template <typename Item, typename Write>
auto tables(FlatBufferBuilder& fbb, const std::vector<Item>& items, Write write)
    -> Offset<Vector<decltype(write(items.front()))>> {
  if (items.empty()) return 0;
  std::vector<decltype(write(items.front()))> offsets;
  offsets.reserve(items.size());
  for (const auto& item : items) offsets.push_back(write(item));
  return fbb.CreateVector(offsets);
}

Offset<Vector<Offset<fb::Removal>>> removals(FlatBufferBuilder& fbb, const std::vector<Removal>& removed) {
  return tables(fbb, removed, [&](const Removal& r) {
    auto pointer = text(fbb, r.pointer);
    auto rule = text(fbb, r.rule);
    return fb::CreateRemoval(fbb, pointer, rule);
  });
}

// A scalar appended to a table after its first version (events.fbs): written only when it is not
// its default, so an event that does not use it keeps the bytes an older version gave it.
template <typename Add>
void add_appended(FlatBufferBuilder& fbb, Add add) {
  fbb.ForceDefaults(false);
  add();
  fbb.ForceDefaults(true);
}

struct RecordWriter {
  FlatBufferBuilder& fbb;

  Offset<void> operator()(const Started& s) const {
    auto config = text(fbb, s.config_digest);
    auto contracts = text(fbb, s.contracts_digest);
    auto key = text(fbb, s.signing_key);
    auto previous_config = s.previous_config_digest ? text(fbb, *s.previous_config_digest) : 0;
    auto previous_contracts = s.previous_contracts_digest ? text(fbb, *s.previous_contracts_digest) : 0;
    auto clock = text(fbb, s.clock_source);
    auto basis = text(fbb, s.clock_basis);
    // The order of the generated CreateStarted (largest scalars first), with the appended
    // scalars left out at their defaults.
    fb::StartedBuilder b(fbb);
    add_appended(fbb, [&] { b.add_clock_error_us(s.clock_error_us); });
    b.add_clock_basis(basis);
    b.add_clock_source(clock);
    b.add_previous_contracts_digest(previous_contracts);
    b.add_previous_config_digest(previous_config);
    b.add_contracts(s.contracts);
    b.add_partners(s.partners);
    b.add_signing_key(key);
    b.add_contracts_digest(contracts);
    b.add_config_digest(config);
    add_appended(fbb, [&] { b.add_clock_sync(static_cast<fb::ClockSync>(s.clock_sync)); });
    b.add_clock_synced(s.clock_synced);
    b.add_has_previous_contracts_digest(s.previous_contracts_digest.has_value());
    b.add_has_previous_config_digest(s.previous_config_digest.has_value());
    b.add_contracts_changed(s.contracts_changed);
    b.add_config_changed(s.config_changed);
    return b.Finish().Union();
  }
  Offset<void> operator()(const Received& r) const { return fb::CreateReceived(fbb, r.bytes).Union(); }
  Offset<void> operator()(const Rejected& r) const {
    auto detail = text(fbb, r.detail);
    auto errors = tables(fbb, r.errors, [&](const contracts::FieldError& e) {
      auto pointer = text(fbb, e.pointer);
      auto code = text(fbb, e.code);
      auto reason = text(fbb, e.reason);
      return fb::CreateFieldError(fbb, pointer, code, reason);
    });
    return fb::CreateRejected(fbb, static_cast<wire::ErrorCode>(r.code), detail, errors).Union();
  }
  Offset<void> operator()(const Accepted& a) const {
    auto recipients = texts(fbb, a.recipients);
    auto correlation = text(fbb, a.correlation_id);
    auto causation = text(fbb, a.causation_id);
    auto supersedes = text(fbb, a.supersedes);
    auto origin = text(fbb, a.origin);
    auto skipped = tables(fbb, a.skipped, [&](const Skipped& k) {
      auto partner = text(fbb, k.partner);
      auto reason = text(fbb, k.reason);
      return fb::CreateSkipped(fbb, partner, reason);
    });
    auto evidence = tables(fbb, a.evidence, [&](const Evidence& v) {
      auto pointer = text(fbb, v.pointer);
      auto value = v.value.empty() ? 0
                                   : fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(v.value.data()), v.value.size());
      return fb::CreateEvidence(fbb, pointer, value, v.sealed);
    });
    auto retention = text(fbb, a.retention);
    auto legal_basis = text(fbb, a.legal_basis);
    // The order of the generated CreateAccepted, with the appended assurance left out when
    // unrecorded (and the appended strings, like every string, when empty).
    fb::AcceptedBuilder b(fbb);
    b.add_recorded_at(a.recorded_at);
    b.add_occurred_at(a.occurred_at);
    b.add_legal_basis(legal_basis);
    b.add_retention(retention);
    b.add_evidence(evidence);
    b.add_skipped(skipped);
    b.add_origin(origin);
    b.add_supersedes(supersedes);
    b.add_causation_id(causation);
    b.add_correlation_id(correlation);
    b.add_recipients(recipients);
    add_appended(fbb, [&] { b.add_assurance(static_cast<fb::Assurance>(a.assurance)); });
    return b.Finish().Union();
  }
  Offset<void> operator()(const Duplicate& d) const {
    const fb::Digest first(flatbuffers::span<const std::uint8_t, 32>(d.first_payload_digest));
    return fb::CreateDuplicate(fbb, &first, d.same_payload).Union();
  }
  Offset<void> operator()(const Routed& r) const { return fb::CreateRouted(fbb, text(fbb, r.basis)).Union(); }
  Offset<void> operator()(const Delivered& d) const { return fb::CreateDelivered(fbb, d.attempt).Union(); }
  Offset<void> operator()(const Redelivered& d) const { return fb::CreateRedelivered(fbb, d.attempt).Union(); }
  Offset<void> operator()(const Acknowledged&) const { return fb::CreateAcknowledged(fbb).Union(); }
  Offset<void> operator()(const Nacked& n) const { return fb::CreateNacked(fbb, text(fbb, n.reason)).Union(); }
  Offset<void> operator()(const DeadLettered& d) const {
    return fb::CreateDeadLettered(fbb, d.attempt, text(fbb, d.reason)).Union();
  }
  Offset<void> operator()(const Redacted& r) const {
    auto removed = removals(fbb, r.removed);
    return fb::CreateRedacted(fbb, removed, text(fbb, r.basis)).Union();
  }
  Offset<void> operator()(const PolicyAllowed& p) const {
    auto removed = removals(fbb, p.removed);
    return fb::CreatePolicyAllowed(fbb, removed, text(fbb, p.basis)).Union();
  }
  Offset<void> operator()(const NormViolated& n) const {
    auto norm = text(fbb, n.norm);
    auto expected = text(fbb, n.expected_contract);
    auto explanation = text(fbb, n.explanation);
    auto late_party = text(fbb, n.late_party);
    auto key = text(fbb, n.key);
    auto corrects = text(fbb, n.corrects);
    return fb::CreateNormViolated(fbb, norm, static_cast<fb::NormKind>(n.kind), n.due_at, n.done_at, n.by_ms,
                                  expected, explanation, n.was_open, late_party, key, corrects)
        .Union();
  }
  Offset<void> operator()(const Alert& a) const {
    auto subject = text(fbb, a.subject);
    auto cases = texts(fbb, a.cases);
    return fb::CreateAlert(fbb, static_cast<fb::AlertKind>(a.kind), subject, a.value, a.threshold, cases).Union();
  }
  Offset<void> operator()(const Resent& r) const {
    auto new_id = text(fbb, r.new_message_id);
    auto target = text(fbb, r.target);
    auto user = text(fbb, r.user);
    auto via = text(fbb, r.via);
    auto purpose = text(fbb, r.purpose);
    return fb::CreateResent(fbb, new_id, target, static_cast<wire::ReceiptStatus>(r.status), r.target_log_seq, user,
                            via, purpose)
        .Union();
  }
  Offset<void> operator()(const LogRead& l) const {
    auto command = text(fbb, l.command);
    auto user = text(fbb, l.user);
    auto purpose = text(fbb, l.purpose);
    auto role = text(fbb, l.role);
    auto via = text(fbb, l.via);
    auto certificate_sha256 = text(fbb, l.certificate_sha256);
    auto certificate_subject = text(fbb, l.certificate_subject);
    return fb::CreateLogRead(fbb, command, user, purpose, role, via, certificate_sha256, certificate_subject).Union();
  }
  Offset<void> operator()(const Undelivered& u) const {
    return fb::CreateUndelivered(fbb, u.attempt, text(fbb, u.reason)).Union();
  }
  Offset<void> operator()(const Shredded& s) const {
    auto rules = tables(fbb, s.rules, [&](const RetentionRule& r) {
      auto contract = text(fbb, r.contract);
      auto retention = text(fbb, r.retention);
      auto basis = text(fbb, r.legal_basis);
      return fb::CreateRetentionRule(fbb, contract, r.version, retention, basis);
    });
    return fb::CreateShredded(fbb, rules, s.messages).Union();
  }
  Offset<void> operator()(const Hold& h) const {
    auto reason = text(fbb, h.reason);
    auto user = text(fbb, h.user);
    return fb::CreateHold(fbb, reason, user).Union();
  }
  Offset<void> operator()(const Release& h) const {
    auto reason = text(fbb, h.reason);
    auto user = text(fbb, h.user);
    return fb::CreateRelease(fbb, reason, user).Union();
  }
  Offset<void> operator()(const Processed& p) const {
    auto reason = text(fbb, p.reason);
    return fb::CreateProcessed(fbb, static_cast<wire::ProcessedOutcome>(p.outcome), reason, p.acknowledged_at).Union();
  }
};

// --- reading ---

std::string str(const String* s) { return s ? std::string(s->data(), s->size()) : std::string(); }

std::vector<std::string> strs(const Vector<Offset<String>>* v) {
  std::vector<std::string> out;
  if (!v) return out;
  out.reserve(v->size());
  for (const auto* s : *v) out.push_back(str(s));
  return out;
}

template <std::size_t N, typename Struct>
std::array<std::uint8_t, N> array_of(const Struct& s) {
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), s.bytes()->data(), N);
  return out;
}

std::vector<Removal> read_removals(const Vector<Offset<fb::Removal>>* v) {
  std::vector<Removal> out;
  if (!v) return out;
  for (const auto* r : *v) out.push_back({str(r->pointer()), str(r->rule())});
  return out;
}

// The record of `e`, whose detail_type is a known kind and whose detail is present.
Result<Record> read_record(const fb::Event& e) {
  switch (e.detail_type()) {
    case fb::Detail::Started: {
      const auto* s = e.detail_as_Started();
      const auto sync = static_cast<std::uint8_t>(s->clock_sync());
      if (sync > kLastClockSync) return bad("started: clock sync " + std::to_string(sync) + " is no known state");
      Started out{str(s->config_digest()), str(s->contracts_digest()), str(s->signing_key()), s->partners(),
                  s->contracts(), s->config_changed(), s->contracts_changed(), std::nullopt, std::nullopt,
                  str(s->clock_source()), s->clock_synced(), static_cast<ClockSync>(sync), str(s->clock_basis()),
                  s->clock_error_us()};
      if (s->has_previous_config_digest()) out.previous_config_digest = str(s->previous_config_digest());
      if (s->has_previous_contracts_digest()) out.previous_contracts_digest = str(s->previous_contracts_digest());
      return Record{std::move(out)};
    }
    case fb::Detail::Received: return Record{Received{e.detail_as_Received()->bytes()}};
    case fb::Detail::Rejected: {
      const auto* r = e.detail_as_Rejected();
      const auto code = static_cast<std::uint8_t>(r->code());
      if (code > static_cast<std::uint8_t>(contracts::kLastErrorCode)) {
        return bad("rejected: error code " + std::to_string(code) + " is no known code");
      }
      Rejected out{static_cast<ErrorCode>(code), str(r->detail()), {}};
      if (r->errors()) {
        for (const auto* f : *r->errors()) out.errors.push_back({str(f->pointer()), str(f->code()), str(f->reason())});
      }
      return Record{std::move(out)};
    }
    case fb::Detail::Accepted: {
      const auto* a = e.detail_as_Accepted();
      const auto assurance = static_cast<std::uint8_t>(a->assurance());
      if (assurance > kLastAssurance) {
        return bad("accepted: assurance " + std::to_string(assurance) + " is no known assurance");
      }
      Accepted out{strs(a->recipients()), str(a->correlation_id()), str(a->causation_id()), str(a->supersedes()),
                   a->occurred_at(), a->recorded_at(), str(a->origin()), {}, {}, static_cast<Assurance>(assurance),
                   str(a->retention()), str(a->legal_basis())};
      if (a->skipped()) {
        for (const auto* k : *a->skipped()) out.skipped.push_back({str(k->partner()), str(k->reason())});
      }
      if (a->evidence()) {
        for (const auto* v : *a->evidence()) {
          std::string value;
          if (v->value()) value.assign(reinterpret_cast<const char*>(v->value()->data()), v->value()->size());
          out.evidence.push_back({str(v->pointer()), std::move(value), v->sealed()});
        }
      }
      return Record{std::move(out)};
    }
    case fb::Detail::Duplicate: {
      const auto* d = e.detail_as_Duplicate();
      if (!d->first_payload_digest()) return bad("duplicate: first_payload_digest is missing");
      return Record{Duplicate{array_of<32>(*d->first_payload_digest()), d->same_payload()}};
    }
    case fb::Detail::Routed: return Record{Routed{str(e.detail_as_Routed()->basis())}};
    case fb::Detail::Delivered: return Record{Delivered{e.detail_as_Delivered()->attempt()}};
    case fb::Detail::Redelivered: return Record{Redelivered{e.detail_as_Redelivered()->attempt()}};
    case fb::Detail::Acknowledged: return Record{Acknowledged{}};
    case fb::Detail::Nacked: return Record{Nacked{str(e.detail_as_Nacked()->reason())}};
    case fb::Detail::DeadLettered: {
      const auto* d = e.detail_as_DeadLettered();
      return Record{DeadLettered{d->attempt(), str(d->reason())}};
    }
    case fb::Detail::Redacted: {
      const auto* r = e.detail_as_Redacted();
      return Record{Redacted{read_removals(r->removed()), str(r->basis())}};
    }
    case fb::Detail::PolicyAllowed: {
      const auto* p = e.detail_as_PolicyAllowed();
      return Record{PolicyAllowed{read_removals(p->removed()), str(p->basis())}};
    }
    case fb::Detail::NormViolated: {
      const auto* n = e.detail_as_NormViolated();
      const auto kind = static_cast<std::uint8_t>(n->kind());
      if (kind > static_cast<std::uint8_t>(fb::NormKind::MAX)) {
        return bad("norm_violated: norm kind " + std::to_string(kind) + " is no known kind");
      }
      return Record{NormViolated{str(n->norm()), static_cast<contracts::NormKind>(kind), n->due_at(), n->done_at(),
                                 n->by_ms(), str(n->expected_contract()), str(n->explanation()), n->was_open(),
                                 str(n->late_party()), str(n->key()), str(n->corrects())}};
    }
    case fb::Detail::Alert: {
      const auto* a = e.detail_as_Alert();
      const auto kind = static_cast<std::uint8_t>(a->kind());
      if (kind > kLastAlertKind) return bad("alert: alert kind " + std::to_string(kind) + " is no known kind");
      return Record{Alert{static_cast<AlertKind>(kind), str(a->subject()), a->value(), a->threshold(), strs(a->cases())}};
    }
    case fb::Detail::Resent: {
      const auto* r = e.detail_as_Resent();
      const auto status = static_cast<std::uint8_t>(r->status());
      if (status > static_cast<std::uint8_t>(contracts::ReceiptStatus::kRejected)) {
        return bad("resent: receipt status " + std::to_string(status) + " is no known status");
      }
      return Record{Resent{str(r->new_message_id()), str(r->target()), static_cast<contracts::ReceiptStatus>(status),
                           r->target_log_seq(), str(r->user()), str(r->via()), str(r->purpose())}};
    }
    case fb::Detail::LogRead: {
      const auto* l = e.detail_as_LogRead();
      return Record{LogRead{str(l->command()), str(l->user()), str(l->purpose()), str(l->role()), str(l->via()),
                            str(l->certificate_sha256()), str(l->certificate_subject())}};
    }
    case fb::Detail::Undelivered: {
      const auto* u = e.detail_as_Undelivered();
      return Record{Undelivered{u->attempt(), str(u->reason())}};
    }
    case fb::Detail::Shredded: {
      const auto* s = e.detail_as_Shredded();
      Shredded out{{}, s->messages()};
      if (s->rules()) {
        for (const auto* r : *s->rules()) {
          out.rules.push_back({str(r->contract()), r->version(), str(r->retention()), str(r->legal_basis())});
        }
      }
      return Record{std::move(out)};
    }
    case fb::Detail::Hold: {
      const auto* h = e.detail_as_Hold();
      return Record{Hold{str(h->reason()), str(h->user())}};
    }
    case fb::Detail::Release: {
      const auto* h = e.detail_as_Release();
      return Record{Release{str(h->reason()), str(h->user())}};
    }
    case fb::Detail::Processed: {
      const auto* p = e.detail_as_Processed();
      const auto outcome = static_cast<std::uint8_t>(p->outcome());
      if (outcome != static_cast<std::uint8_t>(contracts::ProcessedOutcome::kDone) &&
          outcome != static_cast<std::uint8_t>(contracts::ProcessedOutcome::kRefused)) {
        return bad("processed: outcome " + std::to_string(outcome) + " is not done (1) or refused (2)");
      }
      return Record{Processed{static_cast<contracts::ProcessedOutcome>(outcome), str(p->reason()), p->acknowledged_at()}};
    }
    case fb::Detail::NONE: break;
  }
  return bad("no kind");  // not reached: the caller checked the kind
}

// The verified root table of `bytes`, which is 8-aligned.
Result<const fb::Event*> verified_root(std::string_view bytes) {
  if (bytes.size() < 8) return bad(std::to_string(bytes.size()) + " bytes are too short for an event (at least 8)");
  if (!fb::EventBufferHasIdentifier(bytes.data())) return bad("file identifier is not \"KEV1\"");
  flatbuffers::Verifier verifier(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!fb::VerifyEventBuffer(verifier)) return bad("the FlatBuffers verifier refuses the bytes (offsets, sizes or alignment out of bounds)");
  const fb::Event* e = fb::GetEvent(bytes.data());
  const auto kind = static_cast<std::uint8_t>(e->detail_type());
  if (kind == 0) return bad("no kind (the detail union is empty)");
  if (kind > kLastKind) return bad("kind " + std::to_string(kind) + " is no known kind (1.." + std::to_string(kLastKind) + ")");
  const std::string name(to_string(static_cast<Kind>(kind)));
  if (!e->detail()) return bad("kind " + name + " carries no record");
  // Generated tables derive privately from flatbuffers::Table, at the same address.
  if (auto slot = unknown_slot(*reinterpret_cast<const flatbuffers::Table*>(e), kEventSlots)) {
    return bad("field slot " + std::to_string(*slot) + " of the event is unknown to this version (written by a newer one?)");
  }
  if (auto slot = unknown_slot(*static_cast<const flatbuffers::Table*>(e->detail()), kRecordSlots[kind])) {
    return bad("field slot " + std::to_string(*slot) + " of the " + name +
               " record is unknown to this version (written by a newer one?)");
  }
  return e;
}

// FlatBuffers needs the buffer aligned as its widest scalar (8); a slice of a larger block may not be.
template <typename Read>
auto with_aligned(std::string_view bytes, Read read) -> decltype(read(bytes)) {
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 == 0) return read(bytes);
  const std::string copy(bytes);  // heap storage: aligned to at least 8
  return read(std::string_view(copy));
}

Result<Event> decode_aligned(std::string_view bytes) {
  auto root = verified_root(bytes);
  if (!root) return root.error();
  const fb::Event& e = **root;
  Event out;
  out.at = e.at();
  out.message_id = str(e.message_id());
  out.contract = str(e.contract());
  out.version = e.version();
  out.case_ref = str(e.case_ref());
  out.sender = str(e.sender());
  out.recipient = str(e.recipient());
  out.delivery_id = e.delivery_id();
  if (e.payload_digest()) out.payload_digest = array_of<32>(*e.payload_digest());
  if (e.trace_id()) out.trace_id = array_of<16>(*e.trace_id());
  if (e.span_id()) out.span_id = array_of<8>(*e.span_id());
  out.processing_activity = str(e.processing_activity());
  if (e.legacy_detail()) out.legacy_detail = str(e.legacy_detail());
  auto record = read_record(e);
  if (!record) return record.error();
  out.record = std::move(*record);

  // Same meaning, other bytes (a field written empty or at its default left out, another field
  // order, padding) would give the same event a second leaf hash: refused.
  const std::string canonical = encode_event(out);
  if (canonical != bytes) {
    const auto [at, _] = std::mismatch(canonical.begin(), canonical.end(), bytes.begin(), bytes.end());
    return bad("not in canonical form: " + std::to_string(bytes.size()) + " bytes, the canonical encoding of the same " +
               std::string(to_string(out.kind())) + " event has " + std::to_string(canonical.size()) +
               " and they first differ at byte " + std::to_string(at - canonical.begin()));
  }
  return out;
}

}  // namespace

std::string encode_event(const Event& event) {
  // One builder per thread, cleared for each event: its buffer is reused instead of allocated
  // per event. Clear() resets every state that shapes the output, so the bytes do not depend on
  // what the builder wrote before.
  thread_local FlatBufferBuilder fbb(512);
  fbb.Clear();
  fbb.ForceDefaults(true);
  // Children before the table that points at them, always in this order.
  auto record = std::visit(RecordWriter{fbb}, event.record);
  auto message_id = text(fbb, event.message_id);
  auto contract = text(fbb, event.contract);
  auto case_ref = text(fbb, event.case_ref);
  auto sender = text(fbb, event.sender);
  auto recipient = text(fbb, event.recipient);
  auto activity = text(fbb, event.processing_activity);
  auto legacy = event.legacy_detail ? fbb.CreateString(*event.legacy_detail) : 0;
  std::optional<fb::Digest> digest;
  if (event.payload_digest) digest.emplace(flatbuffers::span<const std::uint8_t, 32>(*event.payload_digest));
  std::optional<fb::TraceId> trace;
  if (event.trace_id) trace.emplace(flatbuffers::span<const std::uint8_t, 16>(*event.trace_id));
  std::optional<fb::SpanId> span;
  if (event.span_id) span.emplace(flatbuffers::span<const std::uint8_t, 8>(*event.span_id));
  auto root = fb::CreateEvent(fbb, event.at, message_id, contract, event.version, case_ref, sender, recipient,
                              event.delivery_id, digest ? &*digest : nullptr, trace ? &*trace : nullptr,
                              span ? &*span : nullptr, activity, legacy, static_cast<fb::Detail>(event.kind()), record);
  fb::FinishEventBuffer(fbb, root);
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Result<Event> decode_event(std::string_view bytes) { return with_aligned(bytes, decode_aligned); }

Result<Event> decode_event(std::span<const std::byte> bytes) {
  return decode_event(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Result<Kind> peek_kind(std::string_view bytes) {
  return with_aligned(bytes, [](std::string_view aligned) -> Result<Kind> {
    auto root = verified_root(aligned);
    if (!root) return root.error();
    return static_cast<Kind>((*root)->detail_type());
  });
}

}  // namespace broker::events
