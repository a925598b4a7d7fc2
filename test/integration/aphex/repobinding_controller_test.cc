// The RepoBinding controller on the real control plane, with the real Tekton, Argo CD and External
// Secrets CRDs, under the shipped RBAC: onboarding, tenant isolation by the real authorizer, bad
// pipelineSpecs, ordering, spec changes, drift, deletion, and zero writes at rest.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "aphex/api/group.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/resources.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"
#include "integration/support/controller_test.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::conditionMessage;
using ::aphex::testing::conditionStatus;
using ::aphex::testing::controllerIdentity;
using ::aphex::testing::ensureNamespace;
using ::aphex::testing::eventually;
using ::aphex::testing::isReady;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace res = aphex::resources;
namespace rb_res = aphex::repobinding::resources;
using kube::Json;

const kube::ResourceType kApplications{
    .group = "argoproj.io", .version = "v1alpha1", .plural = "applications", .namespaced = true};
const kube::ResourceType kSubjectAccessReviews{
    .group = "authorization.k8s.io", .version = "v1", .plural = "subjectaccessreviews", .namespaced = false};

// Every namespaced kind a RepoBinding makes in its pipeline namespace, with the names it gives them.
struct Made {
  kube::ResourceType type;
  std::string name;  // "" : the pipeline's name
};
const std::vector<Made> kInPipelineNamespace = {
    {rb_res::kPipelines, ""},          {res::kServiceAccounts, "pipeline-runner"},
    {res::kRoleBindings, "pipeline-runner"}, {res::kRoleBindings, "aphex-eventlistener-impersonation"},
    {rb_res::kResourceQuotas, "tenant-quota"}, {rb_res::kLimitRanges, "tenant-limits"},
    {rb_res::kNetworkPolicies, "tenant-isolation"}, {res::kSecrets, "terraform-backend-config"},
    {rb_res::kTriggers, ""}};

class RepoBindingControllerTest : public aphex::testing::ControllerTest {
 protected:
  static std::string phase(const Json& object) {
    const auto status = object.find("status");
    return status != object.end() && status->is_object() ? status->value("phase", "") : "";
  }

  // The namespaces the org's EventListener takes Triggers from.
  std::set<std::string> listenerNamespaces(const std::string& org_name) {
    const Json listener = get(aphex::resources::kEventListeners, "org-" + org_name, "github-listener");
    std::set<std::string> namespaces;
    if (!listener.is_object()) return namespaces;
    // value() all the way: a listener serving no namespace yet has no namespaceSelector, and a const
    // operator[] on a missing key is undefined.
    for (const auto& trigger_group : listener.value("spec", Json::object()).value("triggerGroups", Json::array())) {
      const Json selector = trigger_group.value("triggerSelector", Json::object()).value("namespaceSelector", Json::object());
      for (const auto& ns : selector.value("matchNames", Json::array())) namespaces.insert(ns.get<std::string>());
    }
    return namespaces;
  }

  // Whether the real authorizer lets `user` (with `groups`) do `verb` on `resource`.
  bool allowed(const std::string& user, const std::vector<std::string>& groups, const std::string& verb,
               const std::string& group, const std::string& resource, const std::string& ns,
               const std::string& name = "") {
    Json attributes{{"verb", verb}, {"group", group}, {"resource", resource}};
    if (!ns.empty()) attributes["namespace"] = ns;
    if (!name.empty()) attributes["name"] = name;
    const Json review{{"apiVersion", "authorization.k8s.io/v1"},
                      {"kind", "SubjectAccessReview"},
                      {"spec", {{"user", user}, {"groups", groups}, {"resourceAttributes", attributes}}}};
    auto answer = admin_->create(kSubjectAccessReviews, "", review);
    if (!answer) throw std::runtime_error(answer.error().message);
    return (*answer)["status"].value("allowed", false);
  }
  bool serviceAccountMay(const std::string& ns, const std::string& account, const std::string& verb,
                         const std::string& group, const std::string& resource, const std::string& in_ns,
                         const std::string& name = "") {
    return allowed("system:serviceaccount:" + ns + ":" + account,
                   {"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}, verb, group,
                   resource, in_ns, name);
  }
};

TEST_F(RepoBindingControllerTest, OnboardsRepositoriesInThePlatformAndTheOrgNamespace) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  const std::string org_ns = "org-" + name;
  const Binding first = binding(name);
  const Binding second = binding(name, "", {{"branch", "release/1.x"}, {"deletionPolicy", "Delete"}});
  const Binding self_service = binding(name, org_ns);
  for (const auto& b : {first, second, self_service}) waitReady(b);

