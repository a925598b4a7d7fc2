// Read access to the objects the controller made, through the stores of the informers that cache
// them (one per kind, scoped to managed-by=aphex-controller), so that comparing desired with live
// costs no request.
//
// Thread safety: add() before use, from one thread; get() and list() from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kube/object_api.h"
#include "runtime/store.h"

namespace aphex {

// An object a controller makes, and where it lives in the REST API.
struct Child {
  kube::ResourceType type;
  kube::Json object;
};

class ChildCache {
 public:
  void add(const kube::ResourceType& type, const kube::runtime::Store& store);
  // The cached object, or nullptr when it does not exist (or its kind is not cached).
  kube::runtime::ObjectPtr get(const kube::ResourceType& type, std::string_view ns, std::string_view name) const;
  // Every cached object of `type` in namespace `ns` whose label `label` has `value`. The child
  // stores index only kComponentLabel (controllers.cc); another label finds nothing.
  std::vector<kube::runtime::ObjectPtr> list(const kube::ResourceType& type, const std::string& ns,
                                             const std::string& label, const std::string& value) const;
  // Every cached object of `type` (none when its kind is not cached).
  std::vector<kube::runtime::ObjectPtr> all(const kube::ResourceType& type) const;

 private:
  static std::string key(const kube::ResourceType& type) { return type.apiVersion() + "/" + type.plural; }
  std::map<std::string, const kube::runtime::Store*, std::less<>> stores_;
};

}  // namespace aphex
