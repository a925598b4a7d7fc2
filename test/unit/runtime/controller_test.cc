#include "runtime/controller.h"

#include <gtest/gtest.h>

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;

TEST(Request, RoundTripsThroughItsKey) {
  EXPECT_EQ(Request::fromKey("team/app"), (Request{.ns = "team", .name = "app"}));
  EXPECT_EQ(Request::fromKey("cluster-wide"), (Request{.ns = "", .name = "cluster-wide"}));
  EXPECT_EQ((Request{.ns = "team", .name = "app"}).key(), "team/app");
}

class ApplyOutcome : public ::testing::Test {
 protected:
  FakeClock clock_;
  Workqueue queue_{clock_};
};

TEST_F(ApplyOutcome, DoneForgetsTheFailureHistory) {
  queue_.addRateLimited("k");
  EXPECT_EQ(queue_.retries("k"), 1);
  EXPECT_EQ(applyOutcome(queue_, "k", Done{}), "success");
  EXPECT_EQ(queue_.retries("k"), 0);
}

TEST_F(ApplyOutcome, RetryBacksOffPerKey) {
  EXPECT_EQ(applyOutcome(queue_, "k", Retry{"transient"}), "error");
  EXPECT_EQ(applyOutcome(queue_, "k", Retry{"transient"}), "error");
  EXPECT_EQ(queue_.retries("k"), 2);
}

TEST_F(ApplyOutcome, RequeueAfterAddsTheKeyOnlyOnceTheDelayHasPassed) {
  EXPECT_EQ(applyOutcome(queue_, "k", RequeueAfter{5min}), "requeue_after");
  EXPECT_EQ(queue_.len(), 0U);
  clock_.advance(5min);
  auto item = queue_.get();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->key(), "k");
}

TEST_F(ApplyOutcome, TerminalIsNotRetried) {
  EXPECT_EQ(applyOutcome(queue_, "k", Terminal{"bad input"}), "error");
  EXPECT_EQ(queue_.retries("k"), 0);
  clock_.advance(1h);
  EXPECT_EQ(queue_.len(), 0U);
}

TEST(OwnersOfKind, FindsOnlyTheControllingOwnerOfThatKind) {
  const Json child = Json::parse(R"({"metadata": {"namespace": "team", "ownerReferences": [
      {"kind": "RepoBinding", "name": "app", "controller": true},
      {"kind": "RepoBinding", "name": "other", "controller": false},
      {"kind": "Organization", "name": "acme", "controller": true}]}})");
  const auto owners = ownersOfKind(child, "RepoBinding");
  ASSERT_EQ(owners.size(), 1U);
  EXPECT_EQ(owners[0], (Request{.ns = "team", .name = "app"}));
  EXPECT_TRUE(ownersOfKind(Json::parse(R"({"metadata": {}})"), "RepoBinding").empty());
}

}  // namespace
}  // namespace kube::runtime
