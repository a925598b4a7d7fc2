// Writes a controller's children: applies desired objects against their cached versions (zero
// requests when nothing differs), deletes what must go, and manages the cleanup finalizer.
//
// Thread safety: as kube::ObjectApi and ChildCache; holds no per-object state.
#pragma once

#include <string>
#include <vector>

#include "aphex/common/child_cache.h"
#include "aphex/common/step.h"
#include "kube/object_api.h"
#include "runtime/apply.h"
#include "runtime/events.h"

namespace aphex {

// Whose a child is: the annotation that names its owner on every object the owner made, and this
// owner's value of it. The annotation is unforgeable by tenants (admission refuses aphex.io/ keys
// from anyone but the controller), so an object without this value is someone else's.
struct Ownership {
  std::string_view annotation;
  std::string value;
  // A namespace this owner created in the same pass, with a create-only write: nothing can be in
  // it yet that the owner does not know of, so its children there are not read before they are
  // applied (a first pass of a RepoBinding saves one GET per child). "" when there is none.
  std::string fresh_namespace;
};

class ChildWriter {
 public:
  ChildWriter(kube::ObjectApi& client, const ChildCache& children);

  // Applies `children` in order and stops at the first failure, which names the object; a kind
  // whose CRD is not installed is reported as such.
  StepResult applyAll(const std::vector<Child>& children, const std::string& what);
  // As applyAll, for children a tenant names: one that does not exist is applied without force
  // (Applier::applyNew), so one someone made meanwhile is not taken over; one that exists is
  // written only if `owner` owns it. A child in `owner.fresh_namespace` that is not cached is
  // taken to be absent without a read. An object of that name
  // that belongs to anyone else — another owner, or nobody Aphex knows — is never patched,
  // adopted or overwritten: the step fails, naming the object and its owner.
  StepResult applyOwned(const std::vector<Child>& children, const std::string& what, const Ownership& owner);
  // Deletes in the background; an object already gone is success.
  kube::Result<void> removeIfPresent(const kube::ResourceType& type, const std::string& ns, const std::string& name);
  // Deletes the object only if `owner` owns it (from the cache, else read from the server), on
  // the condition that it is still that object (its uid); someone else's object, or one already
  // gone, is success and stays untouched.
  kube::Result<void> removeIfOwned(const kube::ResourceType& type, const std::string& ns, const std::string& name,
                                   const Ownership& owner);

  // Adds or removes aphex.io/cleanup on `live` (an object of `type`), with a patch conditional on
  // its resourceVersion so that a concurrent change to the list fails instead of being lost.
  kube::Result<void> addFinalizer(const kube::ResourceType& type, const kube::Json& live);
  kube::Result<void> removeFinalizer(const kube::ResourceType& type, const kube::Json& live);

  kube::runtime::Applier& applier() { return applier_; }
  // The value of `annotation` on `object`, "" when it has none.
  static std::string annotationOf(const kube::Json& object, std::string_view annotation);
  const ChildCache& cache() const { return children_; }

 private:
  StepResult applyOneOwned(const Child& child, const std::string& what, const Ownership& owner);
  // Applies a child that was not found, without force (see applyOwned).
  StepResult applyAbsent(const Child& child, const std::string& what);
  // The live object: cached, else read from the server (isNotFound() when it does not exist).
  kube::Result<kube::runtime::ObjectPtr> live(const kube::ResourceType& type, const std::string& ns, const std::string& name) const;

  kube::ObjectApi& client_;
  const ChildCache& children_;
  kube::runtime::Applier applier_;
};

// An Event when Ready changed since `before`: Normal when it became True, Warning when it turned
// False or, while False, its reason changed; its note is Ready's message, which names the first
// failing step. Nothing for the other conditions: a first pass would post one per group, and
// status says the same (docs/architecture.md, `common/pass_runner.h`). Repeats are aggregated by the recorder.
void recordTransitions(kube::runtime::EventRecorder& events, const kube::Json& regarding,
                       const std::vector<api::Condition>& before, const std::vector<api::Condition>& now);

}  // namespace aphex
