#pragma once
// What the tlog and events fuzz targets share: how a target stops on a finding, and the check a
// parser's refusal must pass. Each target defines fuzz_check::kTarget, the name its messages carry.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "contracts/error.h"

namespace fuzz_check {

extern const char* const kTarget;  // "fuzz_event", ...: defined once by each target

// A finding: names it on stderr and aborts, so libFuzzer keeps the input that got here.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "%s: %s\n", kTarget, what);
  std::abort();
}

// A refusal names its defect: malformed_envelope, with a detail starting with `prefix` (the
// parser's name, "event: ", "checkpoint: "; "" asks only for a detail at all).
inline void check_refusal(const contracts::Error& error, std::string_view prefix) {
  if (error.code != contracts::ErrorCode::kMalformedEnvelope) fail("refused with a code other than malformed_envelope");
  if (error.detail.empty()) fail("refused without a detail");
  if (!error.detail.starts_with(prefix)) {
    fail(("a refusal's detail does not start with '" + std::string(prefix) + "'").c_str());
  }
}

}  // namespace fuzz_check
