// A Clock that moves only when a test calls advance(), so that delays, deadlines and timeouts
// are asserted exactly and no test sleeps for them.
//
// waitUntil returns after at most 5 ms of real time, so code blocked on a deadline re-checks it
// and proceeds soon after a test passes it. waiters() tells a test that the code under test has
// reached a wait (and so is ready for the clock to move).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <vector>

#include "kube/clock.h"

namespace kube::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(MonoTime start = MonoTime{} + std::chrono::hours(1),
                     WallTime wall_start = WallTime{} + std::chrono::hours(24 * 365 * 56))
      : now_(start), wall_(wall_start) {}

  MonoTime now() const override {
    std::lock_guard guard(mutex_);
    return now_;
  }
  WallTime wallNow() const override {
    std::lock_guard guard(mutex_);
    return wall_;
  }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv, MonoTime deadline,
                 std::stop_token stop) override {
    if (now() >= deadline) return !stop.stop_requested();
    {
      std::lock_guard guard(mutex_);
      ++waiters_;
      waiter_cvs_.push_back(&cv);
    }
    // Real time bounds the wait so an advance racing with registration is never missed for long.
    cv.wait_for(lock, stop, std::chrono::milliseconds(5), [] { return false; });
    {
      std::lock_guard guard(mutex_);
      --waiters_;
      std::erase(waiter_cvs_, &cv);
    }
    return !stop.stop_requested();
  }
  double random() override {
    std::lock_guard guard(mutex_);
    return random_value_;
  }

  void advance(Duration by) {
    // Notified under mutex_: a waiter unregisters its cv under it too, so a cv that lives only
    // for one wait (Clock::sleepFor's) is never notified after it is gone.
    std::lock_guard guard(mutex_);
    now_ += by;
    wall_ += std::chrono::duration_cast<WallTime::duration>(by);
    for (auto* cv : waiter_cvs_) cv->notify_all();
  }
  // What random() returns from now on (default 0.5).
  void setRandom(double value) {
    std::lock_guard guard(mutex_);
    random_value_ = value;
  }
  // How many threads are inside waitUntil right now.
  int waiters() const {
    std::lock_guard guard(mutex_);
    return waiters_;
  }

 private:
  mutable std::mutex mutex_;
  MonoTime now_;
  WallTime wall_;
  double random_value_ = 0.5;
  int waiters_ = 0;
  std::vector<std::condition_variable_any*> waiter_cvs_;
};

}  // namespace kube::testing
