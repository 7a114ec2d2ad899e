#include "contracts/envelope.h"
#include "contracts/frame_peek.h"

#include <chrono>
#include <cstring>

#include "contracts/envelope_generated.h"
#include "contracts/canonical.h"

namespace contracts {
namespace {

namespace wire = keten::wire;
using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

std::string str(const flatbuffers::String* s) { return s ? std::string(s->data(), s->size()) : std::string(); }

std::vector<std::string> strings(const flatbuffers::Vector<Offset<flatbuffers::String>>* v) {
  std::vector<std::string> out;
  if (!v) return out;
  out.reserve(v->size());
  for (const auto* s : *v) out.push_back(str(s));
  return out;
}

std::string bytes(const flatbuffers::Vector<std::uint8_t>* v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}

Header read_header(const wire::Header* h) {
  Header out;
  out.message_id = str(h->message_id());
  out.contract = str(h->contract());
  out.version = h->version();
  out.case_ref = str(h->case_ref());
  out.recipients = strings(h->recipients());
  out.correlation_id = str(h->correlation_id());
  out.causation_id = str(h->causation_id());
  out.supersedes = str(h->supersedes());
  out.occurred_at = h->occurred_at();
  out.recorded_at = h->recorded_at();
  out.origin = str(h->origin());
  return out;
}

Offset<flatbuffers::Vector<Offset<flatbuffers::String>>> write_strings(
    FlatBufferBuilder& fbb, const std::vector<std::string>& v) {
  std::vector<Offset<flatbuffers::String>> offsets;
  offsets.reserve(v.size());
  for (const auto& s : v) offsets.push_back(fbb.CreateString(s));
  return fbb.CreateVector(offsets);
}

Offset<flatbuffers::Vector<std::uint8_t>> write_bytes(FlatBufferBuilder& fbb, const std::string& s) {
  return fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

Offset<wire::Header> write_header(FlatBufferBuilder& fbb, const Header& h) {
  auto message_id = fbb.CreateString(h.message_id);
  auto contract = fbb.CreateString(h.contract);
  auto case_ref = fbb.CreateString(h.case_ref);
  auto recipients = write_strings(fbb, h.recipients);
  auto correlation_id = fbb.CreateString(h.correlation_id);
  auto causation_id = fbb.CreateString(h.causation_id);
  auto supersedes = fbb.CreateString(h.supersedes);
  auto origin = h.origin.empty() ? 0 : fbb.CreateString(h.origin);
  return wire::CreateHeader(fbb, message_id, contract, h.version, case_ref, recipients, correlation_id,
                            causation_id, supersedes, h.occurred_at, h.recorded_at, origin);
}

wire::ErrorCode to_wire(ErrorCode code) { return static_cast<wire::ErrorCode>(code); }

ErrorCode from_wire(wire::ErrorCode code) {
  auto value = static_cast<std::uint8_t>(code);
  if (value > static_cast<std::uint8_t>(ErrorCode::kMessageIdTaken)) return ErrorCode::kProtocol;
  return static_cast<ErrorCode>(value);
}

Error malformed(std::string detail) { return Error{ErrorCode::kMalformedEnvelope, std::move(detail)}; }

Result<Submit> read_submit(const wire::Submit* s) {
  if (!s->header()) return malformed("submit without header");
  if (!s->payload()) return malformed("submit without payload");
  return Submit{read_header(s->header()), bytes(s->payload())};
}

Result<Receipt> read_receipt(const wire::Receipt* r) {
  Receipt out;
  out.message_id = str(r->message_id());
  auto status = static_cast<std::uint8_t>(r->status());
  if (status > static_cast<std::uint8_t>(ReceiptStatus::kRejected)) return malformed("receipt with unknown status");
  out.status = static_cast<ReceiptStatus>(status);
  out.recipients = strings(r->recipients());
  out.log_seq = r->log_seq();
  out.accepted_at = r->accepted_at();
  out.code = from_wire(r->code());
  out.detail = str(r->detail());
  out.payload_digest = str(r->payload_digest());
  out.signature = bytes(r->signature());
  out.checkpoint = str(r->checkpoint());
  out.signed_count = r->signed_count();
  out.signed_index = r->signed_index();
  out.signed_path = bytes(r->signed_path());
  if (r->errors()) {
    for (const auto* e : *r->errors()) {
      if (!e) continue;
      out.errors.push_back(FieldError{str(e->pointer()), str(e->code()), str(e->reason())});
    }
  }
  return out;
}

Result<Deliver> read_deliver(const wire::Deliver* d) {
  if (!d->header()) return malformed("deliver without header");
  Deliver out;
  out.delivery_id = d->delivery_id();
  out.attempt = d->attempt();
  out.header = read_header(d->header());
  out.sender = str(d->sender());
  out.accepted_at = d->accepted_at();
  out.payload = bytes(d->payload());
  out.removed_fields = strings(d->removed_fields());
  return out;
}

// The entries of a batch frame's vector, each read by `read`; the whole frame fails on the first
// entry that does (its detail names the entry). More than kMaxBatchMessages is kTooLarge.
template <typename T, typename WireT, typename Read>
Result<std::vector<T>> read_batch(const flatbuffers::Vector<Offset<WireT>>* v, const char* what, Read read) {
  std::vector<T> out;
  if (!v) return out;
  if (v->size() > kMaxBatchMessages) {
    return Error{ErrorCode::kTooLarge, std::string(what) + " of " + std::to_string(v->size()) +
                                           " entries exceeds the limit of " + std::to_string(kMaxBatchMessages) +
                                           " per batch"};
  }
  out.reserve(v->size());
  for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
    const auto* entry = v->Get(i);
    if (!entry) return malformed(std::string(what) + " entry " + std::to_string(i) + " is absent");
    auto value = read(entry);
    if (!value) return malformed(std::string(what) + " entry " + std::to_string(i) + ": " + value.error().detail);
    out.push_back(std::move(*value));
  }
  return out;
}

// A vector of 64-bit numbers (delivery ids, seqs) of a batch-like frame; kTooLarge above
// kMaxBatchMessages. Copied byte by byte: this FlatBuffers version's verifier checks a vector's
// length field for 4-byte alignment but not its 8-byte elements, so a hostile frame can place them
// misaligned (found by fuzz_envelope); reading them through the vector would be a misaligned load.
Result<std::vector<std::uint64_t>> read_ids(const flatbuffers::Vector<std::uint64_t>* ids, const char* what) {
  std::vector<std::uint64_t> out;
  if (!ids) return out;
  if (ids->size() > kMaxBatchMessages) {
    return Error{ErrorCode::kTooLarge, std::string(what) + " of " + std::to_string(ids->size()) +
                                           " entries exceeds the limit of " + std::to_string(kMaxBatchMessages) +
                                           " per batch"};
  }
  out.reserve(ids->size());
  const auto* raw = reinterpret_cast<const std::uint8_t*>(ids->Data());
  for (flatbuffers::uoffset_t i = 0; i < ids->size(); ++i) {
    std::uint64_t id = 0;
    std::memcpy(&id, raw + i * sizeof id, sizeof id);
    out.push_back(flatbuffers::EndianScalar(id));
  }
  return out;
}

Result<Envelope> read_body(const wire::Frame* frame) {
  // The verifier accepts a body type without a body table (an absent union value); every
  // body_as_X() below would then be null.
  if (frame->body_type() != wire::Body::NONE && frame->body() == nullptr) {
    return malformed("frame names a body type but carries no body");
  }
  switch (frame->body_type()) {
    case wire::Body::Submit: {
      auto s = read_submit(frame->body_as_Submit());
      if (!s) return s.error();
      return Envelope{std::move(*s)};
    }
    case wire::Body::Receipt: {
      auto r = read_receipt(frame->body_as_Receipt());
      if (!r) return r.error();
      return Envelope{std::move(*r)};
    }
    case wire::Body::Deliver: {
      auto d = read_deliver(frame->body_as_Deliver());
      if (!d) return d.error();
      return Envelope{std::move(*d)};
    }
    case wire::Body::Ack:
      return Envelope{Ack{frame->body_as_Ack()->delivery_id()}};
    case wire::Body::Nack: {
      const auto* n = frame->body_as_Nack();
      return Envelope{Nack{n->delivery_id(), str(n->reason())}};
    }
    case wire::Body::Credit: {
      const auto* c = frame->body_as_Credit();
      return Envelope{Credit{c->credit(), c->batches(), c->ack_receipts()}};
    }
    case wire::Body::Heartbeat:
      return Envelope{Heartbeat{frame->body_as_Heartbeat()->sent_at()}};
    case wire::Body::Error: {
      const auto* e = frame->body_as_Error();
      return Envelope{ErrorFrame{from_wire(e->code()), str(e->detail()), e->delivery_id()}};
    }
    case wire::Body::SubmitBatch: {
      auto m = read_batch<Submit>(frame->body_as_SubmitBatch()->messages(), "submit batch", read_submit);
      if (!m) return m.error();
      return Envelope{SubmitBatch{std::move(*m)}};
    }
    case wire::Body::ReceiptBatch: {
      auto r = read_batch<Receipt>(frame->body_as_ReceiptBatch()->receipts(), "receipt batch", read_receipt);
      if (!r) return r.error();
      return Envelope{ReceiptBatch{std::move(*r)}};
    }
    case wire::Body::DeliverBatch: {
      auto d = read_batch<Deliver>(frame->body_as_DeliverBatch()->deliveries(), "deliver batch", read_deliver);
      if (!d) return d.error();
      return Envelope{DeliverBatch{std::move(*d)}};
    }
    case wire::Body::AckBatch: {
      auto ids = read_ids(frame->body_as_AckBatch()->delivery_ids(), "ack batch");
      if (!ids) return ids.error();
      return Envelope{AckBatch{std::move(*ids)}};
    }
    case wire::Body::AckReceipt: {
      const auto* a = frame->body_as_AckReceipt();
      auto ids = read_ids(a->delivery_ids(), "ack receipt");
      if (!ids) return ids.error();
      auto seqs = read_ids(a->log_seqs(), "ack receipt");
      if (!seqs) return seqs.error();
      if (seqs->size() != ids->size()) {
        return malformed("ack receipt lists " + std::to_string(ids->size()) + " delivery ids but " +
                         std::to_string(seqs->size()) + " log seqs");
      }
      return Envelope{AckReceipt{std::move(*ids), std::move(*seqs), str(a->checkpoint())}};
    }
    case wire::Body::Processed: {
      const auto* p = frame->body_as_Processed();
      const auto outcome = static_cast<std::uint8_t>(p->outcome());
      if (outcome != static_cast<std::uint8_t>(ProcessedOutcome::kDone) &&
          outcome != static_cast<std::uint8_t>(ProcessedOutcome::kRefused)) {
        return malformed(outcome == 0 ? std::string("processed without an outcome (done or refused)")
                                      : "processed outcome " + std::to_string(outcome) + " is not done (1) or refused (2)");
      }
      return Envelope{Processed{p->delivery_id(), static_cast<ProcessedOutcome>(outcome), str(p->reason())}};
    }
    case wire::Body::NONE:
      break;
  }
  return malformed("frame has no body or an unknown body type");
}

Offset<wire::Submit> write_submit(FlatBufferBuilder& fbb, const Submit& s) {
  auto header = write_header(fbb, s.header);
  auto payload = write_bytes(fbb, s.payload);
  return wire::CreateSubmit(fbb, header, payload);
}

Offset<wire::Receipt> write_receipt(FlatBufferBuilder& fbb, const Receipt& r) {
  auto message_id = fbb.CreateString(r.message_id);
  auto recipients = write_strings(fbb, r.recipients);
  auto detail = fbb.CreateString(r.detail);
  std::vector<Offset<wire::FieldError>> errors;
  errors.reserve(r.errors.size());
  for (const auto& e : r.errors) {
    errors.push_back(wire::CreateFieldError(fbb, fbb.CreateString(e.pointer), fbb.CreateString(e.code),
                                            fbb.CreateString(e.reason)));
  }
  auto errors_vec = fbb.CreateVector(errors);
  auto digest = fbb.CreateString(r.payload_digest);
  auto signature = write_bytes(fbb, r.signature);
  // A batch's receipts share one note: the builder stores it once.
  auto checkpoint = r.checkpoint.empty() ? Offset<flatbuffers::String>() : fbb.CreateSharedString(r.checkpoint);
  auto path = r.signed_path.empty() ? Offset<flatbuffers::Vector<std::uint8_t>>() : write_bytes(fbb, r.signed_path);
  return wire::CreateReceipt(fbb, message_id, static_cast<wire::ReceiptStatus>(r.status), recipients, r.log_seq,
                             r.accepted_at, to_wire(r.code), detail, errors_vec, digest, signature, checkpoint,
                             r.signed_count, r.signed_index, path);
}

Offset<wire::Deliver> write_deliver(FlatBufferBuilder& fbb, const Deliver& d) {
  auto header = write_header(fbb, d.header);
  auto sender = fbb.CreateString(d.sender);
  auto payload = write_bytes(fbb, d.payload);
  auto removed = write_strings(fbb, d.removed_fields);
  return wire::CreateDeliver(fbb, d.delivery_id, d.attempt, header, sender, d.accepted_at, payload, removed);
}

template <typename WireT, typename T, typename Write>
Offset<flatbuffers::Vector<Offset<WireT>>> write_batch(FlatBufferBuilder& fbb, const std::vector<T>& items,
                                                       Write write) {
  std::vector<Offset<WireT>> offsets;
  offsets.reserve(items.size());
  for (const auto& item : items) offsets.push_back(write(fbb, item));
  return fbb.CreateVector(offsets);
}

struct Encoder {
  FlatBufferBuilder& fbb;