  for (const auto& b : {first, second, self_service}) {
    const Json status = current(b)["status"];
    EXPECT_EQ(status["phase"], "Ready");
    EXPECT_EQ(status["pipelineNamespace"], b.pipeline);
    EXPECT_EQ(status["webhookURL"], org(name)["status"]["webhookURL"]);
    EXPECT_EQ(status["webhookSecretRef"],
              (Json{{"namespace", org_ns}, {"name", "github-webhook-secret"}, {"key", "secret"}}));
    EXPECT_EQ(status["githubWebhookSettingsURL"], "https://github.com/gh-" + name + "/" + b.pipeline + "/settings/hooks");
    for (const char* type : {"NamespaceReady", "PipelineReady", "AccessReady", "GuardrailsReady", "GitOpsReady",
                             "TriggerReady"}) {
      EXPECT_EQ(conditionStatus(current(b), type), "True") << type;
    }
    // Every child exists, accepted by the API server with the real CRDs.
    const Json ns = get(res::kNamespaces, "", b.pipeline);
    EXPECT_EQ(ns["metadata"]["labels"]["aphex.io/organization"], name);
    EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted") << "tenant code";
    for (const auto& made : kInPipelineNamespace) {
      EXPECT_TRUE(exists(made.type, b.pipeline, made.name.empty() ? b.pipeline : made.name))
          << made.type.plural << " " << made.name;
    }
    const Json project = get(rb_res::kAppProjects, "argocd", "pipeline-" + b.pipeline);
    EXPECT_EQ(project["spec"]["sourceNamespaces"], Json::array({b.pipeline}));
    EXPECT_EQ(project["spec"]["destinations"][0]["namespace"], b.pipeline);
  }
  const Json trigger = get(rb_res::kTriggers, second.pipeline, second.pipeline);
  EXPECT_THAT(trigger["spec"]["interceptors"][0]["params"][0]["value"].get<std::string>(),
              HasSubstr("'refs/heads/release/1.x'"));
  EXPECT_EQ(trigger["spec"]["serviceAccountName"], "pipeline-runner");
  EXPECT_EQ(trigger["metadata"]["labels"]["aphex.io/organization"], name);
  // Webhook trust, as the API server stored it: the clone URL is the bound repository's, never the
  // payload's, and a run is named after its delivery, so a replayed delivery makes no second run.
  // Bindings and template are inline in the Trigger (Tekton's embedded forms), as stored.
  EXPECT_THAT(trigger["spec"]["bindings"].dump(),
              HasSubstr("\"https://github.com/gh-" + name + "/" + second.pipeline + ".git\""));
  EXPECT_THAT(trigger["spec"]["bindings"].dump(), ::testing::Not(HasSubstr("clone_url")));
  const Json run = trigger["spec"]["template"]["spec"]["resourcetemplates"][0];
  EXPECT_EQ(run["metadata"]["name"], second.pipeline + "-$(tt.params.event-id)");

  // The org's EventListener serves exactly these three namespaces.
  EXPECT_TRUE(eventually([&] {
    return listenerNamespaces(name) == std::set<std::string>{first.pipeline, second.pipeline, self_service.pipeline};
  }, 20s));
  EXPECT_TRUE(eventually([&] { return org(name)["status"].value("repoBindings", 0) == 3; }, 20s));

