// Exponential backoff with jitter, for reconnecting watches and retrying failed calls.
//
// next() returns the delay before the next attempt: initial × factor^n, capped at max, then
// stretched by up to `jitter` (a fraction) so that many clients failing together do not retry in
// lockstep. After `reset_after` without a failure the sequence starts over, so one blip after
// hours of health waits `initial`, not `max`. Defaults follow client-go's reflector (800 ms → 30 s,
// factor 2, jitter 1.0, reset after 2 min).
//
// Thread safety: none; each retry loop owns its Backoff.
#pragma once

#include <chrono>

#include "runtime/clock.h"

namespace kube::runtime {

struct BackoffOptions {
  Duration initial = std::chrono::milliseconds(800);
  Duration max = std::chrono::seconds(30);
  double factor = 2.0;
  double jitter = 1.0;  // 0: none; 1.0: up to +100%
  Duration reset_after = std::chrono::minutes(2);
};

class Backoff {
 public:
  explicit Backoff(Clock& clock, BackoffOptions options = {}) : clock_(clock), options_(options) {}

  Duration next();

  // Call after a success that proves health (e.g. a watch that delivered events).
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  Clock& clock_;
  BackoffOptions options_;
  int attempts_ = 0;
  MonoTime last_failure_{};
};

}  // namespace kube::runtime
