#include "integration/chaos/readiness_log.h"

#include <cstdio>

namespace aphex::chaos {

ReadinessLog::ReadinessLog(const ControllerProcess& controller) : controller_(controller) {
  thread_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const Answer answer{.at = Clock::now(), .status = controller_.readyz()};
      {
        std::lock_guard lock(mutex_);
        answers_.push_back(answer);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
}

void ReadinessLog::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

std::vector<ReadinessLog::Answer> ReadinessLog::answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}

std::vector<ReadinessLog::Answer> ReadinessLog::between(Clock::time_point from, Clock::time_point to) const {
  std::vector<Answer> found;
  for (const auto& answer : answers()) {
    if (answer.at >= from && answer.at < to) found.push_back(answer);
  }
  return found;
}

ReadinessLog::Clock::time_point ReadinessLog::first(int status, Clock::time_point from) const {
  for (const auto& answer : answers()) {
    if (answer.at >= from && answer.status == status) return answer.at;
  }
  return {};
}

std::string ReadinessLog::timeline(Clock::time_point origin) const {
  std::string text;
  int previous = -1;
  for (const auto& answer : answers()) {
    if (answer.status == previous) continue;
    previous = answer.status;
    char entry[64];
    std::snprintf(entry, sizeof entry, "%s%s from %+.1f s", text.empty() ? "" : ", ",
                  answer.status == 0 ? "no answer" : std::to_string(answer.status).c_str(),
                  std::chrono::duration<double>(answer.at - origin).count());
    text += entry;
  }
  return text;
}

}  // namespace aphex::chaos
