// The one rule every kind's pass follows (common/step.h): what the steps' results make of the
// outcome, the phase and Ready.
#include <gtest/gtest.h>

#include "aphex/api/knowledge_base.h"
#include "aphex/common/step.h"

namespace aphex {
namespace {

using namespace std::chrono_literals;
using kube::runtime::Done;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
using kube::runtime::Retry;
using kube::runtime::Terminal;

using Pass = ReconcilePass<api::KnowledgeBase>;

Pass newPass(bool deleting = false) {
  api::KnowledgeBase kb;
  kb.metadata.name = "docs";
  kb.metadata.ns = "team";
  kb.metadata.generation = 3;
  if (deleting) kb.metadata.deletion_timestamp = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return Pass(nullptr, std::move(kb), std::chrono::system_clock::now(), {});
}

const api::Condition& ready(const Pass& pass) { return *api::findCondition(pass.status.conditions, "Ready"); }

TEST(ReconcilePass, EveryStepOkIsReadyAndIdle) {
  Pass pass = newPass();
  EXPECT_TRUE(pass.set("ConfigMapReady", StepResult::ok("Applied", "applied")));
  pass.summarise("all good");
  EXPECT_EQ(ready(pass).status, api::ConditionStatus::kTrue);
  EXPECT_EQ(ready(pass).message, "all good");
  EXPECT_EQ(ready(pass).observed_generation, 3);
  EXPECT_EQ(pass.phase(), api::Phase::kReady);
  EXPECT_TRUE(std::holds_alternative<Done>(pass.outcome()));
  EXPECT_TRUE(std::holds_alternative<RequeueAfter>(pass.outcome(RequeueAfter{5min})));
}

TEST(ReconcilePass, APermanentFailureIsTerminalAndFailedNeverDone) {
  Pass pass = newPass();
  pass.set("AccessReady", StepResult::ok("Granted", ""));
  EXPECT_FALSE(pass.set("PipelineReady", StepResult::failed("InvalidPipelineSpec", "bad YAML", Retryable::kNo)));
  pass.summarise("unused");
  const Outcome outcome = pass.outcome();
  ASSERT_TRUE(std::holds_alternative<Terminal>(outcome));
  EXPECT_EQ(std::get<Terminal>(outcome).reason, "bad YAML");
  EXPECT_EQ(pass.phase(), api::Phase::kFailed);
  EXPECT_EQ(ready(pass).status, api::ConditionStatus::kFalse);
  EXPECT_EQ(ready(pass).reason, "NotReady");
  EXPECT_EQ(ready(pass).message, "PipelineReady: bad YAML");
}

TEST(ReconcilePass, APermanentFailureThatAsksForARecheckIsTerminalWithTheSoonestOne) {
  Pass pass = newPass();
  pass.set("PipelineReady", StepResult::failed("InvalidPipelineSpec", "bad YAML", Retryable::kNo));
  pass.set("GitOpsReady", StepResult::failed("OwnedElsewhere", "taken", Retryable::kNo, 30s));
  pass.set("TriggerReady", StepResult::failed("OwnedElsewhere", "taken too", Retryable::kNo, 10s));
  pass.set("AccessReady", StepResult::waiting("Waiting", "later", 5s));
  const Outcome outcome = pass.outcome();
  ASSERT_TRUE(std::holds_alternative<Terminal>(outcome));
  EXPECT_EQ(std::get<Terminal>(outcome).reason, "bad YAML");
  EXPECT_EQ(std::get<Terminal>(outcome).recheck, std::optional<kube::runtime::Duration>(10s))
      << "a wait's recheck is not a failure's";
  EXPECT_EQ(pass.phase(), api::Phase::kFailed);
}

TEST(ReconcilePass, ARetryableFailureRetriesBeforeAnyPermanentOne) {
  Pass pass = newPass();
  pass.set("PipelineReady", StepResult::failed("InvalidPipelineSpec", "bad YAML", Retryable::kNo));
  pass.set("TriggerReady", StepResult::failed("ApplyFailed", "connection refused", Retryable::kYes));
  const Outcome outcome = pass.outcome();
  ASSERT_TRUE(std::holds_alternative<Retry>(outcome));
  EXPECT_EQ(std::get<Retry>(outcome).reason, "connection refused");
  // A permanent failure still shows: the phase says Failed, not Provisioning.
  EXPECT_EQ(pass.phase(), api::Phase::kFailed);
}

TEST(ReconcilePass, WaitingIsPendingAndRechecksAtTheSoonestInterval) {
  Pass watched = newPass();
  watched.stopAt(StepResult::waiting("OrganizationNotReady", "waiting for acme"));
  EXPECT_EQ(watched.phase(), api::Phase::kPending);
  EXPECT_TRUE(std::holds_alternative<Done>(watched.outcome()));  // the Organization's watch wakes it
  EXPECT_EQ(ready(watched).reason, "OrganizationNotReady");

  Pass rechecked = newPass();
  rechecked.set("A", StepResult::waiting("Slow", "", 30s));
  rechecked.set("B", StepResult::waiting("Slower", "", 5s));
  const Outcome outcome = rechecked.outcome();
  ASSERT_TRUE(std::holds_alternative<RequeueAfter>(outcome));
  EXPECT_EQ(std::get<RequeueAfter>(outcome).delay, 5s);
}

TEST(ReconcilePass, AGateNamesItsOwnReasonOnReadyAndSummariseKeepsIt) {
  Pass pass = newPass();
  const StepResult ns = StepResult::failed("NamespaceConflict", "namespace app belongs to team/other", Retryable::kNo);
  pass.set("NamespaceReady", ns);
  pass.stopAt(ns, "NamespaceNotReady");
  pass.summarise("unused");
  EXPECT_EQ(ready(pass).reason, "NamespaceNotReady");
  EXPECT_EQ(ready(pass).message, "namespace app belongs to team/other");
  EXPECT_TRUE(std::holds_alternative<Terminal>(pass.outcome()));
}

TEST(ReconcilePass, AnObjectBeingDeletedIsTerminating) {
  Pass pass = newPass(/*deleting=*/true);
  pass.set("X", StepResult::failed("ApplyFailed", "", Retryable::kYes));
  EXPECT_EQ(pass.phase(), api::Phase::kTerminating);
}

TEST(StepResult, ReadsTheSameWhateverItsState) {
  const StepResult waiting = StepResult::waiting("Reason", "message", 1s);
  EXPECT_FALSE(waiting.succeeded());
  EXPECT_FALSE(waiting.retryable());
  EXPECT_EQ(waiting.reason(), "Reason");
  EXPECT_EQ(waiting.message(), "message");
  EXPECT_TRUE(StepResult::failed("R", "m", Retryable::kYes).retryable());
  EXPECT_TRUE(StepResult::ok("R", "m").succeeded());
}

}  // namespace
}  // namespace aphex
