#pragma once
// StopSignals: SIGTERM and SIGINT as a request to stop, for the long-running adapter commands
// (`keten adapter file`, `keten adapter email`).
//
// A signal handler would interrupt whatever system call the process is in (ZeroMQ's poll fails
// with EINTR, which a command then reports as "broker unreachable", exit 3). Instead the constructor
// blocks both signals in the calling thread, so every thread started afterwards (ZeroMQ's, libcurl's)
// inherits the mask, and one thread of its own takes them with sigtimedwait and sets `stop`. The
// command's loop checks `stop` between steps, so a stop always ends with exit 0.
//
// Construct it in main's thread before anything starts a thread (before the first connect); `stop`
// must outlive this object. Not copyable or movable; the destructor joins the waiting thread
// (within a fifth of a second).
#include <signal.h>

#include <atomic>
#include <thread>

namespace keten_cli {

class StopSignals {
 public:
  explicit StopSignals(std::atomic<bool>& stop);
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  ~StopSignals();

 private:
  sigset_t set_{};
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

}  // namespace keten_cli
