#include "aphex/organization/children.h"

#include <algorithm>
#include <cctype>

#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "kube/base64.h"
#include "runtime/apply.h"

namespace aphex::organization {
namespace {

using kube::Json;
namespace res = aphex::resources;

constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";

std::string orgNamespace(const api::Organization& org) { return api::organizationNamespace(org.metadata.name); }

Json labelsFor(const api::Organization& org) { return standardLabels(org.metadata.name); }

Json labelsFor(const api::Organization& org, std::string_view component) {
  Json labels = labelsFor(org);
  labels[std::string(kComponentLabel)] = std::string(component);
  return labels;
}

Json meta(const api::Organization& org, std::string_view name, std::string_view ns) {
  return childMetadata(name, ns, labelsFor(org));
}

Json serviceAccountSubject(std::string_view name, std::string_view ns) {
  return {{"kind", "ServiceAccount"}, {"name", std::string(name)}, {"namespace", std::string(ns)}};
}

Json roleRef(std::string_view kind, std::string_view name) {
  return {{"apiGroup", std::string(kRbacGroup)}, {"kind", std::string(kind)}, {"name", std::string(name)}};
}

Json rule(std::vector<std::string> groups, std::vector<std::string> resources, std::vector<std::string> verbs) {
  return {{"apiGroups", groups}, {"resources", resources}, {"verbs", verbs}};
}

// A RoleBinding name for an admin subject: readable where the subject allows, unique by hash,
// since e-mail addresses and group names may hold characters object names may not.
std::string adminBindingName(std::string_view kind, std::string_view subject) {
  std::string readable;
  for (const char c : subject) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) readable += static_cast<char>(std::tolower(u));
    else if (!readable.empty() && readable.back() != '-') readable += '-';
    if (readable.size() >= 30) break;
  }
  while (!readable.empty() && readable.back() == '-') readable.pop_back();
  return "org-admin-" + std::string(kind) + "-" + readable + "-" + kube::runtime::intentHash(Json(subject)).substr(0, 8);
}

Child adminBinding(const api::Organization& org, std::string_view kind, const std::string& subject) {
  const std::string subject_kind = kind == "user" ? "User" : "Group";
  Json binding = object("rbac.authorization.k8s.io/v1", "RoleBinding",
                        childMetadata(adminBindingName(kind, subject), orgNamespace(org),
                                      labelsFor(org, kAdminComponent)));
  binding["roleRef"] = roleRef("ClusterRole", kAdminClusterRole);
  binding["subjects"] = Json::array({{{"apiGroup", std::string(kRbacGroup)}, {"kind", subject_kind}, {"name", subject}}});
  return {res::kRoleBindings, std::move(binding)};
}

