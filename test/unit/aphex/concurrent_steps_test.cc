#include "aphex/common/concurrent_steps.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aphex {
namespace {

// What runConcurrently needs of a pass: set(), recorded in order.
struct RecordingPass {
  bool set(std::string_view type, const StepResult& result) {
    recorded.emplace_back(std::string(type), result.reason());
    return result.succeeded();
  }
  std::vector<std::pair<std::string, std::string>> recorded;
};

// Opens once `expected` parties have arrived; a party that waits longer than a second gives up,
// which is how steps run one after the other show.
class Rendezvous {
 public:
  explicit Rendezvous(int expected) : expected_(expected) {}
  bool arriveAndWait() {
    std::unique_lock lock(mutex_);
    if (++arrived_ == expected_) cv_.notify_all();
    return cv_.wait_for(lock, std::chrono::seconds(1), [this] { return arrived_ >= expected_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int expected_;
  int arrived_ = 0;
};

TEST(RunConcurrently, StepsRunAtOnceAndAreRecordedInTheOrderGiven) {
  Rendezvous all(3);
  const auto step = [&all](std::string reason) {
    return [&all, reason] {
      return all.arriveAndWait() ? StepResult::ok(reason, "") : StepResult::failed(reason, "ran alone", Retryable::kNo);
    };
  };
  RecordingPass pass;
  runConcurrently(pass, {{"A", step("a")}, {"B", step("b")}, {"C", step("c")}});
  const std::vector<std::pair<std::string, std::string>> expected{{"A", "a"}, {"B", "b"}, {"C", "c"}};
  EXPECT_EQ(pass.recorded, expected);
}

TEST(RunConcurrently, AStepThatThrowsReachesTheCallerAfterTheOthersEnded) {
  RecordingPass pass;
  bool other_ended = false;
  EXPECT_THROW(runConcurrently(pass, {{"A", [] () -> StepResult { throw std::runtime_error("boom"); }},
                                      {"B", [&other_ended] {
                                         std::this_thread::sleep_for(std::chrono::milliseconds(50));
                                         other_ended = true;
                                         return StepResult::ok("b", "");
                                       }}}),
               std::runtime_error);
  EXPECT_TRUE(other_ended);
  EXPECT_TRUE(pass.recorded.empty());
}

}  // namespace
}  // namespace aphex
