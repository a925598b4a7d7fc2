#include "aphex/common/child_writer.h"

#include "aphex/common/labels.h"

namespace aphex {

using kube::Json;

ChildWriter::ChildWriter(kube::ObjectApi& client, const ChildCache& children)
    : client_(client),
      children_(children),
      applier_(client, {.field_manager = std::string(kFieldManager),
                        .hash_annotation = std::string(kAppliedHashAnnotation)}) {}

namespace {

// A 404 on apply is a missing namespace (say, the Argo CD namespace) or a kind whose CRD is not
// installed (Tekton, Argo CD, External Secrets); the condition's reason says which.
std::string failureReason(const kube::Error& error) {
  if (!error.isNotFound()) return "ApplyFailed";
  const Json& details = error.status->details;
  if (details.is_object() && details.value("kind", "") == "namespaces") return "NamespaceNotFound";
  return "KindNotInstalled";
}

// How soon a write refused because a new ResourceQuota is not counted yet is tried again.
constexpr auto kQuotaRecheck = std::chrono::seconds(1);

// The API server refuses (403) every object a ResourceQuota counts until kube-controller-manager
// has first counted that quota, which takes it anywhere from milliseconds to seconds after the
// quota is made. That is a wait with a short recheck, not a failure: a retry's exponential
// backoff would leave a busy first pass waiting far longer than the quota takes.
bool quotaNotCountedYet(const kube::Error& error) {
  return error.isForbidden() && error.message.find("status unknown for quota") != std::string::npos;
}

StepResult writeFailed(const kube::Error& error, const std::string& what) {
  if (quotaNotCountedYet(error)) {
    return StepResult::waiting("QuotaNotCounted",
                               what + ": the namespace's ResourceQuota is not counted yet; trying again shortly",
                               kQuotaRecheck);
  }
  return StepResult::failed(failureReason(error), what + ": " + error.message, Retryable::kYes);
}

}  // namespace

StepResult ChildWriter::applyAll(const std::vector<Child>& children, const std::string& what) {
  for (const auto& child : children) {
    const auto& metadata = child.object["metadata"];
    const std::string name = metadata.value("name", "");
    const std::string ns = metadata.value("namespace", "");
    const auto live = children_.get(child.type, ns, name);
    auto applied = applier_.apply(child.type, child.object, live.get());
    if (!applied) {
      const std::string kind = child.object.value("kind", "");
      return writeFailed(applied.error(), what + ": " + kind + " " + (ns.empty() ? "" : ns + "/") + name);
    }
  }
  return StepResult::ok("Applied", what + " applied");
}

namespace {

std::string describe(const Child& child) {
  const auto& metadata = child.object["metadata"];
  const std::string ns = metadata.value("namespace", "");
  return child.object.value("kind", "") + " " + (ns.empty() ? "" : ns + "/") + metadata.value("name", "");
}

// `owner`: the ownership annotation's value on the object ("" when it has none).
StepResult ownedElsewhere(const Child& child, const std::string& what, const Ownership& mine,
                          const std::string& owner) {
  const std::string whose = owner.empty() ? "was not made by Aphex for " + mine.value
                                          : "belongs to " + owner + " (its " + std::string(mine.annotation) + ")";
  return StepResult::failed("OwnedElsewhere",
                             what + ": " + describe(child) + " already exists and " + whose +
                                 "; it is left untouched. Remove it, or choose a name that does not collide with it",
                             Retryable::kNo, kTakenNameRecheck);
}

}  // namespace

std::string ChildWriter::annotationOf(const Json& object, std::string_view annotation) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || !annotations->is_object()) return "";
  const auto found = annotations->find(std::string(annotation));
  return found != annotations->end() && found->is_string() ? found->get<std::string>() : "";
}

kube::Result<kube::runtime::ObjectPtr> ChildWriter::live(const kube::ResourceType& type, const std::string& ns,
                                                         const std::string& name) const {
  if (auto cached = children_.get(type, ns, name)) return cached;
  // Not in the cache, which holds only what carries Aphex's label: it may still exist.
  auto fetched = client_.get(type, ns, name);
  if (!fetched) return std::move(fetched).error();
  return std::make_shared<const Json>(std::move(fetched).value());
}

StepResult ChildWriter::applyOwned(const std::vector<Child>& children, const std::string& what,
                                   const Ownership& owner) {
  for (const auto& child : children) {
    if (StepResult written = applyOneOwned(child, what, owner); !written.succeeded()) return written;
  }
  return StepResult::ok("Applied", what + " applied");
}