  // At rest, and after a restart: no writes.
  std::this_thread::sleep_for(2s);
  const int writes_before = controller_->writes();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(controller_->writes(), writes_before) << "ready bindings must cost zero writes";
  controller_.reset();
  start();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(controller_->writes(), 0) << "a restart must cost zero writes";
}

TEST_F(RepoBindingControllerTest, TenantsAreIsolatedByTheRealAuthorizer) {
  start();
  const std::string org_a = createOrganization("orga");
  const std::string org_b = createOrganization("orgb", {"carol@example.com"});
  waitOrgReady(org_a);
  waitOrgReady(org_b);
  const Binding a = binding(org_a);
  const Binding b = binding(org_b);
  waitReady(a);
  waitReady(b);

  // A's pipeline-runner works in A's namespace...
  EXPECT_TRUE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "tekton.dev", "pipelineruns", a.pipeline));
  EXPECT_TRUE(serviceAccountMay(a.pipeline, "pipeline-runner", "get", "", "secrets", a.pipeline));
  EXPECT_TRUE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "argoproj.io", "applications", a.pipeline));
  // ...and nowhere else.
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "get", "", "secrets", b.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "list", "", "secrets", b.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "", "pods", b.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "tekton.dev", "pipelineruns", b.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "get", "", "secrets", "org-" + org_a));
  // Nothing cluster-scoped, no RBAC, no exec, and not the guardrails of its own namespace.
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "list", "", "namespaces", ""));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "rbac.authorization.k8s.io",
                                 "clusterrolebindings", ""));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "rbac.authorization.k8s.io", "rolebindings",
                                 a.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "create", "", "pods/exec", a.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "delete", "networking.k8s.io", "networkpolicies",
                                 a.pipeline));
  EXPECT_FALSE(serviceAccountMay(a.pipeline, "pipeline-runner", "update", "argoproj.io", "appprojects", "argocd"));

  // A's EventListener may become A's pipeline-runner only, and reads no Secret.
  const std::string listener_ns = "org-" + org_a;
  EXPECT_TRUE(serviceAccountMay(listener_ns, "eventlistener", "impersonate", "", "serviceaccounts", a.pipeline,
                                "pipeline-runner"));
  EXPECT_FALSE(serviceAccountMay(listener_ns, "eventlistener", "impersonate", "", "serviceaccounts", b.pipeline,
                                 "pipeline-runner"));
  EXPECT_FALSE(serviceAccountMay(listener_ns, "eventlistener", "impersonate", "", "serviceaccounts", a.pipeline,
                                 "default"));
  EXPECT_FALSE(serviceAccountMay(listener_ns, "eventlistener", "get", "", "secrets", listener_ns));
  EXPECT_FALSE(serviceAccountMay(listener_ns, "eventlistener", "create", "tekton.dev", "pipelineruns", a.pipeline));

  // An admin of A may onboard repositories for A, in A's namespace, and not for B.
  const std::vector<std::string> groups = {"system:authenticated"};
  EXPECT_TRUE(allowed("alice@example.com", groups, "create", "aphex.io", "repobindings", "org-" + org_a));
  EXPECT_FALSE(allowed("alice@example.com", groups, "create", "aphex.io", "repobindings", "org-" + org_b));
  EXPECT_FALSE(allowed("alice@example.com", groups, "create", "aphex.io", "repobindings", platform_.name()));
  EXPECT_FALSE(allowed("alice@example.com", groups, "get", "", "secrets", b.pipeline));
}

