#include "runtime/quiet_housekeeping.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

struct Counted {
  int calls = 0;
  QuietHousekeepingOptions options() {
    return {.tick = 5s, .quiet_at_most = 0, .tasks = {[this] { ++calls; }}};
  }
};

TEST(QuietHousekeeping, NothingToDoBeforeAnyActivity) {
  FakeClock clock;
  Counted counted;
  QuietHousekeeping housekeeping(clock, counted.options());
  EXPECT_FALSE(housekeeping.tick());
  EXPECT_FALSE(housekeeping.tick());
  EXPECT_EQ(counted.calls, 0);
}

TEST(QuietHousekeeping, RunsOnceOnTheFirstQuietTickAfterActivity) {
  FakeClock clock;
  Counted counted;
  QuietHousekeeping housekeeping(clock, counted.options());
  housekeeping.noteActivity();
  EXPECT_FALSE(housekeeping.tick()) << "a tick that saw activity is not quiet";
  EXPECT_TRUE(housekeeping.tick());
  EXPECT_FALSE(housekeeping.tick()) << "runs once per burst, not on every quiet tick";
  EXPECT_EQ(counted.calls, 1);
  EXPECT_EQ(housekeeping.runs(), 1u);
}

TEST(QuietHousekeeping, WaitsWhileActivityGoesOn) {
  FakeClock clock;
  Counted counted;
  QuietHousekeeping housekeeping(clock, counted.options());
  for (int i = 0; i < 5; ++i) {
    housekeeping.noteActivity();
    EXPECT_FALSE(housekeeping.tick());
  }
  EXPECT_EQ(counted.calls, 0);
  EXPECT_TRUE(housekeeping.tick());
  housekeeping.noteActivity();
  EXPECT_FALSE(housekeeping.tick());
  EXPECT_TRUE(housekeeping.tick()) << "a second burst runs the tasks again";
  EXPECT_EQ(counted.calls, 2);
}

TEST(QuietHousekeeping, BackgroundTrafficIsQuietAndDoesNotHideTheEndOfABurst) {
  FakeClock clock;
  int calls = 0;
  QuietHousekeeping housekeeping(clock, {.tick = 5s, .quiet_at_most = 3, .tasks = {[&calls] { ++calls; }}});
  auto requests = [&](int count) {
    for (int i = 0; i < count; ++i) housekeeping.noteActivity();
  };
  requests(3);  // Lease renewals only
  EXPECT_FALSE(housekeeping.tick());
  requests(40);  // a burst of reconciles
  EXPECT_FALSE(housekeeping.tick());
  requests(3);  // the renewals go on
  EXPECT_TRUE(housekeeping.tick()) << "renewals alone are quiet";
  requests(2);
  EXPECT_FALSE(housekeeping.tick());
  EXPECT_EQ(calls, 1);
}

TEST(QuietHousekeeping, RunTicksOnTheClockUntilStopped) {
  FakeClock clock;
  Counted counted;
  QuietHousekeeping housekeeping(clock, counted.options());
  housekeeping.noteActivity();
  std::jthread runner([&](std::stop_token stop) { housekeeping.run(stop); });
  for (int i = 0; i < 400 && housekeeping.runs() == 0; ++i) {
    clock.advance(5s);
    std::this_thread::sleep_for(5ms);
  }
  runner.request_stop();
  runner.join();
  EXPECT_EQ(housekeeping.runs(), 1u);
  EXPECT_EQ(counted.calls, 1);
}

}  // namespace
}  // namespace kube::runtime
