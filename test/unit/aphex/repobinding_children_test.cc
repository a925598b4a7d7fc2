// The RepoBinding's desired objects, checked without a cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "aphex/repobinding/children.h"
#include "kube/base64.h"

namespace {

using kube::Json;
using ::testing::HasSubstr;
namespace rb = aphex::repobinding;

constexpr const char* kPipelineYaml = R"(apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: something-else
  namespace: elsewhere
  uid: 0b7c1f9e-0000-0000-0000-000000000000
  resourceVersion: "42"
  labels:
    team: web
    aphex.io/organization: impostor
  annotations:
    tekton.dev/displayName: Build app1
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
        steps:
          - name: hello
            image: alpine:3.20
            script: echo hello
status:
  anything: true
)";

aphex::api::RepoBinding app1() {
  aphex::api::RepoBinding b;
  b.metadata.name = "app1";
  b.metadata.ns = "platform-system";
  b.spec.aphex_org = "acme";
  b.spec.repo_org = "acme-gh";
  b.spec.repo_name = "app1";
  b.spec.pipeline_name = "app1";
  b.spec.pipeline_spec = kPipelineYaml;
  b.spec.branch = "main";
  return b;
}

aphex::ControllerConfig config() { return {}; }

// pipelineSpec as the reconciler parses it, once.
Json parsed(const aphex::api::RepoBinding& b) {
  auto pipeline = aphex::api::parsePipelineSpec(b.spec.pipeline_spec);
  EXPECT_TRUE(pipeline.ok()) << pipeline.error().message;
  return pipeline ? *pipeline : Json::object();
}

std::string str(const Json& value) { return value.get<std::string>(); }

std::vector<rb::Child> everything(const aphex::api::RepoBinding& b) {
  std::vector<rb::Child> all = rb::namespaceChildren(b, "restricted");
  for (auto& child : rb::pipelineChildren(b, parsed(b))) all.push_back(child);
  for (auto& child : rb::accessChildren(b)) all.push_back(child);
  for (auto& child : rb::guardrailChildren(b, config(), {{.ip = "172.18.0.2", .port = 6443}})) all.push_back(child);
  for (auto& child : rb::gitOpsChildren(b, config())) all.push_back(child);
  for (auto& child : rb::triggerChildren(b, false)) all.push_back(child);
  return all;
}

const Json& find(const std::vector<rb::Child>& children, std::string_view kind, std::string_view name) {
  for (const auto& child : children) {
    if (child.object["kind"] == kind && child.object["metadata"]["name"] == name) return child.object;
  }
  static const Json kNone;
  ADD_FAILURE() << "no " << kind << " " << name;
  return kNone;
}

TEST(RepoBindingChildren, EveryChildCarriesTheStandardLabels) {
  for (const auto& child : everything(app1())) {
    const auto& labels = child.object["metadata"]["labels"];
    EXPECT_EQ(labels.value("app.kubernetes.io/managed-by", ""), "aphex-controller") << child.object.dump();
    EXPECT_EQ(labels.value("aphex.io/organization", ""), "acme") << child.object.dump();
    EXPECT_EQ(labels.value("aphex.io/pipeline", ""), "app1") << child.object.dump();
    // How a change to the child finds its way back to the binding.
    EXPECT_EQ(child.object["metadata"]["annotations"].value("aphex.io/repo-binding", ""), "platform-system/app1")
        << child.object.dump();
  }
}

TEST(RepoBindingChildren, EveryChildHasItsResourceTypeAndPlace) {
  for (const auto& child : everything(app1())) {
    EXPECT_EQ(child.type.apiVersion(), child.object["apiVersion"]) << child.object.dump();
    const Json& metadata = child.object["metadata"];
    if (!child.type.namespaced) {
      EXPECT_FALSE(metadata.contains("namespace")) << child.object.dump();
    } else if (child.object["kind"] == "AppProject") {
      EXPECT_EQ(metadata["namespace"], "argocd");
    } else {
      EXPECT_EQ(metadata["namespace"], "app1") << child.object.dump();
    }
  }
}

