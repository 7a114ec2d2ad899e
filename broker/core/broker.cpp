#include "broker/core/broker.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>
#include <variant>

#include "broker/audit/signing.h"
#include "broker/core/clock.h"
#include "broker/core/clock_status.h"
#include "broker/core/retention_sweep.h"
#include "broker/core/contract_history.h"
#include "broker/core/delivery.h"
#include "broker/core/event_builders.h"
#include "broker/core/event_log.h"
#include "broker/core/admission.h"
#include "broker/core/intake.h"
#include "broker/core/leadership.h"
#include "broker/core/limits.h"
#include "broker/core/log.h"
#include "broker/core/norm_tracker.h"
#include "broker/core/pipeline.h"
#include "broker/core/processed.h"
#include "broker/core/report_schedule.h"
#include "broker/core/start_checks.h"
#include "broker/ops/ops.h"
#include "broker/policy/consent.h"
#include "broker/policy/redaction.h"
#include "broker/store/pg_store.h"
#include "broker/store/processed_reports.h"
#include "broker/store/sqlite_store.h"
#include "broker/store/tracking.h"
#include "broker/store/transaction.h"
#include "broker/transport/router_socket.h"
#include "contracts/rate_limited_log.h"
#include "contracts/registry.h"

namespace broker::core {
namespace {

using contracts::Error;
using contracts::ErrorCode;
using contracts::Millis;
using contracts::Result;

constexpr std::chrono::milliseconds kIdlePoll{100};
// Memory a flood of large frames can make the broker hold (docs/operations.md, "Memory"): each poll
// takes at most this many bytes of frames (and at least one frame), and at most three polls' worth
// are in hand at once (one stored, two with the intake worker). What libzmq queues per connection
// before it stops reading that connection's socket is RouterOptions::queue_bytes.
constexpr std::size_t kBatchBytes = 32 << 20;
// A store error that recurs on every turn (a full disk) is logged at most once per this interval,
// with the number of repeats held back (contracts/rate_limited_log.h).
constexpr std::chrono::seconds kRepeatedErrorInterval{10};

// A connection the socket refused frames for (it is gone, or its queue is full), and the
// deliveries among them, which never left.
struct RefusedSends {
  std::vector<std::uint64_t> delivery_ids;
  std::string reason;
};

// A receipt (or a SubmitBatch's receipts) and where it sits among a turn's replies. It is encoded
// after the commit: then it carries the checkpoint signed at that commit, or, when the commit
// failed, it is replaced by a refusal.
struct ReceiptSlot {
  std::size_t index;
  contracts::ReceiptBatch receipts;  // one per message, in order
  bool batch = false;                // a ReceiptBatch frame, else one Receipt
};

// An AckReceipt and where it sits among a turn's replies, encoded after the commit (with the
// checkpoint signed at it), or left out when the commit failed or it names no delivery.
struct AckSlot {
  std::size_t index;
  contracts::AckReceipt receipt;
};

// A SubmitBatch's receipts as one frame within `max_bytes`. Only rejections listing many field
// errors can make it larger: those lists (not covered by the receipt signature) are then cut to
// their first entry, and dropped if that is not enough; code and detail still say why.
std::string encode_receipts(contracts::ReceiptBatch batch, std::size_t max_bytes) {
  std::string bytes = contracts::encode_envelope(batch);
  for (std::size_t keep : {std::size_t{1}, std::size_t{0}}) {
    if (bytes.size() <= max_bytes) break;
    for (auto& r : batch.receipts) {
      if (r.errors.size() > keep) r.errors.resize(keep);
    }
    bytes = contracts::encode_envelope(batch);
  }
  return bytes;
}

// A contract naming an owner or consumer the config lacks is legal (one config may serve part of a
// chain), but nothing is routed to a partner the broker does not know: say so once, at start.
void warn_unconfigured_partners(const contracts::ContractRegistry& registry, const BrokerOptions& options) {
  std::set<std::string> known;
  for (const auto& p : options.partners) known.insert(p.id);
  std::map<std::string, std::set<std::string>> missing;  // partner -> contracts naming it
  for (const auto& [key, c] : registry.all()) {
    for (const auto* list : {&c.owners, &c.consumers}) {
      for (const auto& id : *list) {
        if (!known.count(id)) missing[id].insert(c.name);
      }
    }
  }
  for (const auto& [id, names] : missing) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
    log().warn("partner not configured partner={} named_by={} (messages for it are not routed)", id, list);
  }
}

// Every contract version's text, by digest, the first time it is served (contract_history.h).
Result<void> record_history(store::SqliteStore& store, const contracts::ContractRegistry& registry, Millis now) {
  auto history = store::ContractHistory::open(store);
  if (!history) return history.error();
  auto added = record_contract_history(registry, *history, now);
  if (!added) return added.error();
  if (*added > 0) log().info("contract history recorded new_texts={}", *added);
  return {};
}

}  // namespace

