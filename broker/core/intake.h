#pragma once
// Intake: the work on a received frame that needs no broker state (decoding the envelope and, for
// a Submit, the payload digest and the schema validation) done on one worker thread while the
// broker loop stores, commits and sends the batch before it (docs/architecture.md, "The loop").
// Batches come out in the order they went in, and the loop reads a batch's frames in order, each as
// soon as it is prepared, so frames keep their order per connection while the loop stores frame i
// and the worker prepares frame i+1.
// A valid payload with sensitive fields is also prepared for redaction (policy::prepare_payload),
// so that its deliveries need not parse it again.
//
// Threading: push, outstanding, take and TakenBatch from the loop thread only. A TakenBatch asked
// for a frame that is not ready helps check the messages of that frame when it is a SubmitBatch the
// worker has opened, and otherwise prepares the batch's next unclaimed frame itself beside the
// worker. The worker, once no frame of a batch it works on is left unclaimed, helps with the
// messages still unclaimed in that batch, a SubmitBatch the loop opened included. So both threads
// validate the messages of one large batch frame at once.
// Both read the contract registry (immutable while the broker runs); each thread has its own
// validator state.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/pipeline.h"
#include "broker/transport/router_socket.h"
#include "contracts/envelope.h"

namespace contracts {
class ContractRegistry;
}

namespace broker::core {

// One frame as the loop will handle it.
struct Prepared {
  transport::Incoming in;
  // The envelope, or why it could not be read.
  contracts::Result<contracts::Envelope> decoded = contracts::Error{contracts::ErrorCode::kMalformedEnvelope, ""};
  SubmitChecks checks;                     // for a Submit; empty otherwise
  std::vector<SubmitChecks> batch_checks;  // for a SubmitBatch: one per message, in order
};

// Decodes one frame (bounded by `max_message_bytes`) and, for a Submit, runs precheck_submit (for
// a SubmitBatch, on each of its messages).
// Pure: what the worker does to each frame, also usable inline.
Prepared prepare_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                       const SensitiveByContract* sensitive = nullptr);

class Intake {
  struct Batch;

 public:
  // A batch handed to the loop. Its frames may still be in preparation: at(i) returns frame i once
  // it is prepared (preparing others meanwhile). Frames are meant to be read in index order. It
  // must not outlive the Intake that gave it.
  class TakenBatch {
   public:
    TakenBatch() = default;  // no frames
    std::size_t size() const;
    bool empty() const { return size() == 0; }
    // The partner a frame came from, known before it is prepared.
    const std::string& partner(std::size_t i) const;
    Prepared& at(std::size_t i);
    Prepared& operator[](std::size_t i) { return at(i); }

   private:
    friend class Intake;
    explicit TakenBatch(std::shared_ptr<Batch> batch) : batch_(std::move(batch)) {}
    std::shared_ptr<Batch> batch_;
  };

  // `registry` and `sensitive` must outlive the intake; neither changes while it runs.
  Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes, const SensitiveByContract& sensitive);
  ~Intake();  // the worker finishes the batch in hand, the rest is dropped; joins the worker
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  // Hands a batch to the worker.
  void push(std::vector<transport::Incoming> frames);
  // Batches pushed and not yet taken.
  std::size_t outstanding() const;
  // The oldest batch not yet taken (empty when none is left); the worker may still be preparing it.
  TakenBatch take();

 private:
  struct Preparation;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace broker::core