TEST(RepoBindingChildren, NamesFollowThePipeline) {
  const auto all = everything(app1());
  const std::set<std::pair<std::string, std::string>> expected = {
      {"Namespace", "app1"},
      {"Pipeline", "app1"},
      {"ServiceAccount", "pipeline-runner"},
      {"RoleBinding", "pipeline-runner"},
      {"RoleBinding", "aphex-eventlistener-impersonation"},
      {"ResourceQuota", "tenant-quota"},
      {"LimitRange", "tenant-limits"},
      {"NetworkPolicy", "tenant-isolation"},
      {"Secret", "terraform-backend-config"},
      {"AppProject", "pipeline-app1"},
      {"Trigger", "app1"},
  };
  std::set<std::pair<std::string, std::string>> actual;
  for (const auto& child : all) actual.insert({str(child.object["kind"]), str(child.object["metadata"]["name"])});
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(all.size(), expected.size()) << "each object once";
  EXPECT_EQ(rb::githubWebhookSettingsUrl(app1()), "https://github.com/acme-gh/app1/settings/hooks");
}

TEST(RepoBindingChildren, TheNamespaceEnforcesTheOrganizationsPodSecurityLevel) {
  EXPECT_EQ(rb::namespaceObject(app1(), "baseline")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "baseline");
  const Json ns = rb::namespaceObject(app1(), "restricted");
  EXPECT_EQ(ns["metadata"]["name"], "app1");
  EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
  EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"], "restricted");
  EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/audit"], "restricted");
}

TEST(RepoBindingChildren, ThePipelineIsRenamedAndPlacedKeepingTheTeamsLabels) {
  const Json p = rb::pipeline(app1(), parsed(app1()));
  EXPECT_EQ(p["apiVersion"], "tekton.dev/v1");
  EXPECT_EQ(p["kind"], "Pipeline");
  EXPECT_EQ(p["metadata"]["name"], "app1");
  EXPECT_EQ(p["metadata"]["namespace"], "app1");
  EXPECT_EQ(p["metadata"]["labels"]["team"], "web");
  EXPECT_EQ(p["metadata"]["labels"]["aphex.io/organization"], "acme") << "ours win";
  EXPECT_EQ(p["metadata"]["annotations"]["tekton.dev/displayName"], "Build app1");
  EXPECT_FALSE(p["metadata"].contains("uid"));
  EXPECT_FALSE(p["metadata"].contains("resourceVersion"));
  EXPECT_FALSE(p.contains("status"));
  EXPECT_EQ(p["spec"]["tasks"][0]["name"], "hello");
}

TEST(RepoBindingChildren, APipelineWithoutMetadataGetsOurs) {
  auto b = app1();
  b.spec.pipeline_spec = R"({"apiVersion":"tekton.dev/v1","kind":"Pipeline","spec":{"tasks":[],"params":[)"
                        R"({"name":"git-url"},{"name":"git-revision"},{"name":"repo-full-name"},)"
                        R"({"name":"event-type"},{"name":"event-id"}]}})";
  const Json built = rb::pipeline(b, parsed(b));
  EXPECT_EQ(built["metadata"]["name"], "app1");
  EXPECT_EQ(built["metadata"]["labels"]["aphex.io/pipeline"], "app1");
  EXPECT_EQ(built["metadata"]["annotations"],
            (Json{{"aphex.io/repo-binding", "platform-system/app1"}})) << "only the binding's own";
}

TEST(RepoBindingChildren, ABadPipelineSpecIsAnErrorNotACrash) {
  for (const char* text : {"", "- a list", "apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nspec: {}\n", "{"}) {
    auto pipeline = aphex::api::parsePipelineSpec(text);
    ASSERT_FALSE(pipeline.ok()) << text;
    EXPECT_THAT(pipeline.error().message, HasSubstr("pipelineSpec")) << text;
  }
}

TEST(RepoBindingChildren, NoNameDependsOnPipelineSpec) {
  // Deletion names what to delete without parsing pipelineSpec: a binding whose spec cannot be
  // parsed must still be deletable.
  auto b = app1();
  b.spec.pipeline_spec = "{";
  EXPECT_EQ(rb::triggerChildren(b, false).at(0).object["metadata"]["name"], "app1");
  for (const auto& retired : rb::retiredTriggerChildren(b)) EXPECT_EQ(retired.object["metadata"]["name"], "app1");
  EXPECT_EQ(rb::appProjectName(b), "pipeline-app1");
}