StepResult ChildWriter::applyOneOwned(const Child& child, const std::string& what, const Ownership& owner) {
  const auto& metadata = child.object["metadata"];
  const std::string name = metadata.value("name", "");
  const std::string ns = metadata.value("namespace", "");
  if (!owner.fresh_namespace.empty() && ns == owner.fresh_namespace && !children_.get(child.type, ns, name)) {
    return applyAbsent(child, what);
  }
  auto current = live(child.type, ns, name);
  if (!current && current.error().isNotFound()) return applyAbsent(child, what);
  if (!current) return writeFailed(current.error(), what + ": " + describe(child));
  const Json& existing = **current;
  if (const std::string found = annotationOf(existing, owner.annotation); found != owner.value) {
    return ownedElsewhere(child, what, owner, found);
  }
  auto applied = applier_.apply(child.type, child.object, &existing);
  if (!applied) return writeFailed(applied.error(), what + ": " + describe(child));
  return StepResult::ok("Applied", "");
}

// Never forced: if someone made an object of this name since it was found absent, its fields
// conflict and the next pass looks at whose it is.
StepResult ChildWriter::applyAbsent(const Child& child, const std::string& what) {
  auto created = applier_.applyNew(child.type, child.object);
  if (created) return StepResult::ok("Created", "");
  if (created.error().isConflict()) {
    return StepResult::failed("OwnedElsewhere", what + ": " + describe(child) + " appeared meanwhile, made by "
                               "someone else; looking at it again", Retryable::kYes);
  }
  return writeFailed(created.error(), what + ": " + describe(child));
}

kube::Result<void> ChildWriter::removeIfOwned(const kube::ResourceType& type, const std::string& ns,
                                              const std::string& name, const Ownership& owner) {
  auto current = live(type, ns, name);
  if (!current) {
    if (current.error().isNotFound()) return {};
    return std::move(current).error();
  }
  if (annotationOf(**current, owner.annotation) != owner.value) return {};
  // The uid precondition: an object recreated by someone else since it was read is not deleted.
  auto removed = client_.remove(type, ns, name,
                                {.propagation = kube::PropagationPolicy::kBackground,
                                 .precondition_uid = (**current)["metadata"].value("uid", "")});
  if (!removed && !removed.error().isNotFound()) return std::move(removed).error();
  return {};
}

kube::Result<void> ChildWriter::removeIfPresent(const kube::ResourceType& type, const std::string& ns,
                                                const std::string& name) {
  auto removed = client_.remove(type, ns, name, {.propagation = kube::PropagationPolicy::kBackground});
  if (!removed && !removed.error().isNotFound()) return std::move(removed).error();
  return {};
}

namespace {

// The resourceVersion makes the merge patch conditional: a list is replaced whole, so a
// concurrent change to it must fail (409) rather than be overwritten.
kube::Result<void> patchFinalizers(kube::ObjectApi& client, const kube::ResourceType& type, const Json& live,
                                   Json finalizers) {
  const Json patch{{"metadata", {{"finalizers", std::move(finalizers)},
                                 {"resourceVersion", live["metadata"].value("resourceVersion", "")}}}};
  auto patched =
      client.mergePatch(type, live["metadata"].value("namespace", ""), live["metadata"].value("name", ""), patch);
  if (!patched && !patched.error().isNotFound()) return std::move(patched).error();
  return {};
}

}  // namespace

kube::Result<void> ChildWriter::addFinalizer(const kube::ResourceType& type, const Json& live) {
  Json finalizers = live["metadata"].value("finalizers", Json::array());
  finalizers.push_back(std::string(kFinalizer));
  return patchFinalizers(client_, type, live, std::move(finalizers));
}

kube::Result<void> ChildWriter::removeFinalizer(const kube::ResourceType& type, const Json& live) {
  Json finalizers = Json::array();
  for (const auto& finalizer : live["metadata"].value("finalizers", Json::array())) {
    if (finalizer != kFinalizer) finalizers.push_back(finalizer);
  }
  return patchFinalizers(client_, type, live, std::move(finalizers));
}

void recordTransitions(kube::runtime::EventRecorder& events, const Json& regarding_object,
                       const std::vector<api::Condition>& before, const std::vector<api::Condition>& now) {
  constexpr std::string_view kReady = "Ready";  // every kind's summary condition
  const api::Condition* ready = api::findCondition(now, kReady);
  if (ready == nullptr) return;
  const api::Condition* previous = api::findCondition(before, kReady);
  const bool same_status = previous != nullptr && previous->status == ready->status;
  // While Ready is False its reason says why (the first failing step, or a wait); a new reason is
  // news, a new message alone (a retry's error text) is not.
  if (same_status && (ready->status == api::ConditionStatus::kTrue || previous->reason == ready->reason)) return;
  const auto regarding = kube::runtime::ObjectReference::of(regarding_object);
  if (ready->status == api::ConditionStatus::kTrue) {
    events.normal(regarding, ready->reason, "Reconcile", ready->message);
  } else {
    events.warning(regarding, ready->reason, "Reconcile", ready->message);
  }
}

}  // namespace aphex
