// The RepoBinding reconciler's decisions — placement, waiting for the Organization, whose the
// pipeline namespace is, the order of deletion — on an in-memory object API, in milliseconds.
// The integration tests prove the same against a real API server; these pin the decisions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/children.h"
#include "aphex/repobinding/reconciler.h"
#include "support/fake_caches.h"
#include "support/fake_clock.h"
#include "support/fake_kube.h"

namespace aphex::repobinding {
namespace {

using kube::Json;
using kube::runtime::Done;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
using kube::runtime::Retry;
using kube::runtime::Terminal;
using kube::testing::FakeObjectApi;
using kube::testing::Verb;
using kube::testing::Write;
using ::testing::HasSubstr;
namespace res = aphex::resources;

constexpr const char* kPlatform = "platform-system";

constexpr const char* kPipeline = R"(apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: build}
spec:
  params:
    - {name: git-url, type: string}
    - {name: git-revision, type: string}
    - {name: repo-full-name, type: string}
    - {name: event-type, type: string}
    - {name: event-id, type: string}
  tasks:
    - name: hello
      taskSpec:
        steps: [{name: hello, image: "alpine:3.20", script: echo hello}]
)";

class RepoBindingReconcilerTest : public ::testing::Test {
 protected:
  RepoBindingReconcilerTest() {
    config_.platform_namespace = kPlatform;
    for (const auto& kind : kinds()) children_.add(kind, stores_[kind.plural]);
    repo_bindings_.addIndex(std::string(kBindingsByOrganization), [](const Json& binding) {
      return std::vector<std::string>{binding["spec"].value("aphexOrg", "")};
    });
  }

  static std::vector<kube::ResourceType> kinds() {
    std::vector<kube::ResourceType> all = childKinds();
    all.push_back(res::kNamespaces);
    return all;
  }

  Reconciler& reconciler() {
    if (!reconciler_) {
      reconciler_ = std::make_unique<Reconciler>(ReconcilerDeps{.client = api_,
                                                                .clock = clock_,
                                                                .config = config_,
                                                                .repo_bindings = repo_bindings_,
                                                                .organizations = organizations_,
                                                                .api_server_endpoints = endpoints_,
                                                                .children = children_,
                                                                .events = events_});
    }
    return *reconciler_;
  }

  // What informers would hold after the API server's last change: Aphex's objects and children
  // (children only as far as they carry Aphex's label, as the real caches).
  void syncCaches() {
    kube::testing::fillStore(api_, organizations_, api::kOrganizations, kPlatform);
    kube::testing::fillStore(api_, repo_bindings_, api::kRepoBindings);
    for (const auto& kind : kinds()) {
      kube::testing::fillStore(api_, stores_[kind.plural], kind, "", std::string(kManagedSelector));
    }
  }

  // One pass, with the caches as the last one left them.
  Outcome pass(const std::string& ns = kPlatform, const std::string& name = "app1") {
    syncCaches();
    writes_before_ = api_.writes().size();
    return reconciler().reconcile({.ns = ns, .name = name}, {});
  }

  // The writes of the last pass, status writes and list calls aside.
  std::vector<Write> passWrites() const {
    std::vector<Write> writes;
    const auto all = api_.writes();
    for (std::size_t i = writes_before_; i < all.size(); ++i) writes.push_back(all[i]);
    return writes;
  }

  void seedReadyOrganization(const std::string& name = "acme") {
    api_.seed(api::kOrganizations, Json::parse(R"({"apiVersion": "aphex.io/v1alpha1", "kind": "Organization",
      "metadata": {"name": ")" + name + R"(", "namespace": "platform-system", "generation": 1},
      "spec": {"adminUsers": ["ada@example.test"]},
      "status": {"observedGeneration": 1, "phase": "Ready", "webhookURL": "https://hooks.example.test/acme",
                 "conditions": [
                   {"type": "Ready", "status": "True", "reason": "Ready", "message": "",
                    "lastTransitionTime": "2026-12-06T10:00:00Z", "observedGeneration": 1},
                   {"type": "WebhookReady", "status": "True", "reason": "ListenerReady", "message": "",
                    "lastTransitionTime": "2026-12-06T10:00:00Z", "observedGeneration": 1}]}})"));
  }

  Json binding(const std::string& ns = kPlatform, const std::string& pipeline = "app1") const {
    return {{"apiVersion", "aphex.io/v1alpha1"},
            {"kind", "RepoBinding"},
            {"metadata", {{"name", "app1"}, {"namespace", ns}, {"generation", 1}}},
            {"spec",
             {{"aphexOrg", "acme"},
              {"repoOrg", "acme-gh"},
              {"repoName", "app1"},
              {"branch", "main"},
              {"pipelineName", pipeline},
              {"pipelineSpec", kPipeline}}}};
  }