TEST(RepoBindingChildren, TheRunnerIsBoundToItsRoleInItsNamespace) {
  const auto access = rb::accessChildren(app1());
  const Json& binding = find(access, "RoleBinding", "pipeline-runner");
  EXPECT_EQ(binding["roleRef"]["kind"], "ClusterRole") << "bound by a RoleBinding: granted in this namespace only";
  EXPECT_EQ(binding["roleRef"]["name"], "aphex-pipeline-runner");
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0]["name"], "pipeline-runner");
  EXPECT_EQ(binding["subjects"][0]["namespace"], "app1");
}

TEST(RepoBindingChildren, TheOrgsListenerMayImpersonateOnlyThePipelineRunner) {
  const Json binding = rb::impersonationBinding(app1());
  EXPECT_EQ(binding["metadata"]["namespace"], "app1");
  EXPECT_EQ(binding["roleRef"],
            (Json{{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "aphex-pipeline-runner-impersonator"}}));
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0],
            (Json{{"kind", "ServiceAccount"}, {"name", "eventlistener"}, {"namespace", "org-acme"}}));
}

TEST(RepoBindingChildren, QuotaAndLimitsComeFromTheConfiguration) {
  struct Case {
    const char* what;
    aphex::TenantLimits limits;
    Json hard;
    Json container;
  };
  aphex::TenantLimits custom;
  custom.requests_cpu = "2";
  custom.requests_memory = "4Gi";
  custom.limits_cpu = "3";
  custom.limits_memory = "6Gi";
  custom.pods = 10;
  custom.persistent_volume_claims = 2;
  custom.config_maps = 5;
  custom.secrets = 7;
  custom.requests_storage = "";  // left out
  custom.default_request_cpu = "50m";
  custom.default_request_memory = "64Mi";
  custom.default_limit_cpu = "250m";
  custom.default_limit_memory = "256Mi";
  custom.max_cpu = "";
  custom.max_memory = "";
  const Case cases[] = {
      {"defaults", aphex::TenantLimits{},
       {{"requests.cpu", "4"}, {"requests.memory", "8Gi"}, {"limits.cpu", "8"}, {"limits.memory", "16Gi"},
        {"pods", "50"}, {"persistentvolumeclaims", "20"}, {"requests.storage", "50Gi"},
        {"count/configmaps", "100"}, {"count/secrets", "100"}},
       {{"type", "Container"},
        {"default", {{"cpu", "500m"}, {"memory", "512Mi"}}},
        {"defaultRequest", {{"cpu", "100m"}, {"memory", "128Mi"}}},
        {"max", {{"cpu", "2"}, {"memory", "4Gi"}}}}},
      {"custom, empty entries left out", custom,
       {{"requests.cpu", "2"}, {"requests.memory", "4Gi"}, {"limits.cpu", "3"}, {"limits.memory", "6Gi"},
        {"pods", "10"}, {"persistentvolumeclaims", "2"}, {"count/configmaps", "5"}, {"count/secrets", "7"}},
       {{"type", "Container"},
        {"default", {{"cpu", "250m"}, {"memory", "256Mi"}}},
        {"defaultRequest", {{"cpu", "50m"}, {"memory", "64Mi"}}}}},
  };
  for (const auto& c : cases) {
    auto cfg = config();
    cfg.tenant_limits = c.limits;
    const auto guardrails = rb::guardrailChildren(app1(), cfg, {});
    EXPECT_EQ(find(guardrails, "ResourceQuota", "tenant-quota")["spec"]["hard"], c.hard) << c.what;
    EXPECT_EQ(find(guardrails, "LimitRange", "tenant-limits")["spec"]["limits"], Json::array({c.container})) << c.what;
  }
}

