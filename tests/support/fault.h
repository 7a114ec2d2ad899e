#pragma once
// The fault-injection suite's two forms (docs/hardening.md, "Fault injection"). A test tagged
// [fault] picks its rounds, message counts and similar sizes with soak_or(quick, soak): `make test`
// runs the quick form, `make soak` sets KETEN_SOAK=1 and runs only the [fault] tests, longer.

#include <cstdlib>
#include <string_view>

namespace test_support {

// True when KETEN_SOAK is set to anything but "" or "0".
inline bool is_soak() {
  const char* value = std::getenv("KETEN_SOAK");
  return value != nullptr && std::string_view(value) != "" && std::string_view(value) != "0";
}

template <class T>
T soak_or(T quick, T soak) {
  return is_soak() ? soak : quick;
}

}  // namespace test_support