  Json stored(const kube::ResourceType& type, const std::string& ns, const std::string& name) const {
    return api_.find(type, ns, name).value_or(Json());
  }
  Json status() const { return stored(api::kRepoBindings, kPlatform, "app1").value("status", Json::object()); }
  std::string readyReason() const {
    for (const auto& condition : status().value("conditions", Json::array())) {
      if (condition["type"] == "Ready") return condition.value("reason", "");
    }
    return "";
  }
  bool holdsFinalizer() const {
    const Json live = stored(api::kRepoBindings, kPlatform, "app1");
    const Json finalizers = live["metadata"].value("finalizers", Json::array());
    return std::find(finalizers.begin(), finalizers.end(), Json(kFinalizer)) != finalizers.end();
  }

  kube::testing::FakeClock clock_;
  FakeObjectApi api_{clock_};
  ControllerConfig config_;
  kube::runtime::Store organizations_;
  kube::runtime::Store repo_bindings_;
  kube::runtime::Store endpoints_;
  std::map<std::string, kube::runtime::Store> stores_;
  ChildCache children_;
  std::shared_ptr<kube::testing::RecordedEvents::Log> events_log_ = std::make_shared<kube::testing::RecordedEvents::Log>();
  kube::runtime::EventRecorder events_{std::make_unique<kube::testing::RecordedEvents>(events_log_), clock_, {}};
  std::unique_ptr<Reconciler> reconciler_;
  std::size_t writes_before_ = 0;
};

TEST_F(RepoBindingReconcilerTest, ABindingOutsideThePlatformAndItsOrgNamespaceFailsForGoodAndMakesNothing) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding("elsewhere"));
  const Outcome outcome = pass("elsewhere");
  EXPECT_TRUE(std::holds_alternative<Terminal>(outcome));
  const Json live = stored(api::kRepoBindings, "elsewhere", "app1");
  EXPECT_EQ(live["status"]["phase"], "Failed");
  EXPECT_EQ(passWrites(), (std::vector<Write>{{Verb::kApply, "repobindings.aphex.io/status", "elsewhere", "app1"}}))
      << "a misplaced binding writes its status and nothing else";
}

TEST_F(RepoBindingReconcilerTest, ABindingWaitsPendingForItsOrganizationWithoutAFinalizer) {
  api_.seed(api::kRepoBindings, binding());
  EXPECT_TRUE(std::holds_alternative<Done>(pass())) << "the Organization's watch wakes it";
  EXPECT_EQ(status()["phase"], "Pending");
  EXPECT_EQ(readyReason(), "OrganizationNotFound");
  EXPECT_FALSE(holdsFinalizer());
  EXPECT_EQ(passWrites().size(), 1u) << "only its status";
}

TEST_F(RepoBindingReconcilerTest, ANamespaceAnotherBindingMadeIsRefusedBeforeTheFinalizer) {
  seedReadyOrganization();
  api_.seed(res::kNamespaces, Json::parse(R"({"apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "app1", "labels": {"app.kubernetes.io/managed-by": "aphex-controller"},
                 "annotations": {"aphex.io/repo-binding": "org-acme/other"}}})"));
  api_.seed(api::kRepoBindings, binding());
  EXPECT_TRUE(std::holds_alternative<Terminal>(pass()));
  EXPECT_EQ(status()["phase"], "Failed");
  EXPECT_EQ(readyReason(), "NamespaceNotReady");
  EXPECT_FALSE(holdsFinalizer()) << "deleting this binding must not touch the other's namespace";
  EXPECT_EQ(stored(res::kNamespaces, "", "app1")["metadata"]["annotations"]["aphex.io/repo-binding"], "org-acme/other");
}

TEST_F(RepoBindingReconcilerTest, AFirstPassAddsTheFinalizerThenClaimsTheNamespaceThenMakesTheChildren) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  const Outcome outcome = pass();
  EXPECT_TRUE(std::holds_alternative<Done>(outcome)) << status().dump(2);
  const auto writes = passWrites();
  ASSERT_GE(writes.size(), 3u);
  EXPECT_EQ(writes[0], (Write{Verb::kMergePatch, "repobindings.aphex.io", kPlatform, "app1"})) << "the finalizer";
  EXPECT_EQ(writes[1], (Write{Verb::kCreate, "namespaces", "", "app1"})) << "a create-only claim";
  EXPECT_EQ(writes.back(), (Write{Verb::kApply, "repobindings.aphex.io/status", kPlatform, "app1"}));
  EXPECT_TRUE(holdsFinalizer());
  EXPECT_EQ(status()["phase"], "Ready");
  events_.flush();
  EXPECT_EQ(events_log_->reasons(), std::vector<std::string>{"Ready"}) << "one Event: Ready, not one per condition";
  // At rest, a second pass writes nothing.
  EXPECT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_TRUE(passWrites().empty()) << ::testing::PrintToString(passWrites());
}

