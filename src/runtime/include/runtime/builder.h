// Wires a controller to what it watches in a few readable lines, in the spirit of
// controller-runtime's NewControllerManagedBy(mgr).For().Owns().Watches() and kube-rs'
// Controller::new().owns().watches():
//
//   ControllerBuilder(manager, "knowledgebase")
//       .forKind(knowledge_bases)                                  // the primary kind
//       .owns(config_maps, byOwnerReference("KnowledgeBase"))       // children, mapped back
//       .watches(organizations, bindingsOf, projectionChanged(...)) // anything else, mapped
//       .concurrency(2)
//       .ownWrites(writes)                 // its reconciler's writes, recorded (own_writes.h)
//       .complete(reconcile);
//
// The primary kind's updates pass only when changedApartFromStatus() (the controller's own
// status writes wake nothing) unless another predicate is given. Owned and watched kinds pass
// every update unless a predicate narrows them to the fields the reconciler reads.
//
// Thread safety: build before Manager::run(), from one thread (as Manager::addController).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/controller.h"
#include "runtime/informer.h"
#include "runtime/manager.h"
#include "runtime/predicates.h"

namespace kube::runtime {

// The controlling owner of kind `owner_kind` named by the object's ownerReferences.
MapFunction byOwnerReference(std::string owner_kind);
// The owner named by the object's annotation `annotation`: "namespace/name", or "name" for a
// cluster-scoped owner. Objects without it map to nothing.
MapFunction byAnnotation(std::string annotation);
// Every object in `primary`'s cache: for something all of them depend on.
MapFunction toAll(const Informer& primary);
// The objects of `primary` that its store's custom index `index` files under `value_of(object)`
// (e.g. the RepoBindings whose spec.aphexOrg is a changed Organization's name).
MapFunction byIndex(const Informer& primary, std::string index, std::function<std::string(const Json&)> value_of);
// metadata.name, "" when absent.
std::string nameOf(const Json& object);

class ControllerBuilder {
 public:
  ControllerBuilder(Manager& manager, std::string name);

  ControllerBuilder& forKind(Informer& primary, Predicate predicate = changedApartFromStatus());
  ControllerBuilder& owns(Informer& children, MapFunction to_owner, Predicate predicate = {});
  ControllerBuilder& owns(const std::vector<Informer*>& children, const MapFunction& to_owner,
                          const Predicate& predicate = {});
  // `batch`: see Controller::watchMapped.
  ControllerBuilder& watches(Informer& informer, MapFunction map, Predicate predicate = {},
                             Duration batch = Duration::zero());
  ControllerBuilder& concurrency(int workers);
  // The reconciler writes through an OwnWritesClient over `writes`: those writes coming back as
  // watch events wake nothing (own_writes.h).
  ControllerBuilder& ownWrites(std::shared_ptr<OwnWrites> writes);
  // Registers the controller with the manager. Fails (std::logic_error) without forKind(): a
  // controller always has a primary kind.
  Controller& complete(Reconciler reconciler);

 private:
  struct Watch {
    Informer* informer;
    MapFunction map;
    Predicate predicate;
    Duration batch = Duration::zero();
  };

  Manager& manager_;
  std::string name_;
  int concurrency_ = 1;
  std::shared_ptr<OwnWrites> own_writes_;
  Informer* primary_ = nullptr;
  Predicate primary_predicate_;
  std::vector<Watch> watches_;
};

}  // namespace kube::runtime
