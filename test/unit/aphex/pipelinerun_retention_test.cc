// Which finished PipelineRuns retention deletes, decided without a cluster: order by completion
// time, running and pending runs, runs being deleted, odd or hostile status values.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "aphex/api/repo_binding.h"
#include "aphex/pipelineruns/retention.h"

namespace {

using kube::Json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
namespace pr = aphex::pipelineruns;

// A PipelineRun as the API server lists it; `succeeded` is the Succeeded condition's status ("" : none).
Json run(const std::string& name, const std::string& succeeded, const Json& completion_time = Json(),
         const std::string& created = "2026-01-01T00:00:00Z") {
  Json object{{"apiVersion", "tekton.dev/v1"},
              {"kind", "PipelineRun"},
              {"metadata", {{"name", name}, {"uid", "uid-" + name}, {"creationTimestamp", created}}},
              {"status", Json::object()}};
  if (!succeeded.empty()) {
    object["status"]["conditions"] = Json::array({{{"type", "Succeeded"}, {"status", succeeded}, {"reason", "x"}}});
  }
  if (!completion_time.is_null()) object["status"]["completionTime"] = completion_time;
  return object;
}

// Finished at 10:<minute>:00.
Json finished(const std::string& name, int minute, const std::string& succeeded = "True") {
  char time[32];
  std::snprintf(time, sizeof(time), "2026-01-01T10:%02d:00Z", minute);
  return run(name, succeeded, time);
}

std::vector<std::string> prunedNames(const std::vector<Json>& runs, int keep) {
  std::vector<pr::RunSummary> summaries;
  for (const auto& object : runs) summaries.push_back(pr::summarize(object));
  std::vector<std::string> names;
  for (const auto& summary : pr::runsToPrune(summaries, keep)) names.push_back(summary.name);
  return names;
}

TEST(PipelineRunRetention, DeletesTheOldestFinishedRunsBeyondKeep) {
  std::vector<Json> runs;
  for (int i = 0; i < 15; ++i) runs.push_back(finished("r" + std::to_string(i), i, i % 3 == 0 ? "False" : "True"));
  EXPECT_THAT(prunedNames(runs, 10), ElementsAre("r0", "r1", "r2", "r3", "r4"));
  EXPECT_THAT(prunedNames(runs, 15), IsEmpty());
  EXPECT_THAT(prunedNames(runs, 100), IsEmpty());
  EXPECT_EQ(prunedNames(runs, 1).size(), 14u);
}

TEST(PipelineRunRetention, TheOutcomeDoesNotDependOnTheOrderRunsArriveIn) {
  std::vector<Json> runs;
  for (int i = 0; i < 30; ++i) runs.push_back(finished("r" + std::to_string(100 + i), i));
  const auto expected = prunedNames(runs, 7);
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(runs.begin(), runs.end(), random);
    EXPECT_EQ(prunedNames(runs, 7), expected);
  }
  EXPECT_EQ(expected.front(), "r100");
  EXPECT_EQ(expected.back(), "r122");
}

TEST(PipelineRunRetention, RunningAndPendingRunsAreNeverDeletedNorCounted) {
  std::vector<Json> runs{run("running", "Unknown", "2020-01-01T00:00:00Z"),  // a completionTime does not finish it
                         run("pending", ""),
                         run("weird-status", "Maybe"),
                         finished("old", 1),
                         finished("new", 2)};
  EXPECT_THAT(prunedNames(runs, 1), ElementsAre("old"));
  EXPECT_THAT(prunedNames(runs, 2), IsEmpty());
}

TEST(PipelineRunRetention, FallsBackToCreationTimeWhenCompletionTimeIsMissingOrGarbage) {
  std::vector<Json> runs{run("no-completion", "True", Json(), "2026-01-01T09:00:00Z"),
                         run("garbage", "True", "yesterday", "2026-01-01T09:30:00Z"),
                         run("number", "False", 12345, "2026-01-01T08:00:00Z"),
                         run("year-99999", "True", "99999-01-01T00:00:00Z", "2026-01-01T07:00:00Z"),
                         finished("completed", 0)};  // 10:00
  EXPECT_THAT(prunedNames(runs, 1), ElementsAre("year-99999", "number", "no-completion", "garbage"));
}

