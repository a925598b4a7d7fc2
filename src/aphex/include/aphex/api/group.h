// The aphex.io/v1alpha1 API group: names shared by the CRDs (platform/crds), the controller and
// the tests, so that a rename is one edit.
#pragma once

#include <string_view>

#include "kube/client.h"

namespace aphex::api {

inline constexpr std::string_view kGroup = "aphex.io";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "aphex.io/v1alpha1";

inline constexpr std::string_view kOrganizationKind = "Organization";
inline constexpr std::string_view kRepoBindingKind = "RepoBinding";
inline constexpr std::string_view kKnowledgeBaseKind = "KnowledgeBase";

inline const kube::ResourceType kOrganizations{
    .group = "aphex.io", .version = "v1alpha1", .plural = "organizations", .namespaced = true};
inline const kube::ResourceType kRepoBindings{
    .group = "aphex.io", .version = "v1alpha1", .plural = "repobindings", .namespaced = true};
inline const kube::ResourceType kKnowledgeBases{
    .group = "aphex.io", .version = "v1alpha1", .plural = "knowledgebases", .namespaced = true};

// Where Organizations (and, by default, RepoBindings) live unless the controller is configured
// otherwise.
inline constexpr std::string_view kDefaultPlatformNamespace = "platform-system";

}  // namespace aphex::api
