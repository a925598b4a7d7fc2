// Pruning finished PipelineRuns on the real control plane, under the shipped RBAC: the controller
// keeps the newest finished runs of each pipeline namespace (the controller's default or the
// RepoBinding's spec.pipelineRuns.keepLast), never a running one, never in a namespace no binding
// of its own claims, and sends nothing but LISTs when there is nothing to delete.
//
// Runs are made by the admin with their status written through the status subresource, as
// Tekton's controller would write it; running ones are also spec.status PipelineRunPending, so
// that a Tekton controller sharing the cluster would leave them as they are.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <thread>
#include <stop_token>
#include <string>
#include <vector>

#include "aphex/pipelineruns/pruner.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"
#include "integration/support/controller_test.h"

namespace {

using ::aphex::testing::eventually;
using namespace std::chrono_literals;
using kube::Json;
namespace pr = aphex::pipelineruns;

const kube::ResourceType kClaims{.group = "", .version = "v1", .plural = "persistentvolumeclaims", .namespaced = true};

class PipelineRunPruningTest : public aphex::testing::ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    config_.pipeline_runs.interval = 0s;  // no sweep of its own: the tests sweep
  }

  // Starts the controller keeping `keep_last` runs by default; returns a Ready Organization.
  std::string startWithOrganization(int keep_last = 10) {
    config_.pipeline_runs.keep_last = keep_last;
    start();
    const std::string org = createOrganization();
    waitOrgReady(org);
    return org;
  }

  // A bound repository whose pipeline namespace is Ready; `spec` is merged into the binding's spec.
  Binding readyBinding(const std::string& org, const Json& spec = Json::object()) {
    Binding b = binding(org, "", spec);
    waitReady(b);
    return b;
  }

  // A run as the Trigger makes it; `succeeded` is its Succeeded condition ("Unknown": running),
  // finished at 10:<minute> (or not at all when `minute` < 0).
  void createRun(const std::string& ns, const std::string& name, const std::string& succeeded, int minute) {
    Json run{{"apiVersion", "tekton.dev/v1"},
             {"kind", "PipelineRun"},
             {"metadata", {{"name", name}, {"labels", {{"aphex.io/pipeline", ns}}}}},
             {"spec", {{"pipelineRef", {{"name", ns}}}}}};
    if (succeeded == "Unknown") run["spec"]["status"] = "PipelineRunPending";
    auto created = admin_->create(pr::kPipelineRuns, ns, run);
    ASSERT_TRUE(created) << created.error().message;
    Json status{{"startTime", "2026-01-01T09:00:00Z"},
                {"conditions", {{{"type", "Succeeded"}, {"status", succeeded}, {"reason", "x"}}}}};
    if (minute >= 0) {
      char time[32];
      std::snprintf(time, sizeof(time), "2026-01-01T10:%02d:00Z", minute);
      status["completionTime"] = time;
    }
    auto patched = admin_->mergePatch(pr::kPipelineRuns, ns, name, {{"status", status}},
                                      {.subresource = kube::Subresource::kStatus});
    ASSERT_TRUE(patched) << patched.error().message;
  }
  // `count` finished runs named <prefix>-<i>, the i-th finished at 10:<i>.
  void createFinishedRuns(const std::string& ns, const std::string& prefix, int count) {
    for (int i = 0; i < count; ++i) createRun(ns, prefix + "-" + std::to_string(i), i % 4 == 3 ? "False" : "True", i);
  }

  std::vector<std::string> runNames(const std::string& ns) {
    auto listed = admin_->list(pr::kPipelineRuns, ns);
    EXPECT_TRUE(listed) << listed.error().message;
    std::vector<std::string> names;
    for (const auto& run : listed ? (*listed)["items"] : Json::array()) {
      if (!run["metadata"].contains("deletionTimestamp")) names.push_back(run["metadata"]["name"]);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Waits until the controller has stopped writing for two seconds (the Organization takes in a
  // new binding a second after it is Ready), so that what a sweep writes can be counted alone.
  void settle() {
    for (int round = 0; round < 10; ++round) {
      const int before = controller_->writes();
      std::this_thread::sleep_for(2s);
      if (controller_->writes() == before) return;
    }
    FAIL() << "the controller kept writing";
  }

  pr::Pruner& pruner() { return *controller_->controllers().pipeline_runs; }
  pr::SweepOutcome sweep() { return pruner().sweep(std::stop_token()); }
  std::optional<pr::PruneTarget> targetFor(const std::string& ns) {
    for (const auto& target : pruner().targets()) {
      if (target.ns == ns) return target;
    }
    return std::nullopt;
  }
};

TEST_F(PipelineRunPruningTest, KeepsTheNewestFinishedRunsAndEveryRunningOne) {
  const std::string org = startWithOrganization(10);
  const Binding b = readyBinding(org);
  // 12 finished runs (10:00 to 10:11) and 3 running ones.
  createFinishedRuns(b.pipeline, "run", 12);
  for (const char* name : {"running-a", "running-b", "running-c"}) createRun(b.pipeline, name, "Unknown", -1);
  // The oldest finished run owns a workspace volume, as Tekton's volumeClaimTemplate makes it.
  const Json oldest = get(pr::kPipelineRuns, b.pipeline, "run-0");
  const Json claim{{"apiVersion", "v1"},
                   {"kind", "PersistentVolumeClaim"},
                   {"metadata",
                    {{"name", "pvc-run-0"},
                     {"ownerReferences", {{{"apiVersion", "tekton.dev/v1"}, {"kind", "PipelineRun"},
                                           {"name", "run-0"}, {"uid", oldest["metadata"]["uid"]}}}}}},
                   {"spec", {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}};
  auto made = admin_->create(kClaims, b.pipeline, claim);
  ASSERT_TRUE(made) << made.error().message;

  // Another namespace, not a pipeline namespace of this controller's (someone else's, with runs of
  // its own): never pruned. (Only the controller may put Aphex's labels on a namespace; the
  // admission policies refuse them to anyone else.)
  aphex::testing::ScopedNamespace elsewhere(*admin_, "it-runs");
  const std::string other = elsewhere.name();
  createFinishedRuns(other, "foreign", 12);

  ASSERT_TRUE(eventually([&] { return targetFor(b.pipeline).has_value(); }, 10s));
  EXPECT_FALSE(targetFor(other).has_value());
  EXPECT_EQ(pruner().targets().size(), 1u) << "only the namespace of this controller's binding";
  EXPECT_EQ(targetFor(b.pipeline)->keep, 10);
  settle();
  const int writes_before = controller_->writes();
  const pr::SweepOutcome outcome = sweep();
  EXPECT_EQ(outcome.namespaces, 1);
  EXPECT_EQ(outcome.deleted, 2);
  EXPECT_EQ(outcome.failed, 0);
  EXPECT_EQ(outcome.requests, 3) << "one LIST page of 15 runs and two deletes";
  EXPECT_EQ(controller_->writes() - writes_before, 2);

  std::vector<std::string> expected{"running-a", "running-b", "running-c"};
  for (int i = 2; i < 12; ++i) expected.push_back("run-" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_TRUE(eventually([&] { return runNames(b.pipeline) == expected; }, 10s)) << ::testing::PrintToString(runNames(b.pipeline));
  EXPECT_EQ(runNames(other).size(), 12u) << "a namespace no binding of this controller claims is never pruned";
  // Background propagation: the garbage collector deletes what the run owned (the claim itself
  // then waits for its pvc-protection finalizer).
  EXPECT_TRUE(eventually([&] { return !exists(kClaims, b.pipeline, "pvc-run-0"); }, 60s))
      << get(kClaims, b.pipeline, "pvc-run-0").dump(2);

  // At rest: a sweep is one LIST and no write.
  const int writes_at_rest = controller_->writes();
  const pr::SweepOutcome again = sweep();
  EXPECT_EQ(again.deleted, 0);
  EXPECT_EQ(again.requests, 1);
  EXPECT_EQ(controller_->writes(), writes_at_rest) << "nothing to prune must cost zero writes";
}

TEST_F(PipelineRunPruningTest, TheRepoBindingsKeepLastOverridesTheControllersDefault) {
  const std::string org = startWithOrganization(4);
  const Binding by_default = readyBinding(org);
  const Binding overridden = readyBinding(org, {{"pipelineRuns", {{"keepLast", 2}}}});
  for (const auto& b : {by_default, overridden}) createFinishedRuns(b.pipeline, "run", 6);
  ASSERT_TRUE(eventually([&] { return targetFor(overridden.pipeline) && targetFor(by_default.pipeline); }, 10s));
  EXPECT_EQ(targetFor(overridden.pipeline)->keep, 2);
  EXPECT_EQ(targetFor(by_default.pipeline)->keep, 4);

  const pr::SweepOutcome outcome = sweep();
  EXPECT_EQ(outcome.deleted, 2 + 4);
  EXPECT_TRUE(eventually([&] { return runNames(by_default.pipeline) == std::vector<std::string>{"run-2", "run-3", "run-4", "run-5"}; }, 10s))
      << ::testing::PrintToString(runNames(by_default.pipeline));
  EXPECT_TRUE(eventually([&] { return runNames(overridden.pipeline) == std::vector<std::string>{"run-4", "run-5"}; }, 10s))
      << ::testing::PrintToString(runNames(overridden.pipeline));

  // The API server refuses a keepLast out of bounds, naming the field.
  Json changed = current(overridden);
  changed["spec"]["pipelineRuns"]["keepLast"] = 0;
  auto refused = admin_->update(aphex::api::kRepoBindings, overridden.ns, changed);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("spec.pipelineRuns.keepLast"));
}

TEST_F(PipelineRunPruningTest, NothingIsDeletedUnderTheLimitAndPagesAreFollowed) {
  const std::string org = startWithOrganization();
  const Binding b = readyBinding(org, {{"pipelineRuns", {{"keepLast", 100}}}});
  // More runs than one LIST page holds.
  createFinishedRuns(b.pipeline, "run", 60);
  ASSERT_TRUE(eventually([&] { return targetFor(b.pipeline).has_value(); }, 10s));
  settle();
  const int writes_before = controller_->writes();
  pr::PruneOutcome outcome = pruner().prune(*targetFor(b.pipeline), std::stop_token());
  EXPECT_FALSE(outcome.error.has_value()) << outcome.error->message;
  EXPECT_EQ(outcome.listed, 60);
  EXPECT_EQ(outcome.deleted, 0);
  EXPECT_EQ(outcome.requests, 2) << "60 runs are two pages of " << pr::kPageSize;
  EXPECT_EQ(controller_->writes(), writes_before);

  // Fewer to keep: the five oldest go, found across both pages.
  Json changed = current(b);
  changed["spec"]["pipelineRuns"]["keepLast"] = 55;
  ASSERT_TRUE(admin_->update(aphex::api::kRepoBindings, b.ns, changed));
  ASSERT_TRUE(eventually([&] { return targetFor(b.pipeline) && targetFor(b.pipeline)->keep == 55; }, 10s));
  outcome = pruner().prune(*targetFor(b.pipeline), std::stop_token());
  EXPECT_EQ(outcome.deleted, 5);
  const std::vector<std::string> left = runNames(b.pipeline);
  EXPECT_EQ(left.size(), 55u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(std::binary_search(left.begin(), left.end(), "run-" + std::to_string(i))) << i;
}

}  // namespace