TEST(RepoBindingChildren, TheNetworkPolicyIsolatesTheTenant) {
  const Json policy = rb::networkPolicy(app1(), {}, {});
  const Json& spec = policy["spec"];
  EXPECT_EQ(spec["podSelector"], Json::object()) << "every pod of the namespace";
  EXPECT_EQ(spec["policyTypes"], (Json{"Ingress", "Egress"}));

  const Json peers = Json::array(
      {{{"podSelector", Json::object()}},
       {{"namespaceSelector",
         {{"matchLabels", {{"app.kubernetes.io/managed-by", "aphex-controller"}, {"aphex.io/organization", "acme"}}},
          {"matchExpressions", Json::array({{{"key", "aphex.io/pipeline"}, {"operator", "Exists"}}})}}}}});
  // Ingress: one rule, from this namespace and the org's pipeline namespaces; no ports, no ipBlock.
  ASSERT_EQ(spec["ingress"].size(), 1u);
  EXPECT_EQ(spec["ingress"][0], (Json{{"from", peers}}));

  const Json& egress = spec["egress"];
  ASSERT_EQ(egress.size(), 3u) << egress.dump(2);
  EXPECT_EQ(egress[0], (Json{{"to", peers}})) << "what may come in may also go out";
  EXPECT_EQ(egress[1]["to"][0]["namespaceSelector"]["matchLabels"], (Json{{"kubernetes.io/metadata.name", "kube-system"}}));
  EXPECT_EQ(egress[1]["ports"], Json::parse(R"([{"protocol":"UDP","port":53},{"protocol":"TCP","port":53}])"));
  EXPECT_EQ(egress[2]["to"][0]["ipBlock"]["cidr"], "0.0.0.0/0");
  const Json& except = egress[2]["to"][0]["ipBlock"]["except"];
  // Private, carrier-grade NAT (nodes and pods on some clusters), loopback, link-local (cloud
  // metadata) and the other special-purpose ranges.
  for (const char* cidr : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                           "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"}) {
    EXPECT_NE(std::find(except.begin(), except.end(), Json(cidr)), except.end()) << cidr;
  }
  EXPECT_FALSE(egress[2].contains("ports"));
  // No rule lets everything in or out.
  for (const auto& rule : egress) EXPECT_TRUE(rule.contains("to")) << rule.dump();
}

TEST(RepoBindingChildren, TheSitesOwnRangesAreDeniedToo) {
  auto cfg = config();
  cfg.tenant_egress_deny = {"203.0.113.0/24", "198.51.100.7/32"};
  const auto guardrails = rb::guardrailChildren(app1(), cfg, {});
  const Json& except = find(guardrails, "NetworkPolicy", "tenant-isolation")["spec"]["egress"][2]["to"][0]["ipBlock"]["except"];
  EXPECT_EQ(except[except.size() - 2], "203.0.113.0/24");
  EXPECT_EQ(except[except.size() - 1], "198.51.100.7/32");
}

TEST(RepoBindingChildren, TheNetworkPolicyAllowsTheApiServerByItsRealAddresses) {
  const Json policy =
      rb::networkPolicy(app1(), {{.ip = "172.18.0.2", .port = 6443}, {.ip = "fd00::2", .port = 443}}, {});
  const Json& egress = policy["spec"]["egress"];
  ASSERT_EQ(egress.size(), 5u);
  EXPECT_EQ(egress[3], Json::parse(R"({"to":[{"ipBlock":{"cidr":"172.18.0.2/32"}}],"ports":[{"protocol":"TCP","port":6443}]})"));
  EXPECT_EQ(egress[4], Json::parse(R"({"to":[{"ipBlock":{"cidr":"fd00::2/128"}}],"ports":[{"protocol":"TCP","port":443}]})"));
}

TEST(RepoBindingChildren, TheTerraformBackendIsConfiguredForThePipelineNamespace) {
  const Json secret = rb::terraformBackendSecret(app1());
  EXPECT_FALSE(secret.contains("stringData")) << "the server keeps only data; comparing must see the same";
  const auto text = kube::base64Decode(secret["data"]["backend.tf"].get<std::string>());
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text,
            "terraform {\n"
            "  backend \"kubernetes\" {\n"
            "    secret_suffix     = \"app1\"\n"
            "    namespace         = \"app1\"\n"
            "    in_cluster_config = true\n"
            "  }\n"
            "}\n");
}