// Restricted-profile settings: cloudflared needs no privilege at all.
Json restrictedContainerSecurity() {
  return {{"allowPrivilegeEscalation", false},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", true},
          {"runAsUser", 65532},
          {"capabilities", {{"drop", Json::array({"ALL"})}}},
          {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

}  // namespace

api::ExposureMode exposureMode(const api::Organization& org, const ControllerConfig& config) {
  return org.spec.exposure_mode.value_or(config.default_exposure);
}

std::string webhookHost(const api::Organization& org, const ControllerConfig& config) {
  if (config.public_domain.empty()) return "";
  return org.metadata.name + "." + config.public_domain;
}

std::string webhookUrl(const api::Organization& org, const ControllerConfig& config) {
  if (exposureMode(org, config) != api::ExposureMode::kNone && !config.public_domain.empty()) {
    return "https://" + webhookHost(org, config) + "/";
  }
  return "http://el-" + std::string(kEventListenerName) + "." + orgNamespace(org) + ".svc.cluster.local:" +
         std::to_string(kListenerPort) + "/";
}

std::string tunnelName(const api::Organization& org) { return "webhooks-" + org.metadata.name; }

std::string dnsOwnerComment(const api::Organization& org) {
  return "managed by aphex-controller: organization " + org.metadata.ns + "/" + org.metadata.name;
}

std::string clusterSecretStoreName(const api::Organization& org) { return orgNamespace(org) + "-store"; }

std::string eventListenerBindingName(const api::Organization& org) {
  return std::string(kEventListenerClusterRole) + "-" + orgNamespace(org);
}

// Baseline: the namespace runs only the platform's own pods (the EventListener Tekton makes, and
// cloudflared), no tenant code; the listener's pod template is Tekton's, not ours to tighten.
Json namespaceObject(const api::Organization& org) {
  return namespaceWithPodSecurity(orgNamespace(org), labelsFor(org), "baseline");
}

Json webhookSecret(const api::Organization& org, std::string_view value, std::string_view rotation) {
  Json secret = object("v1", "Secret", meta(org, kWebhookSecretName, orgNamespace(org)));
  secret["metadata"]["annotations"] = {{std::string(kRotationAnnotation), std::string(rotation)}};
  secret["type"] = "Opaque";
  // `data`, not `stringData`: the server stores only `data`, and the comparison with the cached
  // Secret must see the same field.
  secret["data"] = {{std::string(kWebhookSecretKey), kube::base64Encode(value)}};
  return secret;
}

Json eventListener(const api::Organization& org, const std::vector<std::string>& repo_namespaces) {
  const Json interceptor{
      {"ref", {{"name", "github"}, {"kind", "ClusterInterceptor"}}},
      {"params",
       Json::array({{{"name", "secretRef"},
                     {"value", {{"secretName", std::string(kWebhookSecretName)},
                                {"secretKey", std::string(kWebhookSecretKey)}}}},
                    {{"name", "eventTypes"}, {"value", Json::array({"push", "ping"})}}})}};
  Json selector{{"labelSelector", {{"matchLabels", {{std::string(kOrganizationLabel), org.metadata.name}}}}}};
  // Without names Tekton searches the listener's own namespace only, which holds no Triggers:
  // an org without repositories accepts (and verifies) events but starts nothing.
  if (!repo_namespaces.empty()) selector["namespaceSelector"] = {{"matchNames", repo_namespaces}};
  Json listener = object("triggers.tekton.dev/v1beta1", "EventListener",
                         meta(org, kEventListenerName, orgNamespace(org)));
  listener["spec"] = {
      {"serviceAccountName", std::string(kEventListenerServiceAccount)},
      {"triggerGroups",
       Json::array({{{"name", "github"}, {"interceptors", Json::array({interceptor})}, {"triggerSelector", selector}}})}};
  return listener;
}

Json orgNetworkPolicy(const api::Organization& org, const ControllerConfig& config,
                      const std::vector<ApiServerEndpoint>& api_servers) {
  const Json same_namespace = Json::array({{{"podSelector", Json::object()}}});
  Json egress = Json::array();
  egress.push_back({{"to", same_namespace}});  // cloudflared to the listener
  egress.push_back(dnsEgress());
  egress.push_back(
      {{"to", Json::array({{{"namespaceSelector",
                             {{"matchLabels", {{"kubernetes.io/metadata.name", std::string(kTektonNamespace)}}}}}}})},
       {"ports", Json::array({{{"protocol", "TCP"}, {"port", kInterceptorPort}}})}});
  egress.push_back(internetEgress(config.tenant_egress_deny));
  addApiServerEgress(egress, api_servers);
  Json policy = object("networking.k8s.io/v1", "NetworkPolicy", meta(org, kOrgNetworkPolicyName, orgNamespace(org)));
  policy["spec"] = {
      {"podSelector", Json::object()},
      {"policyTypes", Json::array({"Ingress", "Egress"})},
      // From anywhere (GitHub through cloudflared or the ingress controller, or in-cluster senders
      // with exposure None), but to the listener's port only.
      {"ingress", Json::array({{{"ports", Json::array({{{"protocol", "TCP"}, {"port", kListenerPort}}})}}})},
      {"egress", std::move(egress)}};
  return policy;
}

Json orgQuota(const api::Organization& org, const TenantLimits& limits) {
  Json quota = object("v1", "ResourceQuota", meta(org, kOrgQuotaName, orgNamespace(org)));
  // Counts are quantities; the API server returns them as strings.
  quota["spec"] = {{"hard",
                    {{"count/repobindings.aphex.io", std::to_string(limits.org_repo_bindings)},
                     {"count/secrets", std::to_string(limits.org_secrets)},
                     {"count/configmaps", std::to_string(limits.org_config_maps)}}}};
  return quota;
}

std::vector<Child> isolationChildren(const api::Organization& org, const ControllerConfig& config,
                                     const std::vector<ApiServerEndpoint>& api_servers) {
  return {{res::kNetworkPolicies, orgNetworkPolicy(org, config, api_servers)},
          {res::kResourceQuotas, orgQuota(org, config.tenant_limits)}};
}

std::vector<Child> webhookChildren(const api::Organization& org, const std::vector<std::string>& repo_namespaces) {
  const std::string ns = orgNamespace(org);
  Json account = object("v1", "ServiceAccount", meta(org, kEventListenerServiceAccount, ns));
  // In its own namespace the listener reads its logging ConfigMaps and reports Events; reading
  // Triggers cluster-wide comes from the shipped ClusterRole; it reads no Secret at all (Tekton's
  // core interceptors verify the signature).
  Json role = object("rbac.authorization.k8s.io/v1", "Role", meta(org, kEventListenerServiceAccount, ns));
  role["rules"] = Json::array({rule({""}, {"configmaps"}, {"get", "list", "watch"}),
                               rule({""}, {"events"}, {"create", "patch"}),
                               rule({"events.k8s.io"}, {"events"}, {"create", "patch"})});
  Json binding = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(org, kEventListenerServiceAccount, ns));
  binding["roleRef"] = roleRef("Role", kEventListenerServiceAccount);
  binding["subjects"] = Json::array({serviceAccountSubject(kEventListenerServiceAccount, ns)});
  Json cluster_binding = object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
                                meta(org, eventListenerBindingName(org), ""));
  cluster_binding["roleRef"] = roleRef("ClusterRole", kEventListenerClusterRole);
  cluster_binding["subjects"] = Json::array({serviceAccountSubject(kEventListenerServiceAccount, ns)});
  return {{res::kServiceAccounts, std::move(account)},
          {res::kRoles, std::move(role)},
          {res::kRoleBindings, std::move(binding)},
          {res::kClusterRoleBindings, std::move(cluster_binding)},
          {res::kEventListeners, eventListener(org, repo_namespaces)}};
}

