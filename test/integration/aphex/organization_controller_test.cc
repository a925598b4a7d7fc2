// The Organization controller on the real control plane, under the shipped RBAC, with the
// Cloudflare stand-in: provisioning, zero writes at rest, drift repair, admin pruning, secret
// rotation, exposure modes and deletion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "aphex/api/group.h"
#include "aphex/common/resources.h"
#include "aphex/organization/children.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"
#include "kube/base64.h"
#include "support/fake_cloudflare.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::conditionStatus;
using ::aphex::testing::controllerIdentity;
using ::aphex::testing::eventually;
using ::aphex::testing::FakeCloudflare;
using ::aphex::testing::RunningController;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace res = aphex::resources;
using kube::Json;

Json organization(const std::string& ns, const std::string& name, const std::string& exposure = "") {
  Json org = aphex::testing::organizationObject(ns, name);
  if (!exposure.empty()) org["spec"]["exposure"] = {{"mode", exposure}};
  return org;
}

class OrganizationControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.platform_namespace = platform_.name();
    config_.object_selector = aphex::testing::testRunSelector(run_);
    config_.public_domain = cloudflare_.options().zone_name;
    config_.cloudflare = {.api_base_url = cloudflare_.baseUrl(), .account_id = cloudflare_.options().account_id,
                          .zone_id = cloudflare_.options().zone_id,
                          .token_secret_name = "cloudflare-api-token", .token_secret_key = "token"};
    config_.ingress_class = "nginx";
  }

  void start() { controller_ = std::make_unique<RunningController>(config_, aphex::DomainControllerOptions{}, identity_); }

  void storeCloudflareToken() {
    const Json secret{{"apiVersion", "v1"}, {"kind", "Secret"},
                      {"metadata", {{"name", "cloudflare-api-token"}, {"namespace", platform_.name()}}},
                      {"data", {{"token", kube::base64Encode(cloudflare_.options().token)}}}};
    ASSERT_TRUE(admin_->create(res::kSecrets, platform_.name(), secret));
  }

  Json create(const Json& org) {
    auto created = admin_->create(aphex::api::kOrganizations, platform_.name(),
                                  aphex::testing::labelledForRun(org, run_));
    EXPECT_TRUE(created) << created.error().message;
    return created ? *created : Json();
  }

  Json get(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    auto object = admin_->get(type, ns, name);
    return object ? *object : Json();
  }

  Json org(const std::string& name) { return get(aphex::api::kOrganizations, platform_.name(), name); }

  bool ready(const std::string& name) {
    const Json current = org(name);
    return conditionStatus(current, "Ready") == "True" &&
           current["status"].value("observedGeneration", 0) == current["metadata"].value("generation", -1);
  }

  bool exists(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    auto object = admin_->get(type, ns, name);
    return object && !(*object)["metadata"].contains("deletionTimestamp");
  }

  void removeOrganization(const std::string& name) {
    ASSERT_TRUE(admin_->remove(aphex::api::kOrganizations, platform_.name(), name));
    ASSERT_TRUE(eventually([&] {
      auto current = admin_->get(aphex::api::kOrganizations, platform_.name(), name);
      return !current && current.error().isNotFound();
    }, 90s))
        << org(name).dump(2);
  }

  // No object of any kind the controller makes carries the Organization's label any more.
  void expectNothingLabelledFor(const std::string& name) {
    for (const auto& type : {res::kNamespaces, res::kSecrets, res::kConfigMaps, res::kServiceAccounts,
                             res::kDeployments, res::kRoles, res::kRoleBindings, res::kClusterRoleBindings,
                             res::kIngresses, res::kEventListeners, res::kClusterSecretStores}) {
      const auto left = admin_->list(type, "", {.label_selector = "aphex.io/organization=" + name});
      ASSERT_TRUE(left) << left.error().message;
      for (const auto& item : (*left)["items"]) {
        ADD_FAILURE() << type.plural << " " << item["metadata"].value("namespace", "") << "/"
                      << item["metadata"].value("name", "") << " was left behind";
      }
    }
  }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  kube::ClientConfig identity_ = controllerIdentity(*admin_);
  ScopedNamespace platform_{*admin_, "it-platform"};
  std::string run_ = uniqueName("run");
  FakeCloudflare cloudflare_;
  aphex::ControllerConfig config_;
  std::unique_ptr<RunningController> controller_;
};