TEST(RepoBindingChildren, TheTerraformSuffixNeverEndsInANumber) {
  const std::pair<const char*, const char*> cases[] = {
      {"app1", "app1"}, {"app-2", "app-2-state"}, {"web-v2", "web-v2"}, {"a-2b", "a-2b"}, {"x-10", "x-10-state"}};
  for (const auto& [name, suffix] : cases) {
    auto b = app1();
    b.spec.pipeline_name = name;
    EXPECT_EQ(rb::terraformSecretSuffix(b), suffix) << name;
    EXPECT_THAT(rb::terraformBackendConfig(b), HasSubstr(std::string("namespace         = \"") + name + "\""));
  }
}

TEST(RepoBindingChildren, TheAppProjectConfinesTheTeamToItsRepositoryAndNamespace) {
  auto cfg = config();
  cfg.argocd_namespace = "gitops";
  const Json project = rb::appProject(app1(), cfg);
  EXPECT_EQ(project["apiVersion"], "argoproj.io/v1alpha1");
  EXPECT_EQ(project["metadata"]["name"], "pipeline-app1") << "prefixed: no pipeline name reaches a platform project";
  EXPECT_EQ(project["metadata"]["namespace"], "gitops");
  const Json& spec = project["spec"];
  EXPECT_EQ(spec["sourceRepos"], (Json{"https://github.com/acme-gh/app1.git", "https://github.com/acme-gh/app1"}));
  EXPECT_EQ(spec["destinations"], Json::parse(R"([{"server":"https://kubernetes.default.svc","namespace":"app1"}])"));
  EXPECT_EQ(spec["sourceNamespaces"], (Json{"app1"}));
  ASSERT_TRUE(spec["clusterResourceWhitelist"].is_array());
  EXPECT_TRUE(spec["clusterResourceWhitelist"].empty()) << "no cluster-scoped kind";
  EXPECT_FALSE(spec.contains("namespaceResourceBlacklist")) << "a whitelist: kinds added later are refused";
  std::set<std::pair<std::string, std::string>> allowed;
  for (const auto& entry : spec["namespaceResourceWhitelist"]) allowed.insert({str(entry["group"]), str(entry["kind"])});
  EXPECT_EQ(allowed.count({"apps", "Deployment"}), 1u);
  EXPECT_EQ(allowed.count({"", "Service"}), 1u);
  for (const auto& kind : std::set<std::pair<std::string, std::string>>{
           {"", "ResourceQuota"}, {"", "LimitRange"}, {"networking.k8s.io", "NetworkPolicy"},
           {"rbac.authorization.k8s.io", "RoleBinding"}, {"rbac.authorization.k8s.io", "Role"},
           {"cert-manager.io", "Certificate"}, {"cert-manager.io", "Issuer"}, {"networking.k8s.io", "Ingress"},
           {"gateway.networking.k8s.io", "HTTPRoute"}, {"aphex.io", "RepoBinding"}, {"argoproj.io", "Application"},
           {"", "Pod"}}) {
    EXPECT_EQ(allowed.count(kind), 0u) << kind.first << "/" << kind.second;
  }
  EXPECT_EQ(rb::appProject(app1(), config())["metadata"]["namespace"], "argocd") << "the default";
}

// A push that deletes the branch starts no run.
constexpr std::string_view kNotDeleted = " && !(has(body.deleted) && body.deleted == true)";

TEST(RepoBindingChildren, TheCelFilterNamesTheRepositoryAndBranch) {
  struct Case {
    const char* repo_org;
    const char* repo_name;
    const char* branch;
    const char* filter;
  };
  const Case cases[] = {
      {"acme-gh", "app1", "main", "body.repository.full_name == 'acme-gh/app1' && body.ref == 'refs/heads/main'"},
      {"acme", "web.site", "release/1.x",
       "body.repository.full_name == 'acme/web.site' && body.ref == 'refs/heads/release/1.x'"},
      // Validation refuses these; the filter must still be one literal each.
      {"acme", "app1", "x' || true || 'y",
       R"(body.repository.full_name == 'acme/app1' && body.ref == 'refs/heads/x\' || true || \'y')"},
      {"acme", "app1", "a\\b", R"(body.repository.full_name == 'acme/app1' && body.ref == 'refs/heads/a\\b')"},
      {"acme", "app1", "a\nb\x01", R"(body.repository.full_name == 'acme/app1' && body.ref == 'refs/heads/a\nb\x01')"},
  };
  for (const auto& c : cases) {
    auto b = app1();
    b.spec.repo_org = c.repo_org;
    b.spec.repo_name = c.repo_name;
    b.spec.branch = c.branch;
    EXPECT_EQ(rb::celFilter(b), std::string(c.filter) + std::string(kNotDeleted)) << c.branch;
  }
  EXPECT_EQ(rb::celStringLiteral(""), "''");
  EXPECT_EQ(rb::celStringLiteral("\"ok\""), "'\"ok\"'") << "double quotes cannot end a single-quoted literal";
}

TEST(RepoBindingChildren, TheTriggerIsSelectedByTheOrgAndRunsAsThePipelineRunner) {
  const Json t = rb::trigger(app1(), false);
  EXPECT_EQ(t["apiVersion"], "triggers.tekton.dev/v1beta1");
  EXPECT_EQ(t["metadata"]["namespace"], "app1");
  EXPECT_EQ(t["metadata"]["labels"]["aphex.io/organization"], "acme") << "the org EventListener's selector";
  const Json& spec = t["spec"];
  EXPECT_EQ(spec["serviceAccountName"], "pipeline-runner");
  ASSERT_EQ(spec["interceptors"].size(), 1u);
  EXPECT_EQ(spec["interceptors"][0]["ref"]["name"], "cel");
  EXPECT_EQ(spec["interceptors"][0]["ref"]["kind"], "ClusterInterceptor");
  EXPECT_EQ(spec["interceptors"][0]["params"],
            (Json::array({{{"name", "filter"}, {"value", rb::celFilter(app1())}}})));
  // Bindings and template inline: nothing named elsewhere that another object could stand in for.
  EXPECT_EQ(spec["bindings"], rb::triggerBindings(app1()));
  EXPECT_EQ(spec["template"], (Json{{"spec", rb::triggerTemplateSpec(app1(), false)}}));
  for (const auto& binding : spec["bindings"]) EXPECT_FALSE(binding.contains("ref")) << binding.dump();
}

TEST(RepoBindingChildren, FormerTriggerBindingAndTemplateAreNamedForRemoval) {
  std::set<std::pair<std::string, std::string>> retired;
  for (const auto& child : rb::retiredTriggerChildren(app1())) {
    EXPECT_EQ(child.type.apiVersion(), child.object["apiVersion"]);
    EXPECT_EQ(child.object["metadata"]["namespace"], "app1");
    retired.insert({str(child.object["kind"]), str(child.object["metadata"]["name"])});
  }
  EXPECT_EQ(retired, (std::set<std::pair<std::string, std::string>>{{"TriggerBinding", "app1"},
                                                                     {"TriggerTemplate", "app1"}}));
}

TEST(RepoBindingChildren, TheTemplateRunsThePipelineWithEveryContractParameter) {
  const Json tt = rb::triggerTemplateSpec(app1(), false);
  std::set<std::string> declared;
  for (const auto& param : tt["params"]) declared.insert(str(param["name"]));
  const std::set<std::string> contract = {"git-url",  "git-revision", "repo-full-name", "event-type",
                                          "event-id", "triggered-at", "org-name"};
  EXPECT_EQ(declared, contract);
  ASSERT_EQ(tt["resourcetemplates"].size(), 1u);
  const Json& run = tt["resourcetemplates"][0];
  EXPECT_EQ(run["apiVersion"], "tekton.dev/v1");
  EXPECT_EQ(run["kind"], "PipelineRun");
  // Named after the delivery: a replayed delivery makes the same name, which the API server refuses.
  EXPECT_EQ(run["metadata"]["name"], "app1-$(tt.params.event-id)");
  EXPECT_FALSE(run["metadata"].contains("generateName"));
  EXPECT_FALSE(run["metadata"].contains("namespace")) << "created in the Trigger's namespace, nowhere else";
  EXPECT_FALSE(run["metadata"]["labels"].contains("app.kubernetes.io/managed-by")) << "runs are not our children";
  EXPECT_EQ(run["metadata"]["labels"]["aphex.io/pipeline"], "app1");
  EXPECT_EQ(run["spec"]["pipelineRef"], (Json{{"name", "app1"}}));
  EXPECT_EQ(run["spec"]["taskRunTemplate"]["serviceAccountName"], "pipeline-runner");
  std::map<std::string, std::string> passed;
  for (const auto& param : run["spec"]["params"]) passed[str(param["name"])] = str(param["value"]);
  ASSERT_EQ(passed.size(), contract.size());
  for (const auto& name : contract) EXPECT_EQ(passed[name], "$(tt.params." + name + ")") << name;
}

TEST(RepoBindingChildren, TheBindingReadsGitHubsPushEvent) {
  std::map<std::string, std::string> params;
  for (const auto& param : rb::triggerBindings(app1())) params[str(param["name"])] = str(param["value"]);
  const std::map<std::string, std::string> expected = {
      {"git-url", "https://github.com/acme-gh/app1.git"},  // the spec's repository, never the payload's
      {"git-revision", "$(body.after)"},
      {"repo-full-name", "$(body.repository.full_name)"},
      {"event-type", "$(header.X-Github-Event)"},  // Go's canonical header form, not X-GitHub-Event
      {"event-id", "$(header.X-Github-Delivery)"},
      {"triggered-at", "$(body.head_commit.timestamp)"},
      {"org-name", "acme"},
  };
  EXPECT_EQ(params, expected);
  // Every parameter bound is one the template declares.
  std::set<std::string> declared;
  const Json template_spec = rb::triggerTemplateSpec(app1(), false);
  for (const auto& param : template_spec["params"]) declared.insert(str(param["name"]));
  for (const auto& [name, value] : params) EXPECT_EQ(declared.count(name), 1u) << name;
}

TEST(RepoBindingChildren, RunsBindTheSourceWorkspaceOnlyWhenThePipelineDeclaresIt) {
  EXPECT_FALSE(rb::declaresSourceWorkspace(parsed(app1())));
  const Json run_without = rb::triggerTemplateSpec(app1(), false)["resourcetemplates"][0];
  EXPECT_FALSE(run_without["spec"].contains("workspaces")) << "no volume a Pipeline would not use";

  auto b = app1();
  b.spec.pipeline_spec = std::string(kPipelineYaml).replace(std::string(kPipelineYaml).find("  tasks:"), 0,
                                                            "  workspaces:\n    - name: source\n");
  EXPECT_TRUE(rb::declaresSourceWorkspace(parsed(b)));
  const Json run = rb::triggerTemplateSpec(b, true)["resourcetemplates"][0];
  ASSERT_EQ(run["spec"]["workspaces"].size(), 1u);
  const Json& workspace = run["spec"]["workspaces"][0];
  EXPECT_EQ(workspace["name"], "source");
  EXPECT_EQ(workspace["volumeClaimTemplate"]["spec"]["accessModes"], Json::array({"ReadWriteOnce"}));
  EXPECT_EQ(workspace["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"], "1Gi");
}

TEST(RepoBindingChildren, GroupsMatchTheConditions) {
  const auto b = app1();
  auto kinds = [](const std::vector<rb::Child>& children) {
    std::vector<std::string> result;
    for (const auto& child : children) result.push_back(str(child.object["kind"]));
    return result;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(kinds(rb::namespaceChildren(b, "restricted")), (V{"Namespace"}));
  EXPECT_EQ(kinds(rb::pipelineChildren(b, parsed(b))), (V{"Pipeline"}));
  EXPECT_EQ(kinds(rb::accessChildren(b)), (V{"ServiceAccount", "RoleBinding", "RoleBinding"}));
  // The quota last and the Secret first: a Secret written into a namespace whose quota exists
  // but is not counted yet is refused.
  EXPECT_EQ(kinds(rb::guardrailChildren(b, config(), {})), (V{"LimitRange", "NetworkPolicy", "ResourceQuota"}));
  EXPECT_EQ(kinds(rb::gitOpsChildren(b, config())), (V{"Secret", "AppProject"}));
  EXPECT_EQ(kinds(rb::triggerChildren(b, false)), (V{"Trigger"}));
}

}  // namespace
