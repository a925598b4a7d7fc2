// Which updates of a watched object are worth a reconcile, in the spirit of controller-runtime's
// predicates. Adds and deletes always pass: a predicate filters updates only, since a created or
// vanished object always changes what its owner must do.
//
// Every status write of a controller is a watch event on its own object; without a filter each
// one runs another pass that finds nothing to do. Filtering status-only updates on the primary
// kind, and filtering secondary kinds down to the fields a controller reads, removes those passes.
//
// Thread safety: predicates are pure functions of their arguments; call them from any thread.
#pragma once

#include <functional>
#include <vector>

#include "kube/result.h"

namespace kube::runtime {

using Predicate = std::function<bool(const Json& old_object, const Json& new_object)>;

// metadata.generation moved: the spec changed (the API server bumps it for spec changes only).
Predicate generationChanged();
// metadata.deletionTimestamp appeared or changed: the object's deletion began.
Predicate deletionChanged();
Predicate labelsChanged();
Predicate annotationsChanged();
// Anything changed but status, resourceVersion and managedFields: spec, labels, annotations,
// finalizers, owner references, the deletion timestamp. The predicate for a controller's own kind.
Predicate changedApartFromStatus();
// `projection` of the object differs: for secondary kinds, the part a controller reads.
Predicate projectionChanged(std::function<Json(const Json&)> projection);
// Passes when any of `predicates` passes (none: never).
Predicate anyOf(std::vector<Predicate> predicates);

}  // namespace kube::runtime
