#pragma once
// A look at a frame's type without decoding it: what the broker's admission (broker/core/admission.h)
// needs to treat submits apart from acks and credit before a frame is read. Pure.

#include <string_view>

namespace contracts {

// Whether a frame says it is a Submit or a SubmitBatch, read from its union type alone (bounds-
// checked, nothing else verified, a few byte reads). A frame too short or malformed to tell is
// false; decode_envelope names what is wrong with it later.
bool is_submit_frame(std::string_view bytes);

}  // namespace contracts
