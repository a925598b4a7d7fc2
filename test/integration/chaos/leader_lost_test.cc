// Two replicas with leader election, as the shipped Deployment runs them, onboard 10
// Organizations with 10 RepoBindings each; the leader is lost under load, and the standby must
// take over and finish. "They never wrote at the same time" is proved from the API server's audit
// log: each replica has a token of its own, and every write of the old leader (Lease writes
// aside: they are the election itself) must have been answered before the new leader's first
// write arrived.
//  - Killed: SIGKILL, as when its node dies.
//  - Frozen: SIGSTOP until the standby has taken over and written, then SIGCONT, as after a long
//    pause or a healed partition. The old leader wakes up with reconciles in flight and its clocks
//    moved on; the write gate (runtime/manager.h) must refuse all their writes, and the process
//    must see the Lease lost and exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "integration/chaos/chaos_test.h"

namespace aphex::chaos {
namespace {

using namespace std::chrono_literals;

constexpr int kOrganizations = 10;
constexpr int kBindingsPerOrganization = 10;
// The leader is lost this long after the onboarding begins, drawn at random: under load.
constexpr auto kEarliestLoss = 1000ms;
constexpr auto kLatestLoss = 4000ms;
// A standby takes over within the lease duration (15 s) and a retry period (2 s, jittered ×2.2)
// of the last renewal; generous for a loaded machine.
constexpr auto kTakeoverLimit = 90s;

// The writes of one replica, Lease writes left out.
std::vector<AuditedWrite> workOf(const std::vector<AuditedWrite>& writes, const std::string& token_id) {
  std::vector<AuditedWrite> work;
  std::copy_if(writes.begin(), writes.end(), std::back_inserter(work),
               [&](const AuditedWrite& write) { return write.token_id == token_id && !write.isLease(); });
  return work;
}

// How many writes the write gate refused, from the process's log (Client's refusal message).
int refusedWrites(const std::filesystem::path& log) {
  std::ifstream file(log);
  int refused = 0;
  for (std::string line; std::getline(file, line);) {
    if (line.find("not the leader any more; write refused") != std::string::npos) ++refused;
  }
  return refused;
}

class LeaderLost : public ChaosTest {
 protected:
  void SetUp() override {
    ChaosTest::SetUp();
    first_credentials_ = newCredentials("replica-a");
    second_credentials_ = newCredentials("replica-b");
  }

  // Replica A leads, replica B stands by with synced caches, then the onboarding starts.
  void startReplicasAndOnboard() {
    first_ = startController(first_credentials_, "replica-a", true);
    ASSERT_TRUE(testing::eventually([&] { return leaseHolder() == "replica-a"; }, kTakeoverLimit)) << first_->log();
    second_ = startController(second_credentials_, "replica-b", true);
    ASSERT_TRUE(second_->waitReady(kReadyLimit)) << second_->log();
    onboard(kOrganizations, kBindingsPerOrganization);
    onboarding_started_ = std::chrono::steady_clock::now();
  }

  // Waits for replica B to hold the Lease; returns when it did.
  std::chrono::steady_clock::time_point waitForTakeover() {
    EXPECT_TRUE(testing::eventually([&] { return leaseHolder() == "replica-b"; }, kTakeoverLimit)) << second_->log();
    return std::chrono::steady_clock::now();
  }