// The namespace was created by this pass with a create-only write, so nothing can be in it that
// the pass would have to refuse: its children are applied without being read first.
TEST_F(RepoBindingReconcilerTest, AFirstPassReadsNothingInsideTheNamespaceItJustCreated) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  ASSERT_TRUE(std::holds_alternative<Done>(pass())) << status().dump(2);
  std::vector<std::string> reads;
  for (const auto& call : api_.calls()) {
    if (call.verb == Verb::kGet && call.ns == "app1") reads.push_back(call.resource + " " + call.name);
  }
  EXPECT_TRUE(reads.empty()) << ::testing::PrintToString(reads);
  EXPECT_EQ(status()["phase"], "Ready");
}

// A namespace the cache has not received yet, read from the server, is this binding's when it
// carries this binding's annotation (an earlier pass made it): not a conflict.
TEST_F(RepoBindingReconcilerTest, ANamespaceReadFromTheServerWithThisBindingsAnnotationIsItsOwn) {
  seedReadyOrganization();
  api_.seed(res::kNamespaces, Json::parse(R"({"apiVersion": "v1", "kind": "Namespace",
    "metadata": {"name": "app1", "annotations": {"aphex.io/repo-binding": "platform-system/app1"}}})"));
  api_.seed(api::kRepoBindings, binding());
  EXPECT_TRUE(std::holds_alternative<Done>(pass())) << status().dump(2);
  EXPECT_EQ(status()["phase"], "Ready");
}

// Until kube-controller-manager has counted a new ResourceQuota, the API server refuses what it
// counts; the pass waits a second and looks again instead of backing off.
TEST_F(RepoBindingReconcilerTest, AWriteRefusedBecauseTheQuotaIsNotCountedYetIsRecheckedShortly) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  api_.failNext(Verb::kApply, kube::testing::statusError(403, "Forbidden",
                                                         "secrets \"terraform-backend\" is forbidden: status unknown "
                                                         "for quota: pipeline-quota, resources: count/secrets"));
  const Outcome outcome = pass();
  ASSERT_TRUE(std::holds_alternative<RequeueAfter>(outcome)) << status().dump(2);
  EXPECT_EQ(std::get<RequeueAfter>(outcome).delay, std::chrono::seconds(1));
  EXPECT_EQ(status()["phase"], "Pending");
  EXPECT_THAT(status().dump(), HasSubstr("QuotaNotCounted"));
  EXPECT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_EQ(status()["phase"], "Ready");
}

// An older object of someone else's, in a namespace that existed before the pass, is still found
// by reading it (it carries no Aphex label, so no cache holds it) and is left alone.
TEST_F(RepoBindingReconcilerTest, AChildNameTakenInANamespaceThatAlreadyExistedIsReadAndRefused) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  ASSERT_TRUE(std::holds_alternative<Done>(pass())) << status().dump(2);
  const std::string runner(kRunnerServiceAccount);
  ASSERT_TRUE(api_.remove(res::kServiceAccounts, "app1", runner)) << "the pipeline runner's ServiceAccount was made";
  const std::vector<std::string> bindings{std::string(kRunnerBinding), std::string(kImpersonationBinding)};
  for (const auto& name : bindings) ASSERT_TRUE(api_.remove(res::kRoleBindings, "app1", name)) << name;
  api_.seed(res::kServiceAccounts, Json::parse(R"({"apiVersion": "v1", "kind": "ServiceAccount",
    "metadata": {"name": "pipeline-runner", "namespace": "app1", "annotations": {"team": "theirs"}}})"));
  pass();
  const Json theirs = stored(res::kServiceAccounts, "app1", runner);
  EXPECT_FALSE(theirs["metadata"]["annotations"].contains(std::string(kRepoBindingAnnotation)))
      << "not taken over: " << theirs.dump();
  EXPECT_THAT(status().dump(), HasSubstr("OwnedElsewhere"));
  for (const auto& name : bindings) {
    EXPECT_FALSE(api_.find(res::kRoleBindings, "app1", name).has_value())
        << name << ": nothing is granted to a ServiceAccount someone else holds";
  }
}

TEST_F(RepoBindingReconcilerTest, ReadyPostsAnEventWhenItTurnsOrChangesItsReasonNotWhenOnlyItsMessageDoes) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  api_.failNext(Verb::kApply, kube::testing::statusError(500, "InternalError", "etcd is slow"));
  ASSERT_TRUE(std::holds_alternative<Retry>(pass()));
  api_.failNext(Verb::kApply, kube::testing::statusError(500, "InternalError", "etcd is still slow"));
  ASSERT_TRUE(std::holds_alternative<Retry>(pass()));
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  events_.flush();
  EXPECT_EQ(events_log_->reasons(), (std::vector<std::string>{"NotReady", "Ready"}))
      << "the second failure has the same reason: no Event";
}

