#include "runtime/backoff.h"

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

TEST(Backoff, DoublesFromInitialUpToMax) {
  FakeClock clock;
  clock.setRandom(0.0);  // no jitter
  Backoff backoff(clock, {.initial = 100ms, .max = 1s, .factor = 2.0, .jitter = 1.0, .reset_after = 1h});
  EXPECT_EQ(backoff.next(), 100ms);
  EXPECT_EQ(backoff.next(), 200ms);
  EXPECT_EQ(backoff.next(), 400ms);
  EXPECT_EQ(backoff.next(), 800ms);
  EXPECT_EQ(backoff.next(), 1s);
  EXPECT_EQ(backoff.next(), 1s);
}

TEST(Backoff, JitterStretchesByUpToTheConfiguredFraction) {
  FakeClock clock;
  clock.setRandom(0.5);
  Backoff backoff(clock, {.initial = 100ms, .max = 1s, .factor = 2.0, .jitter = 1.0, .reset_after = 1h});
  EXPECT_EQ(backoff.next(), 150ms);
  clock.setRandom(0.999);
  EXPECT_LT(backoff.next(), 400ms);
}

TEST(Backoff, StartsOverAfterAHealthyPeriod) {
  FakeClock clock;
  clock.setRandom(0.0);
  Backoff backoff(clock, {.initial = 100ms, .max = 1s, .factor = 2.0, .jitter = 0.0, .reset_after = 2min});
  backoff.next();
  backoff.next();
  clock.advance(2min);
  EXPECT_EQ(backoff.next(), 100ms);
}

TEST(Backoff, DefaultsAreClientGosReflectorValues) {
  FakeClock clock;
  clock.setRandom(0.0);
  Backoff backoff(clock);
  EXPECT_EQ(backoff.next(), 800ms);
  for (int i = 0; i < 20; ++i) backoff.next();
  EXPECT_EQ(backoff.next(), 30s);
}

}  // namespace
}  // namespace kube::runtime
