// Work a long-running process does once it goes quiet after a burst: give back what the burst
// left behind (idle connections, free heap pages) without paying for it while busy.
//
// A controller's memory has two parts: what its caches hold, which stays, and what a burst of
// reconciles needed for a moment (a connection per request in flight, parse buffers of LIST
// pages), which the allocator keeps after it is freed. Go's runtime returns the second part in
// the background (its scavenger, the transport's idle timeout); this is the same for a C++
// process: after a busy tick, the first quiet one runs the tasks, once.
//
// Thread safety: noteActivity() from any thread; addTask() before run(); run() on one thread, once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <utility>
#include <vector>

#include "kube/clock.h"

namespace kube::runtime {

struct QuietHousekeepingOptions {
  // The period over which activity is counted.
  Duration tick = std::chrono::seconds(5);
  // A tick with at most this much activity is quiet: background traffic that never stops, such
  // as a leader's Lease renewal every two seconds, is no burst and must not keep the tasks away.
  std::uint64_t quiet_at_most = 5;
  std::vector<std::function<void()>> tasks;
};

class QuietHousekeeping {
 public:
  // `clock` must outlive run().
  QuietHousekeeping(Clock& clock, QuietHousekeepingOptions options);

  // Before run().
  void addTask(std::function<void()> task) { options_.tasks.push_back(std::move(task)); }

  // Something happened (a request was sent): the next quiet tick runs the tasks.
  void noteActivity() { activity_.fetch_add(1, std::memory_order_relaxed); }

  // Ticks until `stop`; runs the tasks on the first quiet tick after a busy one.
  void run(std::stop_token stop);
  // One tick: true when it ran the tasks. run() is a loop of these; tests call it directly.
  bool tick();

  std::uint64_t runs() const { return runs_.load(); }

 private:
  Clock& clock_;
  QuietHousekeepingOptions options_;
  std::atomic<std::uint64_t> activity_{0};
  std::uint64_t seen_ = 0;     // activity_ at the previous tick; run()'s thread only
  bool pending_ = false;       // activity since the tasks last ran; run()'s thread only
  std::atomic<std::uint64_t> runs_{0};
};

}  // namespace kube::runtime
