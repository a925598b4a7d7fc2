// Graceful shutdown on SIGTERM and SIGINT, as the kubelet asks for it.
//
// The first signal requests a stop on the returned token: controllers finish the reconciles in
// flight, the leader releases its Lease and the process exits by itself. A second signal exits at
// once with status 1, for the operator who does not want to wait.
//
// The signals are blocked in the constructing thread and received by sigwait on a thread of our
// own, so nothing runs in signal-handler context and logging is safe. Construct it first in
// main(), before any other thread starts: threads inherit the blocked mask, and a thread created
// earlier would still receive the signal with the default action (terminate).
#pragma once

#include <atomic>
#include <stop_token>
#include <thread>

namespace kube::runtime {

class ShutdownSignals {
 public:
  ShutdownSignals();
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  // The signal that requested the stop (SIGTERM, SIGINT), or 0 while none has.
  int received() const { return received_; }

 private:
  void wait(std::stop_token stop);

  std::stop_source source_;
  std::atomic<int> received_ = 0;
  std::jthread waiter_;
};

}  // namespace kube::runtime