std::vector<Child> secretStoreChildren(const api::Organization& org) {
  const std::string ns = orgNamespace(org);
  Json account = object("v1", "ServiceAccount", meta(org, kEsoServiceAccount, ns));
  // One Secret, by name: the store must not expose the webhook secret or the tunnel token that
  // share the namespace.
  Json role = object("rbac.authorization.k8s.io/v1", "Role", meta(org, kEsoServiceAccount, ns));
  Json read = rule({""}, {"secrets"}, {"get"});
  read["resourceNames"] = Json::array({std::string(kOrgSecretsName)});
  role["rules"] = Json::array({read});
  Json binding = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(org, kEsoServiceAccount, ns));
  binding["roleRef"] = roleRef("Role", kEsoServiceAccount);
  binding["subjects"] = Json::array({serviceAccountSubject(kEsoServiceAccount, ns)});
  Json store = object("external-secrets.io/v1", "ClusterSecretStore", meta(org, clusterSecretStoreName(org), ""));
  store["spec"] = {
      {"conditions",
       Json::array({{{"namespaceSelector", {{"matchLabels", {{std::string(kOrganizationLabel), org.metadata.name}}}}}}})},
      {"provider",
       {{"kubernetes",
         {{"remoteNamespace", ns},
          {"server",
           {{"caProvider", {{"type", "ConfigMap"}, {"name", "kube-root-ca.crt"}, {"key", "ca.crt"}, {"namespace", ns}}}}},
          {"auth", {{"serviceAccount", {{"name", std::string(kEsoServiceAccount)}, {"namespace", ns}}}}}}}}}};
  return {{res::kServiceAccounts, std::move(account)},
          {res::kRoles, std::move(role)},
          {res::kRoleBindings, std::move(binding)},
          {res::kClusterSecretStores, std::move(store)}};
}

std::vector<Child> adminBindings(const api::Organization& org) {
  std::vector<Child> bindings;
  for (const auto& user : org.spec.admin_users) bindings.push_back(adminBinding(org, "user", user));
  for (const auto& group : org.spec.admin_groups) bindings.push_back(adminBinding(org, "group", group));
  return bindings;
}

