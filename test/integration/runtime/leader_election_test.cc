// Leader election against a real kube-apiserver: two candidates in one process, each with its
// own client as separate replicas would have, contending for one Lease with short timings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "runtime/clock.h"
#include "runtime/leader_election.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::eventually;
using ::aphex::testing::ScopedNamespace;
using namespace std::chrono_literals;
namespace rt = kube::runtime;

// Short timings keep each test within seconds. They satisfy the same rules as the defaults:
// lease > renew deadline > 1.2 × retry period.
constexpr rt::Duration kLease = 3s;
constexpr rt::Duration kRenewDeadline = 2s;
constexpr rt::Duration kRetry = 500ms;
// The longest a candidate waits between polls: retry × 2.2 (client-go's jitter).
constexpr rt::Duration kMaxPollGap = kRetry * 22 / 10;
const std::string kLeaseName = "aphex-leader";

rt::Duration elapsedSince(rt::MonoTime start) { return rt::realClock().now() - start; }

double seconds(rt::Duration duration) { return std::chrono::duration<double>(duration).count(); }

// One candidate running its election on a thread of its own.
class Candidate {
 public:
  Candidate(const std::string& ns, std::string identity, bool release_on_cancel = true)
      : client_(clientFor(adminConfig())), identity_(std::move(identity)) {
    auto elector = rt::LeaderElector::create(
        *client_, rt::realClock(),
        {.lease_namespace = ns,
         .lease_name = kLeaseName,
         .identity = identity_,
         .lease_duration = kLease,
         .renew_deadline = kRenewDeadline,
         .retry_period = kRetry,
         .release_on_cancel = release_on_cancel,
         .on_started_leading = [this](std::stop_token) { ++terms_; }});
    if (!elector) throw std::runtime_error(elector.error().message);
    elector_ = std::move(elector).value();
  }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) { elector_->run(stop); });
  }
  // Returns once run() has returned, i.e. after any release.
  void stop() {
    thread_.request_stop();
    thread_.join();
  }

  bool leading() const { return elector_->isLeader(); }
  std::string observedLeader() const { return elector_->observedLeader(); }
  const std::string& identity() const { return identity_; }
  int terms() const { return terms_; }

 private:
  std::unique_ptr<kube::Client> client_;
  std::string identity_;
  std::atomic<int> terms_ = 0;
  std::unique_ptr<rt::LeaderElector> elector_;
  std::jthread thread_;  // last: stopped and joined before the rest is destroyed
};

class LeaderElectionIntegration : public ::testing::Test {
 protected:
  kube::Json leaseSpec() {
    auto lease = admin_->get(rt::kLeases, ns_.name(), kLeaseName);
    if (!lease) {
      ADD_FAILURE() << lease.error().message;
      return kube::Json::object();
    }
    return (*lease)["spec"];
  }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  ScopedNamespace ns_{*admin_, "it-leader"};
};

MATCHER(IsMicroTime, "an RFC 3339 UTC time with exactly six fractional digits") {
  static const std::regex kMicroTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  return arg.is_string() && std::regex_match(arg.template get<std::string>(), kMicroTime);
}