TEST_F(RepoBindingControllerTest, BadPipelineSpecsGetAPreciseConditionEach) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  std::string big = "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  tasks: []\n  description: |\n";
  while (big.size() < 200000) big += "    " + std::string(90, 'x') + "\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kind: [Pipeline", "not valid YAML"},
      {"apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nspec: {tasks: []}\n",
       "apiVersion must be tekton.dev/v1, not \"tekton.dev/v1beta1\""},
      {"apiVersion: tekton.dev/v1\nkind: Task\nspec: {steps: []}\n", "kind must be Pipeline, not \"Task\""},
      {"apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  params: [{name: git-url}, {name: event-id}]\n",
       "missing: git-revision, repo-full-name, event-type"},
      {big, "missing: git-url, git-revision, repo-full-name, event-type, event-id"},
  };
  std::vector<Binding> bad;
  for (const auto& [spec, expected] : cases) bad.push_back(binding(name, "", {{"pipelineSpec", spec}}));
  const Binding good = binding(name);
  waitReady(good);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(eventually([&] { return conditionStatus(current(bad[i]), "PipelineReady") == "False"; }, 20s))
        << current(bad[i]).dump(2);
    const Json now = current(bad[i]);
    EXPECT_THAT(conditionMessage(now, "PipelineReady"), HasSubstr(cases[i].second));
    EXPECT_THAT(conditionMessage(now, "PipelineReady"), HasSubstr("spec.pipelineSpec"));
    EXPECT_EQ(conditionStatus(now, "Ready"), "False");
    EXPECT_EQ(now["status"]["phase"], "Failed");
    // The rest is in place, so that fixing the spec is all it takes.
    EXPECT_EQ(conditionStatus(now, "TriggerReady"), "True");
  }
  // Beyond the CRD's bound, the API server refuses it at admission.
  Json huge = aphex::testing::repoBindingObject(platform_.name(), uniqueName("rb"), name, uniqueName("p"));
  huge["spec"]["pipelineSpec"] = std::string(300000, 'x');
  auto refused = admin_->create(aphex::api::kRepoBindings, platform_.name(), mine(huge));
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message, HasSubstr("spec.pipelineSpec"));
  // Only Ready bindings feed the EventListener.
  EXPECT_TRUE(eventually([&] { return listenerNamespaces(name) == std::set<std::string>{good.pipeline}; }, 20s));

  // Fixing the spec is enough.
  Json fixed = current(bad[1]);
  fixed["spec"]["pipelineSpec"] = aphex::testing::contractPipelineYaml();
  ASSERT_TRUE(admin_->update(aphex::api::kRepoBindings, bad[1].ns, fixed));
  waitReady(bad[1]);
}

TEST_F(RepoBindingControllerTest, ABindingRefusedWhereItDoesNotBelongOrWhereItsNamespaceIsTaken) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  ScopedNamespace elsewhere(*admin_, "it-elsewhere");
  const Binding misplaced = binding(name, elsewhere.name());
  ASSERT_TRUE(eventually([&] { return phase(current(misplaced)) == "Failed"; }, 20s));
  EXPECT_THAT(conditionMessage(current(misplaced), "Ready"), HasSubstr("must be created in " + platform_.name()));
  EXPECT_FALSE(exists(res::kNamespaces, "", misplaced.pipeline)) << "nothing is made for a misplaced binding";

  // A namespace Aphex did not make is never taken over.
  ScopedNamespace existing(*admin_, "it-existing");
  Json spec = aphex::testing::repoBindingObject(platform_.name(), uniqueName("rb"), name, existing.name());
  ASSERT_TRUE(admin_->create(aphex::api::kRepoBindings, platform_.name(), mine(spec)));
  const Binding taken{.ns = platform_.name(), .name = spec["metadata"]["name"], .pipeline = existing.name()};
  ASSERT_TRUE(eventually([&] { return conditionStatus(current(taken), "NamespaceReady") == "False"; }, 20s));
  EXPECT_THAT(conditionMessage(current(taken), "NamespaceReady"), HasSubstr("already exists"));
  EXPECT_FALSE(exists(rb_res::kTriggers, existing.name(), existing.name()));

  // Nor is one that another binding owns; deleting the loser leaves the winner's objects alone.
  const Binding winner = binding(name);
  waitReady(winner);
  Json second = aphex::testing::repoBindingObject(platform_.name(), uniqueName("rb"), name, winner.pipeline);
  ASSERT_TRUE(admin_->create(aphex::api::kRepoBindings, platform_.name(), mine(second)));
  const Binding loser{.ns = platform_.name(), .name = second["metadata"]["name"], .pipeline = winner.pipeline};
  ASSERT_TRUE(eventually([&] { return conditionStatus(current(loser), "NamespaceReady") == "False"; }, 20s));
  EXPECT_THAT(conditionMessage(current(loser), "NamespaceReady"), HasSubstr("belongs to RepoBinding"));
  ASSERT_TRUE(admin_->remove(aphex::api::kRepoBindings, loser.ns, loser.name));
  ASSERT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, loser.ns, loser.name); }, 30s));
  EXPECT_TRUE(exists(rb_res::kTriggers, winner.pipeline, winner.pipeline));
  EXPECT_TRUE(isReady(current(winner)));
}