struct Broker::Impl {
  BrokerOptions options;
  Clock clock;  // every `now` of the loop (Broker::start); declared before the members built with it
  std::unique_ptr<store::Store> owned_store;
  store::Store& store;
  store::SqliteStore* sqlite;  // the same store on SQLite; null on PostgreSQL
  std::optional<Leadership> leadership;  // on PostgreSQL: the lease this instance leads by
  store::TrackingTables tables;
  store::ProcessedReports processed;  // deliveries reported processed (processed.h)
  contracts::ContractRegistry registry;
  // Keys point into `registry`; moving a registry (its std::map) keeps its elements where they are.
  SensitiveByContract sensitive;
  transport::RouterSocket socket;
  std::vector<std::string> partner_ids;
  std::set<std::string, std::less<>> care_providers;
  VersionChoices choices;
  SealedContracts sealed;  // contract versions whose payloads are stored sealed
  std::string payload_key;  // 32 raw bytes or "": seals medical evidence values in accepted events
  DeliveryScheduler scheduler;
  policy::ConsentRegister consents;
  RateLimiter rate;
  BacklogBound backlog;
  NormTracker norms;
  ReportSchedule reports;
  // Shreds cases past retention (retention_sweep.h). On SQLite only: a PostgreSQL store has no case
  // keys yet.
  std::optional<RetentionSweep> retention;
  std::optional<contracts::Submit> due_report;  // made before the turn's transaction, submitted in it
  // By routing id, connections whose sends failed: retired at the start of the next turn, their
  // unsent deliveries taken back (DeliveryScheduler::not_delivered).
  std::map<std::string, RefusedSends> unreachable;
  audit::SigningKey signing_key;         // empty: no checkpoints, unsigned receipts
  Millis last_checkpoint_at = 0;          // the log was last known covered by a signed checkpoint
  std::unique_ptr<ops::Ops> ops;          // metrics, HTTP endpoint, alerts; null when all are off
  std::unique_ptr<Intake> intake;         // decodes and validates the next batch while this one is stored
  Admission admission;                    // frames read, held per partner until a turn takes them
  std::map<std::string, contracts::RateLimitedLog> refusals;  // frames Admission refused, by partner
  contracts::RateLimitedLog anchor_errors{kRepeatedErrorInterval};  // receipts that went without a checkpoint
  contracts::RateLimitedLog checkpoint_errors{kRepeatedErrorInterval};
  contracts::RateLimitedLog store_errors{kRepeatedErrorInterval};
  bool state_stale = false;  // load_state() failed: read it again before the next turn's work

  Impl(BrokerOptions o, std::unique_ptr<store::Store> s, store::SqliteStore* sq, store::TrackingTables t,
       store::ProcessedReports p, contracts::ContractRegistry r, SensitiveByContract sens,
       transport::RouterSocket sock, Clock c)
      : options(std::move(o)),
        clock(std::move(c)),
        owned_store(std::move(s)),
        store(*owned_store),
        sqlite(sq),
        tables(std::move(t)),
        processed(std::move(p)),
        registry(std::move(r)),
        sensitive(std::move(sens)),
        socket(std::move(sock)),
        scheduler(store, options, &registry, &sensitive),
        rate(options.rate_limit, options.rate_burst),
        backlog(options.max_backlog),
        norms(store, tables, registry),
        reports(options, clock()),
        intake(std::make_unique<Intake>(registry, options.max_message_bytes, sensitive)),
        admission(AdmissionLimits{options.turn_bytes, options.partner_queue_bytes, options.max_connections_per_partner}) {
    for (const auto& p : options.partners) {
      partner_ids.push_back(p.id);
      if (p.role == PartnerRole::kCareProvider) care_providers.insert(p.id);
      if (!p.takes.empty()) choices[p.id] = p.takes;
    }
    scheduler.attach(&consents, &backlog);
    if (sqlite) retention.emplace(*sqlite, registry, options.retention_sweep_interval, clock());
  }

  // Rebuilds what the loop keeps in memory beside the store: the consent register, the backlog
  // counts and the norm timer. At start, and after a rolled-back transaction. All or nothing: when
  // a read fails (the database gone) the old state stays and `state_stale` says it must be read
  // again before anything is delivered (a consent register left empty would deliver medical data
  // redacted to a partner whose consent holds).
  Result<void> load_state() {
    policy::ConsentRegister fresh;
    auto ids = tables.message_ids_of({std::string(policy::kConsentRegistered), std::string(policy::kConsentWithdrawn)});
    if (!ids) return ids.error();
    for (const auto& id : *ids) {
      auto m = store.find_message_content(id);
      if (!m) return m.error();
      if (!*m) continue;
      if (!(*m)->unreadable.empty()) {
        log().error("consent message not readable message_id={} detail={}", id, (*m)->unreadable);
        continue;
      }
      const auto& h = (*m)->header;
      if (auto r = fresh.apply(h.contract, id, h.case_ref, (*m)->payload, (*m)->accepted_at); !r) {
        log().warn("consent message not applied message_id={} detail={}", id, r.error().detail);
      }
    }
    auto counts = tables.backlog_counts();
    if (!counts) return counts.error();
    if (auto r = norms.load(); !r) return r;
    consents = std::move(fresh);
    backlog.reset(std::move(*counts));
    state_stale = false;
    return {};
  }

