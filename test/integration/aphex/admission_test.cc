// The admission policies of platform/base/admission (docs/admission.md) on the real control
// plane, each attack made by the identity that would really make it: a pipeline's ServiceAccount
// (pipeline-runner, with a token from the TokenRequest API and the shipped ClusterRole), an
// organization admin (a user authenticated by a client certificate of the cluster's CA, bound to
// the shipped ClusterRole in the organization's namespace) and, standing in for Argo CD syncing a
// team's repository with its own powerful account, the cluster admin. The tenant namespaces are
// made by the controller's own identity, as in a real installation; only it may label them so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "aphex/api/group.h"
#include "aphex/common/resources.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"
#include "integration/support/identities.h"
#include "kube/base64.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::clusterDir;
using ::aphex::testing::controllerIdentity;
using ::aphex::testing::eventually;
using ::aphex::testing::installAdmissionPolicies;
using ::aphex::testing::isReady;
using ::aphex::testing::RunningController;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace res = aphex::resources;
using kube::Json;

const kube::ResourceType kPods{.group = "", .version = "v1", .plural = "pods", .namespaced = true};
const kube::ResourceType kApplications{
    .group = "argoproj.io", .version = "v1alpha1", .plural = "applications", .namespaced = true};
const kube::ResourceType kCertificates{
    .group = "cert-manager.io", .version = "v1", .plural = "certificates", .namespaced = true};
const kube::ResourceType kCertificateRequests{
    .group = "cert-manager.io", .version = "v1", .plural = "certificaterequests", .namespaced = true};
const kube::ResourceType kRuntimeClasses{
    .group = "node.k8s.io", .version = "v1", .plural = "runtimeclasses", .namespaced = false};

constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
constexpr const char* kOrgAdmin = "admin@example.test";

// ---- identities -------------------------------------------------------------------------------


// ---- objects ----------------------------------------------------------------------------------

Json meta(const std::string& ns, const std::string& name, const Json& labels = Json::object(),
          const Json& annotations = Json::object()) {
  Json metadata{{"name", name}, {"namespace", ns}};
  if (!labels.empty()) metadata["labels"] = labels;
  if (!annotations.empty()) metadata["annotations"] = annotations;
  return metadata;
}

Json configMap(const std::string& ns, const std::string& name, const Json& labels = Json::object(),
               const Json& annotations = Json::object()) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta(ns, name, labels, annotations)},
          {"data", {{"image-digest", "sha256:0123"}}}};
}

Json secret(const std::string& ns, const std::string& name, const std::string& type = "Opaque",
            const Json& annotations = Json::object()) {
  Json object{{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", meta(ns, name, Json::object(), annotations)},
              {"type", type}};
  if (type == "Opaque") object["data"] = {{"token", kube::base64Encode("s3cret")}};
  return object;
}

// A Secret Kubernetes would fill with a never-expiring token of ServiceAccount `account`.
Json tokenSecret(const std::string& ns, const std::string& name, const std::string& account) {
  return secret(ns, name, "kubernetes.io/service-account-token", {{"kubernetes.io/service-account.name", account}});
}

Json certificate(const std::string& ns, const std::string& name, const Json& issuer_ref, bool is_ca = false) {
  Json object{{"apiVersion", "cert-manager.io/v1"}, {"kind", "Certificate"}, {"metadata", meta(ns, name)},
              {"spec", {{"secretName", name + "-tls"}, {"dnsNames", Json::array({name + ".example.test"})}, {"issuerRef", issuer_ref}}}};
  if (is_ca) object["spec"]["isCA"] = true;
  return object;
}

Json certificateRequest(const std::string& ns, const std::string& name, const Json& issuer_ref) {
  return {{"apiVersion", "cert-manager.io/v1"}, {"kind", "CertificateRequest"}, {"metadata", meta(ns, name)},
          {"spec", {{"request", kube::base64Encode("-----BEGIN CERTIFICATE REQUEST-----\n")},
                    {"issuerRef", issuer_ref}}}};
}

const Json kPlatformClusterIssuer{{"name", "aphex-platform-ca"}, {"kind", "ClusterIssuer"}, {"group", "cert-manager.io"}};
const Json kOwnIssuer{{"name", "team-ca"}, {"kind", "Issuer"}, {"group", "cert-manager.io"}};

Json pod(const std::string& ns, const std::string& name, const Json& spec_changes = Json::object()) {
  Json object{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta(ns, name)},
              {"spec", {{"automountServiceAccountToken", false},
                        {"containers", Json::array({{{"name", "step"}, {"image", "registry.example.invalid/tools:1.0"}}})}}}};
  object["spec"].update(spec_changes);
  return object;
}