Json ingress(const api::Organization& org, const ControllerConfig& config) {
  const std::string host = webhookHost(org, config);
  Json result = object("networking.k8s.io/v1", "Ingress", meta(org, kEventListenerName, orgNamespace(org)));
  const Json backend{{"service", {{"name", "el-" + std::string(kEventListenerName)}, {"port", {{"number", kListenerPort}}}}}};
  result["spec"] = {{"rules", Json::array({{{"host", host},
                                            {"http", {{"paths", Json::array({{{"path", "/"},
                                                                              {"pathType", "Prefix"},
                                                                              {"backend", backend}}})}}}}})}};
  if (!config.ingress_class.empty()) result["spec"]["ingressClassName"] = config.ingress_class;
  if (!config.ingress_cluster_issuer.empty()) {
    result["metadata"]["annotations"] = {{"cert-manager.io/cluster-issuer", config.ingress_cluster_issuer}};
    result["spec"]["tls"] = Json::array({{{"hosts", Json::array({host})}, {"secretName", "webhook-tls"}}});
  }
  return result;
}

std::vector<Child> cloudflaredChildren(const api::Organization& org, const ControllerConfig& config,
                                       std::string_view token_hash) {
  const std::string ns = orgNamespace(org);
  Json config_map = object("v1", "ConfigMap", meta(org, kCloudflaredName, ns));
  // The tunnel is remotely managed: ingress rules live at Cloudflare; locally only what the pod
  // itself needs (metrics for the probes, no self-update inside an immutable image).
  config_map["data"] = {{"config.yaml", "no-autoupdate: true\nmetrics: 0.0.0.0:2000\n"}};
  Json pod_labels = labelsFor(org);
  pod_labels["app.kubernetes.io/name"] = std::string(kCloudflaredName);
  const Json probe{{"httpGet", {{"path", "/ready"}, {"port", 2000}}}, {"periodSeconds", 10}, {"failureThreshold", 3}};
  const Json container{
      {"name", "cloudflared"},
      {"image", config.cloudflared_image},
      {"args", Json::array({"tunnel", "--config", "/etc/cloudflared/config.yaml", "run"})},
      {"env", Json::array({{{"name", "TUNNEL_TOKEN"},
                            {"valueFrom", {{"secretKeyRef", {{"name", std::string(kCloudflaredTokenSecret)},
                                                             {"key", "token"}}}}}}})},
      {"ports", Json::array({{{"name", "metrics"}, {"containerPort", 2000}}})},
      {"readinessProbe", probe},
      {"livenessProbe", probe},
      {"resources", {{"requests", {{"cpu", "10m"}, {"memory", "32Mi"}}}, {"limits", {{"memory", "128Mi"}}}}},
      {"securityContext", restrictedContainerSecurity()},
      {"volumeMounts", Json::array({{{"name", "config"}, {"mountPath", "/etc/cloudflared"}, {"readOnly", true}}})}};
  Json deployment = object("apps/v1", "Deployment", meta(org, kCloudflaredName, ns));
  Json selector = {{"app.kubernetes.io/name", std::string(kCloudflaredName)},
                   {std::string(kOrganizationLabel), org.metadata.name}};
  deployment["spec"] = {
      {"replicas", 2},
      {"selector", {{"matchLabels", selector}}},
      {"template",
       {{"metadata", {{"labels", pod_labels}, {"annotations", {{"aphex.io/token-hash", std::string(token_hash)}}}}},
        {"spec",
         {{"automountServiceAccountToken", false},
          {"securityContext", {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
          {"containers", Json::array({container})},
          {"volumes", Json::array({{{"name", "config"},
                                    {"configMap", {{"name", std::string(kCloudflaredName)}}}}})}}}}}};
  return {{res::kConfigMaps, std::move(config_map)}, {res::kDeployments, std::move(deployment)}};
}

Json cloudflaredTokenSecret(const api::Organization& org, std::string_view token, std::string_view tunnel_id) {
  Json secret = object("v1", "Secret", meta(org, kCloudflaredTokenSecret, orgNamespace(org)));
  secret["metadata"]["annotations"] = {{"aphex.io/tunnel-id", std::string(tunnel_id)}};
  secret["type"] = "Opaque";
  secret["data"] = {{"token", kube::base64Encode(token)}};
  return secret;
}

}  // namespace aphex::organization
