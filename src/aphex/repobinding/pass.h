// What one RepoBinding reconcile pass knows and decides (private to the controller).
#pragma once

#include "aphex/common/step.h"
#include "aphex/repobinding/reconciler.h"

namespace aphex::repobinding {

struct Reconciler::Pass : ReconcilePass<api::RepoBinding> {
  using ReconcilePass::ReconcilePass;
  api::RepoBinding& binding = object;
  // The Organization, once organizationAllows() has found it.
  std::optional<api::Organization> organization;
  // spec.pipelineSpec, parsed once per pass: the Pipeline and the TriggerTemplate both need it.
  std::optional<kube::Result<kube::Json>> pipeline;
  // Whether this pass created the pipeline namespace (see Ownership::fresh_namespace).
  bool created_namespace = false;
};

}  // namespace aphex::repobinding
