// What a controller's /readyz answered over time, asked every 250 ms as a (very eager) kubelet
// would, so a test can say what it claimed while its API server was gone.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/chaos/controller_process.h"

namespace aphex::chaos {

class ReadinessLog {
 public:
  using Clock = std::chrono::steady_clock;
  struct Answer {
    Clock::time_point at;
    int status;  // 0: no answer
  };

  // Starts asking at once; `controller` must outlive the log.
  explicit ReadinessLog(const ControllerProcess& controller);
  ~ReadinessLog() { stop(); }
  void stop();

  std::vector<Answer> answers() const;
  // The answers given in [from, to).
  std::vector<Answer> between(Clock::time_point from, Clock::time_point to) const;
  // The first answer `status` at or after `from`; Clock::time_point{} when none yet.
  Clock::time_point first(int status, Clock::time_point from) const;
  // The answers as runs relative to `origin`: "200 from -3.1 s, 503 from +0.4 s, 200 from +14.2 s".
  std::string timeline(Clock::time_point origin) const;

 private:
  const ControllerProcess& controller_;
  mutable std::mutex mutex_;
  std::vector<Answer> answers_;  // guarded by mutex_
  std::jthread thread_;          // last: stopped first
};

}  // namespace aphex::chaos