Json application(const std::string& ns, const std::string& name, const Json& labels) {
  return {{"apiVersion", "argoproj.io/v1alpha1"}, {"kind", "Application"}, {"metadata", meta(ns, name, labels)},
          {"spec", {{"project", ns},
                    {"source", {{"repoURL", "https://github.com/acme/" + ns}, {"path", "deploy"}}},
                    {"destination", {{"server", "https://kubernetes.default.svc"}, {"namespace", ns}}}}}};
}

// VmRSS of this process, in kB.
long residentKilobytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  throw std::runtime_error("no VmRSS in /proc/self/status");
}

// ---- the fixture ------------------------------------------------------------------------------

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    installAdmissionPolicies(*admin_);
    // The tenant namespaces, made (and labelled) by the controller's identity as an Organization
    // and its RepoBinding would make them.
    makeTenantNamespace(org_ns_, {{kManagedBy, "aphex-controller"}, {"aphex.io/organization", org_}});
    makeTenantNamespace(pipeline_ns_, {{kManagedBy, "aphex-controller"}, {"aphex.io/organization", org_},
                                       {"aphex.io/pipeline", pipeline_ns_}});
    pipeline_ = clientFor(pipelineIdentity());
    bindOrganizationAdmin();
    org_admin_ = clientFor(aphex::testing::personIdentity(kOrgAdmin));
    waitForPolicies();
  }
  void TearDown() override {
    for (const auto& ns : namespaces_) (void)admin_->remove(res::kNamespaces, "", ns);
  }

  void makeTenantNamespace(const std::string& name, const Json& labels) {
    Json ns = aphex::testing::namespaceObject(name);
    ns["metadata"]["labels"] = labels;
    auto created = controller_->create(res::kNamespaces, "", ns);
    if (!created) throw std::runtime_error("namespace " + name + ": " + created.error().message);
    namespaces_.push_back(name);
  }

  // ServiceAccount pipeline-runner of the pipeline namespace, bound to the shipped ClusterRole as
  // the controller binds it, with a token from the TokenRequest API.
  kube::ClientConfig pipelineIdentity() {
    auto account = admin_->create(res::kServiceAccounts, pipeline_ns_,
                                  {{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                                   {"metadata", meta(pipeline_ns_, "pipeline-runner")}});
    if (!account) throw std::runtime_error(account.error().message);
    bind(pipeline_ns_, "pipeline-runner", "aphex-pipeline-runner",
         {{"kind", "ServiceAccount"}, {"name", "pipeline-runner"}, {"namespace", pipeline_ns_}});
    return aphex::testing::serviceAccountIdentity(*admin_, pipeline_ns_, "pipeline-runner");
  }

  // admin@example.test administers the organization, as the controller binds its adminUsers.
  void bindOrganizationAdmin() {
    bind(org_ns_, "org-admin", "aphex-organization-admin",
         {{"kind", "User"}, {"apiGroup", "rbac.authorization.k8s.io"}, {"name", kOrgAdmin}});
  }

  void bind(const std::string& ns, const std::string& name, const std::string& cluster_role, const Json& subject) {
    auto bound = admin_->create(res::kRoleBindings, ns,
                                {{"apiVersion", "rbac.authorization.k8s.io/v1"}, {"kind", "RoleBinding"},
                                 {"metadata", meta(ns, name)},
                                 {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"},
                                              {"name", cluster_role}}},
                                 {"subjects", Json::array({subject})}});
    if (!bound) throw std::runtime_error("RoleBinding " + ns + "/" + name + ": " + bound.error().message);
  }

  // Policies are enforced about a second after they are stored: until each has refused a request
  // meant for it, the tests would test nothing. Whatever a probe created before then is deleted.
  void waitForPolicies() {
    // The ServiceAccount admission plugin refuses Pods until kube-controller-manager has made
    // the namespace's `default` ServiceAccount.
    ASSERT_TRUE(eventually([&] { return static_cast<bool>(admin_->get(res::kServiceAccounts, pipeline_ns_, "default")); },
                           30s));
    const std::string probe = uniqueName("probe");
    struct Probe {
      std::string policy;
      kube::ResourceType type;
      std::string ns;
      Json object;
    };
    const std::vector<Probe> probes{
        {"aphex-controller-metadata", res::kConfigMaps, pipeline_ns_,
         configMap(pipeline_ns_, probe, {{kManagedBy, "aphex-controller"}})},
        {"aphex-controller-namespace-metadata", res::kNamespaces, "",
         {{"apiVersion", "v1"}, {"kind", "Namespace"},
          {"metadata", {{"name", probe}, {"labels", {{"aphex.io/organization", org_}}}}}}},
        {"aphex-tenant-secrets", res::kSecrets, pipeline_ns_, tokenSecret(pipeline_ns_, probe, "default")},
        {"aphex-tenant-certificates", kCertificates, pipeline_ns_, certificate(pipeline_ns_, probe, kOwnIssuer, true)},
        {"aphex-tenant-pods", kPods, pipeline_ns_, pod(pipeline_ns_, probe, {{"priorityClassName", "system-node-critical"}})},
        {"aphex-pipeline-namespace-kinds", aphex::api::kRepoBindings, pipeline_ns_,
         aphex::testing::repoBindingObject(pipeline_ns_, probe, org_, uniqueName("p"))},
    };
    for (const auto& p : probes) {
      std::string last;
      const bool enforced = eventually(
          [&] {
            auto created = admin_->create(p.type, p.ns, p.object);
            if (created) {
              (void)admin_->remove(p.type, p.ns, p.object["metadata"]["name"].get<std::string>());
              last = "accepted";
              return false;
            }
            last = created.error().message;
            return last.find("ValidatingAdmissionPolicy '" + p.policy + "'") != std::string::npos;
          },
          30s);
      ASSERT_TRUE(enforced) << p.policy << " is not enforced: the last probe got: " << last;
    }
  }

  // The API server's refusal: a 403 from policy `policy`, whose message is returned.
  static std::string deniedBy(const kube::Result<Json>& result, const std::string& policy) {
    if (result) {
      ADD_FAILURE() << "accepted, but policy " << policy << " should have denied it: " << result->dump();
      return "";
    }
    const auto& error = result.error();
    EXPECT_TRUE(error.isForbidden()) << error.message;
    const std::string message = error.status ? error.status->message : error.message;
    EXPECT_THAT(message, HasSubstr("ValidatingAdmissionPolicy '" + policy + "'"));
    return message;
  }

  static void accepted(const kube::Result<Json>& result) {
    EXPECT_TRUE(result) << (result ? "" : result.error().message);
  }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  kube::ClientConfig controller_identity_ = controllerIdentity(*admin_);
  std::unique_ptr<kube::Client> controller_ = clientFor(controller_identity_);
  std::string org_ = uniqueName("adm");
  std::string org_ns_ = "org-" + org_;
  std::string pipeline_ns_ = uniqueName("p");
  std::vector<std::string> namespaces_;
  std::unique_ptr<kube::Client> pipeline_;
  std::unique_ptr<kube::Client> org_admin_;
};

