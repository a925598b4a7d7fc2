// The informer's cache: the latest state of every watched object, with secondary indexes: by
// namespace, label and owner uid always, and any custom index a controller adds (client-go's
// Indexers), e.g. RepoBindings by spec.aphexOrg, so that a lookup never scans every object.
//
// Objects are immutable once stored (std::shared_ptr<const Json>): a reader keeps a consistent
// object for as long as it holds the pointer, while the writer swaps in newer versions. Before an
// object is stored a transform may trim it; the default drops metadata.managedFields, which is
// often half of an object's size and is never needed by a controller.
//
// Thread safety: every method may be called from any thread. Writes come from one informer
// thread; reads from reconcilers. A single mutex guards the maps — reads copy out pointers, so
// the lock is held only for map lookups.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kube/result.h"

namespace kube::runtime {

using ObjectPtr = std::shared_ptr<const Json>;

// "namespace/name" for namespaced objects, "name" for cluster-scoped ones (client-go's key form).
std::string objectKey(const Json& object);
std::string objectKey(std::string_view ns, std::string_view name);
std::string resourceVersionOf(const Json& object);

using Transform = std::function<void(Json&)>;
void dropManagedFields(Json& object);

// The values under which an object is indexed (none, one or several); must not throw, and must
// depend on the object alone.
using IndexFunction = std::function<std::vector<std::string>(const Json& object)>;

// What replace() changed, so the informer can tell its handlers.
struct StoreDiff {
  std::vector<ObjectPtr> added;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;  // {old, new}, only if resourceVersion differs
  std::vector<ObjectPtr> deleted;                         // present before, absent from the new list
};

class Store {
 public:
  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::vector<ObjectPtr> byNamespace(const std::string& ns) const;
  std::vector<ObjectPtr> byLabel(const std::string& label, const std::string& value) const;
  // Objects with an ownerReference to this uid.
  std::vector<ObjectPtr> byOwner(const std::string& owner_uid) const;
  // Objects that `index` (added by addIndex) files under `value`; empty for an unknown index.
  std::vector<ObjectPtr> byIndex(const std::string& index, const std::string& value) const;
  std::size_t size() const;

  // Adds a custom index (objects already stored are indexed at once). Adding a name twice
  // replaces the earlier function.
  void addIndex(const std::string& name, IndexFunction function);

  // Stores `object` and returns the version it replaced (null if new).
  ObjectPtr upsert(ObjectPtr object);
  // Removes the object at `key` and returns it (null if absent).
  ObjectPtr erase(const std::string& key);
  // Makes the store exactly `objects` (after a relist) and reports the difference.
  StoreDiff replace(std::vector<ObjectPtr> objects);

 private:
  using KeySet = std::unordered_set<std::string>;
  struct CustomIndex {
    IndexFunction function;
    std::unordered_map<std::string, KeySet> entries;
  };
  std::unordered_map<std::string, KeySet>& indexMapLocked(int index);
  void indexLocked(const std::string& key, const Json& object);
  void unindexLocked(const std::string& key, const Json& object);
  void indexCustomLocked(CustomIndex& index, const std::string& key, const Json& object);
  std::vector<ObjectPtr> lookupLocked(const std::unordered_map<std::string, KeySet>& index,
                                      const std::string& value) const;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, ObjectPtr> objects_;           // guarded by mutex_
  std::unordered_map<std::string, KeySet> by_namespace_;         // guarded by mutex_
  std::unordered_map<std::string, KeySet> by_label_;             // "key=value"; guarded by mutex_
  std::unordered_map<std::string, KeySet> by_owner_;             // owner uid; guarded by mutex_
  std::unordered_map<std::string, CustomIndex> custom_;          // by index name; guarded by mutex_
};

}  // namespace kube::runtime
