#include "aphex/knowledgebase/reconciler.h"

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"

namespace aphex::knowledgebase {
namespace {

using kube::Json;
using kube::runtime::Outcome;
using kube::runtime::RequeueAfter;
using kube::runtime::Retry;
using kube::runtime::Terminal;
namespace res = aphex::resources;

constexpr std::string_view kReady = "Ready";
constexpr std::string_view kComponent = "knowledge-base";

// Whether the status differs from `before` in anything but lastReconcileTime.
bool changedApartFromTime(api::KnowledgeBaseStatus now, api::KnowledgeBaseStatus before) {
  now.last_reconcile_time.reset();
  before.last_reconcile_time.reset();
  return api::toJson(now) != api::toJson(before);
}

}  // namespace

Json reposConfigMap(const api::KnowledgeBase& knowledge_base) {
  Json repositories = Json::array();
  for (const auto& repository : knowledge_base.spec.repositories) {
    repositories.push_back({{"url", repository.url}, {"branch", repository.branch}, {"paths", repository.paths}});
  }
  Json labels = standardLabels("");
  labels.erase(std::string(kOrganizationLabel));
  labels[std::string(kComponentLabel)] = std::string(kComponent);
  Json metadata = childMetadata(api::reposConfigMapName(knowledge_base.metadata.name), knowledge_base.metadata.ns, labels);
  metadata["ownerReferences"] = Json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                              {"kind", std::string(api::kKnowledgeBaseKind)},
                                              {"name", knowledge_base.metadata.name},
                                              {"uid", knowledge_base.metadata.uid},
                                              {"controller", true}}});
  Json config_map = object("v1", "ConfigMap", std::move(metadata));
  config_map["data"] = {{std::string(kReposKey), repositories.dump(2)}};
  return config_map;
}

Reconciler::Reconciler(ReconcilerDeps deps) : deps_(std::move(deps)), writer_(deps_.client, deps_.children) {}

Outcome Reconciler::reconcile(const kube::runtime::Request& request, std::stop_token) {
  const auto live = deps_.knowledge_bases.store().get(request.key());
  if (!live) return kube::runtime::Done{};  // gone; its ConfigMap goes with it (owner reference)
  auto parsed = api::KnowledgeBase::fromJson(*live);
  if (!parsed) return Terminal{parsed.error().message};
  const api::KnowledgeBase& kb = *parsed;
  if (kb.metadata.deleting()) return kube::runtime::Done{};
  const auto now = deps_.clock.wallNow();

  api::KnowledgeBaseStatus status = kb.status;
  status.observed_generation = kb.metadata.generation;
  api::Condition ready{.type = std::string(kReady), .observed_generation = kb.metadata.generation};
  Outcome outcome = RequeueAfter{kRevalidationInterval};
  if (const auto errors = api::validate(kb); !errors.empty()) {
    status.phase = api::Phase::kFailed;
    status.message = api::describe(errors);
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "InvalidSpec";
  } else if (StepResult applied = writer_.applyAll({{res::kConfigMaps, reposConfigMap(kb)}}, "repositories ConfigMap");
             !applied.ok) {
    status.phase = api::Phase::kPending;
    status.message = applied.message;
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = applied.reason;
    outcome = Retry{applied.message};
  } else {
    status.phase = api::Phase::kReady;
    status.message = std::to_string(kb.spec.repositories.size()) + " repositor" +
                     (kb.spec.repositories.size() == 1 ? "y" : "ies") + " published in ConfigMap " +
                     api::reposConfigMapName(kb.metadata.name);
    ready.status = api::ConditionStatus::kTrue;
    ready.reason = "Validated";
  }
  ready.message = status.message;
  api::setCondition(status.conditions, ready, now);
  // lastReconcileTime moves when something changed, or once per revalidation interval: a status
  // write is a watch event that runs another pass, which must then find nothing to write.
  const auto last = kb.status.last_reconcile_time;
  if (!last || changedApartFromTime(status, kb.status) ||
      now - *last >= kRevalidationInterval - std::chrono::seconds(1)) {
    status.last_reconcile_time = std::chrono::floor<std::chrono::seconds>(now);
  }
  auto written = writer_.applier().applyStatus(api::kKnowledgeBases, api::toJson(status), *live);
  if (!written) return Retry{"writing status: " + written.error().message};
  if (written->written) recordTransitions(deps_.events, *live, kb.status.conditions, status.conditions);
  return outcome;
}

}  // namespace aphex::knowledgebase
