// Hostile tenants against the real control plane, under the shipped RBAC and admission policies,
// each acting as the identity an attacker really has: an Organization's admin (a person listed in
// its adminUsers, authenticated by a client certificate and bound by the controller itself) or a
// pipeline (its own pipeline-runner token). Each test
// checks that the controller is alive, that another tenant is still served, and that nothing
// outside the attacker's own objects changed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "aphex/api/group.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/resources.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller_test.h"
#include "integration/support/identities.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::conditionMessage;
using ::aphex::testing::conditionStatus;
using ::aphex::testing::eventually;
using ::aphex::testing::isReady;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace res = aphex::resources;
namespace rb_res = aphex::repobinding::resources;
using kube::Json;

// A field of /proc/self/status in KiB (VmRSS, VmHWM).
long procStatusKib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  throw std::runtime_error(field + " is not in /proc/self/status");
}

// Resets VmHWM (the peak resident size) to the current size, so a later read is the peak since.
void resetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

std::string pipelineWith(const std::string& extra_spec_lines) {
  return "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n" + extra_spec_lines;
}

class HostileTenantTest : public aphex::testing::ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    start();
  }

  static std::string adminOf(const std::string& org) { return "mallory@" + org + ".example.test"; }

  // An Organization whose admin is adminOf(it), Ready.
  std::string readyOrganization(const std::string& prefix) {
    const std::string name = uniqueName(prefix);
    Json org = aphex::testing::organizationObject(platform_.name(), name);
    org["spec"]["adminUsers"] = Json::array({adminOf(name)});
    auto created = admin_->create(aphex::api::kOrganizations, platform_.name(), mine(org));
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    EXPECT_TRUE(eventually([&] { return isReady(get(aphex::api::kOrganizations, platform_.name(), name)); }, 30s));
    waitQuotaCounted(name);
    return name;
  }

  // The Organization's admin, with exactly the rights the controller bound for them.
  std::unique_ptr<kube::Client> orgAdmin(const std::string& org) {
    return clientFor(aphex::testing::personIdentity(adminOf(org)));
  }

  // A RepoBinding of `org` in org-<org>, created by `as` (an org admin's client).
  Binding bind(kube::Client& as, const std::string& org, Json spec_changes = Json::object(),
               const std::string& pipeline = "") {
    Binding b{.ns = "org-" + org, .name = uniqueName("rb"), .pipeline = pipeline.empty() ? uniqueName("p") : pipeline};
    pipelines_.push_back(b.pipeline);
    Json object = aphex::testing::repoBindingObject(b.ns, b.name, org, b.pipeline);
    object["spec"].update(spec_changes);
    // The authorizer may see the admin's RoleBinding a moment after the Organization is Ready.
    kube::Result<Json> created = kube::Error{};
    EXPECT_TRUE(eventually([&] {
      created = as.create(aphex::api::kRepoBindings, b.ns, mine(object));
      return created.ok() || !created.error().isForbidden();
    }, 10s));
    EXPECT_TRUE(created) << (created ? "" : created.error().message);
    return b;
  }

  std::string resourceVersion(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    return get(type, ns, name)["metadata"].value("resourceVersion", "");
  }
  // The controller is alive and serving: a binding of another organization becomes Ready.
  void anotherTenantIsServed() {
    const std::string org = readyOrganization("bystander");
    auto bystander_admin = orgAdmin(org);
    waitReady(bind(*bystander_admin, org));
  }
};

