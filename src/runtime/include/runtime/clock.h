// Time and randomness as injected dependencies.
//
// Every time-dependent class in the runtime (workqueue delays, backoff, leader election, watch
// timeouts) takes a Clock& instead of calling std::chrono clocks directly, so tests drive time
// with FakeClock and assert exact behaviour without sleeping. RealClock is the only place that
// reads the system clocks.
//
// Thread safety: all methods of both implementations may be called from any thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <stop_token>
#include <vector>

namespace kube::runtime {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;    // for intervals and deadlines
using WallTime = std::chrono::system_clock::time_point;   // for timestamps written to the API

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
  virtual WallTime wallNow() const = 0;
  // Blocks until `deadline` (on this clock) or `stop` is requested, or possibly earlier (a notify
  // of `cv`, or a bounded slice of real time). Returns false when stopped. Callers loop and
  // re-check their condition.
  virtual bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv,
                         MonoTime deadline, std::stop_token stop) = 0;
  // A uniformly distributed number in [0, 1), for jitter.
  virtual double random() = 0;
};

class RealClock final : public Clock {
 public:
  static constexpr Duration kStopLatency = std::chrono::milliseconds(100);

  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wallNow() const override { return std::chrono::system_clock::now(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv, MonoTime deadline,
                 std::stop_token stop) override {
    // Waits in slices so a stop request is seen within kStopLatency without a stop_callback
    // (which could run on this thread while it holds `lock`); a notify wakes it at once.
    if (stop.stop_requested()) return false;
    cv.wait_until(lock, std::min(deadline, now() + kStopLatency));
    return !stop.stop_requested();
  }
  double random() override {
    std::lock_guard guard(random_mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex random_mutex_;
  std::mt19937_64 engine_{std::random_device{}()};
};

// The process-wide real clock.
inline Clock& realClock() {
  static RealClock clock;
  return clock;
}

// A clock that moves only when a test calls advance(). waitUntil returns after at most 5 ms of
// real time, so code blocked on a deadline re-checks it and proceeds soon after a test passes it.
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
    std::vector<std::condition_variable_any*> to_wake;
    {
      std::lock_guard guard(mutex_);
      now_ += by;
      wall_ += std::chrono::duration_cast<WallTime::duration>(by);
      to_wake = waiter_cvs_;
    }
    for (auto* cv : to_wake) cv->notify_all();
  }
  // What random() returns from now on (default 0.5).
  void setRandom(double value) {
    std::lock_guard guard(mutex_);
    random_value_ = value;
  }
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

}  // namespace kube::runtime