  // The scheduled quality report, submitted on behalf of report_producer like any message.
  Result<void> publish_report(Millis now) {
    contracts::Submit report = std::move(*due_report);
    due_report.reset();
    PipelineDeps deps{store, registry, partner_ids, nullptr, nullptr, &backlog, &choices, &sealed};
    deps.payload_key = payload_key;
    auto outcome = process_submit(deps, options.report_producer, report, now);
    if (!outcome) return outcome.error();
    const auto& receipt = outcome->receipt;
    if (receipt.status == contracts::ReceiptStatus::kRejected) {
      log().error("quality report refused message_id={} producer={} code={} detail={}", report.header.message_id,
                  options.report_producer, contracts::to_string(receipt.code), receipt.detail);
      return {};
    }
    scheduler.mark_dirty(outcome->recipients_with_new_deliveries);
    log().info("quality report published message_id={} report_id={} recipients={}", report.header.message_id,
               report.header.case_ref, receipt.recipients.size());
    if (receipt.status == contracts::ReceiptStatus::kAccepted) return after_accept(report, options.report_producer, now);
    return {};
  }

  // What an accepted message changes beyond the store rows the pipeline wrote.
  Result<void> after_accept(const contracts::Submit& frame, const std::string& sender, Millis now) {
    const auto& h = frame.header;
    if (policy::is_consent_contract(h.contract)) {
      if (auto r = consents.apply(h.contract, h.message_id, h.case_ref, frame.payload, now); !r) {
        log().warn("consent message not applied message_id={} detail={}", h.message_id, r.error().detail);
      } else {
        log().info("consent {} message_id={} case={} sender={}", h.contract == policy::kConsentRegistered ? "registered" : "withdrawn",
                   h.message_id, h.case_ref, sender);
      }
    }
    return norms.on_accepted(h, sender, frame.payload, now);
  }

  // Rejects a frame that never became a Submit: logged, recorded, answered with an Error frame.
  Result<void> reject_frame(const transport::Incoming& in, ErrorCode code, const std::string& detail,
                            Millis now, std::vector<Outgoing>& replies) {
    log().warn("rejected frame partner={} bytes={} code={} detail={}", in.partner, in.bytes.size(),
               contracts::to_string(code), detail);
    events::Event e;
    e.at = now;
    e.sender = in.partner;
    e.record = rejected_record(code, detail, {});
    if (auto r = record_event(store, e); !r) return r.error();
    replies.push_back({in.routing_id, contracts::encode_envelope(contracts::ErrorFrame{code, detail, 0})});
    return {};
  }

  // One Submit (alone or from a SubmitBatch) inside the open transaction: its signed receipt. An
  // error means the store failed. `checks` from the intake worker, or empty.
  Result<contracts::Receipt> submit_one(const transport::Incoming& in, const contracts::Submit& frame,
                                        SubmitChecks& checks, Millis now) {
    PipelineDeps deps{store, registry, partner_ids, &care_providers, &rate, &backlog, &choices, &sealed, &scheduler,
                      &options.partners, in.via_gateway, payload_key};
    auto outcome = process_submit(deps, in.partner, frame, now, &checks);
    if (!outcome) return outcome.error();
    if (outcome->receipt.status == contracts::ReceiptStatus::kAccepted) {
      if (checks.prepared) {
        scheduler.remember_prepared(frame.header.contract, frame.header.version, checks.digest,
                                    std::move(checks.prepared));
      }
      for (auto& r : outcome->reserved) {
        if (auto sent = scheduler.send_reserved(std::move(r.delivery), r.routing_id, now); !sent) return sent.error();
      }
      for (auto& d : outcome->pending) scheduler.add_pending(std::move(d));
      if (auto r = after_accept(frame, in.partner, now); !r) return r.error();
    }
    audit::sign_receipt(signing_key, outcome->receipt);
    return std::move(outcome->receipt);
  }

  // One Ack or Nack (alone or from an AckBatch). An unknown delivery id is answered with an Error
  // frame naming it; an error means the store failed. An ack the connection wants answered is
  // added to `answer` (its delivery id and the seq of its event).
  template <typename AckOrNack>
  Result<void> ack_one(const transport::Incoming& in, const AckOrNack& frame, Millis now,
                       std::vector<Outgoing>& replies, contracts::AckReceipt* answer = nullptr) {
    Result<void> r = [&]() -> Result<void> {
      if constexpr (std::is_same_v<AckOrNack, contracts::Ack>) {
        auto seq = scheduler.on_ack(in.routing_id, in.partner, frame.delivery_id, now);
        if (!seq) return seq.error();
        if (answer) {
          answer->delivery_ids.push_back(frame.delivery_id);
          answer->log_seqs.push_back(*seq);
        }
        return {};
      } else {
        return scheduler.on_nack(in.routing_id, in.partner, frame.delivery_id, frame.reason, now);
      }
    }();
    if (r || r.error().code != ErrorCode::kUnknownDelivery) return r;
    log().warn("rejected ack partner={} delivery_id={} detail={}", in.partner, frame.delivery_id, r.error().detail);
    replies.push_back({in.routing_id, contracts::encode_envelope(contracts::ErrorFrame{
                                          ErrorCode::kUnknownDelivery, r.error().detail, frame.delivery_id})});
    return {};
  }

