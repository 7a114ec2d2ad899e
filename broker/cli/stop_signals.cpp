#include "broker/cli/stop_signals.h"

#include <pthread.h>

#include <ctime>

namespace keten_cli {

StopSignals::StopSignals(std::atomic<bool>& stop) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  waiter_ = std::thread([this, &stop] {
    const timespec tick{0, 200'000'000};  // how often to check whether we are done
    while (!done_.load()) {
      if (sigtimedwait(&set_, nullptr, &tick) > 0) stop.store(true);
    }
  });
}

StopSignals::~StopSignals() {
  done_.store(true);
  waiter_.join();
}

}  // namespace keten_cli
