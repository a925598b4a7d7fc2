// Time and randomness as injected dependencies.
//
// Every time-dependent class in the client and the runtime (Retry-After waits, token and
// credential refreshes, discovery's refetch limit, workqueue delays, backoff, leader election,
// watch timeouts) takes a Clock instead of calling std::chrono clocks directly, so tests drive
// time with a fake (test/support/fake_clock.h) and assert exact behaviour without sleeping.
// RealClock is the only place that reads the system clocks.
//
// Thread safety: all methods of RealClock may be called from any thread; other implementations
// must allow the same.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stop_token>

namespace kube {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;   // for intervals and deadlines
using WallTime = std::chrono::system_clock::time_point;  // for timestamps written to the API

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

  // Waits `delay` on this clock, for callers with nothing else to wake them. Returns false when
  // `stop` was requested first (seen within the clock's slice of real time).
  bool sleepFor(Duration delay, std::stop_token stop) {
    const MonoTime deadline = now() + delay;
    std::mutex mutex;
    std::condition_variable_any never_notified;
    std::unique_lock lock(mutex);
    while (now() < deadline) {
      if (!waitUntil(lock, never_notified, deadline, stop)) return false;
    }
    return !stop.stop_requested();
  }
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

// The process-wide real clock: the default wherever a Clock is optional.
inline Clock& realClock() {
  static RealClock clock;
  return clock;
}

}  // namespace kube