TEST_F(RepoBindingControllerTest, ABindingCreatedBeforeItsOrganizationWaitsForIt) {
  start();
  const std::string name = uniqueName("late");
  const Binding early = binding(name);
  ASSERT_TRUE(eventually([&] { return phase(current(early)) == "Pending"; }, 20s));
  EXPECT_THAT(conditionMessage(current(early), "Ready"), HasSubstr("does not exist"));
  EXPECT_FALSE(exists(res::kNamespaces, "", early.pipeline));
  ASSERT_TRUE(admin_->create(aphex::api::kOrganizations, platform_.name(),
                             mine(aphex::testing::organizationObject(platform_.name(), name))));
  waitReady(early);
}

TEST_F(RepoBindingControllerTest, SpecChangesAreAppliedAndDriftIsRepaired) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  const Binding b = binding(name);
  waitReady(b);

  // A new branch changes the filter; a new pipelineSpec changes the Pipeline.
  Json changed = current(b);
  changed["spec"]["branch"] = "develop";
  changed["spec"]["pipelineSpec"] = aphex::testing::contractPipelineYaml("changed");
  ASSERT_TRUE(admin_->update(aphex::api::kRepoBindings, b.ns, changed));
  EXPECT_TRUE(eventually([&] {
    const Json trigger = get(rb_res::kTriggers, b.pipeline, b.pipeline);
    return trigger.dump().find("refs/heads/develop") != std::string::npos;
  }, 20s));
  EXPECT_TRUE(eventually([&] {
    return get(rb_res::kPipelines, b.pipeline, b.pipeline).dump().find("echo changed") != std::string::npos;
  }, 20s));
  waitReady(b);

  // Deleted and edited children come back as they were.
  ASSERT_TRUE(admin_->remove(rb_res::kTriggers, b.pipeline, b.pipeline));
  ASSERT_TRUE(admin_->remove(res::kRoleBindings, b.pipeline, "aphex-eventlistener-impersonation"));
  Json policy = get(rb_res::kNetworkPolicies, b.pipeline, "tenant-isolation");
  policy["spec"]["ingress"] = Json::array({Json::object()});  // allow from everywhere
  ASSERT_TRUE(admin_->update(rb_res::kNetworkPolicies, b.pipeline, policy));
  EXPECT_TRUE(eventually([&] { return exists(rb_res::kTriggers, b.pipeline, b.pipeline); }, 20s));
  EXPECT_TRUE(eventually([&] { return exists(res::kRoleBindings, b.pipeline, "aphex-eventlistener-impersonation"); },
                         20s));
  EXPECT_TRUE(eventually([&] {
    return get(rb_res::kNetworkPolicies, b.pipeline, "tenant-isolation")["spec"]["ingress"][0].contains("from");
  }, 20s));
}