// ---- F5: the controller's label and aphex.io metadata ----------------------------------------

TEST_F(AdmissionTest, APipelineCannotClaimItsObjectsAreTheControllers) {
  // The label the controller's informers select, cluster-wide.
  const std::string message = deniedBy(
      pipeline_->create(res::kConfigMaps, pipeline_ns_, configMap(pipeline_ns_, "outputs", {{kManagedBy, "aphex-controller"}})),
      "aphex-controller-metadata");
  EXPECT_THAT(message, HasSubstr("metadata.labels: app.kubernetes.io/managed-by"));
  EXPECT_THAT(message, HasSubstr("set only by aphex-controller"));
  // A forged annotation that would wake another tenant's RepoBinding.
  EXPECT_THAT(deniedBy(pipeline_->create(res::kConfigMaps, pipeline_ns_,
                                         configMap(pipeline_ns_, "outputs", {}, {{"aphex.io/repo-binding", "platform-system/other"}})),
                       "aphex-controller-metadata"),
              HasSubstr("metadata.annotations: aphex.io/repo-binding"));
  // Another organization's label.
  deniedBy(pipeline_->create(res::kConfigMaps, pipeline_ns_,
                             configMap(pipeline_ns_, "outputs", {{"aphex.io/organization", "someone-else"}})),
           "aphex-controller-metadata");

  // The same ConfigMap without them is the pipeline's business.
  auto created = pipeline_->create(res::kConfigMaps, pipeline_ns_, configMap(pipeline_ns_, "outputs", {{"team", "web"}}));
  ASSERT_TRUE(created) << created.error().message;
  // Relabelling it afterwards is refused too.
  Json relabelled = *created;
  relabelled["metadata"]["labels"][kManagedBy] = "aphex-controller";
  deniedBy(pipeline_->update(res::kConfigMaps, pipeline_ns_, relabelled), "aphex-controller-metadata");
  EXPECT_THAT(deniedBy(pipeline_->mergePatch(res::kConfigMaps, pipeline_ns_, "outputs",
                                             {{"metadata", {{"annotations", {{"aphex.io/applied-hash", "x"}}}}}}),
                       "aphex-controller-metadata"),
              HasSubstr("aphex.io/applied-hash"));
  // Changing its data is not.
  accepted(pipeline_->mergePatch(res::kConfigMaps, pipeline_ns_, "outputs", {{"data", {{"image-digest", "sha256:4567"}}}}));
  auto live = admin_->get(res::kConfigMaps, pipeline_ns_, "outputs");
  ASSERT_TRUE(live);
  EXPECT_FALSE((*live)["metadata"]["labels"].contains(kManagedBy));
}