  // One Processed report (processed.h): logged and not answered, or refused with an Error frame
  // carrying its delivery id and one warn line. An error means the store failed.
  Result<void> processed_one(const transport::Incoming& in, const contracts::Processed& frame, Millis now,
                             std::vector<Outgoing>& replies) {
    auto seq = record_processed(store, processed, in.partner, frame, now);
    if (seq || seq.error().code == ErrorCode::kStorage) return seq ? Result<void>{} : Result<void>{seq.error()};
    log().warn("rejected processed partner={} delivery_id={} code={} detail={}", in.partner, frame.delivery_id,
               contracts::to_string(seq.error().code), seq.error().detail);
    replies.push_back({in.routing_id, contracts::encode_envelope(contracts::ErrorFrame{
                                          seq.error().code, seq.error().detail, frame.delivery_id})});
    return {};
  }

  // The AckReceipt answering an Ack or AckBatch of `in`, when its connection asked for them: its
  // place among the replies is kept, to be filled after the commit (answer_acks).
  contracts::AckReceipt* ack_answer(const transport::Incoming& in, std::vector<Outgoing>& replies,
                                    std::vector<AckSlot>& ack_slots) {
    if (!scheduler.wants_ack_receipts(in.routing_id)) return nullptr;
    ack_slots.push_back({replies.size(), {}});
    replies.push_back({in.routing_id, {}});  // encoded after the commit
    return &ack_slots.back().receipt;
  }

  // Handles one frame inside the open transaction. An error means the store failed.
  Result<void> handle(Prepared& p, Millis now, std::vector<Outgoing>& replies, std::vector<ReceiptSlot>& receipt_slots,
                      std::vector<AckSlot>& ack_slots) {
    const transport::Incoming& in = p.in;
    // The socket monitor saw the connection end: retire it now, after every frame it sent before.
    if (in.gone) return scheduler.drop_session(in.routing_id, now);
    scheduler.touch(in.routing_id, now);
    if (in.multipart) return reject_frame(in, ErrorCode::kMalformedEnvelope, "a message must be exactly one frame", now, replies);
    auto& decoded = p.decoded;
    if (!decoded) return reject_frame(in, decoded.error().code, decoded.error().detail, now, replies);

    return std::visit(
        [&](auto& frame) -> Result<void> {
          using T = std::decay_t<decltype(frame)>;
          if constexpr (std::is_same_v<T, contracts::Submit>) {
            auto receipt = submit_one(in, frame, p.checks, now);
            if (!receipt) return receipt.error();
            receipt_slots.push_back({replies.size(), {{std::move(*receipt)}}, false});
            replies.push_back({in.routing_id, {}});  // encoded after the commit
            return {};
          } else if constexpr (std::is_same_v<T, contracts::SubmitBatch>) {
            if (frame.messages.empty()) {
              return reject_frame(in, ErrorCode::kProtocol, "submit batch holds no messages", now, replies);
            }
            // Each message exactly as a single Submit in this turn, in the batch's order.
            ReceiptSlot slot{replies.size(), {}, true};
            slot.receipts.receipts.reserve(frame.messages.size());
            for (std::size_t i = 0; i < frame.messages.size(); ++i) {
              SubmitChecks none;
              auto receipt = submit_one(in, frame.messages[i], i < p.batch_checks.size() ? p.batch_checks[i] : none, now);
              if (!receipt) return receipt.error();
              slot.receipts.receipts.push_back(std::move(*receipt));
            }
            receipt_slots.push_back(std::move(slot));
            replies.push_back({in.routing_id, {}});  // encoded after the commit
            return {};
          } else if constexpr (std::is_same_v<T, contracts::AckBatch>) {
            auto* answer = ack_answer(in, replies, ack_slots);
            for (std::uint64_t id : frame.delivery_ids) {
              if (auto r = ack_one(in, contracts::Ack{id}, now, replies, answer); !r) return r;
            }
            return {};
          } else if constexpr (std::is_same_v<T, contracts::Ack>) {
            return ack_one(in, frame, now, replies, ack_answer(in, replies, ack_slots));
          } else if constexpr (std::is_same_v<T, contracts::Nack>) {
            return ack_one(in, frame, now, replies);
          } else if constexpr (std::is_same_v<T, contracts::Processed>) {
            return processed_one(in, frame, now, replies);
          } else if constexpr (std::is_same_v<T, contracts::Credit>) {
            return scheduler.on_credit(in.routing_id, in.partner, frame.credit, now, frame.batches, frame.ack_receipts);
          } else if constexpr (std::is_same_v<T, contracts::Heartbeat>) {
            replies.push_back({in.routing_id, contracts::encode_envelope(contracts::Heartbeat{now})});
            return {};
          } else {
            return reject_frame(in, ErrorCode::kProtocol, "the broker does not accept this frame type", now, replies);
          }
        },
        *decoded);
  }

