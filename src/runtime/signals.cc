#include "runtime/signals.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <ctime>

#include "runtime/log.h"

namespace kube::runtime {
namespace {

sigset_t shutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

ShutdownSignals::ShutdownSignals() {
  const sigset_t set = shutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::jthread([this](std::stop_token stop) { wait(stop); });
}

ShutdownSignals::~ShutdownSignals() {
  waiter_.request_stop();
  waiter_ = {};  // joins
}

// sigtimedwait with a short timeout rather than sigwait, so that the destructor can end the
// thread without sending it a signal.
void ShutdownSignals::wait(std::stop_token stop) {
  const sigset_t set = shutdownSignals();
  const timespec timeout{.tv_sec = 0, .tv_nsec = 200'000'000};
  while (!stop.stop_requested()) {
    const int signal = sigtimedwait(&set, nullptr, &timeout);
    if (signal <= 0) continue;  // timeout or EINTR
    if (received_.exchange(signal) != 0) {
      defaultLogger().error("second shutdown signal: exiting now", {{"signal", signal}});
      _exit(1);
    }
    defaultLogger().info("shutdown signal received: finishing in-flight work",
                         {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    source_.request_stop();
  }
}

}  // namespace kube::runtime
