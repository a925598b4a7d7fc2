// What one Organization reconcile pass knows and decides (private to the controller).
#pragma once

#include <stop_token>

#include "aphex/common/step.h"
#include "aphex/organization/reconciler.h"

namespace aphex::organization {

struct Reconciler::Pass : ReconcilePass<api::Organization> {
  using ReconcilePass::ReconcilePass;
  api::Organization& org = object;
  // The reconcile's stop token: Cloudflare waits end when the controller stops.
  std::stop_token stop;
};

}  // namespace aphex::organization