  // After a commit: every accepted or duplicate receipt of the turn carries the checkpoint the
  // store signed at that commit, whose tree holds the receipt's event (docs/protocol.md, "Receipt").
  // Without a signing key there is none; a failure to read it is logged and the receipts go without.
  void anchor_receipts(std::vector<ReceiptSlot>& slots, std::vector<AckSlot>& ack_slots) {
    if ((slots.empty() && ack_slots.empty()) || signing_key.empty()) return;
    auto note = store.latest_checkpoint_note();
    if (!note || !*note) {
      const std::string detail = note ? "none signed" : note.error().detail;
      if (auto held = anchor_errors.admit(detail)) {
        log().warn("receipts sent without a checkpoint detail={}{}", detail, contracts::suppressed_field(*held));
      }
      return;
    }
    anchor_errors.clear();
    for (auto& slot : slots) {
      for (auto& receipt : slot.receipts.receipts) {
        if (receipt.status != contracts::ReceiptStatus::kRejected) receipt.checkpoint = **note;
      }
    }
    for (auto& slot : ack_slots) slot.receipt.checkpoint = **note;
  }

  // Every checkpoint_interval (or `force`, at shutdown), in its own transaction: has the store sign
  // a checkpoint of the log's Merkle tree when it holds events no checkpoint covers. The store signs
  // one at every commit that appends, so those are events another process appended since (a `keten
  // log` tool's log_read). On success the whole log is covered as of `now`: what the checkpoint age
  // (ops) counts from. The broker signs no schema-4 checkpoints (docs/handover-log-format.md §4, §7).
  Result<void> checkpoint(Millis now, bool force) {
    if (signing_key.empty()) return {};
    if (!force && now - last_checkpoint_at < options.checkpoint_interval.count()) return {};
    auto transaction = store::Transaction::begin(store);  // rolled back unless there is something to sign
    if (!transaction) return transaction.error();
    // After begin(): the tree includes what other writers appended.
    if (store.sign_uncovered_at_commit()) {
      if (auto r = transaction->commit(); !r) return r;
      log().debug("checkpoint signed over events other writers appended tree_size={}", store.tree_size());
    }
    last_checkpoint_at = now;
    return {};
  }

  // One loop turn: reads what arrived and hands it to the intake worker, then stores, commits and
  // answers the oldest batch the worker has finished. Under load the worker prepares batch n+1
  // while this thread handles batch n; when traffic pauses, the last batch is taken the next turn.
  Result<void> turn(std::chrono::milliseconds timeout) {
    // A leader that can no longer be sure of its lease stops at once (its commits are fenced anyway).
    if (leadership) {
      if (auto r = leadership->keep(); !r) return r;
    }
    const bool busy = intake->outstanding() > 0 || !admission.empty();
    // Refused sends are retired (and their deliveries offered elsewhere) without waiting for traffic.
    const bool waiting = busy || !unreachable.empty();
    // Frames are read while Admission holds less than kBatchBytes; a turn takes its share of them.
    if (admission.held_bytes() < kBatchBytes) {
      auto polled = socket.poll(waiting ? std::chrono::milliseconds(0) : timeout, options.max_batch,
                                kBatchBytes - admission.held_bytes());
      if (!polled) return polled.error();
      for (auto& in : *polled) admit(std::move(in));
    }
    auto frames = admission.take();
    const bool arrived = !frames.empty();
    if (arrived) intake->push(std::move(frames));
    Intake::TakenBatch batch;
    if (intake->outstanding() > 1 || (!arrived && busy)) batch = intake->take();
    return handle_batch(std::move(batch), clock());
  }

  // Holds a frame just read for a later turn, or answers it at once when Admission refuses it (a
  // partner over its connection or queue limit): the error says which and that a resend later is
  // welcome. Nothing of it is read or stored; the refusal is logged at most once per interval per
  // partner and counted in keten_frames_refused_total.
  void admit(transport::Incoming in) {
    const std::string partner = in.partner, routing_id = in.routing_id;
    auto refused = admission.offer(std::move(in));
    if (!refused) return;
    if (auto held = refusals.try_emplace(partner, kRepeatedErrorInterval).first->second.admit(partner)) {
      log().warn("frame refused partner={} detail={}{}", partner, refused->detail, contracts::suppressed_field(*held));
    }
    if (ops) ops->metrics().add("keten_frames_refused_total", {{"partner", partner}});
    if (auto r = socket.send(routing_id, contracts::encode_envelope(contracts::ErrorFrame{refused->code, refused->detail, 0}));
        !r) {
      log().debug("refusal not sent detail={}", r.error().detail);
    }
  }

