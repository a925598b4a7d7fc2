#include "runtime/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

// How long a test waits for another thread to get somewhere before declaring it stuck; generous
// because CI machines are shared, and only reached when the code under test is broken.
constexpr auto kBound = 5s;

// A queue whose rate limiter adds no overall bucket, so delays are the per-key ones alone.
Workqueue queueOn(FakeClock& clock, WorkqueueMetrics metrics = {}) {
  return Workqueue(clock,
                   {.rate_limiter = std::make_unique<ItemExponentialRateLimiter>(), .metrics = std::move(metrics)});
}

std::string keyOf(std::optional<WorkItem>& item) { return item ? item->key() : "<nothing>"; }

bool eventually(const std::function<bool()>& condition) {
  const MonoTime deadline = realClock().now() + kBound;
  while (!condition()) {
    if (realClock().now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A blocking call (get, a drain) run on another thread with that thread's stop token. Going out
// of scope stops and joins the thread, so a test that fails while the call still blocks ends
// instead of hanging.
template <typename T>
class Async {
 public:
  explicit Async(std::function<T(std::stop_token)> call)
      : thread_([this, call = std::move(call)](std::stop_token stop) { promise_.set_value(call(stop)); }) {}
  Async(Async&&) = delete;  // the thread holds `this`

  bool finishes() { return future_.wait_for(kBound) == std::future_status::ready; }
  bool finishedAlready() { return future_.wait_for(0s) == std::future_status::ready; }
  T take() { return future_.get(); }
  void stop() { thread_.request_stop(); }

 private:
  std::promise<T> promise_;
  std::future<T> future_ = promise_.get_future();
  std::jthread thread_;  // last: starts after the promise exists, joined before it goes
};

using AsyncGet = Async<std::optional<WorkItem>>;

AsyncGet asyncGet(Workqueue& queue) {
  return AsyncGet([&queue](std::stop_token stop) { return queue.get(stop); });
}

// The real clock, counting the threads inside waitUntil, so a test can act once a worker sleeps.
class SleepCountingClock final : public Clock {
 public:
  MonoTime now() const override { return realClock().now(); }
  WallTime wallNow() const override { return realClock().wallNow(); }
  bool waitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable_any& cv, MonoTime deadline,
                 std::stop_token stop) override {
    ++sleeping_;
    const bool result = realClock().waitUntil(lock, cv, deadline, stop);
    --sleeping_;
    return result;
  }
  double random() override { return realClock().random(); }
  int sleeping() const { return sleeping_; }

 private:
  std::atomic<int> sleeping_ = 0;
};

// ---- Rate limiters ----

TEST(ItemExponentialRateLimiter, DoublesFromFiveMillisecondsPerKey) {
  ItemExponentialRateLimiter limiter;
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
  EXPECT_EQ(limiter.when("a"), 20ms);
  EXPECT_EQ(limiter.when("a"), 40ms);
  EXPECT_EQ(limiter.when("b"), 5ms) << "keys back off independently";
  EXPECT_EQ(limiter.retries("a"), 4);
  EXPECT_EQ(limiter.retries("b"), 1);
}

TEST(ItemExponentialRateLimiter, IsCappedAtTheMaximum) {
  ItemExponentialRateLimiter limiter({.base = 1ms, .max = 10ms});
  EXPECT_EQ(limiter.when("a"), 1ms);
  EXPECT_EQ(limiter.when("a"), 2ms);
  EXPECT_EQ(limiter.when("a"), 4ms);
  EXPECT_EQ(limiter.when("a"), 8ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
}

TEST(ItemExponentialRateLimiter, DefaultsCapAtOneThousandSecondsAndNeverOverflow) {
  ItemExponentialRateLimiter limiter;
  for (int i = 0; i < 18; ++i) EXPECT_LT(limiter.when("a"), 1000s);  // up to 5 ms × 2^17 ≈ 655 s
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(limiter.when("a"), 1000s) << "failure " << 18 + i;
}

TEST(ItemExponentialRateLimiter, ForgetStartsTheKeyOverAtTheBaseDelay) {
  ItemExponentialRateLimiter limiter;
  limiter.when("a");
  limiter.when("a");
  limiter.forget("a");
  EXPECT_EQ(limiter.retries("a"), 0);
  EXPECT_EQ(limiter.when("a"), 5ms);
}

TEST(BucketRateLimiter, LetsABurstThroughThenSpacesCallersAtTheRate) {
  FakeClock clock;
  BucketRateLimiter limiter(clock, {.qps = 10, .burst = 2});
  EXPECT_EQ(limiter.when("a"), 0ms);
  EXPECT_EQ(limiter.when("b"), 0ms);
  EXPECT_EQ(limiter.when("c"), 100ms);
  EXPECT_EQ(limiter.when("d"), 200ms) << "each caller reserves the next free token";
  clock.advance(200ms);
  EXPECT_EQ(limiter.when("e"), 100ms);
}

TEST(BucketRateLimiter, RefillsNoFurtherThanTheBurst) {
  FakeClock clock;
  BucketRateLimiter limiter(clock, {.qps = 10, .burst = 2});
  clock.advance(1h);
  EXPECT_EQ(limiter.when("a"), 0ms);
  EXPECT_EQ(limiter.when("a"), 0ms);
  EXPECT_EQ(limiter.when("a"), 100ms);
}

TEST(MaxOfRateLimiter, WaitsAsLongAsTheStrictestLimiterAndForgetsInAll) {
  FakeClock clock;
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>());
  limiters.push_back(std::make_unique<BucketRateLimiter>(clock, BucketOptions{.qps = 1, .burst = 1}));
  MaxOfRateLimiter limiter(std::move(limiters));
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("a"), 1s);
  EXPECT_EQ(limiter.retries("a"), 2);
  limiter.forget("a");
  EXPECT_EQ(limiter.retries("a"), 0);
}

TEST(DefaultControllerRateLimiter, CombinesPerKeyBackoffWithAnOverallBucket) {
  FakeClock clock;
  auto limiter = defaultControllerRateLimiter(clock);
  EXPECT_EQ(limiter->when("a"), 5ms);
  EXPECT_EQ(limiter->when("a"), 10ms);
  // 100 distinct keys in one instant drain the burst; the next waits for the 10 qps refill.
  for (int i = 0; i < 98; ++i) limiter->when("key-" + std::to_string(i));
  EXPECT_EQ(limiter->when("late"), 100ms);
}

// ---- Workqueue ----

TEST(Workqueue, AKeyAddedTwiceWhileWaitingIsHandedOutOnce) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("a");
  queue.add("b");
  queue.add("a");
  EXPECT_EQ(queue.len(), 2U);
  auto first = queue.get();
  auto second = queue.get();
  EXPECT_EQ(keyOf(first), "a");
  EXPECT_EQ(keyOf(second), "b");
  EXPECT_EQ(queue.len(), 0U);
}

