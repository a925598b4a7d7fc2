// What an Organization should have, as pure functions: Organization and configuration in,
// Kubernetes objects out. No I/O here; the reconciler compares these with the cluster and applies
// the difference, and unit tests check them without a cluster.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/organization.h"
#include "aphex/common/child_cache.h"
#include "aphex/common/egress.h"
#include "aphex/config.h"
#include "kube/client.h"

namespace aphex::organization {

// Names of what an Organization owns, in one place.
inline constexpr std::string_view kWebhookSecretName = "github-webhook-secret";
inline constexpr std::string_view kWebhookSecretKey = "secret";
inline constexpr std::string_view kEventListenerName = "github-listener";
inline constexpr std::string_view kEventListenerServiceAccount = "eventlistener";
inline constexpr std::string_view kEventListenerClusterRole = "aphex-eventlistener";
inline constexpr std::string_view kEsoServiceAccount = "eso-secrets-reader";
inline constexpr std::string_view kOrgSecretsName = "org-secrets";
inline constexpr std::string_view kAdminClusterRole = "aphex-organization-admin";
inline constexpr std::string_view kCloudflaredName = "cloudflared";
inline constexpr std::string_view kCloudflaredTokenSecret = "cloudflared-token";
inline constexpr std::string_view kAdminComponent = "org-admin";
// The Secret's annotation that records which rotation request produced its value.
inline constexpr std::string_view kRotationAnnotation = "aphex.io/rotation";
inline constexpr int kListenerPort = 8080;
// The port Tekton's core interceptors (github, cel) serve on, in Tekton's namespace.
inline constexpr int kInterceptorPort = 8443;
inline constexpr std::string_view kTektonNamespace = "tekton-pipelines";
inline constexpr std::string_view kOrgNetworkPolicyName = "org-isolation";
inline constexpr std::string_view kOrgQuotaName = "org-quota";

using Child = aphex::Child;

// The exposure mode in force: the Organization's own, else the controller's default.
api::ExposureMode exposureMode(const api::Organization& org, const ControllerConfig& config);
// <name>.<public domain>; empty when no domain is configured.
std::string webhookHost(const api::Organization& org, const ControllerConfig& config);
// Where GitHub should send events: https://<host>/ when exposed, else the in-cluster Service URL.
std::string webhookUrl(const api::Organization& org, const ControllerConfig& config);
// The Cloudflare tunnel's name, webhooks-<name>.
std::string tunnelName(const api::Organization& org);
// The comment that marks a DNS record as this Organization's.
std::string dnsOwnerComment(const api::Organization& org);
std::string clusterSecretStoreName(const api::Organization& org);
std::string eventListenerBindingName(const api::Organization& org);

// Namespace org-<name>, with Pod Security labels.
kube::Json namespaceObject(const api::Organization& org);
// The webhook Secret with `value` (hex); `rotation` is the rotation request it answers ("" for the first).
kube::Json webhookSecret(const api::Organization& org, std::string_view value, std::string_view rotation);
// ServiceAccount, Role, RoleBinding, ClusterRoleBinding and the EventListener whose trigger group
// verifies GitHub's signature and selects the org's Triggers in `repo_namespaces`.
std::vector<Child> webhookChildren(const api::Organization& org, const std::vector<std::string>& repo_namespaces);
// NetworkPolicy org-isolation. The org namespace faces the internet (the EventListener,
// cloudflared), so its pods accept connections on the listener's port only, and reach only each
// other, DNS, the API server (by `api_servers`), Tekton's interceptors, and the internet without
// the cluster's own networks (cloudflared's tunnel) — never another namespace.
kube::Json orgNetworkPolicy(const api::Organization& org, const ControllerConfig& config,
                            const std::vector<ApiServerEndpoint>& api_servers);
// ResourceQuota org-quota: counts of RepoBindings, Secrets and ConfigMaps (TenantLimits), so that
// no organization's admins can fill etcd, or the controller's caches, with objects.
kube::Json orgQuota(const api::Organization& org, const TenantLimits& limits);
// org-isolation and org-quota.
std::vector<Child> isolationChildren(const api::Organization& org, const ControllerConfig& config,
                                     const std::vector<ApiServerEndpoint>& api_servers);
kube::Json eventListener(const api::Organization& org, const std::vector<std::string>& repo_namespaces);
// The External Secrets reader and the ClusterSecretStore scoped to the org's namespaces.
std::vector<Child> secretStoreChildren(const api::Organization& org);
// One RoleBinding per admin user and group to the shipped aphex-organization-admin ClusterRole.
std::vector<Child> adminBindings(const api::Organization& org);
// The Ingress for <host> → el-github-listener:8080.
kube::Json ingress(const api::Organization& org, const ControllerConfig& config);
// cloudflared's ConfigMap and Deployment; `token_hash` rolls the pods when the token changes.
std::vector<Child> cloudflaredChildren(const api::Organization& org, const ControllerConfig& config,
                                       std::string_view token_hash);
kube::Json cloudflaredTokenSecret(const api::Organization& org, std::string_view token, std::string_view tunnel_id);

}  // namespace aphex::organization