TEST_F(AdmissionTest, TheControllerStillLabelsItsObjectsAndOthersMayNotUntagThem) {
  const Json labels{{kManagedBy, "aphex-controller"}, {"aphex.io/organization", org_}, {"aphex.io/pipeline", pipeline_ns_}};
  const Json annotations{{"aphex.io/repo-binding", "platform-system/" + pipeline_ns_}};
  accepted(controller_->create(res::kConfigMaps, pipeline_ns_, configMap(pipeline_ns_, "made", labels, annotations)));
  accepted(controller_->create(res::kSecrets, org_ns_,
                               {{"apiVersion", "v1"}, {"kind", "Secret"},
                                {"metadata", meta(org_ns_, "github-webhook-secret", labels)},
                                {"data", {{"secret", kube::base64Encode("x")}}}}));

  // An update that leaves the controller's marks alone passes (as Kubernetes' garbage collector's
  // removal of a finalizer or owner reference does) ...
  accepted(pipeline_->mergePatch(res::kConfigMaps, pipeline_ns_, "made", {{"data", {{"image-digest", "sha256:89ab"}}}}));
  accepted(admin_->mergePatch(res::kConfigMaps, pipeline_ns_, "made", {{"metadata", {{"finalizers", Json::array({"example.test/hold"})}}}}));
  accepted(admin_->mergePatch(res::kConfigMaps, pipeline_ns_, "made", {{"metadata", {{"finalizers", nullptr}}}}));
  // ... removing or changing them does not, for anyone but the controller.
  deniedBy(pipeline_->mergePatch(res::kConfigMaps, pipeline_ns_, "made", {{"metadata", {{"labels", {{kManagedBy, nullptr}}}}}}),
           "aphex-controller-metadata");
  deniedBy(admin_->mergePatch(res::kConfigMaps, pipeline_ns_, "made",
                              {{"metadata", {{"annotations", {{"aphex.io/repo-binding", "platform-system/other"}}}}}}),
           "aphex-controller-metadata");
  accepted(controller_->mergePatch(res::kConfigMaps, pipeline_ns_, "made",
                                   {{"metadata", {{"annotations", {{"aphex.io/repo-binding", "platform-system/other"}}}}}}));
}

