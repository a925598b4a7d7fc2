// `status`: what counts as not Ready, when the exit code says unhealthy, and the report's layout
// (golden). No cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kubectl-aphex/status.h"

namespace {

using aphex::cli::ApiCheck;
using aphex::cli::healthy;
using aphex::cli::notReady;
using aphex::cli::StatusReport;
using kube::Json;

Json object(long long generation, long long observed, Json conditions, const char* phase = "Provisioning") {
  return {{"metadata", {{"name", "app1"}, {"namespace", "platform-system"}, {"generation", generation}}},
          {"status", {{"observedGeneration", observed}, {"phase", phase}, {"conditions", conditions}}}};
}

Json condition(const char* type, const char* status, const char* reason = "R", const char* message = "m") {
  return {{"type", type}, {"status", status}, {"reason", reason}, {"message", message}};
}

TEST(NotReady, ReadyForTheCurrentGenerationIsFine) {
  EXPECT_FALSE(notReady("RepoBinding", object(2, 2, {condition("Ready", "True"), condition("PipelineReady", "True")})));
}

TEST(NotReady, NamesTheFirstFailingConditionRatherThanReady) {
  const auto problem = notReady(
      "RepoBinding", object(1, 1, {condition("Ready", "False", "PipelineInvalid", "see PipelineReady"),
                                   condition("NamespaceReady", "True"),
                                   condition("PipelineReady", "False", "PipelineInvalid", "pipelineSpec.kind must be Pipeline")},
                            "Failed"));
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->condition, "PipelineReady");
  EXPECT_EQ(problem->reason, "PipelineInvalid");
  EXPECT_EQ(problem->message, "pipelineSpec.kind must be Pipeline");
  EXPECT_EQ(problem->phase, "Failed");
  EXPECT_EQ(problem->ns, "platform-system");
}

TEST(NotReady, AnUnobservedGenerationOrNoStatusPointsAtTheController) {
  const auto stale = notReady("Organization", object(3, 2, {condition("Ready", "True")}, "Ready"));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->reason, "NotReconciled");
  EXPECT_THAT(stale->message, ::testing::HasSubstr("generation 3"));
  const auto fresh = notReady("Organization", Json{{"metadata", {{"name", "acme"}, {"generation", 1}}}});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->reason, "NotReconciled");
}

StatusReport sampleReport() {
  StatusReport report;
  report.apis = {
      ApiCheck{.component = "Aphex", .group = "aphex.io", .resources = {"organizations"}, .required = true,
               .versions = {"v1alpha1"}, .missing = {}},
      ApiCheck{.component = "Tekton Triggers", .group = "triggers.tekton.dev", .resources = {"triggers"},
               .required = true, .versions = {"v1beta1", "v1alpha1"}, .missing = {"triggers"}},
      ApiCheck{.component = "cert-manager", .group = "cert-manager.io", .resources = {"certificates"},
               .required = false, .versions = {}, .missing = {}},
  };
  report.controller = {.deployment = "platform-system/aphex-controller", .found = true, .unreadable = "",
                       .replicas = 2, .ready = 2, .updated = 2, .version = "0.1.0", .leader = "aphex-controller-7d9f",
                       .since_renewal = std::chrono::seconds(3), .lease_expired = false};
  report.counts = {{.kind = "Organization", .total = 1, .ready = 1, .unreadable = ""},
                   {.kind = "RepoBinding", .total = 2, .ready = 1, .unreadable = ""}};
  report.not_ready = {{.kind = "RepoBinding", .ns = "platform-system", .name = "app2", .phase = "Failed",
                       .condition = "PipelineReady", .reason = "PipelineInvalid",
                       .message = "pipelineSpec.kind must be Pipeline, not \"Task\""}};
  return report;
}

TEST(StatusReport, GoldenHumanView) {
  EXPECT_EQ(aphex::cli::renderStatus(sampleReport(), {}),
            "APIs\n"
            "COMPONENT         GROUP                 STATE           VERSIONS           NOTE\n"
            "Aphex             aphex.io              installed       v1alpha1\n"
            "Tekton Triggers   triggers.tekton.dev   incomplete      v1beta1,v1alpha1   missing: triggers\n"
            "cert-manager      cert-manager.io       not installed                      needed only for Ingress TLS\n"
            "\n"
            "Controller\n"
            "DEPLOYMENT                         STATE   READY   VERSION   LEADER                  RENEWED\n"
            "platform-system/aphex-controller   ready   2/2     0.1.0     aphex-controller-7d9f   3s ago\n"
            "\n"
            "Objects\n"
            "KIND           READY   TOTAL   NOTE\n"
            "Organization   1       1\n"
            "RepoBinding    1       2\n"
            "\n"
            "Not Ready\n"
            "KIND          NAMESPACE         NAME   PHASE    CONDITION       REASON            MESSAGE\n"
            "RepoBinding   platform-system   app2   Failed   PipelineReady   PipelineInvalid   pipelineSpec.kind must be "
            "Pipeline, not \"Task\"\n"
            "\n"
            "PROBLEMS: see above\n");
}

TEST(StatusReport, HealthyOnlyWhenEverythingRequiredIsThereAndReady) {
  StatusReport report = sampleReport();
  EXPECT_FALSE(healthy(report));
  report.not_ready.clear();
  EXPECT_FALSE(healthy(report));  // Triggers is missing a resource
  report.apis[1].missing.clear();
  EXPECT_TRUE(healthy(report));   // cert-manager is optional
  report.controller.ready = 1;
  EXPECT_FALSE(healthy(report));
  report.controller = {.deployment = "platform-system/aphex-controller"};  // not deployed: a local process
  EXPECT_TRUE(healthy(report));
  report.counts[0].unreadable = "forbidden";
  EXPECT_FALSE(healthy(report));
}

TEST(StatusReport, JsonForScripts) {
  const Json json = aphex::cli::toJson(sampleReport());
  EXPECT_EQ(json["healthy"], false);
  EXPECT_EQ(json["apis"][1]["missingResources"], Json::array({"triggers"}));
  EXPECT_EQ(json["controller"]["state"], "ready");
  EXPECT_EQ(json["notReady"][0]["condition"], "PipelineReady");
  EXPECT_EQ(json["objects"][1]["total"], 2);
}

}  // namespace