TEST_F(RepoBindingReconcilerTest, ATransientFailureRetriesAndSaysProvisioning) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());
  api_.failNext(Verb::kApply, kube::testing::statusError(500, "InternalError", "etcd is slow"));
  const Outcome outcome = pass();
  ASSERT_TRUE(std::holds_alternative<Retry>(outcome));
  EXPECT_THAT(std::get<Retry>(outcome).reason, HasSubstr("etcd is slow"));
  EXPECT_EQ(status()["phase"], "Provisioning");
}

// Whether every write in `writes` before the first of `last` is a delete.
bool onlyDeletesBefore(const std::vector<Write>& writes, const Write& last) {
  const auto found = std::find(writes.begin(), writes.end(), last);
  if (found == writes.end()) return false;
  return std::all_of(writes.begin() + 1, found, [](const Write& write) { return write.verb == Verb::kRemove; });
}

TEST_F(RepoBindingReconcilerTest, DeletionSaysTerminatingRemovesChildrenReleasesTheNamespaceThenTheFinalizer) {
  seedReadyOrganization();
  api_.seed(api::kRepoBindings, binding());  // deletionPolicy Retain, the default
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  ASSERT_TRUE(api_.remove(api::kRepoBindings, kPlatform, "app1"));  // it holds the finalizer: deletionTimestamp

  ASSERT_TRUE(std::holds_alternative<Done>(pass())) << "one pass: the finalizer patch sees the status write";
  const auto writes = passWrites();
  ASSERT_GE(writes.size(), 3u);
  EXPECT_EQ(writes.front(), (Write{Verb::kApply, "repobindings.aphex.io/status", kPlatform, "app1"}))
      << "Ready turns False first, which takes the namespace off the listener";
  const Write release{Verb::kMergePatch, "namespaces", "", "app1"};
  EXPECT_TRUE(onlyDeletesBefore(writes, release)) << ::testing::PrintToString(writes);
  EXPECT_EQ(writes.back(), (Write{Verb::kMergePatch, "repobindings.aphex.io", kPlatform, "app1"})) << "the finalizer, last";
  EXPECT_FALSE(api_.find(api::kRepoBindings, kPlatform, "app1").has_value());
  EXPECT_FALSE(api_.find(res::kRoleBindings, "app1", "pipeline-runner").has_value());
  const Json retained = stored(res::kNamespaces, "", "app1");
  EXPECT_EQ(retained["metadata"]["annotations"]["aphex.io/retained-from"], "acme/app1");
  EXPECT_FALSE(retained["metadata"]["labels"].contains("app.kubernetes.io/managed-by"));
}

TEST_F(RepoBindingReconcilerTest, DeletionWithPolicyDeleteKeepsTheFinalizerUntilTheNamespaceHasGone) {
  seedReadyOrganization();
  Json deleting = binding();
  deleting["spec"]["deletionPolicy"] = "Delete";
  api_.seed(api::kRepoBindings, deleting);
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  // A namespace controller would hold the namespace until its content is gone.
  ASSERT_TRUE(api_.mergePatch(res::kNamespaces, "", "app1", Json::parse(R"({"metadata": {"finalizers": ["kubernetes"]}})")));
  ASSERT_TRUE(api_.remove(api::kRepoBindings, kPlatform, "app1"));

  const Outcome first = pass();
  ASSERT_TRUE(std::holds_alternative<RequeueAfter>(first)) << ::testing::PrintToString(passWrites());
  EXPECT_TRUE(onlyDeletesBefore(passWrites(), Write{Verb::kRemove, "namespaces", "", "app1"}));
  EXPECT_EQ(readyReason(), "DeletingNamespace");
  EXPECT_TRUE(holdsFinalizer()) << "the finalizer stays until the namespace is gone";

  const Outcome waiting = pass();
  EXPECT_TRUE(std::holds_alternative<RequeueAfter>(waiting));
  EXPECT_TRUE(holdsFinalizer());

  ASSERT_TRUE(api_.mergePatch(res::kNamespaces, "", "app1", Json::parse(R"({"metadata": {"finalizers": null}})")));
  ASSERT_FALSE(api_.find(res::kNamespaces, "", "app1").has_value());
  EXPECT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_FALSE(api_.find(api::kRepoBindings, kPlatform, "app1").has_value()) << "the finalizer went, and the object";
}

}  // namespace
}  // namespace aphex::repobinding
