#include "aphex/knowledgebase/reconciler.h"

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "knowledgebase/pass.h"

namespace aphex::knowledgebase {
namespace {

using kube::Json;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
namespace res = aphex::resources;

// Whether the status differs from `before` in anything but lastReconcileTime.
bool changedApartFromTime(api::KnowledgeBaseStatus now, api::KnowledgeBaseStatus before) {
  now.last_reconcile_time.reset();
  before.last_reconcile_time.reset();
  return api::toJson(now) != api::toJson(before);
}

}  // namespace

Reconciler::Reconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)),
      writer_(deps_.client, deps_.children),
      runner_(passRunnerDeps(deps_, deps_.knowledge_bases, writer_), kind()) {}

PassKind<Reconciler::Pass> Reconciler::kind() {
  return {.type = api::kKnowledgeBases,
          .name = "knowledgebase",
          // Its ConfigMap goes with it by owner reference: no finalizer, nothing to clean up.
          .finalizer = {},
          .provision = [this](Pass& pass) { provision(pass); },
          .ready_message = [](const Pass& pass) { return publishedMessage(pass.object); },
          .cleanup = {},
          .complete_status = [](Pass& pass) { completeStatus(pass); },
          // Rules may change with a controller upgrade: every KnowledgeBase is validated again.
          .idle = RequeueAfter{kRevalidationInterval}};
}

Outcome Reconciler::reconcile(const kube::runtime::Request& request, std::stop_token stop) {
  return runner_.run(request, std::move(stop));
}

// An invalid spec leaves the last valid ConfigMap in place: the ingester keeps working.
void Reconciler::provision(Pass& pass) {
  if (const auto errors = api::validate(pass.object); !errors.empty()) {
    return pass.stopAt(StepResult::failed("InvalidSpec", api::describe(errors), Retryable::kNo));
  }
  const StepResult applied = writer_.applyAll({{res::kConfigMaps, reposConfigMap(pass.object)}}, "repositories ConfigMap");
  if (!applied.succeeded()) pass.stopAt(applied);
}

std::string Reconciler::publishedMessage(const api::KnowledgeBase& kb) {
  const std::size_t count = kb.spec.repositories.size();
  return std::to_string(count) + " repositor" + (count == 1 ? "y" : "ies") + " published in ConfigMap " +
         api::reposConfigMapName(kb.metadata.name);
}

// status.message repeats Ready's; lastReconcileTime moves when something changed, or once per
// revalidation interval: a status write is a watch event, and the pass it may cause must then
// find nothing to write.
void Reconciler::completeStatus(Pass& pass) {
  const api::Condition* ready = api::findCondition(pass.status.conditions, Pass::kReady);
  pass.status.message = ready != nullptr ? ready->message : "";
  const auto last = pass.object.status.last_reconcile_time;
  if (!last || changedApartFromTime(pass.status, pass.object.status) ||
      pass.now - *last >= kRevalidationInterval - std::chrono::seconds(1)) {
    pass.status.last_reconcile_time = std::chrono::floor<std::chrono::seconds>(pass.now);
  }
}

}  // namespace aphex::knowledgebase
