// The RepoBinding controller: onboards one repository for an Organization.
//
// A pass reads the RepoBinding, its Organization and every child from informer caches, computes
// what should be (repobinding/children.h), applies only what differs, and reports through
// conditions (NamespaceReady, PipelineReady, AccessReady, GuardrailsReady, GitOpsReady,
// TriggerReady, Ready), phase and Events.
//
// Order of a pass: placement (the platform namespace or org-<aphexOrg>) and spec, then the
// Organization (wait while it is missing or not Ready; its watch wakes the binding), then the
// pipeline namespace's ownership — it must not belong to anyone else — then the finalizer, then
// the namespace and the groups of children. A bad pipelineSpec fails PipelineReady only; the other
// groups are still applied. A child that does not exist is created with a create-only write; one
// that exists is written only if it carries this binding's aphex.io/repo-binding annotation, and
// otherwise is left untouched, failing its group with reason OwnedElsewhere.
//
// Deletion (finalizer aphex.io/cleanup): the Argo CD Applications in the pipeline namespace go
// first (and are waited for, as Argo CD prunes what they deployed), then every object
// the binding made (only those carrying its annotation; pipelineSpec is not needed), then the
// namespace with deletionPolicy Delete — or, with Retain, the namespace is released: Aphex's
// labels are removed, its Pod Security labels stay, and it is annotated so that a new RepoBinding
// of the same organization and pipeline may adopt it.
//
// Thread safety: reconcile() may run concurrently for different RepoBindings (the workqueue never
// hands one key to two workers); the class holds no per-object mutable state.
#pragma once

#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "aphex/common/child_cache.h"
#include "aphex/common/child_writer.h"
#include "aphex/common/pass_runner.h"
#include "aphex/common/step.h"
#include "aphex/config.h"
#include "aphex/repobinding/children.h"
#include "kube/object_api.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/store.h"
#include "runtime/log.h"

namespace aphex::repobinding {

struct ReconcilerDeps {
  kube::ObjectApi& client;
  kube::runtime::Clock& clock;
  const ControllerConfig& config;
  // Indexed by kBindingsByOrganization (common/labels.h).
  const kube::runtime::Store& repo_bindings;
  const kube::runtime::Store& organizations;
  // EndpointSlices of the `default/kubernetes` Service: where the API server listens.
  const kube::runtime::Store& api_server_endpoints;
  const ChildCache& children;
  kube::runtime::EventRecorder& events;
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("repobinding");
};

class Reconciler {
 public:
  explicit Reconciler(ReconcilerDeps deps);

  kube::runtime::Outcome reconcile(const kube::runtime::Request& request, std::stop_token stop);

  // The RepoBinding that made `child`, from its aphex.io/repo-binding annotation.
  static std::vector<kube::runtime::Request> bindingOfChild(const kube::Json& child);

 private:
  struct Pass;

  PassKind<Pass> kind();
  void provision(Pass& pass);
  // Whether the Organization lets this binding proceed; on false, `pass` says why.
  bool organizationAllows(Pass& pass);
  StepResult namespaceOwnership(const Pass& pass, const kube::Json* cached);
  StepResult applyNamespace(Pass& pass, const kube::Json* cached, const StepResult& claim);
  // NamespaceReady says why, and the pass ends: nothing else can exist without the namespace.
  void namespaceFailed(Pass& pass, const StepResult& failure);
  void applyChildren(Pass& pass);
  StepResult applyPipeline(Pass& pass, const Ownership& owner);
  StepResult applyTrigger(const api::RepoBinding& binding, bool source_workspace, const Ownership& owner);
  // The annotation every child of `binding` carries, naming it.
  static Ownership ownership(const api::RepoBinding& binding);

  // The steps of deleting a RepoBinding, in order (a result ends the pass there).
  std::optional<StepResult> deleteApplications(Pass& pass);
  std::optional<StepResult> deleteChildren(Pass& pass);
  std::optional<StepResult> deleteOrReleaseNamespace(Pass& pass);
  bool ownedByThisBinding(const Pass& pass, const kube::Json* object) const;

  ReconcilerDeps deps_;
  ChildWriter writer_;
  PassRunner<Pass> runner_;
};

}  // namespace aphex::repobinding