TEST(PipelineRunRetention, RunsWithoutUidAgeOrBeingDeletedAreLeftAlone) {
  Json no_uid = finished("no-uid", 1);
  no_uid["metadata"].erase("uid");
  Json no_age = run("no-age", "True", Json(), "not a time");
  Json deleting = finished("deleting", 2);
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T11:00:00Z";
  std::vector<Json> runs{no_uid, no_age, deleting, finished("a", 3), finished("b", 4)};
  EXPECT_THAT(prunedNames(runs, 1), ElementsAre("a"));
}

TEST(PipelineRunRetention, SummarizeNeverFailsOnHostileShapes) {
  for (const Json& object : {Json(), Json::array(), Json("text"), Json{{"metadata", 5}, {"status", "done"}},
                             Json{{"metadata", {{"name", 1}, {"uid", Json::array()}}},
                                  {"status", {{"conditions", {{"type", "Succeeded"}}}}}},
                             Json{{"status", {{"conditions", Json::array({5, "x", {{"type", 7}}})}}}}}) {
    const pr::RunSummary summary = pr::summarize(object);
    EXPECT_FALSE(summary.prunable()) << object.dump();
  }
}

TEST(PipelineRunRetention, EqualCompletionTimesAreOrderedByName) {
  std::vector<Json> runs{finished("c", 5), finished("a", 5), finished("b", 5)};
  EXPECT_THAT(prunedNames(runs, 1), ElementsAre("a", "b"));
}

TEST(PipelineRunRetention, RetentionHoldsNoMoreThanKeepSummaries) {
  pr::Retention retention(3);
  int evicted = 0;
  for (int i = 0; i < 1000; ++i) {
    if (retention.offer(pr::summarize(finished("r" + std::to_string(i), i % 60)))) ++evicted;
    EXPECT_LE(retention.kept(), 3u);
  }
  EXPECT_EQ(evicted, 997);
}

TEST(RepoBindingKeepLast, ParsesAndValidatesSpecPipelineRunsKeepLast) {
  Json object{{"apiVersion", "aphex.io/v1alpha1"},
              {"kind", "RepoBinding"},
              {"metadata", {{"name", "app1"}, {"namespace", "platform-system"}}},
              {"spec",
               {{"aphexOrg", "acme"}, {"repoOrg", "acme"}, {"repoName", "app1"}, {"pipelineName", "app1"},
                {"pipelineSpec", "x"}}}};
  auto plain = aphex::api::RepoBinding::fromJson(object);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->spec.keep_last_pipeline_runs.has_value());

  object["spec"]["pipelineRuns"] = {{"keepLast", 25}};
  auto set = aphex::api::RepoBinding::fromJson(object);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->spec.keep_last_pipeline_runs, 25);
  EXPECT_TRUE(aphex::api::validateExceptPipelineSpec(*set).empty());

  for (const int bad : {0, -3, 101}) {
    object["spec"]["pipelineRuns"]["keepLast"] = bad;
    auto parsed = aphex::api::RepoBinding::fromJson(object);
    ASSERT_TRUE(parsed);
    const auto errors = aphex::api::validateExceptPipelineSpec(*parsed);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "spec.pipelineRuns.keepLast");
    EXPECT_THAT(errors[0].message, ::testing::HasSubstr("from 1 to 100, not " + std::to_string(bad)));
  }

  object["spec"]["pipelineRuns"]["keepLast"] = "ten";
  auto wrong_type = aphex::api::RepoBinding::fromJson(object);
  ASSERT_FALSE(wrong_type);
  EXPECT_THAT(wrong_type.error().message, ::testing::HasSubstr("spec.pipelineRuns.keepLast"));
}

}  // namespace