  // Handles the frames Admission holds and the batches still with the intake worker (at
  // shutdown), reading nothing new.
  Result<void> drain() {
    while (!admission.empty()) intake->push(admission.take());
    while (intake->outstanding() > 0) {
      if (auto r = handle_batch(intake->take(), clock()); !r) return r;
    }
    return {};
  }

  Result<void> handle_batch(Intake::TakenBatch batch, Millis now) {
    // A failed checkpoint is retried next turn; it does not stop the broker.
    if (auto r = checkpoint(now, false); !r) {
      if (auto held = checkpoint_errors.admit(r.error().detail)) {
        log().error("checkpoint failed: {}{}", r.error().detail, contracts::suppressed_field(*held));
      }
    } else if (auto held = checkpoint_errors.clear()) {
      log().info("checkpoint failures ended{}", contracts::suppressed_field(*held));
    }
    if (ops) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!batch.partner(i).empty()) ops->frame_from(batch.partner(i), now);  // not a `gone` notice
      }
      ops->tick(store, {scheduler.session_count(), last_checkpoint_at, &backlog.counts()}, now);
    }
    if (reports.due(now)) {
      // Read outside the transaction; a failure is logged and the next interval tries again.
      if (auto report = reports.make(store, registry, now)) due_report = std::move(*report);
      else log().error("quality report not made: {}", report.error().detail);
    }
    if (batch.empty() && unreachable.empty() && !scheduler.has_work(now) && !norms.due(now) && !due_report &&
        !(retention && retention->due(now))) {
      return {};
    }

    std::vector<Outgoing> replies;
    std::vector<ReceiptSlot> receipt_slots;
    std::vector<AckSlot> ack_slots;
    std::vector<Outgoing> deliveries;
    Result<void> status;
    if (state_stale) status = load_state();  // nothing is handled or delivered on a stale state
    if (!status) {
      // the failure path below answers (or not) and retries next turn
    } else if (auto r = store.begin(); !r) {
      status = r;
    } else {
      for (const auto& [routing_id, refused] : unreachable) {
        if (status = scheduler.not_delivered(routing_id, refused.delivery_ids, refused.reason, now); !status) break;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!status) break;
        status = handle(batch.at(i), now, replies, receipt_slots, ack_slots);  // frame i as soon as it is prepared
      }
      if (status && due_report) status = publish_report(now);
      if (status) status = scheduler.expire(now);
      if (status && retention) status = retention->run(now);
      if (status) {
        auto pumped = scheduler.pump(now);
        if (pumped) deliveries = std::move(*pumped);
        else status = pumped.error();
      }
      for (const auto& p : scheduler.take_progress()) {
        if (!status) break;
        status = norms.on_progress(p.message_id, p.contract, p.version, now);
      }
      if (status && norms.due(now)) status = norms.tick(now);
      if (status && leadership) status = leadership->keep();
      if (status) {
        auto commit_started = std::chrono::steady_clock::now();
        status = store.commit();
        if (ops) ops->commit_finished(std::chrono::steady_clock::now() - commit_started, bool(status));
      }
    }
    unreachable.clear();
    if (!status) store.rollback();  // before the WAL checkpoint below, which needs no transaction open
    if (retention) retention->after_commit(bool(status), now);
    if (ops && retention && retention->cases_on_hold() >= 0) {
      ops->metrics().set("keten_cases_on_hold", {}, static_cast<double>(retention->cases_on_hold()));
    }

    if (!status && (status.error().detail.rfind("fenced:", 0) == 0 ||
                    status.error().detail.rfind("leadership lost:", 0) == 0)) {
      // Another instance leads now: this one answers nothing more and stops. Its clients move to
      // the new leader and resubmit what was not answered (docs/high-availability.md).
      const auto& detail = status.error().detail;
      return Error{ErrorCode::kStorage, detail.rfind("leadership lost:", 0) == 0 ? detail : "leadership lost: " + detail};
    }
    if (!status) {
      // Nothing of this turn is durable: every submit in it is refused with kStorage, nothing is
      // delivered, and the in-flight view starts over from the store.
      if (auto held = store_errors.admit(status.error().detail)) {
        log().error("store failure, batch of {} frames refused: {}{}", batch.size(), status.error().detail,
                    contracts::suppressed_field(*held));
      }
      // On PostgreSQL the connection may have gone mid-commit, and then whether the commit took
      // effect is unknown: nothing of this turn is answered at all (refusing a message that was in
      // fact stored would be wrong). Clients resend what has no answer; the dedupe answers each
      // message once, with its first receipt if it was stored.
      const bool outcome_unknown = store.connection_lost();
      store.rollback();
      if (ops) ops->store_failed();
      scheduler.reset();
      deliveries.clear();
      if (outcome_unknown) {
        replies.clear();
        receipt_slots.clear();
        ack_slots.clear();
      }
      for (auto& slot : receipt_slots) {
        for (auto& receipt : slot.receipts.receipts) {
          contracts::Receipt refused;
          refused.message_id = std::move(receipt.message_id);
          refused.status = contracts::ReceiptStatus::kRejected;
          refused.code = ErrorCode::kStorage;
          refused.detail = "the broker could not store the message; resubmit it";
          audit::sign_receipt(signing_key, refused);
          receipt = std::move(refused);
        }
      }
      if (auto r = store.begin(); r) {
        if (auto reset = store.reset_in_flight(); reset && store.commit()) {
          // in-flight rows are pending again; the next pump resends them
        } else {
          store.rollback();
        }
      }
      if (auto r = load_state(); !r) {
        state_stale = true;
        log().error("reloading state after a failed commit: {}", r.error().detail);
      }
    } else if (auto held = store_errors.clear()) {
      log().info("store failures ended{}", contracts::suppressed_field(*held));
    }
    if (status) anchor_receipts(receipt_slots, ack_slots);
    for (auto& slot : receipt_slots) {
      replies[slot.index].bytes = slot.batch ? encode_receipts(std::move(slot.receipts), options.max_message_bytes)
                                             : contracts::encode_envelope(slot.receipts.receipts.front());
    }
    // Acknowledgements that were not committed get no answer: the deliveries come again.
    for (auto& slot : ack_slots) {
      if (status && !slot.receipt.delivery_ids.empty()) replies[slot.index].bytes = contracts::encode_envelope(slot.receipt);
    }
    for (const auto& out : replies) {
      if (out.bytes.empty()) continue;  // an ack answer left out
      if (auto r = socket.send(out.routing_id, out.bytes); !r) {
        log().warn("reply not sent detail={}", r.error().detail);
        unreachable[out.routing_id].reason = r.error().detail;
      }
    }
    // A delivery the socket refuses never reached the connection: it does not count as an attempt,
    // and the connection is retired next turn (docs/protocol.md, "Delivery").
    for (const auto& out : deliveries) {
      if (auto r = socket.send(out.routing_id, out.bytes); !r) {
        auto& refused = unreachable[out.routing_id];
        if (refused.delivery_ids.empty()) {
          log().warn("delivery not sent, connection retired delivery_id={} deliveries={} detail={}",
                     out.batched_ids.empty() ? out.delivery_id : out.batched_ids.front(),
                     out.batched_ids.empty() ? 1 : out.batched_ids.size(), r.error().detail);
        }
        if (out.batched_ids.empty()) refused.delivery_ids.push_back(out.delivery_id);
        refused.delivery_ids.insert(refused.delivery_ids.end(), out.batched_ids.begin(), out.batched_ids.end());
        refused.reason = r.error().detail;
      }
    }
    return {};
  }
};