TEST_F(LeaderElectionIntegration, ExactlyOneOfTwoCandidatesLeadsAndTheLeaseIsWellFormed) {
  Candidate a(ns_.name(), "candidate-a");
  Candidate b(ns_.name(), "candidate-b");
  a.start();
  b.start();
  ASSERT_TRUE(eventually([&] { return a.leading() || b.leading(); }, 5s)) << "nobody won the election";
  Candidate& leader = a.leading() ? a : b;
  Candidate& follower = a.leading() ? b : a;

  // Watch both for several poll periods: never two leaders, never a change of leader.
  const rt::MonoTime start = rt::realClock().now();
  while (elapsedSince(start) < 4 * kMaxPollGap) {
    ASSERT_TRUE(leader.leading() && !follower.leading()) << "after " << seconds(elapsedSince(start)) << " s";
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(follower.observedLeader(), leader.identity());
  EXPECT_EQ(leader.terms(), 1);
  EXPECT_EQ(follower.terms(), 0);

  const kube::Json spec = leaseSpec();
  EXPECT_EQ(spec["holderIdentity"], leader.identity());
  EXPECT_EQ(spec["leaseDurationSeconds"], 3);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_THAT(spec["acquireTime"], IsMicroTime()) << spec.dump();
  EXPECT_THAT(spec["renewTime"], IsMicroTime()) << spec.dump();
  // The leader keeps renewing.
  EXPECT_TRUE(eventually([&] { return leaseSpec()["renewTime"] != spec["renewTime"]; }, 2 * kMaxPollGap));
  EXPECT_EQ(leaseSpec()["acquireTime"], spec["acquireTime"]);
}

TEST_F(LeaderElectionIntegration, AStoppedLeaderReleasesTheLeaseKeepingTheRestOfTheRecord) {
  Candidate a(ns_.name(), "candidate-a");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.leading(); }, 5s));
  a.stop();
  EXPECT_FALSE(a.leading());
  const kube::Json spec = leaseSpec();
  EXPECT_EQ(spec.value("holderIdentity", "<absent>"), "") << spec.dump();
  EXPECT_EQ(spec["leaseDurationSeconds"], 1);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_THAT(spec["acquireTime"], IsMicroTime()) << spec.dump();
  EXPECT_THAT(spec["renewTime"], IsMicroTime()) << spec.dump();
}

TEST_F(LeaderElectionIntegration, WhenTheLeaderStepsDownTheOtherTakesOverWithoutWaitingForExpiry) {
  Candidate a(ns_.name(), "candidate-a");
  Candidate b(ns_.name(), "candidate-b");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.leading(); }, 5s));
  b.start();
  ASSERT_TRUE(eventually([&] { return b.observedLeader() == a.identity(); }, 5s));

  a.stop();
  const rt::MonoTime released = rt::realClock().now();
  ASSERT_TRUE(eventually([&] { return b.leading(); }, 3 * kLease)) << "b never took over";
  // b takes a released Lease at its next poll. Had it waited for expiry instead, the lease
  // would have run on from a's last renewal: at least kLease - kRetry = 2.5 s.
  EXPECT_LT(elapsedSince(released), kMaxPollGap + 800ms) << seconds(elapsedSince(released)) << " s";
  const kube::Json spec = leaseSpec();
  EXPECT_EQ(spec["holderIdentity"], b.identity());
  EXPECT_EQ(spec["leaseDurationSeconds"], 3);
  EXPECT_EQ(spec["leaseTransitions"], 1);
}

TEST_F(LeaderElectionIntegration, WhenTheLeaderVanishesWithoutReleasingTheOtherWaitsOutTheLease) {
  Candidate a(ns_.name(), "candidate-a", /*release_on_cancel=*/false);
  Candidate b(ns_.name(), "candidate-b");
  a.start();
  ASSERT_TRUE(eventually([&] { return a.leading(); }, 5s));
  b.start();
  ASSERT_TRUE(eventually([&] { return b.observedLeader() == a.identity(); }, 5s));

  a.stop();  // as if the process died: the Lease still names a
  const rt::MonoTime vanished = rt::realClock().now();
  EXPECT_EQ(leaseSpec()["holderIdentity"], a.identity());
  ASSERT_TRUE(eventually([&] { return b.leading(); }, 3 * kLease)) << "b never took over";
  const rt::Duration waited = elapsedSince(vanished);
  // a's last renewal began at most one retry period before it stopped, and b counts the lease
  // from when it saw that renewal, so b cannot take over sooner than kLease - kRetry.
  EXPECT_GE(waited, kLease - kRetry - 300ms) << "took over after " << seconds(waited) << " s: too early";
  // b saw the last renewal within one poll gap, and notices expiry within another.
  EXPECT_LE(waited, kLease + 2 * kMaxPollGap + 1s) << "took over after " << seconds(waited) << " s";
  const kube::Json spec = leaseSpec();
  EXPECT_EQ(spec["holderIdentity"], b.identity());
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_THAT(spec["acquireTime"], IsMicroTime()) << spec.dump();
}

}  // namespace