TEST(Workqueue, AKeyBeingProcessedIsNotHandedToASecondWorker) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  auto held = queue.get();
  ASSERT_EQ(keyOf(held), "k");
  queue.add("k");
  queue.add("other");

  // "k" was added first, so a queue that handed it out again would give it to this worker.
  auto second = asyncGet(queue);
  ASSERT_TRUE(second.finishes());
  auto other = second.take();
  EXPECT_EQ(keyOf(other), "other");

  auto third = asyncGet(queue);
  held->done();
  ASSERT_TRUE(third.finishes()) << "the key was not handed out again after done()";
  auto again = third.take();
  EXPECT_EQ(keyOf(again), "k");
}

TEST(Workqueue, ConcurrentWorkersNeverProcessTheSameKeyAtOnce) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  std::map<std::string, std::atomic<int>> in_flight;
  for (const char* key : {"a", "b", "c"}) in_flight[key] = 0;
  std::atomic<int> overlaps = 0;
  std::atomic<int> processed = 0;
  auto worker = [&] {
    while (auto item = queue.get()) {
      if (in_flight.at(item->key()).fetch_add(1) != 0) ++overlaps;
      std::this_thread::yield();  // widen the window in which a second worker could enter
      in_flight.at(item->key()).fetch_sub(1);
      ++processed;
    }
  };
  std::jthread first(worker);
  std::jthread second(worker);
  for (int i = 0; i < 3000; ++i) queue.add(i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c");
  EXPECT_TRUE(eventually([&] { return queue.len() == 0; }));
  EXPECT_TRUE(queue.shutDownWithDrain());
  first.join();
  second.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_GE(processed, 3);
}

