// The kinds the controller reads and writes, and where they live in the REST API: every one
// declared here, once (the core kinds the client itself names are reused from kube::resources).
#pragma once

#include "kube/object_api.h"

namespace aphex::resources {

using kube::ResourceType;

using kube::resources::kConfigMaps;
using kube::resources::kNamespaces;
using kube::resources::kSecrets;
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
// Where the API server listens (the `default/kubernetes` Service's slices): read, never written.
inline const ResourceType kEndpointSlices{
    .group = "discovery.k8s.io", .version = "v1", .plural = "endpointslices", .namespaced = true};
// Argo CD Applications in a pipeline namespace: deleted with their RepoBinding, never made.
inline const ResourceType kApplications{
    .group = "argoproj.io", .version = "v1alpha1", .plural = "applications", .namespaced = true};

}  // namespace aphex::resources