// Earlier versions made a TriggerBinding and a TriggerTemplate beside the Trigger. After an
// upgrade they are removed (they are the binding's: its labels and annotation), and objects of
// the same kinds that are not the binding's stay.
TEST_F(RepoBindingControllerTest, TheTriggerBindingAndTemplateOfAnEarlierVersionAreRemoved) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  const Binding b = binding(name);
  waitReady(b);
  auto earlier = kube::Client::create(identity_);  // what the controller of an earlier version was
  ASSERT_TRUE(earlier) << earlier.error().message;
  const Json trigger_labels = get(rb_res::kTriggers, b.pipeline, b.pipeline)["metadata"]["labels"];
  auto made_earlier = [&](const char* kind, const std::string& object_name, bool owned) {
    Json metadata{{"name", object_name}, {"namespace", b.pipeline}};
    if (owned) {
      metadata["labels"] = trigger_labels;
      metadata["annotations"] = {{"aphex.io/repo-binding", b.ns + "/" + b.name}};
    }
    return Json{{"apiVersion", "triggers.tekton.dev/v1beta1"}, {"kind", kind}, {"metadata", metadata},
                {"spec", {{"params", Json::array()}}}};
  };
  ASSERT_TRUE((*earlier)->create(rb_res::kTriggerBindings, b.pipeline, made_earlier("TriggerBinding", b.pipeline, true)));
  ASSERT_TRUE((*earlier)->create(rb_res::kTriggerTemplates, b.pipeline, made_earlier("TriggerTemplate", b.pipeline, true)));
  ASSERT_TRUE(admin_->create(rb_res::kTriggerBindings, b.pipeline, made_earlier("TriggerBinding", "team-own", false)));
  EXPECT_TRUE(eventually([&] { return gone(rb_res::kTriggerBindings, b.pipeline, b.pipeline); }, 20s));
  EXPECT_TRUE(eventually([&] { return gone(rb_res::kTriggerTemplates, b.pipeline, b.pipeline); }, 20s));
  EXPECT_TRUE(exists(rb_res::kTriggerBindings, b.pipeline, "team-own")) << "not the binding's: left alone";
  EXPECT_TRUE(exists(rb_res::kTriggers, b.pipeline, b.pipeline));
  waitReady(b);
}