TEST_F(OrganizationControllerTest, ProvisionsEverythingAndThenWritesNothing) {
  start();
  const std::string name = uniqueName("acme");
  const std::string ns = "org-" + name;
  create(organization(platform_.name(), name, "None"));
  ASSERT_TRUE(eventually([&] { return ready(name); }, 30s)) << org(name).dump(2);

  const Json status = org(name)["status"];
  EXPECT_EQ(status["phase"], "Ready");
  EXPECT_EQ(status["namespace"], ns);
  EXPECT_EQ(status["webhookURL"], "http://el-github-listener." + ns + ".svc.cluster.local:8080/");
  EXPECT_EQ(status["webhookSecretRef"], (Json{{"namespace", ns}, {"name", "github-webhook-secret"}, {"key", "secret"}}));
  for (const char* type : {"NamespaceReady", "WebhookReady", "SecretStoreReady", "AccessReady", "ExposureReady"}) {
    EXPECT_EQ(conditionStatus(org(name), type), "True") << type;
  }

  const Json namespace_object = get(res::kNamespaces, "", ns);
  EXPECT_EQ(namespace_object["metadata"]["labels"]["aphex.io/organization"], name);
  EXPECT_EQ(namespace_object["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "baseline");
  const Json secret = get(res::kSecrets, ns, "github-webhook-secret");
  const auto value = kube::base64Decode(secret["data"].value("secret", ""));
  ASSERT_TRUE(value);
  EXPECT_TRUE(std::regex_match(*value, std::regex("[0-9a-f]{64}")));
  EXPECT_THAT(org(name).dump(), Not(HasSubstr(*value)));

  const Json listener = get(res::kEventListeners, ns, "github-listener");
  const Json interceptor = listener["spec"]["triggerGroups"][0]["interceptors"][0];
  EXPECT_EQ(interceptor["ref"]["name"], "github");
  EXPECT_EQ(interceptor["params"][0]["value"]["secretName"], "github-webhook-secret");
  EXPECT_EQ(interceptor["params"][1]["value"], (Json{"push", "ping"}));
  EXPECT_TRUE(exists(res::kClusterRoleBindings, "", "aphex-eventlistener-" + ns));
  EXPECT_TRUE(exists(res::kClusterSecretStores, "", ns + "-store"));
  EXPECT_TRUE(exists(res::kRoles, ns, "eso-secrets-reader"));
  const auto bindings = admin_->list(res::kRoleBindings, ns, {.label_selector = "aphex.io/component=org-admin"});
  ASSERT_TRUE(bindings);
  EXPECT_EQ((*bindings)["items"].size(), 3u);

  // At rest: no pass writes anything, even when something makes the controller look again.
  std::this_thread::sleep_for(2s);
  const int writes_before = controller_->writes();
  Json touched = org(name);
  touched["metadata"]["labels"]["touched"] = "yes";
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), touched));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(controller_->writes(), writes_before) << "an unchanged Organization must cost zero writes";

  // The secret's value is in no log line, no Event and no status.
  controller_->flushEvents();
  EXPECT_THAT(controller_->log(), Not(HasSubstr(*value)));
  EXPECT_THAT(controller_->log(), HasSubstr("webhook secret written")) << "the log is being captured";
  const auto events = admin_->list({.group = "events.k8s.io", .version = "v1", .plural = "events", .namespaced = true},
                                   platform_.name());
  ASSERT_TRUE(events);
  EXPECT_FALSE((*events)["items"].empty());
  EXPECT_THAT(events->dump(), Not(HasSubstr(*value)));

  // A restarted controller finds everything as it should be and writes nothing either.
  controller_.reset();
  start();
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(controller_->writes(), 0) << "a restart must cost zero writes";
  removeOrganization(name);
}