  // Every non-Lease write of A answered before B's first one arrived; figures for both.
  void expectNoOverlap() {
    const auto writes = auditedWrites({first_credentials_.token_id, second_credentials_.token_id});
    const auto first_work = workOf(writes, first_credentials_.token_id);
    const auto second_work = workOf(writes, second_credentials_.token_id);
    figure("writes of replica A (old leader, Leases aside)", describeWrites(first_work));
    figure("writes of replica B (new leader, Leases aside)", describeWrites(second_work));
    figure("Lease writes", std::to_string(writes.size() - first_work.size() - second_work.size()));
    ASSERT_FALSE(first_work.empty()) << "the leader was lost before it wrote anything: not under load";
    ASSERT_FALSE(second_work.empty()) << "the new leader never wrote";
    const auto last_of_first = std::max_element(first_work.begin(), first_work.end(), [](const auto& a, const auto& b) {
      return a.completed < b.completed;
    });
    const auto first_of_second = std::min_element(
        second_work.begin(), second_work.end(), [](const auto& a, const auto& b) { return a.received < b.received; });
    figure("A's last write answered at", clockTime(last_of_first->completed) + " (" + last_of_first->verb + " " +
                                             last_of_first->resource + " " + last_of_first->ns + "/" +
                                             last_of_first->name + ")");
    figure("B's first write received at", clockTime(first_of_second->received) + " (" + first_of_second->verb + " " +
                                              first_of_second->resource + " " + first_of_second->ns + "/" +
                                              first_of_second->name + ")");
    EXPECT_LT(last_of_first->completed, first_of_second->received) << "both replicas wrote at the same time";
    const auto overlapping = std::count_if(first_work.begin(), first_work.end(), [&](const AuditedWrite& write) {
      return write.completed >= first_of_second->received;
    });
    figure("writes of A answered after B's first write arrived", std::to_string(overlapping));
  }

  ControllerCredentials first_credentials_, second_credentials_;
  std::unique_ptr<ControllerProcess> first_, second_;
  std::chrono::steady_clock::time_point onboarding_started_;
};

TEST_F(LeaderLost, WhenTheLeaderIsKilledUnderLoadTheStandbyTakesOverAndTheyNeverWriteAtTheSameTime) {
  startReplicasAndOnboard();
  const auto under_load = random_.between(kEarliestLoss, kLatestLoss);
  std::this_thread::sleep_for(under_load);
  figure("leader killed after", std::to_string(under_load.count()) + " ms of onboarding, " +
                                    std::to_string(fleet_.readyBindings()) + " bindings Ready");
  const auto killed = std::chrono::steady_clock::now();
  first_->kill();
  const auto took_over = waitForTakeover();
  figure("standby took over after", seconds(took_over - killed));
  expectConverges(onboarding_started_, "converged, from the start of the onboarding, in");
  EXPECT_TRUE(second_->running()) << second_->log();
  expectNoOverlap();
}

TEST_F(LeaderLost, WhenAFrozenLeaderWakesUpAfterTheTakeoverItWritesNothingMoreAndExits) {
  startReplicasAndOnboard();
  const auto under_load = random_.between(kEarliestLoss, kLatestLoss);
  std::this_thread::sleep_for(under_load);
  figure("leader frozen after", std::to_string(under_load.count()) + " ms of onboarding, " +
                                    std::to_string(fleet_.readyBindings()) + " bindings Ready");
  const auto frozen = std::chrono::steady_clock::now();
  first_->freeze();
  const auto took_over = waitForTakeover();
  figure("standby took over after", seconds(took_over - frozen));
  // The new leader has really started writing before the old one wakes up. (Asked twice a second:
  // each question reads the whole audit log.)
  const auto deadline = std::chrono::steady_clock::now() + kTakeoverLimit;
  while (workOf(auditedWrites({second_credentials_.token_id}), second_credentials_.token_id).empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the new leader never wrote; see " << second_->log();
    std::this_thread::sleep_for(500ms);
  }
  first_->thaw();
  // It notices at its next renewal (every 2 s) that the Lease is another's, and exits.
  EXPECT_TRUE(testing::eventually([&] { return !first_->running(); }, 60s)) << first_->log();
  const auto status = first_->exitStatus();
  figure("old leader's exit status after it woke up", status ? std::to_string(*status) : "still running");
  EXPECT_EQ(status, std::optional<int>(1)) << "it must stop, saying it lost the Lease; see " << first_->log();
  figure("writes the old leader's write gate refused after it woke up", std::to_string(refusedWrites(first_->log())));
  expectConverges(onboarding_started_, "converged, from the start of the onboarding, in");
  expectNoOverlap();
}

}  // namespace
}  // namespace aphex::chaos
