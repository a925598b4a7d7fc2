// The controller is SIGKILLed at 20 random points while it onboards 10 Organizations with 10
// RepoBindings each (and one more binding per Organization that the test deletes on the way).
// Each kill cuts reconciles off between any two writes; each restart starts from a fresh cache.
// After the last restart everything must converge: all Ready, every child exactly once, nothing
// left for the deleted bindings, and no webhook secret ever replaced.
#include <gtest/gtest.h>

#include <thread>

#include "integration/chaos/chaos_test.h"
#include "integration/chaos/webhook_secrets.h"

namespace aphex::chaos {
namespace {

using namespace std::chrono_literals;

constexpr int kOrganizations = 10;
constexpr int kBindingsPerOrganization = 10;
constexpr int kKills = 20;
// How long each life lasts, drawn from this range: from a kill before the caches have synced to
// one after several seconds of reconciling.
constexpr auto kShortestLife = 100ms;
constexpr auto kLongestLife = 2500ms;

class ControllerKilled : public ChaosTest {};

TEST_F(ControllerKilled, AtTwentyRandomPointsOfAnOnboardingItStillConvergesWithEveryChildExactlyOnce) {
  const ControllerCredentials credentials = newCredentials("controller");
  onboard(kOrganizations, kBindingsPerOrganization);
  // One doomed binding per Organization, deleted while the kills go on: its children must not
  // outlive it, whatever step its creation or its deletion was cut off at.
  // Half of them keep their namespace (deletionPolicy Retain), half take it along (Delete).
  std::map<int, std::vector<BindingRef>> doomed_at_life;
  for (std::size_t i = 0; i < fleet_.organizations().size(); ++i) {
    const auto policy = i % 2 == 0 ? Fleet::Policy::kRetain : Fleet::Policy::kDelete;
    const BindingRef doomed = fleet_.addBindings(fleet_.organizations()[i], 1, policy).front();
    doomed_at_life[random_.between(1, kKills - 2)].push_back(doomed);
  }
  WebhookSecretWatch secrets(*admin_, fleet_.organizations());
  const auto onboarding_started = std::chrono::steady_clock::now();

  for (int life = 0; life < kKills; ++life) {
    auto controller = startController(credentials, "controller");
    for (const auto& binding : doomed_at_life[life]) fleet_.deleteBinding(binding);
    const auto lifetime = random_.between(kShortestLife, kLongestLife);
    std::this_thread::sleep_for(lifetime);
    ASSERT_TRUE(controller->running()) << "the controller exited by itself; see " << controller->log();
    controller->kill();
    figure("kill " + std::to_string(life + 1),
           "after " + std::to_string(lifetime.count()) + " ms of life; " + std::to_string(fleet_.readyBindings()) +
               " of " + std::to_string(fleet_.liveBindings().size()) + " live bindings Ready");
  }

  const auto final_start = std::chrono::steady_clock::now();
  auto controller = startController(credentials, "controller");
  figure("kills", std::to_string(kKills));
  expectConverges(final_start, "converged after the last restart in");
  figure("onboarding with kills, first start to converged", seconds(since(onboarding_started)));
  EXPECT_TRUE(controller->running()) << controller->log();

  EXPECT_EQ(secrets.captured(), kOrganizations);
  const auto regenerated = secrets.regenerations();
  figure("webhook secrets regenerated", std::to_string(regenerated.size()));
  EXPECT_TRUE(regenerated.empty()) << ::testing::PrintToString(regenerated);
  figure("controller writes (audit log, all 21 lives)", describeWrites(auditedWrites({credentials.token_id})));
}

}  // namespace
}  // namespace aphex::chaos