// F1, F2: a scalar of 40,000 digits once overflowed the stack of a regular expression, and an
// alias of a 250,000-character scalar repeated 2,000 times once grew the controller past 1 GB.
// Both are admitted by the CRD; both must end as a condition, with the controller's peak memory
// within a few MB of what it held.
TEST_F(HostileTenantTest, ParserBombsInPipelineSpecEndAsAConditionNotACrash) {
  const std::string org = readyOrganization("bombs");
  auto attacker = orgAdmin(org);
  const std::string digits = pipelineWith("  x: " + std::string(40000, '1') + "\n");
  std::string aliases = pipelineWith("  s: &a \"" + std::string(250000, 'x') + "\"\n  l: [");
  for (int i = 0; i < 2000; ++i) aliases += "*a, ";
  aliases += "*a]\n";
  ASSERT_LE(aliases.size(), 262144u) << "admitted by the CRD's bound";

  resetPeakRss();
  const long before = procStatusKib("VmHWM");
  const Binding digit_bomb = bind(*attacker, org, {{"pipelineSpec", digits}});
  const Binding alias_bomb = bind(*attacker, org, {{"pipelineSpec", aliases}});
  for (const Binding& b : {digit_bomb, alias_bomb}) {
    ASSERT_TRUE(eventually([&] { return conditionStatus(current(b), "PipelineReady") == "False"; }, 30s))
        << current(b).dump(2).substr(0, 2000);
    EXPECT_THAT(conditionMessage(current(b), "PipelineReady"), HasSubstr("spec.pipelineSpec"));
    EXPECT_EQ(conditionStatus(current(b), "TriggerReady"), "True") << "the rest is still in place";
  }
  EXPECT_THAT(conditionMessage(current(alias_bomb), "PipelineReady"), HasSubstr("alias"));
  const long grown_kib = procStatusKib("VmHWM") - before;
  std::printf("peak resident size grew by %ld KiB while handling both bindings (inputs: %zu + %zu bytes)\n",
              grown_kib, digits.size(), aliases.size());
  // The controller and this test share a process; 32 MiB bounds both with room to spare, where
  // the alias bomb alone used to take over 1 GB.
  EXPECT_LT(grown_kib, 32 * 1024);

  // Deleting them needs no manual finalizer surgery: deletion never parses pipelineSpec.
  for (const Binding& b : {digit_bomb, alias_bomb}) {
    ASSERT_TRUE(attacker->remove(aphex::api::kRepoBindings, b.ns, b.name));
    EXPECT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, b.ns, b.name); }, 30s)) << b.name;
  }
  anotherTenantIsServed();
}