TEST(Workqueue, AKeyAddedWhileBeingProcessedIsQueuedAgainWhenTheWorkerIsDone) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  auto item = queue.get();
  queue.add("k");
  queue.add("k");
  EXPECT_EQ(queue.len(), 0U) << "not ready while a worker holds it";
  item->done();
  EXPECT_EQ(queue.len(), 1U) << "the two re-adds coalesce into one more round";
  auto again = queue.get();
  EXPECT_EQ(keyOf(again), "k");
  again.reset();
  EXPECT_EQ(queue.len(), 0U);
}

TEST(Workqueue, TheLeaseFinishesWhenItGoesOutOfScope) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  {
    auto item = queue.get();
    WorkItem moved = std::move(*item);
    queue.add("k");
    item.reset();  // the moved-from lease must not finish the work
    EXPECT_EQ(queue.len(), 0U);
  }
  EXPECT_EQ(queue.len(), 1U);
}

TEST(Workqueue, ADelayedKeyBecomesReadyExactlyWhenTheClockPassesItsDueTime) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.addAfter("k", 100ms);
  EXPECT_EQ(queue.len(), 0U);
  clock.advance(99ms);
  EXPECT_EQ(queue.len(), 0U);
  clock.advance(1ms);
  EXPECT_EQ(queue.len(), 1U);
}

TEST(Workqueue, DelayedKeysAreReleasedInDueOrder) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.addAfter("late", 200ms);
  queue.addAfter("early", 100ms);
  queue.addAfter("middle", 150ms);
  clock.advance(200ms);
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto item = queue.get();
    order.push_back(keyOf(item));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"early", "middle", "late"}));
}

TEST(Workqueue, AKeyDelayedTwiceKeepsTheEarlierDueTimeAndIsAddedOnce) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.addAfter("k", 1s);
  queue.addAfter("k", 100ms);
  queue.addAfter("k", 2s);
  clock.advance(100ms);
  ASSERT_EQ(queue.len(), 1U);
  queue.get().reset();
  clock.advance(5s);
  EXPECT_EQ(queue.len(), 0U) << "the superseded due times must not add the key again";
}

TEST(Workqueue, ADelayedAddOfAKeyWaitingToBeHandedOutAddsNothing) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  queue.addAfter("k", 1s);  // the waiting round will read the caches after this add's cause
  queue.get().reset();
  clock.advance(5s);
  EXPECT_EQ(queue.len(), 0U);
}

TEST(Workqueue, ADelayedAddOfAKeyBeingProcessedStillComes) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  auto item = queue.get();
  queue.addAfter("k", 1s);  // the round in progress may have read the caches before its cause
  item.reset();
  clock.advance(1s);
  EXPECT_EQ(queue.len(), 1U);
}

TEST(Workqueue, ABlockedWorkerReceivesADelayedKeyOnceTheFakeClockPassesIt) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  auto worker = asyncGet(queue);
  queue.addAfter("k", 10s);
  clock.advance(10s);
  ASSERT_TRUE(worker.finishes());
  auto item = worker.take();
  EXPECT_EQ(keyOf(item), "k");
}

TEST(Workqueue, RateLimitedAddsWaitLongerAfterEachFailureUntilForgotten) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  auto expectReadyAfter = [&](Duration delay) {
    queue.addRateLimited("k");
    clock.advance(delay - 1ns);
    EXPECT_EQ(queue.len(), 0U) << "before " << delay.count() << " ns";
    clock.advance(1ns);
    EXPECT_EQ(queue.len(), 1U) << "at " << delay.count() << " ns";
    queue.get().reset();
  };
  expectReadyAfter(5ms);
  expectReadyAfter(10ms);
  expectReadyAfter(20ms);
  EXPECT_EQ(queue.retries("k"), 3);
  queue.forget("k");
  EXPECT_EQ(queue.retries("k"), 0);
  expectReadyAfter(5ms);
}