TEST_F(OrganizationControllerTest, RepairsDriftAndPrunesRemovedAdmins) {
  start();
  const std::string name = uniqueName("drift");
  const std::string ns = "org-" + name;
  create(organization(platform_.name(), name, "None"));
  ASSERT_TRUE(eventually([&] { return ready(name); }, 30s)) << org(name).dump(2);

  ASSERT_TRUE(admin_->remove(res::kEventListeners, ns, "github-listener"));
  EXPECT_TRUE(eventually([&] { return exists(res::kEventListeners, ns, "github-listener"); }, 20s));
  Json listener = get(res::kEventListeners, ns, "github-listener");
  listener["spec"]["triggerGroups"][0]["interceptors"] = Json::array();
  ASSERT_TRUE(admin_->update(res::kEventListeners, ns, listener));
  EXPECT_TRUE(eventually([&] {
    return get(res::kEventListeners, ns, "github-listener")["spec"]["triggerGroups"][0]["interceptors"].size() == 1;
  }, 20s));
  ASSERT_TRUE(admin_->remove(res::kClusterSecretStores, "", ns + "-store"));
  EXPECT_TRUE(eventually([&] { return exists(res::kClusterSecretStores, "", ns + "-store"); }, 20s));

  // A deleted webhook secret comes back with a new value, and an Event says to update GitHub.
  const std::string old_value = get(res::kSecrets, ns, "github-webhook-secret")["data"]["secret"];
  ASSERT_TRUE(admin_->remove(res::kSecrets, ns, "github-webhook-secret"));
  ASSERT_TRUE(eventually([&] { return exists(res::kSecrets, ns, "github-webhook-secret"); }, 20s));
  EXPECT_NE(get(res::kSecrets, ns, "github-webhook-secret")["data"]["secret"], old_value);
  controller_->flushEvents();
  const auto events = admin_->list({.group = "events.k8s.io", .version = "v1", .plural = "events", .namespaced = true},
                                   platform_.name());
  ASSERT_TRUE(events);
  EXPECT_THAT(events->dump(), HasSubstr("WebhookSecretRecreated"));
  Json role = get(res::kRoles, ns, "eso-secrets-reader");
  role["rules"][0]["resourceNames"] = Json::array({"github-webhook-secret"});
  ASSERT_TRUE(admin_->update(res::kRoles, ns, role));
  EXPECT_TRUE(eventually([&] {
    return get(res::kRoles, ns, "eso-secrets-reader")["rules"][0]["resourceNames"] == Json::array({"org-secrets"});
  }, 20s));

  Json changed = org(name);
  changed["spec"]["adminUsers"] = Json::array({"alice@example.com"});
  changed["spec"].erase("adminGroups");
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), changed));
  EXPECT_TRUE(eventually([&] {
    auto bindings = admin_->list(res::kRoleBindings, ns, {.label_selector = "aphex.io/component=org-admin"});
    return bindings && (*bindings)["items"].size() == 1 &&
           (*bindings)["items"][0]["subjects"][0]["name"] == "alice@example.com";
  }, 20s));
  removeOrganization(name);
}

TEST_F(OrganizationControllerTest, RotatesTheWebhookSecretOnlyOnRequest) {
  start();
  const std::string name = uniqueName("rotate");
  const std::string ns = "org-" + name;
  create(organization(platform_.name(), name, "None"));
  ASSERT_TRUE(eventually([&] { return ready(name); }, 30s));
  const std::string first = get(res::kSecrets, ns, "github-webhook-secret")["data"]["secret"];

  Json annotated = org(name);
  annotated["metadata"]["annotations"] = {{"aphex.io/rotate-webhook-secret", "2026-11-28"}};
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), annotated));
  ASSERT_TRUE(eventually([&] {
    return get(res::kSecrets, ns, "github-webhook-secret")["data"].value("secret", first) != first;
  }, 20s));
  const std::string second = get(res::kSecrets, ns, "github-webhook-secret")["data"]["secret"];
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(get(res::kSecrets, ns, "github-webhook-secret")["data"]["secret"], second) << "rotated more than once";
  removeOrganization(name);
}

TEST_F(OrganizationControllerTest, IngressExposureAndSwitchingItOff) {
  start();
  const std::string name = uniqueName("ingress");
  const std::string ns = "org-" + name;
  create(organization(platform_.name(), name, "Ingress"));
  ASSERT_TRUE(eventually([&] { return ready(name); }, 30s)) << org(name).dump(2);
  const Json ingress = get(res::kIngresses, ns, "github-listener");
  EXPECT_EQ(ingress["spec"]["rules"][0]["host"], name + "." + config_.public_domain);
  EXPECT_EQ(ingress["spec"]["ingressClassName"], "nginx");
  EXPECT_EQ(org(name)["status"]["webhookURL"], "https://" + name + "." + config_.public_domain + "/");

  Json changed = org(name);
  changed["spec"]["exposure"]["mode"] = "None";
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), changed));
  EXPECT_TRUE(eventually([&] { return !exists(res::kIngresses, ns, "github-listener") && ready(name); }, 20s));
  removeOrganization(name);
}