Broker::Broker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Broker::~Broker() = default;

namespace {

// The store `options` name: the SQLite file (owned: locked, checked at start), or the PostgreSQL
// database, whose writes are fenced by `leadership`'s epoch.
Result<std::unique_ptr<store::Store>> open_store(const BrokerOptions& options, const CheckedConfig& checked,
                                                 const std::optional<Leadership>& leadership) {
  if (!options.store_url.empty()) {
    if (!leadership) {
      return Error{ErrorCode::kConfig, "a broker on PostgreSQL starts only as the leader (Leadership::wait)"};
    }
    store::PgStoreOptions pg;
    pg.conninfo = options.store_url;
    pg.payload_key = checked.payload_key;
    pg.signing_seed = checked.signing_key.seed;
    pg.epoch = leadership->epoch();
    pg.idle_transaction_limit = options.lease_ttl;
    auto store = store::PgStore::open(pg);
    if (!store) return store.error();
    return std::unique_ptr<store::Store>(std::make_unique<store::PgStore>(std::move(*store)));
  }
  store::StoreOptions store_options;
  store_options.path = options.store;
  store_options.sync_full = options.sync_full;
  store_options.payload_key = checked.payload_key;
  store_options.signing_seed = checked.signing_key.seed;  // the store signs its tree checkpoints
  store_options.owner = true;  // one broker per store; the store is checked before it is served
  store_options.quick_check = options.store_quick_check;
  auto store = store::SqliteStore::open(store_options);
  if (!store) return store.error();
  return std::unique_ptr<store::Store>(std::make_unique<store::SqliteStore>(std::move(*store)));
}

}  // namespace

