// Deletions cut short: two whole Organizations, and two RepoBindings of each of two others, are
// deleted while the controller is SIGKILLed again and again after short random lives, so that
// their finalizers (docs/controller.md, "Deletion order") stop between any two of their steps.
// After a last restart every deletion must finish: the objects gone (their finalizers done),
// nothing left labelled for a deleted Organization or claimed by a deleted binding (cluster-scoped
// objects and AppProjects included), the teams' Argo CD Applications in retained namespaces
// gone, retained namespaces still there, and what was not deleted untouched and Ready.
#include <gtest/gtest.h>

#include <thread>

#include "integration/chaos/chaos_test.h"

namespace aphex::chaos {
namespace {

using namespace std::chrono_literals;

constexpr int kOrganizations = 4;
constexpr int kBindingsPerOrganization = 4;  // deletionPolicy Retain, Delete, Retain, Delete
constexpr int kKills = 15;
constexpr auto kShortestLife = 50ms;
constexpr auto kLongestLife = 1200ms;

const kube::ResourceType kApplications{
    .group = "argoproj.io", .version = "v1alpha1", .plural = "applications", .namespaced = true};

// A team's Argo CD Application in its pipeline namespace: the binding's finalizer must delete it
// (no label: every Application there is the pipeline's).
kube::Json applicationIn(const BindingRef& binding) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Application"},
          {"metadata", {{"name", "web"}, {"namespace", binding.pipeline}}},
          {"spec", {{"project", "pipeline-" + binding.pipeline},
                    {"source", {{"repoURL", "https://github.com/gh-" + binding.org + "/" + binding.pipeline},
                                {"path", "deploy"}}},
                    {"destination", {{"server", "https://kubernetes.default.svc"}, {"namespace", binding.pipeline}}}}}};
}

class DeletionInterrupted : public ChaosTest {};

TEST_F(DeletionInterrupted, WhenTheControllerIsKilledBetweenFinalizerStepsEveryDeletionStillFinishesAndLeavesNothing) {
  const ControllerCredentials credentials = newCredentials("controller");
  auto controller = startController(credentials, "controller");
  const auto onboarding_started = std::chrono::steady_clock::now();
  onboard(kOrganizations, kBindingsPerOrganization, Fleet::Policy::kAlternating);
  expectConverges(onboarding_started, "onboarded (no kills) in");
  ASSERT_FALSE(HasFailure()) << "the deletions need a converged start";

  const auto& orgs = fleet_.organizations();
  std::vector<BindingRef> deleted_bindings = {fleet_.bindingsOf(orgs[2])[0], fleet_.bindingsOf(orgs[2])[1],
                                              fleet_.bindingsOf(orgs[3])[0], fleet_.bindingsOf(orgs[3])[1]};
  for (const auto& org : {orgs[0], orgs[1]}) {
    for (const auto& binding : fleet_.bindingsOf(org)) deleted_bindings.push_back(binding);
  }
  std::vector<BindingRef> with_application;
  for (const auto& binding : deleted_bindings) {
    if (!binding.retain) continue;
    auto created = admin_->create(kApplications, binding.pipeline, applicationIn(binding));
    ASSERT_TRUE(created) << created.error().message;
    with_application.push_back(binding);
  }

  const auto deletion_started = std::chrono::steady_clock::now();
  fleet_.deleteOrganization(orgs[0]);
  fleet_.deleteOrganization(orgs[1]);
  for (std::size_t i = 0; i < 4; ++i) fleet_.deleteBinding(deleted_bindings[i]);
  for (int kill = 1; kill <= kKills; ++kill) {
    const auto lifetime = random_.between(kShortestLife, kLongestLife);
    std::this_thread::sleep_for(lifetime);
    ASSERT_TRUE(controller->running()) << "the controller exited by itself; see " << controller->log();
    controller->kill();
    figure("kill " + std::to_string(kill), "after " + std::to_string(lifetime.count()) + " ms of life");
    controller = startController(credentials, "controller");
  }
  figure("kills", std::to_string(kKills));
  const auto last_start = std::chrono::steady_clock::now();
  expectConverges(last_start, "every deletion finished after the last restart in");
  figure("deletions, first delete to finished", seconds(since(deletion_started)));
  for (const auto& binding : with_application) {
    auto application = admin_->get(kApplications, binding.pipeline, "web");
    EXPECT_TRUE(!application && application.error().isNotFound())
        << "the Argo CD Application in retained namespace " << binding.pipeline << " outlived its binding";
  }
  EXPECT_TRUE(controller->running()) << controller->log();
  figure("controller writes (audit log, all lives)", describeWrites(auditedWrites({credentials.token_id})));
}

}  // namespace
}  // namespace aphex::chaos