TEST_F(OrganizationControllerTest, CloudflareTunnelFromCreationToDeletion) {
  storeCloudflareToken();
  start();
  const std::string name = uniqueName("tunnel");
  const std::string ns = "org-" + name;
  const std::string host = name + "." + config_.public_domain;
  create(organization(platform_.name(), name, "CloudflareTunnel"));
  ASSERT_TRUE(eventually([&] { return ready(name); }, 30s)) << org(name).dump(2);

  const std::string tunnel_id = org(name)["status"].value("tunnelID", "");
  ASSERT_FALSE(tunnel_id.empty());
  const auto tunnel = cloudflare_.tunnel(tunnel_id);
  ASSERT_TRUE(tunnel);
  EXPECT_EQ((*tunnel)["name"], "webhooks-" + name);
  const auto records = cloudflare_.dnsRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["name"], host);
  EXPECT_EQ(records[0]["content"], tunnel_id + ".cfargotunnel.com");
  EXPECT_EQ(records[0]["proxied"], true);
  EXPECT_THAT(cloudflare_.configuration(tunnel_id).dump(), HasSubstr("el-github-listener." + ns));
  const Json token = get(res::kSecrets, ns, "cloudflared-token");
  EXPECT_EQ(kube::base64Decode(token["data"].value("token", "")), cloudflare_.tunnelToken(tunnel_id));
  const Json deployment = get(res::kDeployments, ns, "cloudflared");
  const Json container = deployment["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(container["securityContext"]["runAsNonRoot"], true);
  EXPECT_THAT(container["image"].get<std::string>(), Not(HasSubstr(":latest")));
  EXPECT_EQ(org(name)["status"]["webhookURL"], "https://" + host + "/");

  // At rest, Cloudflare is not called either.
  std::this_thread::sleep_for(1s);
  cloudflare_.clearRequests();
  Json touched = org(name);
  touched["metadata"]["labels"]["touched"] = "yes";
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), touched));
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(cloudflare_.requests().empty());

  cloudflare_.setConnections(tunnel_id, 2);  // cloudflared connected: deletion must clean up first
  // While Cloudflare fails, the finalizer stays and nothing is reported as done.
  cloudflare_.failNext(1000000, {.status = 500});
  ASSERT_TRUE(admin_->remove(aphex::api::kOrganizations, platform_.name(), name));
  EXPECT_TRUE(eventually([&] { return org(name)["status"].value("phase", "") == "Terminating"; }, 10s));
  std::this_thread::sleep_for(10s);  // more than one round of the client's retries
  ASSERT_TRUE(admin_->get(aphex::api::kOrganizations, platform_.name(), name).ok())
      << "the finalizer must hold while Cloudflare fails";
  EXPECT_TRUE((*cloudflare_.tunnel(tunnel_id))["deleted_at"].is_null()) << "the tunnel must not be gone yet";
  cloudflare_.failNext(0, {});
  removeOrganization(name);
  EXPECT_TRUE(cloudflare_.dnsRecords().empty());
  EXPECT_FALSE((*cloudflare_.tunnel(tunnel_id))["deleted_at"].is_null());
  EXPECT_FALSE(exists(res::kNamespaces, "", ns));
  EXPECT_FALSE(exists(res::kClusterSecretStores, "", ns + "-store"));
  EXPECT_FALSE(exists(res::kClusterRoleBindings, "", "aphex-eventlistener-" + ns));
  expectNothingLabelledFor(name);
}

TEST_F(OrganizationControllerTest, CloudflareProblemsBecomeConditionsWithCloudflaresMessage) {
  start();  // no token Secret yet
  const std::string name = uniqueName("cferr");
  create(organization(platform_.name(), name, "CloudflareTunnel"));
  ASSERT_TRUE(eventually([&] { return conditionStatus(org(name), "ExposureReady") == "False"; }, 30s));
  EXPECT_THAT(org(name)["status"].dump(), HasSubstr("cloudflare-api-token"));
  EXPECT_EQ(conditionStatus(org(name), "WebhookReady"), "True") << "one failing step must not block the others";

  // A DNS record someone else made for the host: refused, with Cloudflare's side of the story.
  cloudflare_.addDnsRecord("CNAME", name + "." + config_.public_domain, "elsewhere.example.net", "hand-made");
  storeCloudflareToken();
  Json nudge = org(name);
  nudge["metadata"]["labels"]["nudge"] = "1";
  ASSERT_TRUE(admin_->update(aphex::api::kOrganizations, platform_.name(), nudge));
  ASSERT_TRUE(eventually([&] { return org(name)["status"].dump().find("elsewhere.example.net") != std::string::npos ||
                                      org(name)["status"].dump().find("not created by") != std::string::npos; },
                         30s))
      << org(name)["status"].dump(2);
  EXPECT_EQ(conditionStatus(org(name), "Ready"), "False");
  EXPECT_EQ(cloudflare_.dnsRecords().size(), 1u) << "a foreign record must never be overwritten";
  removeOrganization(name);
}

}  // namespace