TEST_F(AdmissionTest, ApplicationsCarryNoMarksOfTheController) {
  // A team's Application needs no aphex.io label (deleting the RepoBinding deletes every
  // Application of its namespace), so none is allowed: not even one stating its own pipeline ...
  deniedBy(pipeline_->create(kApplications, pipeline_ns_,
                             application(pipeline_ns_, "web", {{"aphex.io/organization", org_},
                                                               {"aphex.io/pipeline", pipeline_ns_}})),
           "aphex-controller-metadata");
  accepted(pipeline_->create(kApplications, pipeline_ns_, application(pipeline_ns_, "web", {{"team", "web"}})));
  // ... nor a claim on another organization's pipeline.
  deniedBy(pipeline_->create(kApplications, pipeline_ns_,
                             application(pipeline_ns_, "api", {{"aphex.io/organization", "other-org"},
                                                               {"aphex.io/pipeline", "other-pipeline"}})),
           "aphex-controller-metadata");
  // Nor does the controller's label, from Argo CD's powerful account or anyone's.
  deniedBy(admin_->create(kApplications, pipeline_ns_,
                          application(pipeline_ns_, "api", {{kManagedBy, "aphex-controller"}})),
           "aphex-controller-metadata");
}

TEST_F(AdmissionTest, OnlyTheControllerMarksNamespacesAsTenants) {
  const std::string forged = uniqueName("forged");
  EXPECT_THAT(deniedBy(admin_->create(res::kNamespaces, "",
                                      {{"apiVersion", "v1"}, {"kind", "Namespace"},
                                       {"metadata", {{"name", forged}, {"labels", {{"aphex.io/organization", org_}}}}}}),
                       "aphex-controller-namespace-metadata"),
              HasSubstr("metadata.labels: aphex.io/organization"));
  // Taking a namespace out of the tenant policies' scope is refused as well.
  deniedBy(admin_->mergePatch(res::kNamespaces, "", pipeline_ns_,
                              {{"metadata", {{"labels", {{"aphex.io/organization", nullptr}}}}}}),
           "aphex-controller-namespace-metadata");
  // Labels of others' keys are not the controller's (granting a runtime class, say).
  accepted(admin_->mergePatch(res::kNamespaces, "", pipeline_ns_,
                              {{"metadata", {{"labels", {{"team", "web"}}}}}}));
}

// ---- F7: ServiceAccount token Secrets, and org admins' one Secret -------------------------------

TEST_F(AdmissionTest, NobodyMintsServiceAccountTokenSecretsInTenantNamespaces) {
  EXPECT_THAT(deniedBy(pipeline_->create(res::kSecrets, pipeline_ns_, tokenSecret(pipeline_ns_, "runner-token", "pipeline-runner")),
                       "aphex-tenant-secrets"),
              HasSubstr("type: kubernetes.io/service-account-token"));
  deniedBy(org_admin_->create(res::kSecrets, org_ns_, tokenSecret(org_ns_, "listener-token", "eventlistener")),
           "aphex-tenant-secrets");
  // Named as the one Secret admins own, it is still no token.
  deniedBy(org_admin_->create(res::kSecrets, org_ns_, tokenSecret(org_ns_, "org-secrets", "eventlistener")),
           "aphex-tenant-secrets");
  // The pipeline's own Secrets (Terraform's state, say) are still its business.
  accepted(pipeline_->create(res::kSecrets, pipeline_ns_, secret(pipeline_ns_, "tfstate-default-web")));
}

TEST_F(AdmissionTest, OrganizationAdminsCreateOnlyOrgSecrets) {
  EXPECT_THAT(deniedBy(org_admin_->create(res::kSecrets, org_ns_, secret(org_ns_, "webhook-tls")), "aphex-tenant-secrets"),
              HasSubstr("metadata.name: webhook-tls"));
  deniedBy(org_admin_->create(res::kSecrets, org_ns_, secret(org_ns_, "github-webhook-secret")), "aphex-tenant-secrets");
  accepted(org_admin_->create(res::kSecrets, org_ns_, secret(org_ns_, "org-secrets")));
  // The controller makes its own Secrets there.
  accepted(controller_->create(res::kSecrets, org_ns_, secret(org_ns_, "github-webhook-secret")));
}

