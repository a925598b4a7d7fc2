// Wires Aphex's controllers (Organization, RepoBinding, KnowledgeBase) into a runtime Manager: the informers they read (every child kind
// scoped to managed-by=aphex-controller), the watches that map changes to the objects that own
// them, the reconcilers, and the PipelineRun pruner's periodic sweep.
#pragma once

#include <memory>
#include <vector>

#include "aphex/common/child_cache.h"
#include "aphex/config.h"
#include "aphex/knowledgebase/reconciler.h"
#include "aphex/organization/reconciler.h"
#include "aphex/pipelineruns/pruner.h"
#include "aphex/repobinding/reconciler.h"
#include "runtime/events.h"
#include "runtime/manager.h"
#include "runtime/own_writes.h"

namespace aphex {

struct DomainControllerOptions {
  int organization_concurrency = 2;
  int repo_binding_concurrency = 4;
  int knowledge_base_concurrency = 1;
  organization::CloudflareFactory cloudflare = organization::defaultCloudflareFactory();
};

// What the controllers need to outlive the Manager's run().
struct Controllers {
  // Each reconciler's client: it records the reconciler's writes, so that their watch events do
  // not wake its own controller again (runtime/own_writes.h). Declared first: it outlives them.
  std::vector<std::unique_ptr<kube::runtime::OwnWritesClient>> clients;
  ChildCache children;
  std::unique_ptr<organization::Reconciler> organizations;
  std::unique_ptr<repobinding::Reconciler> repo_bindings;
  std::unique_ptr<knowledgebase::Reconciler> knowledge_bases;
  // Sweeps pipeline namespaces on the leader (docs/controller.md, "Pruning finished PipelineRuns").
  std::unique_ptr<pipelineruns::Pruner> pipeline_runs;
};

// `config` and `events` must outlive the returned object and the Manager's run().
std::unique_ptr<Controllers> addControllers(kube::runtime::Manager& manager, const ControllerConfig& config,
                                            kube::runtime::EventRecorder& events, DomainControllerOptions options = {});

}  // namespace aphex
