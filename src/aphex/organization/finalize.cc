// Deleting an Organization: everything it made goes, in an order that leaks nothing, and the
// finalizer stays until the last piece is gone.
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "organization/pass.h"

namespace aphex::organization {
namespace {

using kube::runtime::Done;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
using kube::runtime::Retry;
namespace res = aphex::resources;
namespace cond = api::organization_condition;

// How often a pass that waits for something to go looks again (its watch may also wake it).
constexpr auto kWaitInterval = std::chrono::seconds(5);

}  // namespace

Outcome Reconciler::finalize(Pass& pass) {
  if (!pass.org.metadata.hasFinalizer(kFinalizer)) return Done{};
  pass.status.phase = api::Phase::kTerminating;
  if (auto ended = markTerminating(pass)) return *ended;
  if (auto ended = deleteRepoBindings(pass)) return *ended;
  if (auto ended = deleteOutsideTheNamespace(pass)) return *ended;
  if (auto ended = deleteNamespace(pass)) return *ended;
  if (auto removed = writer_.removeFinalizer(api::kOrganizations, *pass.live); !removed) return Retry{removed.error().message};
  deps_.logger.info("organization cleaned up", {{"organization", pass.key()}});
  return Done{};
}

// Says so at once: the steps below may wait on RepoBindings, Cloudflare or the namespace.
std::optional<Outcome> Reconciler::markTerminating(Pass& pass) {
  if (pass.org.status.phase == api::Phase::kTerminating) return std::nullopt;
  pass.set(cond::kReady, StepResult::failure("Deleting", "cleaning up before the Organization goes", false));
  if (auto written = applier_.applyStatus(api::kOrganizations, api::toJson(pass.status), *pass.live); !written) {
    return Retry{"writing status: " + written.error().message};
  }
  return std::nullopt;
}

// The org's RepoBindings go first; their own finalizers clean up what they made.
std::optional<Outcome> Reconciler::deleteRepoBindings(Pass& pass) {
  const auto bindings = repoBindingsOf(pass.org);
  for (const auto& binding : bindings) {
    const auto& metadata = (*binding)["metadata"];
    if (metadata.contains("deletionTimestamp")) continue;
    if (auto removed = removeIfPresent(api::kRepoBindings, metadata.value("namespace", ""), metadata.value("name", ""));
        !removed) {
      return Retry{"deleting RepoBinding: " + removed.error().message};
    }
  }
  if (bindings.empty()) return std::nullopt;
  pass.set(cond::kReady, StepResult::failure("DeletingRepoBindings",
                                             "waiting for " + std::to_string(bindings.size()) + " RepoBinding(s) to go",
                                             false));
  return writeStatus(pass, RequeueAfter{kWaitInterval});
}

// What no namespace deletion reaches: Cloudflare's DNS record and tunnel, then the cluster-scoped
// objects.
std::optional<Outcome> Reconciler::deleteOutsideTheNamespace(Pass& pass) {
  if (const StepResult tunnel = removeOtherExposures(pass, api::ExposureMode::kNone); !tunnel.ok) {
    pass.set(cond::kExposureReady, tunnel);
    pass.set(cond::kReady, StepResult::failure("CleanupFailed", tunnel.message, true));
    return writeStatus(pass, Retry{tunnel.message});
  }
  for (const auto& [type, name] : {std::pair{res::kClusterSecretStores, clusterSecretStoreName(pass.org)},
                                   std::pair{res::kClusterRoleBindings, eventListenerBindingName(pass.org)}}) {
    if (auto removed = removeIfPresent(type, "", name); !removed) {
      return Retry{"deleting " + type.plural + "/" + name + ": " + removed.error().message};
    }
  }
  return std::nullopt;
}

// The namespace and everything in it. The finalizer stays until it is gone, so that an
// Organization of the same name created right after never meets a terminating namespace.
std::optional<Outcome> Reconciler::deleteNamespace(Pass& pass) {
  const std::string ns = api::organizationNamespace(pass.org.metadata.name);
  auto current = deps_.client.get(res::kNamespaces, "", ns);
  if (!current) {
    if (current.error().isNotFound()) return std::nullopt;
    return Retry{"reading namespace " + ns + ": " + current.error().message};
  }
  if (auto removed = removeIfPresent(res::kNamespaces, "", ns); !removed) {
    return Retry{"deleting namespace " + ns + ": " + removed.error().message};
  }
  pass.set(cond::kReady, StepResult::failure("DeletingNamespace", "waiting for namespace " + ns + " to go", false));
  return writeStatus(pass, RequeueAfter{kWaitInterval});
}

}  // namespace aphex::organization
