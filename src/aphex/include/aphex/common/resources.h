// The kinds the controller reads and writes, and where they live in the REST API.
#pragma once

#include "kube/client.h"

namespace aphex::resources {

using kube::ResourceType;

inline const ResourceType kNamespaces{.group = "", .version = "v1", .plural = "namespaces", .namespaced = false};
inline const ResourceType kSecrets{.group = "", .version = "v1", .plural = "secrets", .namespaced = true};
inline const ResourceType kConfigMaps{.group = "", .version = "v1", .plural = "configmaps", .namespaced = true};
inline const ResourceType kResourceQuotas{.group = "", .version = "v1", .plural = "resourcequotas", .namespaced = true};
inline const ResourceType kNetworkPolicies{
    .group = "networking.k8s.io", .version = "v1", .plural = "networkpolicies", .namespaced = true};
inline const ResourceType kServiceAccounts{.group = "", .version = "v1", .plural = "serviceaccounts", .namespaced = true};
inline const ResourceType kDeployments{.group = "apps", .version = "v1", .plural = "deployments", .namespaced = true};
inline const ResourceType kRoles{
    .group = "rbac.authorization.k8s.io", .version = "v1", .plural = "roles", .namespaced = true};
inline const ResourceType kRoleBindings{
    .group = "rbac.authorization.k8s.io", .version = "v1", .plural = "rolebindings", .namespaced = true};
inline const ResourceType kClusterRoleBindings{
    .group = "rbac.authorization.k8s.io", .version = "v1", .plural = "clusterrolebindings", .namespaced = false};
inline const ResourceType kIngresses{
    .group = "networking.k8s.io", .version = "v1", .plural = "ingresses", .namespaced = true};
inline const ResourceType kEventListeners{
    .group = "triggers.tekton.dev", .version = "v1beta1", .plural = "eventlisteners", .namespaced = true};
inline const ResourceType kClusterSecretStores{
    .group = "external-secrets.io", .version = "v1", .plural = "clustersecretstores", .namespaced = false};

}  // namespace aphex::resources