TEST(Workqueue, ShutDownUnblocksAWaitingWorker) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  auto worker = asyncGet(queue);
  queue.shutDown();
  ASSERT_TRUE(worker.finishes());
  EXPECT_FALSE(worker.take().has_value());
}

TEST(Workqueue, AddsAndShutDownWakeAWorkerSleepingOnTheRealClock) {
  // The real clock sleeps until the deadline unless woken, and with nothing delayed the deadline
  // is never: only the queue's own wake-up can end the sleep. (A FakeClock re-checks every few
  // milliseconds, which would hide a missing wake-up.)
  SleepCountingClock clock;
  Workqueue queue(clock);
  auto worker = asyncGet(queue);
  ASSERT_TRUE(eventually([&] { return clock.sleeping() == 1; }));
  queue.add("k");
  ASSERT_TRUE(worker.finishes()) << "add() did not wake the sleeping worker";
  auto item = worker.take();
  EXPECT_EQ(keyOf(item), "k");
  item.reset();

  auto waiting = asyncGet(queue);
  ASSERT_TRUE(eventually([&] { return clock.sleeping() == 1; }));
  queue.shutDown();
  ASSERT_TRUE(waiting.finishes()) << "shutDown() did not wake the sleeping worker";
  EXPECT_FALSE(waiting.take().has_value());
}

TEST(Workqueue, AfterShutDownNothingIsHandedOutAndAddsAreIgnored) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("queued");
  queue.shutDown();
  queue.add("late");
  EXPECT_TRUE(queue.shuttingDown());
  EXPECT_FALSE(queue.get().has_value());
}

TEST(Workqueue, AStopRequestUnblocksAWaitingWorker) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  auto worker = asyncGet(queue);
  worker.stop();
  ASSERT_TRUE(worker.finishes());
  EXPECT_FALSE(worker.take().has_value());
  EXPECT_FALSE(queue.shuttingDown()) << "a stopped worker does not shut the queue down";
}

TEST(Workqueue, ShutDownWithDrainWaitsForInFlightWork) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  auto item = queue.get();
  Async<bool> drain([&](std::stop_token stop) { return queue.shutDownWithDrain(stop); });
  // The drain sets shuttingDown and checks for leases under one lock, so once the flag shows,
  // the drain has either gone to sleep or (wrongly) returned.
  ASSERT_TRUE(eventually([&] { return queue.shuttingDown(); }));
  EXPECT_FALSE(drain.finishedAlready()) << "returned with a lease still held";
  item->done();
  ASSERT_TRUE(drain.finishes());
  EXPECT_TRUE(drain.take());
}

TEST(Workqueue, ADrainCanBeAbandonedWithAStopToken) {
  FakeClock clock;
  Workqueue queue = queueOn(clock);
  queue.add("k");
  auto item = queue.get();
  Async<bool> drain([&](std::stop_token stop) { return queue.shutDownWithDrain(stop); });
  drain.stop();
  ASSERT_TRUE(drain.finishes());
  EXPECT_FALSE(drain.take());
}

TEST(Workqueue, ReportsDepthAddsRetriesLatencyAndWorkDuration) {
  FakeClock clock;
  std::vector<std::size_t> depths;
  int adds = 0;
  int retries = 0;
  std::vector<Duration> latencies;
  std::vector<Duration> durations;
  Workqueue queue = queueOn(clock, {.depth = [&](std::size_t depth) { depths.push_back(depth); },
                                    .added = [&] { ++adds; },
                                    .retried = [&] { ++retries; },
                                    .queue_latency = [&](Duration d) { latencies.push_back(d); },
                                    .work_duration = [&](Duration d) { durations.push_back(d); }});
  queue.add("a");
  queue.add("a");  // a duplicate is not an add
  queue.add("b");
  clock.advance(30ms);
  auto item = queue.get();
  clock.advance(7ms);
  item.reset();
  queue.addRateLimited("a");
  EXPECT_EQ(depths, (std::vector<std::size_t>{1, 2, 1}));
  EXPECT_EQ(adds, 2);
  EXPECT_EQ(retries, 1);
  EXPECT_EQ(latencies, std::vector<Duration>{30ms});
  EXPECT_EQ(durations, std::vector<Duration>{7ms});
}

}  // namespace
}  // namespace kube::runtime
