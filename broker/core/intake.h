#pragma once
// Intake: the work on a received frame that needs no broker state (decoding the envelope and, for
// a Submit, the payload digest and the schema validation) done on one worker thread while the
// broker loop stores, commits and sends the batch before it (docs/architecture.md, "The loop").
// Batches come out whole and in the order they went in, so frames keep their order per connection.
// A valid payload with sensitive fields is also prepared for redaction (policy::prepare_payload),
// so that its deliveries need not parse it again.
//
// Threading: push, outstanding and take from the loop thread only. A waiting take() prepares
// frames of its batch itself beside the worker. Both read the contract registry (immutable while
// the broker runs) and call the validators, which take turns inside.

#include <cstddef>
#include <memory>
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
  SubmitChecks checks;                             // for a Submit; empty otherwise
};

// Decodes one frame (bounded by `max_message_bytes`) and, for a Submit, runs precheck_submit.
// Pure: what the worker does to each frame, also usable inline.
Prepared prepare_frame(transport::Incoming in, contracts::ContractRegistry& registry, std::size_t max_message_bytes,
                       const SensitiveByContract* sensitive = nullptr);

class Intake {
 public:
  // `registry` and `sensitive` must outlive the intake; neither changes while it runs.
  Intake(contracts::ContractRegistry& registry, std::size_t max_message_bytes, const SensitiveByContract& sensitive);
  ~Intake();  // finishes the batch in hand, drops the rest, joins the worker
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  // Hands a batch to the worker.
  void push(std::vector<transport::Incoming> frames);
  // Batches pushed and not yet taken.
  std::size_t outstanding() const;
  // The oldest batch not yet taken, waiting for the worker to finish it; empty when none is left.
  std::vector<Prepared> take();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace broker::core
