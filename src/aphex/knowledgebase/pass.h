// What one KnowledgeBase reconcile pass knows and decides (private to the controller).
#pragma once

#include "aphex/common/step.h"
#include "aphex/knowledgebase/reconciler.h"

namespace aphex::knowledgebase {

struct Reconciler::Pass : ReconcilePass<api::KnowledgeBase> {
  using ReconcilePass::ReconcilePass;
};

}  // namespace aphex::knowledgebase