// ---- F4: certificates ---------------------------------------------------------------------------

TEST_F(AdmissionTest, TenantsGetNoCertificatesFromClusterIssuersAndNoCAs) {
  // As the cluster admin, standing in for Argo CD syncing a team's repository.
  EXPECT_THAT(deniedBy(admin_->create(kCertificates, pipeline_ns_, certificate(pipeline_ns_, "web", kPlatformClusterIssuer)),
                       "aphex-tenant-certificates"),
              HasSubstr("spec.issuerRef.kind: ClusterIssuer"));
  EXPECT_THAT(deniedBy(admin_->create(kCertificates, pipeline_ns_, certificate(pipeline_ns_, "ca", kOwnIssuer, true)),
                       "aphex-tenant-certificates"),
              HasSubstr("spec.isCA"));
  deniedBy(admin_->create(kCertificateRequests, pipeline_ns_, certificateRequest(pipeline_ns_, "web", kPlatformClusterIssuer)),
           "aphex-tenant-certificates");
  Json letsencrypt = kPlatformClusterIssuer;
  letsencrypt["name"] = "letsencrypt";
  deniedBy(admin_->create(kCertificates, org_ns_, certificate(org_ns_, "web", letsencrypt)), "aphex-tenant-certificates");
  // A team's own Issuer, and cert-manager's default kind (Issuer), are fine.
  accepted(admin_->create(kCertificates, pipeline_ns_, certificate(pipeline_ns_, "web", kOwnIssuer)));
  accepted(admin_->create(kCertificates, pipeline_ns_, certificate(pipeline_ns_, "api", {{"name", "team-ca"}})));
}

// ---- F8: Pods -----------------------------------------------------------------------------------

TEST_F(AdmissionTest, PodsGetNoSystemPriorityAndOnlyGrantedRuntimeClasses) {
  // A RuntimeClass like platform/deployments/*/gpu's (the RuntimeClass admission plugin refuses a
  // Pod naming one that does not exist before any policy sees it). Named for this test alone and
  // removed at its end: RuntimeClasses are cluster-wide, and the manifests' dry run applies gpu's.
  const std::string runtime_class = uniqueName("accel");
  auto made = admin_->create(kRuntimeClasses, "",
                             {{"apiVersion", "node.k8s.io/v1"}, {"kind", "RuntimeClass"},
                              {"metadata", {{"name", runtime_class}}}, {"handler", "runc"}});
  ASSERT_TRUE(made) << made.error().message;
  struct Remove {
    kube::Client& admin;
    std::string name;
    ~Remove() { (void)admin.remove(kRuntimeClasses, "", name); }
  } remove_after{*admin_, runtime_class};

  EXPECT_THAT(deniedBy(admin_->create(kPods, pipeline_ns_, pod(pipeline_ns_, "critical", {{"priorityClassName", "system-node-critical"}})),
                       "aphex-tenant-pods"),
              HasSubstr("spec.priorityClassName: system-node-critical"));
  deniedBy(admin_->create(kPods, pipeline_ns_, pod(pipeline_ns_, "critical", {{"priorityClassName", "system-cluster-critical"}})),
           "aphex-tenant-pods");
  EXPECT_THAT(deniedBy(admin_->create(kPods, pipeline_ns_, pod(pipeline_ns_, "train", {{"runtimeClassName", runtime_class}})),
                       "aphex-tenant-pods"),
              HasSubstr("runtimeclass.aphex.io/" + runtime_class + "=true"));
  accepted(admin_->create(kPods, pipeline_ns_, pod(pipeline_ns_, "plain")));

  // A platform administrator grants the class to this namespace.
  accepted(admin_->mergePatch(res::kNamespaces, "", pipeline_ns_,
                              {{"metadata", {{"labels", {{"runtimeclass.aphex.io/" + runtime_class, "true"}}}}}}));
  EXPECT_TRUE(eventually([&] {
    auto created = admin_->create(kPods, pipeline_ns_, pod(pipeline_ns_, "train", {{"runtimeClassName", runtime_class}}));
    return static_cast<bool>(created);
  }, 10s)) << "a namespace granted the runtime class may use it";
}

