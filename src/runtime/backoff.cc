#include "runtime/backoff.h"

#include <algorithm>

namespace kube::runtime {

Duration Backoff::next() {
  const MonoTime now = clock_.now();
  if (attempts_ > 0 && now - last_failure_ >= options_.reset_after) attempts_ = 0;
  last_failure_ = now;
  const auto max = static_cast<double>(options_.max.count());
  double delay = static_cast<double>(options_.initial.count());
  for (int i = 0; i < attempts_ && delay < max; ++i) delay *= options_.factor;
  delay = std::min(delay, max);
  ++attempts_;
  delay *= 1.0 + options_.jitter * clock_.random();
  return Duration(static_cast<Duration::rep>(delay));
}

}  // namespace kube::runtime