TEST_F(RepoBindingControllerTest, DeletionRemovesExactlyWhatTheBindingMade) {
  start();
  const std::string name = createOrganization();
  waitOrgReady(name);
  const Binding kept = binding(name);
  const Binding wiped = binding(name, "", {{"deletionPolicy", "Delete"}});
  const Binding other = binding(name);
  for (const auto& b : {kept, wiped, other}) waitReady(b);
  // A team's Argo CD Application in its pipeline namespace (no label needed: every Application
  // there is the pipeline's), and a Secret Terraform wrote.
  const Json application{{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Application"},
                         {"metadata", {{"name", "web"}, {"namespace", kept.pipeline}}},
                         {"spec", {{"project", "pipeline-" + kept.pipeline},
                                   {"source", {{"repoURL", "https://github.com/gh-" + name + "/" + kept.pipeline},
                                               {"path", "deploy"}}},
                                   {"destination", {{"server", "https://kubernetes.default.svc"},
                                                    {"namespace", kept.pipeline}}}}}};
  ASSERT_TRUE(admin_->create(kApplications, kept.pipeline, application));
  const Json state{{"apiVersion", "v1"}, {"kind", "Secret"},
                   {"metadata", {{"name", "tfstate-default-" + kept.pipeline}, {"namespace", kept.pipeline}}}};
  ASSERT_TRUE(admin_->create(res::kSecrets, kept.pipeline, state));

  ASSERT_TRUE(admin_->remove(aphex::api::kRepoBindings, kept.ns, kept.name));
  ASSERT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, kept.ns, kept.name); }, 30s))
      << current(kept).dump(2);
  for (const auto& made : kInPipelineNamespace) {
    EXPECT_TRUE(gone(made.type, kept.pipeline, made.name.empty() ? kept.pipeline : made.name)) << made.type.plural;
  }
  EXPECT_TRUE(gone(rb_res::kAppProjects, "argocd", "pipeline-" + kept.pipeline));
  EXPECT_TRUE(gone(kApplications, kept.pipeline, "web"));
  // Retain: the namespace and what the team keeps in it stay, released by Aphex.
  const Json ns = get(res::kNamespaces, "", kept.pipeline);
  ASSERT_FALSE(ns.is_null());
  EXPECT_FALSE(ns["metadata"]["labels"].contains("aphex.io/organization")) << ns.dump(2);
  EXPECT_FALSE(ns["metadata"]["labels"].contains("app.kubernetes.io/managed-by")) << ns.dump(2);
  EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted") << "never loosened";
  EXPECT_EQ(ns["metadata"]["annotations"]["aphex.io/retained-from"], name + "/" + kept.pipeline);
  EXPECT_TRUE(exists(res::kSecrets, kept.pipeline, "tfstate-default-" + kept.pipeline));
  EXPECT_TRUE(eventually([&] {
    return listenerNamespaces(name) == std::set<std::string>{wiped.pipeline, other.pipeline};
  }, 20s));

  // A new binding of the same organization and pipeline adopts the retained namespace.
  Json again = aphex::testing::repoBindingObject(platform_.name(), uniqueName("rb"), name, kept.pipeline);
  ASSERT_TRUE(admin_->create(aphex::api::kRepoBindings, platform_.name(), mine(again)));
  const Binding adopted{.ns = platform_.name(), .name = again["metadata"]["name"], .pipeline = kept.pipeline};
  waitReady(adopted);

  // Delete: the namespace goes too.
  ASSERT_TRUE(admin_->remove(aphex::api::kRepoBindings, wiped.ns, wiped.name));
  ASSERT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, wiped.ns, wiped.name); }, 60s))
      << current(wiped).dump(2);
  EXPECT_TRUE(gone(res::kNamespaces, "", wiped.pipeline));
  EXPECT_TRUE(isReady(current(other))) << "other bindings are not touched";

  // Deleting the Organization removes every binding and leaves nothing labelled for it.
  ASSERT_TRUE(admin_->remove(aphex::api::kOrganizations, platform_.name(), name));
  ASSERT_TRUE(eventually([&] { return gone(aphex::api::kOrganizations, platform_.name(), name); }, 90s))
      << org(name).dump(2);
  for (const auto& type : {res::kNamespaces, res::kSecrets, res::kServiceAccounts, res::kRoleBindings,
                           rb_res::kPipelines, rb_res::kResourceQuotas, rb_res::kLimitRanges, rb_res::kNetworkPolicies,
                           rb_res::kAppProjects, rb_res::kTriggers, rb_res::kTriggerBindings,
                           rb_res::kTriggerTemplates, res::kClusterSecretStores, res::kEventListeners}) {
    const auto left = admin_->list(type, "", {.label_selector = "aphex.io/organization=" + name});
    ASSERT_TRUE(left) << left.error().message;
    for (const auto& item : (*left)["items"]) {
      if (item["metadata"].contains("deletionTimestamp")) continue;  // on its way out
      ADD_FAILURE() << type.plural << " " << item["metadata"].value("namespace", "") << "/"
                    << item["metadata"].value("name", "") << " was left behind";
    }
  }
  const auto bindings = admin_->list(aphex::api::kRepoBindings, "");
  ASSERT_TRUE(bindings);
  for (const auto& item : (*bindings)["items"]) EXPECT_NE(item["spec"].value("aphexOrg", ""), name);
}

