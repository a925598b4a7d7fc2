#include "runtime/builder.h"

#include <stdexcept>

namespace kube::runtime {
namespace {

std::string annotationValue(const Json& object, const std::string& annotation) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || !annotations->is_object()) return "";
  const auto value = annotations->find(annotation);
  return value != annotations->end() && value->is_string() ? value->get<std::string>() : "";
}

}  // namespace

MapFunction byOwnerReference(std::string owner_kind) {
  return [kind = std::move(owner_kind)](const Json& object) { return ownersOfKind(object, kind); };
}

MapFunction byAnnotation(std::string annotation) {
  return [annotation = std::move(annotation)](const Json& object) -> std::vector<Request> {
    const std::string key = annotationValue(object, annotation);
    if (key.empty()) return {};
    return {Request::fromKey(key)};
  };
}

MapFunction toAll(const Informer& primary) {
  return [&primary](const Json&) { return requestsFor(primary.store().list()); };
}

MapFunction byIndex(const Informer& primary, std::string index, std::function<std::string(const Json&)> value_of) {
  return [&primary, index = std::move(index), value_of = std::move(value_of)](const Json& object) {
    return requestsFor(primary.store().byIndex(index, value_of(object)));
  };
}

std::string nameOf(const Json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto name = metadata->find("name");
  return name != metadata->end() && name->is_string() ? name->get<std::string>() : "";
}

ControllerBuilder::ControllerBuilder(Manager& manager, std::string name) : manager_(manager), name_(std::move(name)) {}

ControllerBuilder& ControllerBuilder::forKind(Informer& primary, Predicate predicate) {
  primary_ = &primary;
  primary_predicate_ = std::move(predicate);
  return *this;
}

ControllerBuilder& ControllerBuilder::owns(Informer& children, MapFunction to_owner, Predicate predicate) {
  watches_.push_back({.informer = &children, .map = std::move(to_owner), .predicate = std::move(predicate)});
  return *this;
}

ControllerBuilder& ControllerBuilder::owns(const std::vector<Informer*>& children, const MapFunction& to_owner,
                                           const Predicate& predicate) {
  for (Informer* informer : children) owns(*informer, to_owner, predicate);
  return *this;
}

ControllerBuilder& ControllerBuilder::watches(Informer& informer, MapFunction map, Predicate predicate,
                                              Duration batch) {
  watches_.push_back({.informer = &informer, .map = std::move(map), .predicate = std::move(predicate), .batch = batch});
  return *this;
}

ControllerBuilder& ControllerBuilder::concurrency(int workers) {
  concurrency_ = workers;
  return *this;
}

ControllerBuilder& ControllerBuilder::ownWrites(std::shared_ptr<OwnWrites> writes) {
  own_writes_ = std::move(writes);
  return *this;
}

Controller& ControllerBuilder::complete(Reconciler reconciler) {
  if (primary_ == nullptr) throw std::logic_error("controller " + name_ + ": forKind() was not called");
  Controller& controller = manager_.addController(
      {.name = name_, .concurrency = concurrency_, .own_writes = std::move(own_writes_)}, std::move(reconciler));
  controller.watchPrimary(*primary_, std::move(primary_predicate_));
  for (auto& watch : watches_) controller.watchMapped(*watch.informer, std::move(watch.map), std::move(watch.predicate), watch.batch);
  return controller;
}

}  // namespace kube::runtime
