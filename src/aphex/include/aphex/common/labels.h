// Names every Aphex-made object shares: labels, the finalizer, the field manager.
#pragma once

#include <string>
#include <string_view>

#include "kube/result.h"

namespace aphex {

inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kManagedByValue = "aphex-controller";
inline constexpr std::string_view kOrganizationLabel = "aphex.io/organization";
inline constexpr std::string_view kPipelineLabel = "aphex.io/pipeline";
// What part of the platform an object plays, for pruning sets of objects (e.g. admin bindings).
inline constexpr std::string_view kComponentLabel = "aphex.io/component";
inline constexpr std::string_view kFinalizer = "aphex.io/cleanup";
inline constexpr std::string_view kFieldManager = "aphex-controller";
inline constexpr std::string_view kAppliedHashAnnotation = "aphex.io/applied-hash";
// On every object a RepoBinding made: "<namespace>/<name>" of that RepoBinding, so that a change to
// the object wakes the right one, and so that a RepoBinding claiming a pipeline name already taken
// can see that it is not its own.
inline constexpr std::string_view kRepoBindingAnnotation = "aphex.io/repo-binding";
// On a pipeline namespace kept after its RepoBinding went (deletionPolicy Retain):
// "<organization>/<pipeline>". A new RepoBinding of the same organization and pipeline adopts it.
inline constexpr std::string_view kRetainedAnnotation = "aphex.io/retained-from";
// The label selector every child informer uses: the controller caches only what it made.
inline constexpr std::string_view kManagedSelector = "app.kubernetes.io/managed-by=aphex-controller";

// The RepoBinding store's index by spec.aphexOrg: an Organization's bindings without a scan.
inline constexpr std::string_view kBindingsByOrganization = "spec.aphexOrg";

// managed-by and organization (and pipeline, when given).
kube::Json standardLabels(std::string_view organization, std::string_view pipeline = {});

// A Namespace object with `labels` plus Aphex's Pod Security levels: `enforce` enforced
// ("restricted" or "baseline"), restricted warned and audited, so that a baseline namespace shows
// what to tighten without anything breaking.
kube::Json namespaceWithPodSecurity(std::string_view name, kube::Json labels, std::string_view enforce);
inline constexpr std::string_view kPodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce";

// metadata for a child: name, namespace (omitted when empty), standard labels.
kube::Json childMetadata(std::string_view name, std::string_view ns, const kube::Json& labels);

// A minimal object: apiVersion, kind, metadata.
kube::Json object(std::string_view api_version, std::string_view kind, kube::Json metadata);

}  // namespace aphex
