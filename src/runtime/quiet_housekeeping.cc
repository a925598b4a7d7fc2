#include "runtime/quiet_housekeeping.h"

#include <utility>

namespace kube::runtime {

QuietHousekeeping::QuietHousekeeping(Clock& clock, QuietHousekeepingOptions options)
    : clock_(clock), options_(std::move(options)) {}

void QuietHousekeeping::run(std::stop_token stop) {
  while (clock_.sleepFor(options_.tick, stop)) tick();
}

bool QuietHousekeeping::tick() {
  const std::uint64_t now = activity_.load(std::memory_order_relaxed);
  const bool busy = now - seen_ > options_.quiet_at_most;
  seen_ = now;
  if (busy) {
    pending_ = true;
    return false;
  }
  if (!pending_) return false;
  pending_ = false;
  for (const auto& task : options_.tasks) task();
  runs_.fetch_add(1);
  return true;
}

}  // namespace kube::runtime
