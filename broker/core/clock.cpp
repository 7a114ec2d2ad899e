#include "broker/core/clock.h"

namespace broker::core {

Clock system_clock() {
  return [] { return contracts::now_millis(); };
}

}  // namespace broker::core
