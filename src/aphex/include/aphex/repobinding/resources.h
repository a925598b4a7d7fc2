// The kinds only a RepoBinding writes, and where they live in the REST API. The kinds the
// Organization writes too (namespaces, secrets, service accounts, RBAC, network policies) are in
// aphex/common.
#pragma once

#include "aphex/common/resources.h"
#include "kube/client.h"

namespace aphex::repobinding::resources {

using kube::ResourceType;

inline const ResourceType kPipelines{.group = "tekton.dev", .version = "v1", .plural = "pipelines", .namespaced = true};
inline const ResourceType kLimitRanges{.group = "", .version = "v1", .plural = "limitranges", .namespaced = true};
// Both controllers write these; aphex/common has the one definition.
inline const ResourceType& kResourceQuotas = aphex::resources::kResourceQuotas;
inline const ResourceType& kNetworkPolicies = aphex::resources::kNetworkPolicies;
inline const ResourceType kAppProjects{
    .group = "argoproj.io", .version = "v1alpha1", .plural = "appprojects", .namespaced = true};
inline const ResourceType kTriggers{
    .group = "triggers.tekton.dev", .version = "v1beta1", .plural = "triggers", .namespaced = true};
inline const ResourceType kTriggerBindings{
    .group = "triggers.tekton.dev", .version = "v1beta1", .plural = "triggerbindings", .namespaced = true};
inline const ResourceType kTriggerTemplates{
    .group = "triggers.tekton.dev", .version = "v1beta1", .plural = "triggertemplates", .namespaced = true};

}  // namespace aphex::repobinding::resources
