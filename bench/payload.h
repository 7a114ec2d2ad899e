#pragma once
// The bench payload: a valid sample of the contract, padded to the requested size with one string
// field the contract allows (bench/contracts declares `remarks` for it). Pure.

#include <cstddef>
#include <string>
#include <string_view>

namespace bench {

// `base` must be a JSON object text ending in '}' (trailing whitespace allowed). Returns it with
// ,"<field>":"xxx..." inserted before the closing brace so the result is exactly `size` bytes, or
// `base` unchanged (trailing whitespace removed) when it is already that long or longer.
// Throws std::invalid_argument when base is not an object text.
std::string padded_payload(std::string_view base, std::size_t size, std::string_view field = "remarks");

}  // namespace bench
