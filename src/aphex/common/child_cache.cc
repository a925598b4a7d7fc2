#include "aphex/common/child_cache.h"

namespace aphex {

void ChildCache::add(const kube::ResourceType& type, const kube::runtime::Store& store) {
  stores_[key(type)] = &store;
}

kube::runtime::ObjectPtr ChildCache::get(const kube::ResourceType& type, std::string_view ns,
                                         std::string_view name) const {
  const auto found = stores_.find(key(type));
  if (found == stores_.end()) return nullptr;
  return found->second->get(kube::runtime::objectKey(type.namespaced ? ns : "", name));
}

std::vector<kube::runtime::ObjectPtr> ChildCache::list(const kube::ResourceType& type, const std::string& ns,
                                                       const std::string& label, const std::string& value) const {
  const auto found = stores_.find(key(type));
  if (found == stores_.end()) return {};
  return found->second->byLabelIn(ns, label, value);
}

std::vector<kube::runtime::ObjectPtr> ChildCache::all(const kube::ResourceType& type) const {
  const auto found = stores_.find(key(type));
  if (found == stores_.end()) return {};
  return found->second->list();
}

}  // namespace aphex
