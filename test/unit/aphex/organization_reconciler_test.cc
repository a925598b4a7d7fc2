// The Organization reconciler's decisions — validation before anything is made, the finalizer
// before the namespace, and the order of deletion — on an in-memory object API, in milliseconds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/organization/reconciler.h"
#include "aphex/repobinding/children.h"
#include "support/fake_caches.h"
#include "support/fake_clock.h"
#include "support/fake_kube.h"

namespace aphex::organization {
namespace {

using kube::Json;
using kube::runtime::Done;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
using kube::runtime::Terminal;
using kube::testing::Verb;
using kube::testing::Write;
namespace res = aphex::resources;

constexpr const char* kPlatform = "platform-system";

class OrganizationReconcilerTest : public ::testing::Test {
 protected:
  OrganizationReconcilerTest() {
    config_.platform_namespace = kPlatform;
    for (const auto& kind : kinds()) children_.add(kind, stores_[kind.apiVersion() + "/" + kind.plural]);
    repo_bindings_.addIndex(std::string(kBindingsByOrganization), [](const Json& binding) {
      return std::vector<std::string>{binding["spec"].value("aphexOrg", "")};
    });
  }

  static std::vector<kube::ResourceType> kinds() {
    return {res::kNamespaces,   res::kSecrets,      res::kConfigMaps,    res::kServiceAccounts,
            res::kDeployments,  res::kRoles,        res::kRoleBindings,  res::kClusterRoleBindings,
            res::kIngresses,    res::kEventListeners, res::kClusterSecretStores, res::kNetworkPolicies,
            res::kResourceQuotas};
  }

  Reconciler& reconciler() {
    if (!reconciler_) {
      reconciler_ = std::make_unique<Reconciler>(ReconcilerDeps{.client = api_,
                                                                .clock = clock_,
                                                                .config = config_,
                                                                .organizations = organizations_,
                                                                .repo_bindings = repo_bindings_,
                                                                .api_server_endpoints = endpoints_,
                                                                .children = children_,
                                                                .events = events_});
    }
    return *reconciler_;
  }

  Outcome pass() {
    kube::testing::fillStore(api_, organizations_, api::kOrganizations, kPlatform);
    kube::testing::fillStore(api_, repo_bindings_, api::kRepoBindings);
    for (const auto& kind : kinds()) {
      kube::testing::fillStore(api_, stores_[kind.apiVersion() + "/" + kind.plural], kind, "",
                               std::string(kManagedSelector));
    }
    writes_before_ = api_.writes().size();
    return reconciler().reconcile({.ns = kPlatform, .name = "acme"}, {});
  }

  std::vector<Write> passWrites() const {
    const auto all = api_.writes();
    return {all.begin() + static_cast<std::ptrdiff_t>(writes_before_), all.end()};
  }

  static Json organization(const std::string& display_name = "Acme") {
    return {{"apiVersion", "aphex.io/v1alpha1"},
            {"kind", "Organization"},
            {"metadata", {{"name", "acme"}, {"namespace", kPlatform}, {"generation", 1}}},
            {"spec", {{"displayName", display_name}, {"adminUsers", {"ada@example.test"}}}}};
  }

  Json stored() const { return api_.find(api::kOrganizations, kPlatform, "acme").value_or(Json()); }
  std::string readyReason() const {
    for (const auto& condition : stored()["status"].value("conditions", Json::array())) {
      if (condition["type"] == "Ready") return condition.value("reason", "");
    }
    return "";
  }

