// Writes a controller's children: applies desired objects against their cached versions (zero
// requests when nothing differs), deletes what must go, and manages the cleanup finalizer.
//
// Thread safety: as kube::Client and ChildCache; holds no per-object state.
#pragma once

#include <string>
#include <vector>

#include "aphex/common/child_cache.h"
#include "aphex/common/step.h"
#include "kube/client.h"
#include "runtime/apply.h"
#include "runtime/events.h"

namespace aphex {

class ChildWriter {
 public:
  ChildWriter(kube::Client& client, const ChildCache& children);

  // Applies `children` in order and stops at the first failure, which names the object; a kind
  // whose CRD is not installed is reported as such.
  StepResult applyAll(const std::vector<Child>& children, const std::string& what);
  // Deletes in the background; an object already gone is success.
  kube::Result<void> removeIfPresent(const kube::ResourceType& type, const std::string& ns, const std::string& name);

  // Adds or removes aphex.io/cleanup on `live` (an object of `type`), with a patch conditional on
  // its resourceVersion so that a concurrent change to the list fails instead of being lost.
  kube::Result<void> addFinalizer(const kube::ResourceType& type, const kube::Json& live);
  kube::Result<void> removeFinalizer(const kube::ResourceType& type, const kube::Json& live);

  kube::runtime::Applier& applier() { return applier_; }
  const ChildCache& cache() const { return children_; }

 private:
  kube::Client& client_;
  const ChildCache& children_;
  kube::runtime::Applier applier_;
};

// One Event per condition whose status or reason changed since `before`: Normal when it became
// True, Warning otherwise. Repeats are aggregated by the recorder.
void recordTransitions(kube::runtime::EventRecorder& events, const kube::Json& regarding,
                       const std::vector<api::Condition>& before, const std::vector<api::Condition>& now);

}  // namespace aphex
