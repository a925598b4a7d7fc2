#include "aphex/common/child_cache.h"

namespace aphex {

void ChildCache::add(const kube::ResourceType& type, const kube::runtime::Informer& informer) {
  informers_[key(type)] = &informer;
}

kube::runtime::ObjectPtr ChildCache::get(const kube::ResourceType& type, std::string_view ns,
                                         std::string_view name) const {
  const auto found = informers_.find(key(type));
  if (found == informers_.end()) return nullptr;
  return found->second->store().get(kube::runtime::objectKey(type.namespaced ? ns : "", name));
}

std::vector<kube::runtime::ObjectPtr> ChildCache::list(const kube::ResourceType& type, const std::string& label,
                                                       const std::string& value) const {
  const auto found = informers_.find(key(type));
  if (found == informers_.end()) return {};
  return found->second->store().byLabel(label, value);
}

}  // namespace aphex
