// What one Organization reconcile pass knows and decides (private to the controller).
#pragma once

#include "aphex/common/step.h"
#include "aphex/organization/reconciler.h"

namespace aphex::organization {

struct Reconciler::Pass : ReconcilePass<api::Organization> {
  using ReconcilePass::ReconcilePass;
  api::Organization& org = object;
};

}  // namespace aphex::organization
