#pragma once
// A free loopback TCP port for a throwaway test server, picked below the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range): the kernel never hands such a port to an outgoing
// connection or to a bind of port 0, so a server that binds it seconds later (a standby broker
// when it takes over) does not find it taken by some test's client. It is checked free and
// released; another test may still pick the same one (callers that can retry with another do).

namespace test_support {

int free_port();  // throws std::runtime_error when no port can be bound

}  // namespace test_support
