#pragma once
// A free loopback TCP port for a throwaway test server: bound to port 0 and released, so another
// process may take it before the server binds it (callers retry with another).

namespace test_support {

int free_port();  // throws std::runtime_error when no port can be bound

}  // namespace test_support