  std::pair<wire::Body, Offset<void>> operator()(const Submit& s) const {
    return {wire::Body::Submit, write_submit(fbb, s).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Receipt& r) const {
    return {wire::Body::Receipt, write_receipt(fbb, r).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Deliver& d) const {
    return {wire::Body::Deliver, write_deliver(fbb, d).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Ack& a) const {
    return {wire::Body::Ack, wire::CreateAck(fbb, a.delivery_id).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Nack& n) const {
    auto reason = fbb.CreateString(n.reason);
    return {wire::Body::Nack, wire::CreateNack(fbb, n.delivery_id, reason).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Credit& c) const {
    return {wire::Body::Credit, wire::CreateCredit(fbb, c.credit, c.batches, c.ack_receipts).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Heartbeat& h) const {
    return {wire::Body::Heartbeat, wire::CreateHeartbeat(fbb, h.sent_at).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const ErrorFrame& e) const {
    auto detail = fbb.CreateString(e.detail);
    return {wire::Body::Error, wire::CreateError(fbb, to_wire(e.code), detail, e.delivery_id).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const SubmitBatch& b) const {
    auto messages = write_batch<wire::Submit>(fbb, b.messages, write_submit);
    return {wire::Body::SubmitBatch, wire::CreateSubmitBatch(fbb, messages).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const ReceiptBatch& b) const {
    auto receipts = write_batch<wire::Receipt>(fbb, b.receipts, write_receipt);
    return {wire::Body::ReceiptBatch, wire::CreateReceiptBatch(fbb, receipts).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const DeliverBatch& b) const {
    auto deliveries = write_batch<wire::Deliver>(fbb, b.deliveries, write_deliver);
    return {wire::Body::DeliverBatch, wire::CreateDeliverBatch(fbb, deliveries).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const AckBatch& b) const {
    auto ids = fbb.CreateVector(b.delivery_ids);
    return {wire::Body::AckBatch, wire::CreateAckBatch(fbb, ids).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const AckReceipt& a) const {
    auto ids = fbb.CreateVector(a.delivery_ids);
    auto seqs = fbb.CreateVector(a.log_seqs);
    auto checkpoint = a.checkpoint.empty() ? Offset<flatbuffers::String>() : fbb.CreateString(a.checkpoint);
    return {wire::Body::AckReceipt, wire::CreateAckReceipt(fbb, ids, seqs, checkpoint).Union()};
  }
  std::pair<wire::Body, Offset<void>> operator()(const Processed& p) const {
    auto reason = p.reason.empty() ? Offset<flatbuffers::String>() : fbb.CreateString(p.reason);
    return {wire::Body::Processed,
            wire::CreateProcessed(fbb, p.delivery_id, static_cast<wire::ProcessedOutcome>(p.outcome), reason).Union()};
  }
};

}  // namespace

std::string_view to_string(ProcessedOutcome outcome) {
  switch (outcome) {
    case ProcessedOutcome::kDone: return "done";
    case ProcessedOutcome::kRefused: return "refused";
  }
  return "unknown";
}

std::string_view to_string(ReceiptStatus status) {
  switch (status) {
    case ReceiptStatus::kAccepted: return "accepted";
    case ReceiptStatus::kDuplicate: return "duplicate";
    case ReceiptStatus::kRejected: return "rejected";
  }
  return "unknown";
}

Result<Envelope> decode_envelope(std::span<const std::byte> data, std::size_t max_bytes) {
  if (data.size() > max_bytes) {
    return Error{ErrorCode::kTooLarge, "frame of " + std::to_string(data.size()) +
                                           " bytes exceeds max_message_bytes=" + std::to_string(max_bytes)};
  }
  if (data.size() < 8) return malformed("frame of " + std::to_string(data.size()) + " bytes is too short");
  const auto* buf = reinterpret_cast<const std::uint8_t*>(data.data());
  // FlatBuffers reads scalars in place; libzmq may hand over a frame at any address, so copy a
  // misaligned frame to 8-byte-aligned memory first.
  std::vector<std::uint64_t> aligned;
  if (reinterpret_cast<std::uintptr_t>(buf) % alignof(std::uint64_t) != 0) {
    aligned.resize((data.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
    std::memcpy(aligned.data(), buf, data.size());
    buf = reinterpret_cast<const std::uint8_t*>(aligned.data());
  }
  if (!wire::FrameBufferHasIdentifier(buf)) return malformed("frame lacks the KTN1 file identifier");
  // Depth and table limits bound the verifier's work on hostile input.
  flatbuffers::Verifier verifier(buf, data.size(), /*max_depth=*/16, /*max_tables=*/100000);
  if (!wire::VerifyFrameBuffer(verifier)) return malformed("frame failed FlatBuffers verification");
  return read_body(wire::GetFrame(buf));
}

std::string encode_envelope(const Envelope& envelope) {
  FlatBufferBuilder fbb(256);
  auto [type, body] = std::visit(Encoder{fbb}, envelope);
  wire::FinishFrameBuffer(fbb, wire::CreateFrame(fbb, type, body));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Millis now_millis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

// The canonical field encoding of docs/handover-log-format.md §2 (contracts/canonical.h).
using contracts::canonical::put_int;
using contracts::canonical::put_text;

}  // namespace

std::string receipt_signed_bytes(const Receipt& r) {
  std::string out;
  put_text(out, "keten.receipt.v1");
  put_text(out, r.message_id);
  put_text(out, r.payload_digest);
  put_text(out, to_string(r.status));
  put_int(out, static_cast<std::int64_t>(r.log_seq));
  put_int(out, r.accepted_at);
  put_text(out, to_string(r.code));
  return out;
}

std::string receipt_tree_signed_bytes(std::uint64_t count, std::string_view root) {
  std::string out;
  put_text(out, "keten.receipts.v2");
  put_int(out, static_cast<std::int64_t>(count));
  put_text(out, root);
  return out;
}

namespace {

// Little-endian reads at `at`, within `bytes` (checked by the caller).
std::uint32_t read_u32(std::string_view bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}
std::uint16_t read_u16(std::string_view bytes, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[at]) |
                                    (static_cast<unsigned char>(bytes[at + 1]) << 8));
}

}  // namespace

bool is_submit_frame(std::string_view bytes) {
  // The root table's offset, its vtable (table position minus the signed offset stored there), and
  // field 0 of Frame, `body_type`: one byte in the table. Every read is bounds-checked; anything
  // that does not lead to a byte is "not a submit" (decode_envelope names what is wrong later).
  if (bytes.size() < 8) return false;
  const std::size_t table = read_u32(bytes, 0);
  if (table > bytes.size() - 4) return false;
  const auto soffset = static_cast<std::int32_t>(read_u32(bytes, table));
  const std::int64_t vtable = static_cast<std::int64_t>(table) - soffset;
  if (vtable < 0 || static_cast<std::uint64_t>(vtable) > bytes.size() - 6) return false;
  const auto vt = static_cast<std::size_t>(vtable);
  if (read_u16(bytes, vt) < 6) return false;  // no entry for field 0
  const std::size_t field = read_u16(bytes, vt + 4);
  if (field == 0 || table + field >= bytes.size()) return false;
  const auto type = static_cast<wire::Body>(static_cast<unsigned char>(bytes[table + field]));
  return type == wire::Body::Submit || type == wire::Body::SubmitBatch;
}

}  // namespace contracts
