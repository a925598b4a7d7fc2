// webhook test's delivery (GitHub's signature, headers and push payload) and runs' summaries
// (golden). No cluster, no network.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "kubectl-aphex/runs.h"
#include "kubectl-aphex/webhook.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using kube::Json;

// GitHub's documented test values ("Validating webhook deliveries").
TEST(GithubSignature, MatchesGithubsDocumentedExample) {
  EXPECT_EQ(aphex::cli::githubSignature("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(DeliveryId, IsAVersion4Uuid) {
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(std::regex_match(aphex::cli::newDeliveryId(), uuid));
  EXPECT_NE(aphex::cli::newDeliveryId(), aphex::cli::newDeliveryId());
}

TEST(PushPayload, CarriesWhatTheTriggerAndTheContractRead) {
  const Json payload = aphex::cli::pushPayload({.repository = {.owner = "acme", .name = "app1"},
                                                .branch = "main",
                                                .after = std::string(40, 'a'),
                                                .pushed_at = "2026-01-01T12:00:00Z"});
  EXPECT_EQ(payload["ref"], "refs/heads/main");
  EXPECT_EQ(payload["after"], std::string(40, 'a'));
  EXPECT_EQ(payload["repository"]["full_name"], "acme/app1");
  EXPECT_EQ(payload["repository"]["clone_url"], "https://github.com/acme/app1.git");
  EXPECT_EQ(payload["head_commit"]["id"], std::string(40, 'a'));
  const auto headers = aphex::cli::deliveryHeaders("push", "id-1", "sha256=00");
  EXPECT_EQ(headers.at("X-GitHub-Event"), "push");
  EXPECT_EQ(headers.at("X-GitHub-Delivery"), "id-1");
  EXPECT_EQ(headers.at("X-Hub-Signature-256"), "sha256=00");
  EXPECT_EQ(headers.at("Content-Type"), "application/json");
}

TEST(PostDelivery, ReportsWhyThereWasNoAnswer) {
  // Port 1 on loopback: nothing listens there.
  const auto answer = aphex::cli::postDelivery("http://127.0.0.1:1/", "{}", {}, std::chrono::seconds(2));
  EXPECT_EQ(answer.status, 0);
  EXPECT_FALSE(answer.error.empty());
}

Json run(const char* name, const char* created, Json status) {
  return {{"metadata", {{"name", name}, {"creationTimestamp", created}}}, {"status", status}};
}

TEST(Runs, GoldenTableNewestFirstWithTheFailingTaskRun) {
  const auto now = std::chrono::sys_days(std::chrono::year{2026} / 1 / 1) + std::chrono::hours(12);
  const Json ok = run("app1-abc", "2026-01-01T11:00:00Z",
                      {{"startTime", "2026-01-01T11:00:01Z"}, {"completionTime", "2026-01-01T11:01:31Z"},
                       {"conditions", {{{"type", "Succeeded"}, {"status", "True"}, {"reason", "Succeeded"}}}}});
  const Json failed = run("app1-def", "2026-01-01T11:50:00Z",
                          {{"startTime", "2026-01-01T11:50:00Z"}, {"completionTime", "2026-01-01T11:52:00Z"},
                           {"conditions", {{{"type", "Succeeded"}, {"status", "False"}, {"reason", "Failed"},
                                            {"message", "Tasks Completed: 2 (Failed: 1)"}}}}});
  const Json running = run("app1-ghi", "2026-01-01T11:59:00Z",
                           {{"startTime", "2026-01-01T11:59:30Z"},
                            {"conditions", {{{"type", "Succeeded"}, {"status", "Unknown"}, {"reason", "Running"}}}}});
  const std::vector<Json> task_runs = {
      {{"metadata", {{"name", "app1-def-build"}, {"labels", {{"tekton.dev/pipelineRun", "app1-def"}}}}},
       {"status", {{"conditions", {{{"type", "Succeeded"}, {"status", "False"}, {"reason", "Failed"},
                                    {"message", "step build exited 2"}}}}}}},
      {{"metadata", {{"name", "app1-def-lint"}, {"labels", {{"tekton.dev/pipelineRun", "app1-def"}}}}},
       {"status", {{"conditions", {{{"type", "Succeeded"}, {"status", "True"}}}}}}}};
  std::vector<aphex::cli::RunSummary> summaries;
  for (const auto& r : {ok, failed, running}) summaries.push_back(aphex::cli::summarizeRun(r, task_runs, now));
  EXPECT_EQ(aphex::cli::renderRuns(summaries, 10, {}),
            "NAME       STATUS      STARTED   DURATION   REASON\n"
            "app1-ghi   Running     30s ago   30s\n"
            "app1-def   Failed      10m ago   2m         app1-def-build: Failed: step build exited 2\n"
            "app1-abc   Succeeded   59m ago   90s\n");
  EXPECT_THAT(aphex::cli::renderRuns(summaries, 1, {}), Not(HasSubstr("app1-def")));
}

}  // namespace