// F3: a child name a tenant chooses never reaches an object that is not its binding's — not a
// platform AppProject in Argo CD's namespace, not an object made by someone else at the name the
// binding would use — and deleting the binding deletes none of them. Once such an object is gone,
// the binding it blocked takes the name.
TEST_F(HostileTenantTest, ObjectsThatAreNotTheBindingsAreNeverWrittenOrDeleted) {
  const std::string org = readyOrganization("hijack");
  auto attacker = orgAdmin(org);
  // The platform's own project, as platform/base/argocd-apps/project.yaml makes it.
  const Json platform_project = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "AppProject"},
                                 {"metadata", {{"name", "aphex-platform"}, {"namespace", "argocd"}}},
                                 {"spec", {{"sourceRepos", {"*"}},
                                           {"destinations", {{{"server", "*"}, {"namespace", "*"}}}},
                                           {"clusterResourceWhitelist", {{{"group", "*"}, {"kind", "*"}}}}}}};
  auto made = admin_->create(rb_res::kAppProjects, "argocd", platform_project);
  ASSERT_TRUE(made || made.error().isAlreadyExists());
  const std::string platform_version = resourceVersion(rb_res::kAppProjects, "argocd", "aphex-platform");

  // A pipeline named after the platform's project gets a project of its own, beside it.
  const Binding named_like_platform = bind(*attacker, org, Json::object(), "aphex-platform");
  waitReady(named_like_platform);
  EXPECT_EQ(resourceVersion(rb_res::kAppProjects, "argocd", "aphex-platform"), platform_version);
  EXPECT_FALSE(get(rb_res::kAppProjects, "argocd", "pipeline-aphex-platform").is_null());

  // An object someone else made where the binding would make its own is left as it is.
  const std::string pipeline = uniqueName("p");
  const Json squatter = {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "AppProject"},
                         {"metadata", {{"name", "pipeline-" + pipeline}, {"namespace", "argocd"}}},
                         {"spec", {{"sourceRepos", {"*"}}}}};
  ASSERT_TRUE(admin_->create(rb_res::kAppProjects, "argocd", squatter));
  const std::string squatter_version = resourceVersion(rb_res::kAppProjects, "argocd", "pipeline-" + pipeline);
  const Binding blocked = bind(*attacker, org, Json::object(), pipeline);
  ASSERT_TRUE(eventually([&] { return conditionStatus(current(blocked), "GitOpsReady") == "False"; }, 30s))
      << current(blocked).dump(2);
  EXPECT_THAT(conditionMessage(current(blocked), "GitOpsReady"), HasSubstr("argocd/pipeline-" + pipeline));
  EXPECT_EQ(conditionStatus(current(blocked), "TriggerReady"), "True");
  EXPECT_EQ(resourceVersion(rb_res::kAppProjects, "argocd", "pipeline-" + pipeline), squatter_version);

  // The squatter's removal makes no event the controller sees (nothing counts AppProjects in
  // Argo CD's namespace); the blocked binding looks again on its own and takes the name.
  ASSERT_TRUE(admin_->remove(rb_res::kAppProjects, "argocd", "pipeline-" + pipeline));
  waitReady(blocked);
  const Json taken = get(rb_res::kAppProjects, "argocd", "pipeline-" + pipeline);
  EXPECT_EQ(taken["metadata"]["annotations"].value("aphex.io/repo-binding", ""), blocked.ns + "/" + blocked.name);

  // Deleting both bindings removes their own objects only.
  for (const Binding& b : {named_like_platform, blocked}) {
    ASSERT_TRUE(attacker->remove(aphex::api::kRepoBindings, b.ns, b.name));
    ASSERT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, b.ns, b.name); }, 30s)) << b.name;
  }
  EXPECT_TRUE(gone(rb_res::kAppProjects, "argocd", "pipeline-aphex-platform"));
  EXPECT_EQ(resourceVersion(rb_res::kAppProjects, "argocd", "aphex-platform"), platform_version);
  EXPECT_TRUE(gone(rb_res::kAppProjects, "argocd", "pipeline-" + pipeline)) << "the blocked binding's own, by then";
  anotherTenantIsServed();
}

