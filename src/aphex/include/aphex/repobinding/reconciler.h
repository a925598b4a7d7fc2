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
#include "aphex/common/step.h"
#include "aphex/config.h"
#include "aphex/repobinding/children.h"
#include "kube/client.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/informer.h"
#include "runtime/log.h"

namespace aphex::repobinding {

struct ReconcilerDeps {
  kube::Client& client;
  kube::runtime::Clock& clock;
  const ControllerConfig& config;
  const kube::runtime::Informer& repo_bindings;
  const kube::runtime::Informer& organizations;
  // EndpointSlices of the `default/kubernetes` Service: where the API server listens.
  const kube::runtime::Informer& api_server_endpoints;
  const ChildCache& children;
  kube::runtime::EventRecorder& events;
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("repobinding");
};

class Reconciler {
 public:
  explicit Reconciler(ReconcilerDeps deps);

  kube::runtime::Outcome reconcile(const kube::runtime::Request& request, std::stop_token stop);

  // The RepoBindings of an Organization (spec.aphexOrg is its name).
  std::vector<kube::runtime::Request> bindingsOf(const kube::Json& organization) const;
  // The RepoBinding that made `child`, from its aphex.io/repo-binding annotation.
  static std::vector<kube::runtime::Request> bindingOfChild(const kube::Json& child);
  // Every RepoBinding (the API server's addresses changed: every NetworkPolicy follows).
  std::vector<kube::runtime::Request> allBindings() const;

 private:
  struct Pass;

  kube::runtime::Outcome provision(Pass& pass);
  // Whether the Organization lets this binding proceed; on false, `pass` says why.
  bool organizationAllows(Pass& pass);
  StepResult namespaceOwnership(const Pass& pass, const kube::Json* cached);
  StepResult applyNamespace(Pass& pass, const kube::Json* cached, const StepResult& claim);
  kube::runtime::Outcome namespaceFailed(Pass& pass, const StepResult& failure);
  void applyChildren(Pass& pass);
  StepResult applyPipeline(Pass& pass, const Ownership& owner);
  // The annotation every child of `binding` carries, naming it.
  static Ownership ownership(const api::RepoBinding& binding);

  kube::runtime::Outcome finalize(Pass& pass);
  std::optional<kube::runtime::Outcome> markTerminating(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteApplications(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteChildren(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteOrReleaseNamespace(Pass& pass);
  bool ownedByThisBinding(const Pass& pass, const kube::Json* object) const;

  kube::runtime::Outcome writeStatus(Pass& pass, kube::runtime::Outcome outcome);

  ReconcilerDeps deps_;
  ChildWriter writer_;
};

}  // namespace aphex::repobinding
