// Deleting a RepoBinding: everything it made goes, in an order that leaks nothing, and the
// finalizer stays until the last piece is gone.
#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/resources.h"
#include "repobinding/pass.h"

namespace aphex::repobinding {
namespace {

using kube::Json;
namespace res = aphex::resources;
namespace rb_res = aphex::repobinding::resources;

StepResult retryable(std::string message) {
  return StepResult::failed("CleanupFailed", std::move(message), Retryable::kYes);
}

// Where every object a binding makes lives, by name. Built from the same builders that make them,
// so the two cannot disagree; no name depends on pipelineSpec, which is never parsed here, so a
// binding whose pipelineSpec cannot be read can still be deleted.
std::vector<Child> madeObjects(const api::RepoBinding& binding, const ControllerConfig& config) {
  std::vector<Child> made;
  for (auto group : {triggerChildren(binding, false), retiredTriggerChildren(binding), gitOpsChildren(binding, config),
                     accessChildren(binding), guardrailChildren(binding, config, {})}) {
    for (auto& child : group) made.push_back(std::move(child));
  }
  made.push_back({rb_res::kPipelines, object("tekton.dev/v1", "Pipeline",
                                             {{"name", binding.spec.pipeline_name},
                                              {"namespace", binding.spec.pipeline_name}})});
  return made;
}

}  // namespace

// The team's Argo CD Applications: every one in the pipeline namespace, the only namespace the
// pipeline's AppProject takes Applications from (none there can outlive the project). Labels are
// not asked: anyone may set them. Argo CD's own finalizer prunes what they deployed; the binding
// waits for that before the AppProject goes, since Argo CD cannot process an Application whose
// project is gone.
std::optional<StepResult> Reconciler::deleteApplications(Pass& pass) {
  const auto ns = deps_.children.get(res::kNamespaces, "", pass.binding.spec.pipeline_name);
  if (!ns || !ownedByThisBinding(pass, ns.get())) return std::nullopt;  // not its namespace: not its Applications
  auto listed = deps_.client.list(res::kApplications, pass.binding.spec.pipeline_name, {}, pass.stop);
  if (!listed) {
    if (listed.error().isNotFound()) return std::nullopt;  // Argo CD is not installed: nothing to delete
    return retryable("listing Argo CD Applications: " + listed.error().message);
  }
  const Json& items = listed.value()["items"];
  if (items.empty()) return std::nullopt;
  for (const auto& application : items) {
    const auto& metadata = application["metadata"];
    if (metadata.contains("deletionTimestamp")) continue;
    if (auto removed = writer_.removeIfPresent(res::kApplications, metadata.value("namespace", ""), metadata.value("name", ""));
        !removed) {
      return retryable("deleting Argo CD Application: " + removed.error().message);
    }
  }
  return StepResult::waiting("DeletingApplications",
                             "waiting for " + std::to_string(items.size()) +
                                 " Argo CD Application(s) of the pipeline to go",
                             kWaitInterval);
}

// Every object the binding made, except the namespace — and only those that carry its
// annotation: an object of the same name that another binding, the platform or a tenant made is
// never deleted.
std::optional<StepResult> Reconciler::deleteChildren(Pass& pass) {
  const Ownership owner = ownership(pass.binding);
  for (const auto& child : madeObjects(pass.binding, deps_.config)) {
    const auto& metadata = child.object["metadata"];
    const std::string ns = metadata.value("namespace", "");
    const std::string name = metadata.value("name", "");
    if (auto removed = writer_.removeIfOwned(child.type, ns, name, owner); !removed) {
      return retryable("deleting " + child.type.plural + " " + ns + "/" + name + ": " + removed.error().message);
    }
  }
  return std::nullopt;
}

// deletionPolicy Delete: the namespace goes, and the finalizer stays until it has gone, so that a
// binding of the same name created right after never meets a terminating namespace. Retain: the
// namespace is released — its Pod Security labels stay, Aphex's labels go (so nothing labelled for
// the organization is left), and it is annotated for adoption.
std::optional<StepResult> Reconciler::deleteOrReleaseNamespace(Pass& pass) {
  const std::string& ns = pass.binding.spec.pipeline_name;
  const auto cached = deps_.children.get(res::kNamespaces, "", ns);
  if (cached && !ownedByThisBinding(pass, cached.get())) return std::nullopt;
  if (pass.binding.spec.deletion_policy == api::DeletionPolicy::kRetain) {
    if (!cached) return std::nullopt;  // never made, or released already
    // A merge patch that names each mark: it removes them whoever owns the fields (the namespace
    // was made by a create, not an apply), and leaves the Pod Security labels as they are.
    const Json released{
        {"metadata",
         {{"labels", {{std::string(kManagedByLabel), nullptr}, {std::string(kOrganizationLabel), nullptr},
                      {std::string(kPipelineLabel), nullptr}}},
          {"annotations", {{std::string(kRepoBindingAnnotation), nullptr}, {std::string(kAppliedHashAnnotation), nullptr},
                           {std::string(kRetainedAnnotation), pass.binding.spec.aphex_org + "/" + ns}}}}}};
    if (auto patched = deps_.client.mergePatch(res::kNamespaces, "", ns, released,
                                               {.field_manager = std::string(kFieldManager)}, pass.stop);
        !patched && !patched.error().isNotFound()) {
      return retryable("releasing namespace " + ns + ": " + patched.error().message);
    }
    return std::nullopt;
  }
  auto current = deps_.client.get(res::kNamespaces, "", ns, pass.stop);
  if (!current) {
    if (current.error().isNotFound()) return std::nullopt;
    return retryable("reading namespace " + ns + ": " + current.error().message);
  }
  if (!ownedByThisBinding(pass, &current.value())) return std::nullopt;
  if (auto removed = writer_.removeIfPresent(res::kNamespaces, "", ns); !removed) {
    return retryable("deleting namespace " + ns + ": " + removed.error().message);
  }
  return StepResult::waiting("DeletingNamespace", "waiting for namespace " + ns + " to go", kWaitInterval);
}

bool Reconciler::ownedByThisBinding(const Pass& pass, const Json* object) const {
  const auto requests = bindingOfChild(*object);
  return !requests.empty() && requests.front().ns == pass.binding.metadata.ns &&
         requests.front().name == pass.binding.metadata.name;
}

}  // namespace aphex::repobinding