TEST_F(RepoBindingControllerTest, ThreeOrganizationsOfTenBindingsCostNoWritesAtRestOrAfterARestart) {
  start();
  std::vector<std::string> orgs;
  for (int i = 0; i < 3; ++i) orgs.push_back(createOrganization());
  for (const auto& name : orgs) waitOrgReady(name);
  std::vector<Binding> bindings;
  for (const auto& name : orgs) {
    for (int i = 0; i < 10; ++i) bindings.push_back(binding(name, i % 2 == 0 ? "" : "org-" + name));
  }
  for (const auto& b : bindings) waitReady(b, 90s);
  for (const auto& name : orgs) {
    EXPECT_TRUE(eventually([&] { return listenerNamespaces(name).size() == 10; }, 30s)) << name;
  }
  std::this_thread::sleep_for(3s);
  const int writes_before = controller_->writes();
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(controller_->writes(), writes_before) << "30 ready bindings must cost zero writes";
  controller_.reset();
  start();
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(controller_->writes(), 0) << "a restart must cost zero writes";
}

TEST_F(RepoBindingControllerTest, KnowledgeBasesArePublishedForTheIngesterOrSayWhatIsWrong) {
  start();
  const kube::ResourceType config_maps{.group = "", .version = "v1", .plural = "configmaps", .namespaced = true};
  const Json kb{{"apiVersion", "aphex.io/v1alpha1"}, {"kind", "KnowledgeBase"},
                {"metadata", {{"name", "docs"}, {"namespace", platform_.name()}}},
                {"spec", {{"displayName", "Docs"},
                          {"repositories", {{{"url", "https://github.com/acme/app1"}, {"branch", "main"},
                                             {"paths", {".kiro/docs"}}}}}}}};
  ASSERT_TRUE(admin_->create(aphex::api::kKnowledgeBases, platform_.name(), mine(kb)));
  const auto current_kb = [&] { return get(aphex::api::kKnowledgeBases, platform_.name(), "docs"); };
  ASSERT_TRUE(eventually([&] { return isReady(current_kb()); }, 20s)) << current_kb().dump(2);
  EXPECT_EQ(current_kb()["status"]["phase"], "Ready");
  EXPECT_TRUE(current_kb()["status"].contains("lastReconcileTime"));
  const Json repos = Json::parse(get(config_maps, platform_.name(), "docs-repos")["data"].value("repositories.json", "[]"));
  ASSERT_EQ(repos.size(), 1u);
  EXPECT_EQ(repos[0]["url"], "https://github.com/acme/app1");

  // The ConfigMap is watched: edited or deleted, it is put back at once, not at the next
  // five-minute revalidation.
  const Json tampered{{"data", {{"repositories.json", "[]"}}}};
  ASSERT_TRUE(admin_->mergePatch(config_maps, platform_.name(), "docs-repos", tampered));
  ASSERT_TRUE(eventually([&] {
    return get(config_maps, platform_.name(), "docs-repos")["data"].value("repositories.json", "[]") != "[]";
  }, 20s)) << "an edited ConfigMap is repaired";
  ASSERT_TRUE(admin_->remove(config_maps, platform_.name(), "docs-repos"));
  ASSERT_TRUE(eventually([&] { return exists(config_maps, platform_.name(), "docs-repos"); }, 20s))
      << "a deleted ConfigMap is made again";

  // The same path twice, once with a trailing slash: the CRD's rules compare text, only the
  // controller compares normalised paths.
  const Json patch{{"spec", {{"repositories", {{{"url", "https://github.com/acme/app1"}, {"branch", "main"},
                                                {"paths", {".kiro/docs/api", ".kiro/docs/api/"}}}}}}}};
  auto patched = admin_->mergePatch(aphex::api::kKnowledgeBases, platform_.name(), "docs", patch);
  ASSERT_TRUE(patched) << patched.error().message;
  ASSERT_TRUE(eventually([&] { return phase(current_kb()) == "Failed"; }, 20s));
  EXPECT_THAT(current_kb()["status"].value("message", ""), HasSubstr("spec.repositories[0].paths[1]"));
  // The last valid list stays for the ingester.
  EXPECT_TRUE(exists(config_maps, platform_.name(), "docs-repos"));
  const int writes_before = controller_->writes();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(controller_->writes(), writes_before) << "no write loop on lastReconcileTime";
}

}  // namespace
