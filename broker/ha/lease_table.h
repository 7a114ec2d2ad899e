#pragma once
// The lease row's table, shared by leader_lease.cpp and fence.cpp (internal to broker_ha).
// Layout: docs/high-availability.md, "Leader election and fencing on PostgreSQL".

namespace broker::ha {

inline constexpr const char* kLeaseTable = "keten_leader_lease";

}  // namespace broker::ha
