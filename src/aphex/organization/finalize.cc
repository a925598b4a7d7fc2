// Deleting an Organization: everything it made goes, in an order that leaks nothing, and the
// finalizer stays until the last piece is gone (the steps run in the order kind() lists them).
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "organization/pass.h"

namespace aphex::organization {
namespace {

namespace res = aphex::resources;
namespace cond = api::organization_condition;

StepResult retryable(std::string reason, std::string message) {
  return StepResult::failed(std::move(reason), std::move(message), Retryable::kYes);
}

}  // namespace

// The org's RepoBindings go first; their own finalizers clean up what they made.
std::optional<StepResult> Reconciler::deleteRepoBindings(Pass& pass) {
  const auto bindings = repoBindingsOf(pass.org);
  for (const auto& binding : bindings) {
    const auto& metadata = (*binding)["metadata"];
    if (metadata.contains("deletionTimestamp")) continue;
    if (auto removed = writer_.removeIfPresent(api::kRepoBindings, metadata.value("namespace", ""),
                                               metadata.value("name", ""));
        !removed) {
      return retryable("CleanupFailed", "deleting RepoBinding: " + removed.error().message);
    }
  }
  if (bindings.empty()) return std::nullopt;
  return StepResult::waiting("DeletingRepoBindings",
                             "waiting for " + std::to_string(bindings.size()) + " RepoBinding(s) to go", kWaitInterval);
}

// What no namespace deletion reaches: Cloudflare's DNS record and tunnel, then the cluster-scoped
// objects.
std::optional<StepResult> Reconciler::deleteOutsideTheNamespace(Pass& pass) {
  if (const StepResult tunnel = removeOtherExposures(pass, api::ExposureMode::kNone); !tunnel.succeeded()) {
    pass.set(cond::kExposureReady, tunnel);
    return retryable("CleanupFailed", tunnel.message());
  }
  for (const auto& [type, name] : {std::pair{res::kClusterSecretStores, clusterSecretStoreName(pass.org)},
                                   std::pair{res::kClusterRoleBindings, eventListenerBindingName(pass.org)}}) {
    if (auto removed = writer_.removeIfPresent(type, "", name); !removed) {
      return retryable("CleanupFailed", "deleting " + type.plural + "/" + name + ": " + removed.error().message);
    }
  }
  return std::nullopt;
}

// The namespace and everything in it. The finalizer stays until it is gone, so that an
// Organization of the same name created right after never meets a terminating namespace.
std::optional<StepResult> Reconciler::deleteNamespace(Pass& pass) {
  const std::string ns = api::organizationNamespace(pass.org.metadata.name);
  auto current = deps_.client.get(res::kNamespaces, "", ns, pass.stop);
  if (!current) {
    if (current.error().isNotFound()) return std::nullopt;
    return retryable("CleanupFailed", "reading namespace " + ns + ": " + current.error().message);
  }
  if (auto removed = writer_.removeIfPresent(res::kNamespaces, "", ns); !removed) {
    return retryable("CleanupFailed", "deleting namespace " + ns + ": " + removed.error().message);
  }
  return StepResult::waiting("DeletingNamespace", "waiting for namespace " + ns + " to go", kWaitInterval);
}

}  // namespace aphex::organization