Result<std::unique_ptr<Broker>> Broker::start(const BrokerOptions& options, std::optional<Leadership> leadership,
                                              Clock loop_clock) {
  if (!loop_clock) return Error{ErrorCode::kConfig, "the broker needs a clock (clock.h: system_clock())"};
  auto checked = check_start_config(options);
  if (!checked) return checked.error();
  auto store = open_store(options, *checked, leadership);
  if (!store) return store.error();
  auto* sqlite = dynamic_cast<store::SqliteStore*>(store->get());
  transport::RouterOptions router;
  router.endpoint = options.listen;
  router.secret_key = options.secret_key;
  router.hard_max_bytes = options.max_message_bytes * 4;
  for (const auto& p : options.partners) router.partner_keys[p.public_key] = p.id;
  router.gateway_keys = options.gateway_keys;
  auto socket = transport::RouterSocket::bind(router);
  if (!socket) return socket.error();
  auto* pg = dynamic_cast<store::PgStore*>(store->get());
  auto tables = sqlite ? store::TrackingTables::open(*sqlite, checked->payload_key)
                       : store::TrackingTables::open(*pg, checked->payload_key);
  if (!tables) return tables.error();
  auto processed = sqlite ? store::ProcessedReports::open(*sqlite) : store::ProcessedReports::open(*pg);
  if (!processed) return processed.error();
  warn_unconfigured_partners(checked->registry, options);

  const std::size_t contract_count = checked->registry.size();
  auto impl = std::make_unique<Impl>(options, std::move(*store), sqlite, std::move(*tables), std::move(*processed),
                                     std::move(checked->registry),
                                     std::move(checked->sensitive), std::move(*socket), std::move(loop_clock));
  impl->signing_key = std::move(checked->signing_key);
  impl->sealed = std::move(checked->sealed);
  impl->payload_key = std::move(checked->payload_key);
  // No connection survives a restart: whatever was in flight is sent again. The `started` event
  // records which configuration and contract set this run uses (and whether they changed).
  auto transaction = store::Transaction::begin(impl->store);  // rolled back on every early return
  if (!transaction) return transaction.error();
  auto reset = impl->store.reset_in_flight();
  if (!reset) return reset.error();
  auto previous = impl->store.last_started_event();
  if (!previous) return previous.error();
  // The clock the log's times come from, and whether it was synchronised (docs/inspector.md, A19).
  const ClockStatus clock = read_clock_status();
  log().info("clock source={} sync={} basis={}", clock.source, clock.sync, clock.basis);
  std::optional<events::Started> previous_start;
  if (*previous) {
    if (auto* st = std::get_if<events::Started>(&(*previous)->event.record)) previous_start = std::move(*st);
  }
  events::Event started;
  started.at = impl->clock();
  started.record = started_record(config_digest(options, impl->signing_key.public_hex),
                                  contract_set_digest(options.contracts), impl->signing_key.public_hex,
                                  options.partners.size(), contract_count, previous_start, clock);
  if (auto r = record_event(impl->store, started); !r) return r.error();
  // The contract texts by digest (revalidation, replay): kept in the SQLite store only, so far.
  if (impl->sqlite) {
    if (auto r = record_history(*impl->sqlite, impl->registry, started.at); !r) return r.error();
  }
  if (auto r = transaction->commit(); !r) return r.error();
  impl->last_checkpoint_at = started.at;
  if (auto r = impl->load_state(); !r) return r.error();
  auto pending = impl->store.recipients_with_pending();
  if (!pending) return pending.error();
  impl->scheduler.mark_dirty(*pending);
  if (!options.ops.http_listen.empty() || options.ops.alerts.enabled) {
    ops::OpsContext context{options.ops, options.store_url.empty() ? options.store : std::filesystem::path(),
                            impl->partner_ids, options.session_timeout,
                            options.checkpoint_interval, !impl->signing_key.empty()};
    auto ops = ops::Ops::start(std::move(context), impl->store, started.at);
    if (!ops) return ops.error();
    impl->ops = std::move(*ops);
  }
  impl->leadership = std::move(leadership);
  log().info("broker started endpoint={} partners={} contracts={} store={} requeued={}", impl->socket.endpoint(),
             options.partners.size(), impl->registry.size(),
             options.store_url.empty() ? options.store.string() : std::string("postgresql"), *reset);
  return std::unique_ptr<Broker>(new Broker(std::move(impl)));
}

std::string Broker::endpoint() const { return impl_->socket.endpoint(); }
std::string Broker::http_endpoint() const { return impl_->ops ? impl_->ops->http_endpoint() : std::string(); }
ops::MetricsRegistry* Broker::metrics() { return impl_->ops ? &impl_->ops->metrics() : nullptr; }

Result<void> Broker::turn(std::chrono::milliseconds timeout) { return impl_->turn(timeout); }

Result<void> Broker::run() {
  if (impl_->ops) impl_->ops->set_ready(true);
  while (!stop_.load()) {
    if (auto r = impl_->turn(kIdlePoll); !r) {
      log().error("broker loop failed: {}", r.error().detail);
      return r;
    }
  }
  if (auto r = impl_->drain(); !r) log().error("frames received before the stop not handled: {}", r.error().detail);
  if (impl_->ops) impl_->ops->set_ready(false);
  if (auto r = impl_->checkpoint(impl_->clock(), true); !r) {
    log().error("final checkpoint failed: {}", r.error().detail);
  }
  if (impl_->leadership) impl_->leadership->release();
  log().info("broker stopped");
  return {};
}

}  // namespace broker::core