// ---- aphex.io kinds in pipeline namespaces ------------------------------------------------------

TEST_F(AdmissionTest, NoRepoBindingsInPipelineNamespaces) {
  EXPECT_THAT(deniedBy(admin_->create(aphex::api::kRepoBindings, pipeline_ns_,
                                      aphex::testing::repoBindingObject(pipeline_ns_, "sneaky", org_, uniqueName("p"))),
                       "aphex-pipeline-namespace-kinds"),
              HasSubstr("is a pipeline namespace, where RepoBindings are not created"));
  // In the organization's namespace, where they belong, they pass (no controller runs here).
  accepted(org_admin_->create(aphex::api::kRepoBindings, org_ns_,
                              aphex::testing::repoBindingObject(org_ns_, "web", org_, uniqueName("p"))));
}

// ---- F5: the flood that used to OOM-kill the controller -----------------------------------------

TEST_F(AdmissionTest, AFloodOfForgedConfigMapsNeverReachesTheController) {
  ScopedNamespace platform(*admin_, "it-platform");
  const std::string run = uniqueName("run");
  aphex::ControllerConfig config;
  config.platform_namespace = platform.name();
  config.object_selector = aphex::testing::testRunSelector(run);
  RunningController controller(config, aphex::DomainControllerOptions{}, controller_identity_);

  constexpr int kConfigMaps = 50;
  constexpr size_t kPayload = 700 * 1000;
  const std::string payload(kPayload, 'x');
  const auto forged = [&](const std::string& name) {
    Json object = configMap(pipeline_ns_, name, {{kManagedBy, "aphex-controller"}});
    object["data"] = {{"blob", payload}};
    return object;
  };
  // One first, so that the allocations a first request makes are not counted.
  deniedBy(pipeline_->create(res::kConfigMaps, pipeline_ns_, forged("warm-up")), "aphex-controller-metadata");
  const long before = residentKilobytes();
  int denied = 0;
  for (int i = 0; i < kConfigMaps; ++i) {
    auto created = pipeline_->create(res::kConfigMaps, pipeline_ns_, forged("blob-" + std::to_string(i)));
    if (!created && created.error().isForbidden() &&
        created.error().message.find("aphex-controller-metadata") != std::string::npos) {
      ++denied;
    }
  }
  std::this_thread::sleep_for(2s);  // time for any watch event to reach the controller's caches
  const long grown = residentKilobytes() - before;
  EXPECT_EQ(denied, kConfigMaps);
  auto stored = admin_->list(res::kConfigMaps, pipeline_ns_, {.label_selector = std::string(kManagedBy) + "=aphex-controller"});
  ASSERT_TRUE(stored);
  EXPECT_TRUE((*stored)["items"].empty());
  EXPECT_LT(grown, 10 * 1024) << "RSS grew by " << grown << " kB";
  std::printf("[ flood    ] %d of %d forged %zu-byte ConfigMaps denied; RSS %ld kB -> %ld kB (%+ld kB)\n", denied,
              kConfigMaps, kPayload, before, before + grown, grown);

  // The controller is alive and reconciling: an Organization made now becomes Ready.
  const std::string name = uniqueName("alive");
  Json org = aphex::testing::labelledForRun(aphex::testing::organizationObject(platform.name(), name), run);
  ASSERT_TRUE(admin_->create(aphex::api::kOrganizations, platform.name(), org));
  const auto current = [&] {
    auto object = admin_->get(aphex::api::kOrganizations, platform.name(), name);
    return object ? *object : Json();
  };
  EXPECT_TRUE(eventually([&] { return isReady(current()); }, 30s)) << current().dump(2);
  ASSERT_TRUE(admin_->remove(aphex::api::kOrganizations, platform.name(), name));
  EXPECT_TRUE(eventually([&] {
    auto object = admin_->get(aphex::api::kOrganizations, platform.name(), name);
    return !object && object.error().isNotFound();
  }, 60s)) << "the Organization's finalizer was not processed";
}

}  // namespace