  kube::testing::FakeClock clock_;
  kube::testing::FakeObjectApi api_{clock_};
  ControllerConfig config_;
  kube::runtime::Store organizations_;
  kube::runtime::Store repo_bindings_;
  kube::runtime::Store endpoints_;
  std::map<std::string, kube::runtime::Store> stores_;
  ChildCache children_;
  kube::runtime::EventRecorder events_{std::make_unique<kube::testing::DiscardedEvents>(), clock_, {}};
  std::unique_ptr<Reconciler> reconciler_;
  std::size_t writes_before_ = 0;
};

TEST_F(OrganizationReconcilerTest, AnInvalidSpecFailsForGoodBeforeTheFinalizerAndMakesNothing) {
  api_.seed(api::kOrganizations, organization("   "));
  EXPECT_TRUE(std::holds_alternative<Terminal>(pass()));
  EXPECT_EQ(stored()["status"]["phase"], "Failed");
  EXPECT_EQ(readyReason(), "InvalidSpec");
  EXPECT_EQ(passWrites(), (std::vector<Write>{{Verb::kApply, "organizations.aphex.io/status", kPlatform, "acme"}}));
}

TEST_F(OrganizationReconcilerTest, AFirstPassAddsTheFinalizerThenTheNamespaceAndAtRestWritesNothing) {
  api_.seed(api::kOrganizations, organization());
  EXPECT_TRUE(std::holds_alternative<Done>(pass())) << stored()["status"].dump(2);
  const auto writes = passWrites();
  ASSERT_GE(writes.size(), 3u);
  EXPECT_EQ(writes[0], (Write{Verb::kMergePatch, "organizations.aphex.io", kPlatform, "acme"})) << "the finalizer";
  EXPECT_EQ(writes[1], (Write{Verb::kApply, "namespaces", "", "org-acme"}));
  EXPECT_EQ(stored()["status"]["phase"], "Ready");
  EXPECT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_TRUE(passWrites().empty()) << ::testing::PrintToString(passWrites());
}

// The admin bindings are looked up in the org's own namespace: another org's, under the same
// name and labels, is not a former admin of this one.
TEST_F(OrganizationReconcilerTest, AFormerAdminsBindingIsRemovedFromTheOrgsNamespaceOnly) {
  api_.seed(api::kOrganizations, organization());
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  for (const std::string ns : {"org-acme", "org-other"}) {
    api_.seed(res::kRoleBindings,
              {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "RoleBinding"},
               {"metadata", {{"name", "org-admin-former"}, {"namespace", ns},
                             {"labels", {{std::string(kManagedByLabel), std::string(kManagedByValue)},
                                         {std::string(kComponentLabel), std::string(kAdminComponent)}}}}}});
  }
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_EQ(passWrites(), (std::vector<Write>{{Verb::kRemove, "rolebindings.rbac.authorization.k8s.io", "org-acme",
                                               "org-admin-former"}}));
  EXPECT_TRUE(api_.find(res::kRoleBindings, "org-other", "org-admin-former").has_value());
}

TEST_F(OrganizationReconcilerTest, DeletionWaitsForItsRepoBindingsBeforeTouchingAnythingElse) {
  api_.seed(api::kOrganizations, organization());
  ASSERT_TRUE(std::holds_alternative<Done>(pass()));
  api_.seed(api::kRepoBindings, Json::parse(R"({"apiVersion": "aphex.io/v1alpha1", "kind": "RepoBinding",
    "metadata": {"name": "app1", "namespace": "org-acme", "finalizers": ["aphex.io/cleanup"]},
    "spec": {"aphexOrg": "acme", "repoOrg": "acme-gh", "repoName": "app1", "branch": "main",
             "pipelineName": "app1", "pipelineSpec": "x"}})"));
  ASSERT_TRUE(api_.remove(api::kOrganizations, kPlatform, "acme"));

  const Outcome first = pass();
  ASSERT_TRUE(std::holds_alternative<RequeueAfter>(first));
  EXPECT_EQ(passWrites(), (std::vector<Write>{{Verb::kApply, "organizations.aphex.io/status", kPlatform, "acme"},
                                              {Verb::kRemove, "repobindings.aphex.io", "org-acme", "app1"},
                                              {Verb::kApply, "organizations.aphex.io/status", kPlatform, "acme"}}))
      << "Terminating, the binding, waiting: nothing of the org's own goes while a binding may still need it";
  EXPECT_EQ(readyReason(), "DeletingRepoBindings");

  // The binding's own finalizer has run.
  ASSERT_TRUE(api_.mergePatch(api::kRepoBindings, "org-acme", "app1", Json::parse(R"({"metadata": {"finalizers": null}})")));
  ASSERT_TRUE(std::holds_alternative<RequeueAfter>(pass())) << "waits for the namespace";
  const auto writes = passWrites();
  const auto namespace_delete = std::find(writes.begin(), writes.end(), Write{Verb::kRemove, "namespaces", "", "org-acme"});
  ASSERT_NE(namespace_delete, writes.end()) << ::testing::PrintToString(writes);
  const auto binding_delete = std::find(writes.begin(), writes.end(),
                                        Write{Verb::kRemove, "clusterrolebindings.rbac.authorization.k8s.io", "",
                                              eventListenerBindingName(*api::Organization::fromJson(organization()))});
  EXPECT_LT(binding_delete - writes.begin(), namespace_delete - writes.begin())
      << "cluster-scoped objects, which no namespace deletion reaches, go first";
  EXPECT_EQ(readyReason(), "DeletingNamespace");

  EXPECT_FALSE(api_.find(res::kNamespaces, "", "org-acme").has_value()) << "the fake deletes it at once";
  EXPECT_TRUE(std::holds_alternative<Done>(pass()));
  EXPECT_FALSE(api_.find(api::kOrganizations, kPlatform, "acme").has_value()) << "the finalizer went last";
}

}  // namespace
}  // namespace aphex::organization