// F3: a binding refused a namespace it does not own never holds a finalizer, so deleting it
// deletes nothing in that namespace.
TEST_F(HostileTenantTest, ABindingRefusedANamespaceDeletesNothingInIt) {
  const std::string org = readyOrganization("squat");
  auto attacker = orgAdmin(org);
  ScopedNamespace victim(*admin_, "it-victim");
  const Json account{{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                     {"metadata", {{"name", "pipeline-runner"}, {"namespace", victim.name()}}}};
  ASSERT_TRUE(admin_->create(res::kServiceAccounts, victim.name(), account));
  const std::string account_version = resourceVersion(res::kServiceAccounts, victim.name(), "pipeline-runner");

  const Binding b = bind(*attacker, org, Json::object(), victim.name());
  pipelines_.pop_back();  // the victim's namespace is the victim's to remove
  ASSERT_TRUE(eventually([&] { return conditionStatus(current(b), "NamespaceReady") == "False"; }, 30s));
  EXPECT_THAT(conditionMessage(current(b), "NamespaceReady"), HasSubstr("already exists"));
  EXPECT_FALSE(current(b)["metadata"].contains("finalizers")) << current(b).dump(2);

  ASSERT_TRUE(attacker->remove(aphex::api::kRepoBindings, b.ns, b.name));
  ASSERT_TRUE(eventually([&] { return gone(aphex::api::kRepoBindings, b.ns, b.name); }, 30s));
  EXPECT_EQ(resourceVersion(res::kServiceAccounts, victim.name(), "pipeline-runner"), account_version);
  anotherTenantIsServed();
}

// F3, as a pipeline: pipeline-runner may delete and create Secrets in its namespace, so it can
// replace the controller's terraform-backend-config with one of its own. The controller never
// writes over it (it is not the binding's any more) and says so; once the pipeline removes its
// impostor, the controller's comes back.
TEST_F(HostileTenantTest, APipelinesImpostorChildIsNeverOverwritten) {
  const std::string org = readyOrganization("impostor");
  auto org_admin = orgAdmin(org);
  const Binding b = bind(*org_admin, org);
  waitReady(b);
  auto pipeline = clientFor(aphex::testing::serviceAccountIdentity(*admin_, b.pipeline, "pipeline-runner"));
  // While the controller is down, so that the swap is not raced by its repair.
  controller_.reset();
  ASSERT_TRUE(pipeline->remove(res::kSecrets, b.pipeline, "terraform-backend-config"));
  const Json impostor{{"apiVersion", "v1"}, {"kind", "Secret"},
                      {"metadata", {{"name", "terraform-backend-config"}, {"namespace", b.pipeline}}},
                      {"stringData", {{"backend.tf", "# the pipeline's own"}}}};
  auto created = pipeline->create(res::kSecrets, b.pipeline, impostor);
  ASSERT_TRUE(created) << created.error().message;
  start();
  ASSERT_TRUE(eventually([&] { return conditionStatus(current(b), "GitOpsReady") == "False"; }, 30s))
      << current(b).dump(2);
  EXPECT_THAT(conditionMessage(current(b), "GitOpsReady"), HasSubstr(b.pipeline + "/terraform-backend-config"));
  const Json kept = get(res::kSecrets, b.pipeline, "terraform-backend-config");
  EXPECT_FALSE(kept["metadata"].contains("annotations")) << "not adopted: " << kept.dump(2);

  ASSERT_TRUE(pipeline->remove(res::kSecrets, b.pipeline, "terraform-backend-config"));
  waitReady(b);
}

// F5, F9: an organization's namespace is fenced (only the listener's port in) and counted: its
// admins cannot keep more RepoBindings than the platform allows, each holding up to 256 KiB of
// pipelineSpec that the controller caches.
TEST_F(HostileTenantTest, AnOrganizationsNamespaceIsFencedAndCounted) {
  controller_.reset();
  config_.tenant_limits.org_repo_bindings = 2;
  start();
  const std::string org = readyOrganization("counted");
  const Json policy = get(res::kNetworkPolicies, "org-" + org, "org-isolation");
  ASSERT_FALSE(policy.is_null());
  EXPECT_EQ(policy["spec"]["ingress"], Json::parse(R"([{"ports":[{"protocol":"TCP","port":8080}]}])"));
  ASSERT_TRUE(eventually([&] { return !get(res::kResourceQuotas, "org-" + org, "org-quota").is_null(); }, 10s));

  auto attacker = orgAdmin(org);
  bind(*attacker, org);
  bind(*attacker, org);
  Json third = aphex::testing::repoBindingObject("org-" + org, uniqueName("rb"), org, uniqueName("p"));
  auto refused = attacker->create(aphex::api::kRepoBindings, "org-" + org, mine(third));
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().isForbidden()) << refused.error().message;
  EXPECT_THAT(refused.error().message, HasSubstr("exceeded quota"));
  anotherTenantIsServed();
}

// Organization names that are platform hosts are refused at admission.
TEST_F(HostileTenantTest, OrganizationsCannotTakeAPlatformHostName) {
  for (const char* reserved : {"argocd", "auth", "dex", "tekton"}) {
    auto refused = admin_->create(aphex::api::kOrganizations, platform_.name(),
                                  mine(aphex::testing::organizationObject(platform_.name(), reserved)));
    ASSERT_FALSE(refused) << reserved;
    EXPECT_THAT(refused.error().message, HasSubstr("reserved for a platform host")) << reserved;
  }
}

}  // namespace
