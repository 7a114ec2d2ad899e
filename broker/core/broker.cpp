#include "broker/core/broker.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>
#include <set>
#include <variant>

#include "broker/audit/signing.h"
#include "broker/core/chain.h"
#include "broker/core/checkpoints.h"
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
#include "broker/core/loop_state.h"
#include "broker/core/norm_tracker.h"
#include "broker/core/pipeline.h"
#include "broker/core/processed.h"
#include "broker/core/report_schedule.h"
#include "broker/core/start_checks.h"
#include "broker/core/turn_answers.h"
#include "broker/ops/ops.h"
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
// How long a turn of the wind-down at a stop waits for frames.
constexpr std::chrono::milliseconds kWindDownPoll{20};
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
Result<void> record_history(store::Store& store, const contracts::ContractRegistry& registry, Millis now) {
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
  Chain chain;  // the contract set, the partners, what is sealed: fixed while the broker runs
  transport::RouterSocket socket;
  DeliveryScheduler scheduler;
  RateLimiter rate;
  LoopState state;  // consents, backlog counts, norm obligations: rebuilt from the store
  ReportSchedule reports;
  // Shreds cases past retention (retention_sweep.h). On SQLite only: a PostgreSQL store has no case
  // keys yet.
  std::optional<RetentionSweep> retention;
  std::optional<contracts::Submit> due_report;  // made before the turn's transaction, submitted in it
  // By routing id, connections whose sends failed: retired at the start of the next turn, their
  // unsent deliveries taken back (DeliveryScheduler::not_delivered).
  std::map<std::string, RefusedSends> unreachable;
  audit::SigningKey signing_key;         // empty: no checkpoints, unsigned receipts
  std::optional<Checkpoints> checkpoints;  // made in start(), once the signing key is known
  std::unique_ptr<ops::Ops> ops;          // metrics, HTTP endpoint, alerts; null when all are off
  std::unique_ptr<Intake> intake;         // decodes and validates the next batch while this one is stored
  Admission admission;                    // frames read, held per partner until a turn takes them
  std::map<std::string, contracts::RateLimitedLog> refusals;  // frames Admission refused, by partner
  contracts::RateLimitedLog store_errors{kRepeatedErrorInterval};
  bool stopping = false;  // winding down after a stop (wind_down): nothing new is delivered

  Impl(BrokerOptions o, std::unique_ptr<store::Store> s, store::SqliteStore* sq, store::TrackingTables t,
       store::ProcessedReports p, Chain ch, transport::RouterSocket sock, Clock c)
      : options(std::move(o)),
        clock(std::move(c)),
        owned_store(std::move(s)),
        store(*owned_store),
        sqlite(sq),
        tables(std::move(t)),
        processed(std::move(p)),
        chain(std::move(ch)),
        socket(std::move(sock)),
        scheduler(store, options, &chain.registry, &chain.sensitive),
        rate(options.rate_limit, options.rate_burst),
        state(store, tables, chain.registry, options.max_backlog),
        reports(options, clock()),
        intake(std::make_unique<Intake>(chain.registry, options.max_message_bytes, chain.sensitive)),
        admission(AdmissionLimits{options.turn_bytes, options.partner_queue_bytes, options.max_connections_per_partner}) {
    scheduler.attach(&state.consents(), &state.backlog());
    if (sqlite) retention.emplace(*sqlite, chain.registry, options.retention_sweep_interval, clock());
  }

  // What every submit's pipeline reads of the chain and the loop: the stored, routed and counted
  // parts. A partner's submit adds the admission rules (submit_one).
  PipelineDeps pipeline_deps() {
    PipelineDeps deps{store, chain.registry, chain.partner_ids};
    deps.backlog = &state.backlog();
    deps.choices = &chain.choices;
    deps.sealed = &chain.sealed;
    deps.payload_key = chain.payload_key;
    return deps;
  }

  // The scheduled quality report, submitted on behalf of report_producer like any message.
  Result<void> publish_report(Millis now) {
    contracts::Submit report = std::move(*due_report);
    due_report.reset();
    auto deps = pipeline_deps();
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
    if (receipt.status == contracts::ReceiptStatus::kAccepted) {
      return state.after_accept(report, options.report_producer, now);
    }
    return {};
  }

  // Rejects a frame that never became a Submit: logged, recorded, answered with an Error frame.
  Result<void> reject_frame(const transport::Incoming& in, ErrorCode code, const std::string& detail,
                            Millis now, TurnAnswers& answers) {
    log().warn("rejected frame partner={} bytes={} code={} detail={}", in.partner, in.bytes.size(),
               contracts::to_string(code), detail);
    events::Event e;
    e.at = now;
    e.sender = in.partner;
    e.record = rejected_record(code, detail, {});
    if (auto r = record_event(store, e); !r) return r.error();
    answers.reply(in.routing_id, contracts::encode_envelope(contracts::ErrorFrame{code, detail, 0}));
    return {};
  }

  // One Submit (alone or from a SubmitBatch) inside the open transaction: its signed receipt. An
  // error means the store failed. `checks` from the intake worker, or empty.
  Result<contracts::Receipt> submit_one(const transport::Incoming& in, const contracts::Submit& frame,
                                        SubmitChecks& checks, Millis now) {
    // A partner's submit meets every admission rule; the broker's own report above meets none.
    auto deps = pipeline_deps();
    deps.care_providers = &chain.care_providers;
    deps.rate = &rate;
    deps.scheduler = stopping ? nullptr : &scheduler;  // stopping: stored as pending, sent after a restart
    deps.partners = &options.partners;
    deps.via_https = in.via_gateway;
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
      if (auto r = state.after_accept(frame, in.partner, now); !r) return r.error();
    }
    return std::move(outcome->receipt);  // signed with the turn's other receipts after the commit
  }

  // One Ack or Nack (alone or from an AckBatch). An unknown delivery id is answered with an Error
  // frame naming it; an error means the store failed. An ack the connection wants answered is
  // added to `answer` (its delivery id and the seq of its event).
  template <typename AckOrNack>
  Result<void> ack_one(const transport::Incoming& in, const AckOrNack& frame, Millis now, TurnAnswers& answers,
                       contracts::AckReceipt* answer = nullptr) {
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
    answers.reply(in.routing_id, contracts::encode_envelope(contracts::ErrorFrame{ErrorCode::kUnknownDelivery,
                                                                                  r.error().detail, frame.delivery_id}));
    return {};
  }

  // One Processed report (processed.h): logged and not answered, or refused with an Error frame
  // carrying its delivery id and one warn line. An error means the store failed.
  Result<void> processed_one(const transport::Incoming& in, const contracts::Processed& frame, Millis now,
                             TurnAnswers& answers) {
    auto seq = record_processed(store, processed, in.partner, frame, now);
    if (seq || seq.error().code == ErrorCode::kStorage) return seq ? Result<void>{} : Result<void>{seq.error()};
    log().warn("rejected processed partner={} delivery_id={} code={} detail={}", in.partner, frame.delivery_id,
               contracts::to_string(seq.error().code), seq.error().detail);
    answers.reply(in.routing_id, contracts::encode_envelope(
                                     contracts::ErrorFrame{seq.error().code, seq.error().detail, frame.delivery_id}));
    return {};
  }

  // The AckReceipt answering an Ack or AckBatch of `in`, when its connection asked for them: its
  // place among the answers is kept, to be sent after the commit.
  contracts::AckReceipt* ack_answer(const transport::Incoming& in, TurnAnswers& answers) {
    if (!scheduler.wants_ack_receipts(in.routing_id)) return nullptr;
    return &answers.ack_receipt(in.routing_id);
  }

  // Handles one frame inside the open transaction. An error means the store failed.
  Result<void> handle(Prepared& p, Millis now, TurnAnswers& answers) {
    const transport::Incoming& in = p.in;
    // The socket monitor saw the connection end: retire it now, after every frame it sent before.
    if (in.gone) return scheduler.drop_session(in.routing_id, now);
    scheduler.touch(in.routing_id, now);
    if (in.multipart) return reject_frame(in, ErrorCode::kMalformedEnvelope, "a message must be exactly one frame", now, answers);
    auto& decoded = p.decoded;
    if (!decoded) return reject_frame(in, decoded.error().code, decoded.error().detail, now, answers);

    return std::visit(
        [&](auto& frame) -> Result<void> {
          using T = std::decay_t<decltype(frame)>;
          if constexpr (std::is_same_v<T, contracts::Submit>) {
            auto receipt = submit_one(in, frame, p.checks, now);
            if (!receipt) return receipt.error();
            answers.receipt(in.routing_id, std::move(*receipt));  // sent after the commit
            return {};
          } else if constexpr (std::is_same_v<T, contracts::SubmitBatch>) {
            if (frame.messages.empty()) {
              return reject_frame(in, ErrorCode::kProtocol, "submit batch holds no messages", now, answers);
            }
            // Each message exactly as a single Submit in this turn, in the batch's order.
            contracts::ReceiptBatch receipts;
            receipts.receipts.reserve(frame.messages.size());
            for (std::size_t i = 0; i < frame.messages.size(); ++i) {
              SubmitChecks none;
              auto receipt = submit_one(in, frame.messages[i], i < p.batch_checks.size() ? p.batch_checks[i] : none, now);
              if (!receipt) return receipt.error();
              receipts.receipts.push_back(std::move(*receipt));
            }
            answers.receipts(in.routing_id, std::move(receipts));  // sent after the commit
            return {};
          } else if constexpr (std::is_same_v<T, contracts::AckBatch>) {
            auto* answer = ack_answer(in, answers);
            for (std::uint64_t id : frame.delivery_ids) {
              if (auto r = ack_one(in, contracts::Ack{id}, now, answers, answer); !r) return r;
            }
            return {};
          } else if constexpr (std::is_same_v<T, contracts::Ack>) {
            return ack_one(in, frame, now, answers, ack_answer(in, answers));
          } else if constexpr (std::is_same_v<T, contracts::Nack>) {
            return ack_one(in, frame, now, answers);
          } else if constexpr (std::is_same_v<T, contracts::Processed>) {
            return processed_one(in, frame, now, answers);
          } else if constexpr (std::is_same_v<T, contracts::Credit>) {
            return scheduler.on_credit(in.routing_id, in.partner, frame.credit, now, frame.batches, frame.ack_receipts);
          } else if constexpr (std::is_same_v<T, contracts::Heartbeat>) {
            answers.reply(in.routing_id, contracts::encode_envelope(contracts::Heartbeat{now}));
            return {};
          } else {
            return reject_frame(in, ErrorCode::kProtocol, "the broker does not accept this frame type", now, answers);
          }
        },
        *decoded);
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

  // The wind-down at a stop (Broker::run): from now on nothing new is delivered (the pump is
  // skipped, and accepted messages wait as pending); turns go on while deliveries are in flight,
  // for at most `grace`, and until `stops` counts a second stop.
  Result<void> wind_down(std::chrono::milliseconds grace, const std::atomic<int>& stops) {
    stopping = true;
    if (ops) ops->set_ready(false);
    const std::size_t before = scheduler.in_flight_count();
    if (grace.count() <= 0 || before == 0) return {};
    log().info("stopping: no new deliveries; waiting for {} in flight, at most {} ms", before, grace.count());
    const auto until = std::chrono::steady_clock::now() + grace;
    while (scheduler.in_flight_count() > 0 && stops.load() < 2 && std::chrono::steady_clock::now() < until) {
      if (auto r = turn(kWindDownPoll); !r) return r;
    }
    if (const std::size_t left = scheduler.in_flight_count(); left > 0) {
      log().info("stopping with {} deliveries in flight: they are sent again after the restart", left);
    } else {
      log().info("stopping: every delivery in flight was answered");
    }
    return {};
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

  // One turn's work on a batch the intake finished (possibly empty): the periodic work first,
  // then, when there is anything to do, one transaction, and the answers and deliveries after it.
  Result<void> handle_batch(Intake::TakenBatch batch, Millis now) {
    periodic(batch, now);
    if (batch.empty() && unreachable.empty() && !scheduler.has_work(now) && !state.norms().due(now) && !due_report &&
        !(retention && retention->due(now))) {
      return {};
    }
    TurnAnswers answers;
    std::vector<Outgoing> deliveries;
    Result<void> status = transact(batch, now, answers, deliveries);
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
      recover(status.error(), batch.size(), answers);
      deliveries.clear();
    } else {
      if (auto held = store_errors.clear()) log().info("store failures ended{}", contracts::suppressed_field(*held));
      checkpoints->anchor(answers);
      sign_receipts(answers);
    }
    send(answers.take(options.max_message_bytes), deliveries);
    return {};
  }

  // What runs every turn before the transaction: the checkpoint of other writers' events, the ops
  // tick, and the quality report when it is due (read outside the transaction).
  void periodic(const Intake::TakenBatch& batch, Millis now) {
    (void)checkpoints->keep_covered(now);  // logged; a failed checkpoint is retried next turn
    if (ops) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!batch.partner(i).empty()) ops->frame_from(batch.partner(i), now);  // not a `gone` notice
      }
      ops->tick(store, {scheduler.session_count(), checkpoints->covered_at(), &state.backlog().counts()}, now);
    }
    if (reports.due(now)) {
      // A failure is logged and the next interval tries again.
      if (auto report = reports.make(store, chain.registry, now)) due_report = std::move(*report);
      else log().error("quality report not made: {}", report.error().detail);
    }
  }

  // The turn's transaction: connections whose sends failed are retired, every frame of the batch
  // handled, the report published, deliveries expired and pumped, norms evaluated, and the commit.
  // An error means nothing of it is durable (the caller rolls back).
  Result<void> transact(Intake::TakenBatch& batch, Millis now, TurnAnswers& answers, std::vector<Outgoing>& deliveries) {
    if (state.stale()) {
      if (auto r = state.reload(); !r) return r;  // nothing is handled or delivered on a stale state
    }
    if (auto r = store.begin(); !r) return r;
    for (const auto& [routing_id, refused] : unreachable) {
      if (auto r = scheduler.not_delivered(routing_id, refused.delivery_ids, refused.reason, now); !r) return r;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (auto r = handle(batch.at(i), now, answers); !r) return r;  // frame i as soon as it is prepared
    }
    if (due_report) {
      if (auto r = publish_report(now); !r) return r;
    }
    if (auto r = scheduler.expire(now); !r) return r;
    if (retention) {
      if (auto r = retention->run(now); !r) return r;
    }
    if (!stopping) {
      auto pumped = scheduler.pump(now);
      if (!pumped) return pumped.error();
      deliveries = std::move(*pumped);
    }
    for (const auto& p : scheduler.take_progress()) {
      if (auto r = state.norms().on_progress(p.message_id, p.contract, p.version, now); !r) return r;
    }
    if (state.norms().due(now)) {
      if (auto r = state.norms().tick(now); !r) return r;
    }
    if (leadership) {
      if (auto r = leadership->keep(); !r) return r;
    }
    // The receipts' tree goes into the checkpoint the commit signs: one signature for both. Without
    // it (never seen: the tree is built in memory) they are signed apart after the commit.
    if (!signing_key.empty()) {
      if (auto line = answers.receipts_extension(); !line) {
        log().error("receipts of this turn signed apart: {}", line.error().detail);
      } else if (!line->empty()) {
        store.extend_next_checkpoint(std::move(*line));
      }
    }
    auto commit_started = std::chrono::steady_clock::now();
    auto committed = store.commit();
    if (ops) ops->commit_finished(std::chrono::steady_clock::now() - commit_started, bool(committed));
    return committed;
  }

  // The turn's receipts, one signature over them all: the commit's checkpoint's, or one of their
  // own. A failure (never seen: the tree is built in memory) sends them unsigned, which a client
  // that checks signatures reports.
  void sign_receipts(TurnAnswers& answers) {
    if (auto r = answers.sign(signing_key); !r) log().error("receipts of this turn unsigned: {}", r.error().detail);
  }

  // After a failed turn (rolled back): nothing of it is durable. Every submit in it is refused
  // with kStorage, nothing is delivered, and the in-flight view starts over from the store.
  void recover(const Error& failure, std::size_t frames, TurnAnswers& answers) {
    if (auto held = store_errors.admit(failure.detail)) {
      log().error("store failure, batch of {} frames refused: {}{}", frames, failure.detail,
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
    (void)scheduler.take_progress();  // the norm tracker looks at nothing of a rolled-back turn
    if (outcome_unknown) answers.forget();
    if (auto r = answers.refuse(signing_key); !r) {
      log().error("receipts of the refused batch unsigned: {}", r.error().detail);
    }
    if (auto r = store.begin(); r) {
      if (auto reset = store.reset_in_flight(); reset && store.commit()) {
        // in-flight rows are pending again; the next pump resends them
      } else {
        store.rollback();
      }
    }
    if (auto r = state.reload(); !r) {
      log().error("reloading state after a failed commit: {}", r.error().detail);
    }
  }

  // After the turn: the answers, then the deliveries. A connection the socket refuses is retired
  // next turn; a delivery it refused never reached the connection, so it does not count as an
  // attempt (docs/protocol.md, "Delivery").
  void send(const std::vector<Outgoing>& replies, const std::vector<Outgoing>& deliveries) {
    for (const auto& out : replies) {
      if (auto r = socket.send(out.routing_id, out.bytes); !r) {
        log().warn("reply not sent detail={}", r.error().detail);
        unreachable[out.routing_id].reason = r.error().detail;
      }
    }
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
  }
};

Broker::Broker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Broker::~Broker() = default;

namespace {

// The store `options` name: the SQLite file (owned: locked, checked at start), or the PostgreSQL
// database, whose writes are fenced by `leadership`'s epoch. Its checkpoints are signed at the
// times of `clock`, the loop's.
Result<std::unique_ptr<store::Store>> open_store(const BrokerOptions& options, const CheckedConfig& checked,
                                                 const std::optional<Leadership>& leadership, const Clock& clock) {
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
    pg.clock = clock;
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
  store_options.clock = clock;
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
  auto store = open_store(options, *checked, leadership, loop_clock);
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
  auto chain = Chain::make(options.partners, std::move(checked->registry), std::move(checked->sensitive),
                           std::move(checked->sealed), std::move(checked->payload_key));
  auto impl = std::make_unique<Impl>(options, std::move(*store), sqlite, std::move(*tables), std::move(*processed),
                                     std::move(chain), std::move(*socket), std::move(loop_clock));
  impl->signing_key = std::move(checked->signing_key);
  impl->checkpoints.emplace(impl->store, options.checkpoint_interval, !impl->signing_key.empty());
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
  // The contract texts by digest (the check at the next start, revalidation, replay).
  if (auto r = record_history(impl->store, impl->chain.registry, started.at); !r) return r.error();
  if (auto r = transaction->commit(); !r) return r.error();
  impl->checkpoints->covered_at(started.at);
  if (auto r = impl->state.reload(); !r) return r.error();
  auto pending = impl->store.recipients_with_pending();
  if (!pending) return pending.error();
  impl->scheduler.mark_dirty(*pending);
  if (!options.ops.http_listen.empty() || options.ops.alerts.enabled) {
    ops::OpsContext context{options.ops, options.store_url.empty() ? options.store : std::filesystem::path(),
                            impl->chain.partner_ids, options.session_timeout,
                            options.checkpoint_interval, !impl->signing_key.empty()};
    auto ops = ops::Ops::start(std::move(context), impl->store, started.at);
    if (!ops) return ops.error();
    impl->ops = std::move(*ops);
  }
  impl->leadership = std::move(leadership);
  log().info("broker started endpoint={} partners={} contracts={} store={} requeued={}", impl->socket.endpoint(),
             options.partners.size(), impl->chain.registry.size(),
             options.store_url.empty() ? options.store.string() : std::string("postgresql"), *reset);
  return std::unique_ptr<Broker>(new Broker(std::move(impl)));
}

std::string Broker::endpoint() const { return impl_->socket.endpoint(); }
std::string Broker::http_endpoint() const { return impl_->ops ? impl_->ops->http_endpoint() : std::string(); }
ops::MetricsRegistry* Broker::metrics() { return impl_->ops ? &impl_->ops->metrics() : nullptr; }

Result<void> Broker::turn(std::chrono::milliseconds timeout) { return impl_->turn(timeout); }

Result<void> Broker::run() {
  if (impl_->ops) impl_->ops->set_ready(true);
  while (stops_.load() == 0) {
    if (auto r = impl_->turn(kIdlePoll); !r) {
      log().error("broker loop failed: {}", r.error().detail);
      return r;
    }
  }
  if (auto r = impl_->wind_down(impl_->options.stop_grace, stops_); !r) {
    log().error("broker loop failed while stopping: {}", r.error().detail);
    return r;
  }
  if (auto r = impl_->drain(); !r) log().error("frames received before the stop not handled: {}", r.error().detail);
  (void)impl_->checkpoints->keep_covered(impl_->clock(), true);  // a failure is logged
  if (impl_->leadership) impl_->leadership->release();
  log().info("broker stopped");
  return {};
}

}  // namespace broker::core
