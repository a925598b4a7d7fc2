// The Organization's desired objects, checked without a cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "aphex/common/labels.h"
#include "aphex/organization/children.h"
#include "kube/base64.h"

namespace {

using kube::Json;
using ::testing::HasSubstr;
namespace org = aphex::organization;

aphex::api::Organization acme() {
  aphex::api::Organization o;
  o.metadata.name = "acme";
  o.metadata.ns = "platform-system";
  o.spec.display_name = "Acme";
  o.spec.admin_users = {"alice@example.com", "Bob.Smith+ops@example.com"};
  o.spec.admin_groups = {"acme:leads"};
  return o;
}

aphex::ControllerConfig config() {
  aphex::ControllerConfig c;
  c.public_domain = "hooks.example.com";
  return c;
}

TEST(OrganizationChildren, EveryChildCarriesTheStandardLabels) {
  std::vector<org::Child> all = org::webhookChildren(acme(), {"app1"});
  for (auto& child : org::secretStoreChildren(acme())) all.push_back(child);
  for (auto& child : org::adminBindings(acme())) all.push_back(child);
  for (auto& child : org::cloudflaredChildren(acme(), config(), "hash")) all.push_back(child);
  for (auto& child : org::isolationChildren(acme(), config(), {})) all.push_back(child);
  all.push_back({kube::resources::kNamespaces, org::namespaceObject(acme())});
  all.push_back({kube::resources::kSecrets, org::webhookSecret(acme(), "v", "")});
  for (const auto& child : all) {
    const auto& labels = child.object["metadata"]["labels"];
    EXPECT_EQ(labels.value("app.kubernetes.io/managed-by", ""), "aphex-controller") << child.object.dump();
    EXPECT_EQ(labels.value("aphex.io/organization", ""), "acme") << child.object.dump();
  }
}

TEST(OrganizationChildren, TheOrgNamespaceAcceptsTheListenersPortOnlyAndReachesNoOtherNamespace) {
  auto c = config();
  c.tenant_egress_deny = {"203.0.113.0/24"};
  const Json policy = org::orgNetworkPolicy(acme(), c, {{.ip = "172.18.0.2", .port = 6443}});
  EXPECT_EQ(policy["metadata"]["namespace"], "org-acme");
  const Json& spec = policy["spec"];
  EXPECT_EQ(spec["podSelector"], Json::object()) << "every pod: the listener and cloudflared";
  EXPECT_EQ(spec["policyTypes"], (Json{"Ingress", "Egress"}));
  EXPECT_EQ(spec["ingress"], Json::parse(R"([{"ports":[{"protocol":"TCP","port":8080}]}])"));
  const Json& egress = spec["egress"];
  ASSERT_EQ(egress.size(), 5u) << egress.dump(2);
  EXPECT_EQ(egress[0], Json::parse(R"({"to":[{"podSelector":{}}]})")) << "cloudflared to the listener";
  EXPECT_EQ(egress[1]["ports"][0]["port"], 53);
  EXPECT_EQ(egress[2]["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "tekton-pipelines");
  EXPECT_EQ(egress[2]["ports"], Json::parse(R"([{"protocol":"TCP","port":8443}])")) << "the interceptors only";
  const Json& except = egress[3]["to"][0]["ipBlock"]["except"];
  EXPECT_EQ(except[0], "10.0.0.0/8");
  EXPECT_EQ(except.back(), "203.0.113.0/24") << "the site's own ranges";
  EXPECT_EQ(egress[4], Json::parse(R"({"to":[{"ipBlock":{"cidr":"172.18.0.2/32"}}],"ports":[{"protocol":"TCP","port":6443}]})"));
  for (const auto& rule : egress) EXPECT_TRUE(rule.contains("to")) << "no rule lets everything out: " << rule.dump();
}

TEST(OrganizationChildren, TheOrgNamespaceCountsWhatItsAdminsCanCreate) {
  aphex::TenantLimits limits;
  limits.org_repo_bindings = 7;
  const Json quota = org::orgQuota(acme(), limits);
  EXPECT_EQ(quota["metadata"]["namespace"], "org-acme");
  EXPECT_EQ(quota["metadata"]["name"], "org-quota");
  EXPECT_EQ(quota["spec"]["hard"], Json::parse(R"({"count/repobindings.aphex.io":"7","count/secrets":"20","count/configmaps":"20"})"));
}

TEST(OrganizationChildren, NamesFollowTheOrganization) {
  EXPECT_EQ(org::namespaceObject(acme())["metadata"]["name"], "org-acme");
  EXPECT_EQ(org::tunnelName(acme()), "webhooks-acme");
  EXPECT_EQ(org::clusterSecretStoreName(acme()), "org-acme-store");
  EXPECT_EQ(org::webhookHost(acme(), config()), "acme.hooks.example.com");
}

TEST(OrganizationChildren, WebhookUrlDependsOnExposure) {
  auto o = acme();
  auto c = config();
  c.default_exposure = aphex::api::ExposureMode::kNone;
  EXPECT_EQ(org::webhookUrl(o, c), "http://el-github-listener.org-acme.svc.cluster.local:8080/");
  o.spec.exposure_mode = aphex::api::ExposureMode::kIngress;
  EXPECT_EQ(org::webhookUrl(o, c), "https://acme.hooks.example.com/");
  c.public_domain.clear();  // no domain: nothing public to point at
  EXPECT_EQ(org::webhookUrl(o, c), "http://el-github-listener.org-acme.svc.cluster.local:8080/");
}

TEST(OrganizationChildren, TheDefaultExposureAppliesOnlyWhenTheOrganizationChoseNone) {
  auto c = config();
  c.default_exposure = aphex::api::ExposureMode::kCloudflareTunnel;
  auto o = acme();
  EXPECT_EQ(org::exposureMode(o, c), aphex::api::ExposureMode::kCloudflareTunnel);
  o.spec.exposure_mode = aphex::api::ExposureMode::kNone;
  EXPECT_EQ(org::exposureMode(o, c), aphex::api::ExposureMode::kNone);
}

TEST(OrganizationChildren, TheListenerVerifiesSignaturesAndSelectsOnlyTheOrgsNamespaces) {
  const Json listener = org::eventListener(acme(), {"app1", "app2"});
  const Json group = listener["spec"]["triggerGroups"][0];
  const Json interceptor = group["interceptors"][0];
  EXPECT_EQ(interceptor["ref"]["name"], "github");
  EXPECT_EQ(interceptor["params"][0]["name"], "secretRef");
  EXPECT_EQ(interceptor["params"][0]["value"]["secretName"], "github-webhook-secret");
  EXPECT_EQ(interceptor["params"][1]["value"], (Json{"push", "ping"}));
  EXPECT_EQ(group["triggerSelector"]["namespaceSelector"]["matchNames"], (Json{"app1", "app2"}));
  EXPECT_EQ(group["triggerSelector"]["labelSelector"]["matchLabels"]["aphex.io/organization"], "acme");
  // No namespaces yet: no selector at all, never ["*"].
  EXPECT_FALSE(org::eventListener(acme(), {})["spec"]["triggerGroups"][0]["triggerSelector"].contains("namespaceSelector"));
}

TEST(OrganizationChildren, TheListenerAccountReadsNoSecret) {
  for (const auto& child : org::webhookChildren(acme(), {})) {
    if (child.object["kind"] != "Role") continue;
    for (const auto& rule : child.object["rules"]) {
      EXPECT_THAT(rule["resources"].dump(), ::testing::Not(HasSubstr("secrets")));
    }
  }
}

TEST(OrganizationChildren, TheSecretStoreReaderSeesOneSecretByName) {
  for (const auto& child : org::secretStoreChildren(acme())) {
    if (child.object["kind"] == "Role") {
      EXPECT_EQ(child.object["rules"][0]["resourceNames"], (Json{"org-secrets"}));
      EXPECT_EQ(child.object["rules"][0]["verbs"], (Json{"get"}));
    }
    if (child.object["kind"] == "ClusterSecretStore") {
      EXPECT_EQ(child.object["spec"]["conditions"][0]["namespaceSelector"]["matchLabels"]["aphex.io/organization"], "acme");
      EXPECT_EQ(child.object["spec"]["provider"]["kubernetes"]["remoteNamespace"], "org-acme");
    }
  }
}

TEST(OrganizationChildren, AdminBindingsHaveValidDistinctNamesForAnySubject) {
  const auto bindings = org::adminBindings(acme());
  ASSERT_EQ(bindings.size(), 3u);
  std::set<std::string> names;
  for (const auto& binding : bindings) {
    const std::string name = binding.object["metadata"]["name"];
    EXPECT_LE(name.size(), 63u);
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << name;
    names.insert(name);
    EXPECT_EQ(binding.object["roleRef"]["name"], "aphex-organization-admin");
  }
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(bindings[1].object["subjects"][0]["name"], "Bob.Smith+ops@example.com");
  EXPECT_EQ(bindings[2].object["subjects"][0]["kind"], "Group");
}

TEST(OrganizationChildren, TheWebhookSecretIsStoredAsDataWithItsRotation) {
  const Json secret = org::webhookSecret(acme(), "abc", "r1");
  EXPECT_EQ(kube::base64Decode(secret["data"]["secret"].get<std::string>()), "abc");
  EXPECT_FALSE(secret.contains("stringData")) << "the server keeps only data; comparing must see the same";
  EXPECT_EQ(secret["metadata"]["annotations"]["aphex.io/rotation"], "r1");
}

TEST(OrganizationChildren, IngressUsesClassAndIssuerOnlyWhenConfigured) {
  auto c = config();
  Json plain = org::ingress(acme(), c);
  EXPECT_EQ(plain["spec"]["rules"][0]["host"], "acme.hooks.example.com");
  EXPECT_EQ(plain["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "el-github-listener");
  EXPECT_FALSE(plain["spec"].contains("ingressClassName"));
  EXPECT_FALSE(plain["spec"].contains("tls"));
  c.ingress_class = "nginx";
  c.ingress_cluster_issuer = "selfsigned";
  Json tls = org::ingress(acme(), c);
  EXPECT_EQ(tls["spec"]["ingressClassName"], "nginx");
  EXPECT_EQ(tls["metadata"]["annotations"]["cert-manager.io/cluster-issuer"], "selfsigned");
  EXPECT_EQ(tls["spec"]["tls"][0]["hosts"][0], "acme.hooks.example.com");
}

TEST(OrganizationChildren, CloudflaredRunsLockedDownFromAPinnedImage) {
  const auto children = org::cloudflaredChildren(acme(), config(), "h1");
  const Json& deployment = children[1].object;
  const Json& pod = deployment["spec"]["template"];
  const Json& container = pod["spec"]["containers"][0];
  EXPECT_THAT(container["image"].get<std::string>(), ::testing::Not(HasSubstr(":latest")));
  EXPECT_EQ(container["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(container["securityContext"]["allowPrivilegeEscalation"], false);
  EXPECT_EQ(container["securityContext"]["capabilities"]["drop"], (Json{"ALL"}));
  EXPECT_TRUE(container["resources"]["requests"].contains("memory"));
  EXPECT_EQ(container["env"][0]["valueFrom"]["secretKeyRef"]["name"], "cloudflared-token");
  EXPECT_EQ(pod["metadata"]["annotations"]["aphex.io/token-hash"], "h1");
  EXPECT_EQ(pod["spec"]["automountServiceAccountToken"], false);
}

}  // namespace
