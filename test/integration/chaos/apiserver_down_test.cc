// The API server is killed for 10 s in the middle of an onboarding of 10 Organizations with 10
// RepoBindings each, under one controller (--no-leader-elect, as bootstrap.sh runs it locally).
// The controller must ride it out without a restart, converge afterwards with every child
// exactly once and no webhook secret replaced, and its /readyz must say it is not ready while it
// cannot reach the API server, and ready again once it can.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "integration/chaos/chaos_test.h"
#include "integration/chaos/readiness_log.h"
#include "integration/chaos/webhook_secrets.h"

namespace aphex::chaos {
namespace {

using namespace std::chrono_literals;

constexpr int kOrganizations = 10;
constexpr int kBindingsPerOrganization = 10;
constexpr int kOutageSeconds = 10;
// The outage begins this long after the onboarding, drawn at random.
constexpr auto kEarliestOutage = 500ms;
constexpr auto kLatestOutage = 3000ms;
// /readyz may take this long to notice the API server has gone: one probe in flight, and the
// kill itself.
constexpr auto kNoticeLimit = 1500ms;

class ApiServerDown : public ChaosTest {};

TEST_F(ApiServerDown, ForTenSecondsMidOnboardingTheControllerSaysItIsNotReadyAndConvergesAfterwards) {
  const ControllerCredentials credentials = newCredentials("controller");
  auto controller = startController(credentials, "controller");
  ASSERT_TRUE(controller->waitReady(kReadyLimit)) << controller->log();
  onboard(kOrganizations, kBindingsPerOrganization);
  WebhookSecretWatch secrets(*admin_, fleet_.organizations());
  std::this_thread::sleep_for(random_.between(kEarliestOutage, kLatestOutage));

  ReadinessLog readiness(*controller);
  std::this_thread::sleep_for(1s);  // what it said before
  figure("bindings Ready when the API server was killed", std::to_string(fleet_.readyBindings()));
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(restartApiServer(kOutageSeconds), 0);
  const auto back = std::chrono::steady_clock::now();
  // Ready again once it can reach the API server: within a few probes.
  const auto ready_again = [&] { return readiness.first(200, back) != ReadinessLog::Clock::time_point{}; };
  EXPECT_TRUE(testing::eventually(ready_again, 30s)) << "/readyz did not pass again; see " << controller->log();
  readiness.stop();

  figure("API server gone for (kill to ready again)", seconds(back - killed));
  figure("/readyz answers (times from the kill)", readiness.timeline(killed));
  // While the API server was surely gone (killed, and not yet started again), every answer must
  // be "not ready" — and there must have been an answer: a probe server that hangs says nothing.
  const auto surely_gone = readiness.between(killed + kNoticeLimit, killed + std::chrono::seconds(kOutageSeconds));
  EXPECT_GE(surely_gone.size(), 10U) << "the probe was not asked often enough";
  const auto not_503 = std::count_if(surely_gone.begin(), surely_gone.end(),
                                     [](const ReadinessLog::Answer& answer) { return answer.status != 503; });
  EXPECT_EQ(not_503, 0) << "of " << surely_gone.size() << " answers while the API server was gone; /readyz said "
                        << readiness.timeline(killed) << " (times from the kill)";
  if (ready_again()) {
    figure("/readyz 200 again after the API server was ready", seconds(readiness.first(200, back) - back));
  }

  expectConverges(back, "converged after the API server came back in");
  EXPECT_TRUE(controller->running()) << "the outage must not end the process; see " << controller->log();
  EXPECT_EQ(secrets.captured(), kOrganizations);
  const auto regenerated = secrets.regenerations();
  figure("webhook secrets regenerated", std::to_string(regenerated.size()));
  EXPECT_TRUE(regenerated.empty()) << ::testing::PrintToString(regenerated);
  figure("controller writes (audit log)", describeWrites(auditedWrites({credentials.token_id})));
}

}  // namespace
}  // namespace aphex::chaos
