#include "runtime/store.h"

namespace kube::runtime {

namespace {

std::string stringAt(const Json& object, const Json::json_pointer& pointer) {
  const Json* value = object.contains(pointer) ? &object[pointer] : nullptr;
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string{};
}

enum class Index { kNamespace, kLabel, kOwner };

// Calls fn(index, value) for every index entry `object` belongs to.
template <typename Fn>
void forEachIndexEntry(const Json& object, Fn&& fn) {
  fn(Index::kNamespace, stringAt(object, "/metadata/namespace"_json_pointer));
  static const Json kNoMetadata = Json::object();
  const auto found = object.find("metadata");
  const Json& metadata = found != object.end() && found->is_object() ? *found : kNoMetadata;
  if (const auto labels = metadata.find("labels"); labels != metadata.end() && labels->is_object()) {
    for (auto label = labels->begin(); label != labels->end(); ++label) {
      if (label->is_string()) fn(Index::kLabel, label.key() + "=" + label->template get<std::string>());
    }
  }
  if (const auto owners = metadata.find("ownerReferences"); owners != metadata.end() && owners->is_array()) {
    for (const auto& owner : *owners) {
      if (owner.contains("uid") && owner["uid"].is_string()) fn(Index::kOwner, owner["uid"].template get<std::string>());
    }
  }
}

}  // namespace

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  return key.append(ns).append("/").append(name);
}

std::string objectKey(const Json& object) {
  return objectKey(stringAt(object, "/metadata/namespace"_json_pointer), stringAt(object, "/metadata/name"_json_pointer));
}

std::string resourceVersionOf(const Json& object) {
  return stringAt(object, "/metadata/resourceVersion"_json_pointer);
}

void dropManagedFields(Json& object) {
  if (auto metadata = object.find("metadata"); metadata != object.end() && metadata->is_object()) {
    metadata->erase("managedFields");
  }
}

std::unordered_map<std::string, Store::KeySet>& Store::indexMapLocked(int index) {
  switch (static_cast<Index>(index)) {
    case Index::kNamespace: return by_namespace_;
    case Index::kLabel: return by_label_;
    case Index::kOwner: return by_owner_;
  }
  return by_owner_;
}

void Store::indexLocked(const std::string& key, const Json& object) {
  forEachIndexEntry(object, [&](Index index, const std::string& value) {
    indexMapLocked(static_cast<int>(index))[value].insert(key);
  });
  for (auto& [name, index] : custom_) indexCustomLocked(index, key, object);
}

void Store::indexCustomLocked(CustomIndex& index, const std::string& key, const Json& object) {
  for (const auto& value : index.function(object)) index.entries[value].insert(key);
}

void Store::unindexLocked(const std::string& key, const Json& object) {
  const auto remove = [&key](std::unordered_map<std::string, KeySet>& map, const std::string& value) {
    const auto entry = map.find(value);
    if (entry == map.end()) return;
    entry->second.erase(key);
    if (entry->second.empty()) map.erase(entry);
  };
  forEachIndexEntry(object, [&](Index index, const std::string& value) {
    remove(indexMapLocked(static_cast<int>(index)), value);
  });
  for (auto& [name, index] : custom_) {
    for (const auto& value : index.function(object)) remove(index.entries, value);
  }
}

std::vector<ObjectPtr> Store::lookupLocked(const std::unordered_map<std::string, KeySet>& index,
                                           const std::string& value) const {
  std::vector<ObjectPtr> found;
  const auto entry = index.find(value);
  if (entry == index.end()) return found;
  found.reserve(entry->second.size());
  for (const auto& key : entry->second) found.push_back(objects_.at(key));
  return found;
}

ObjectPtr Store::get(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  return found == objects_.end() ? nullptr : found->second;
}

std::vector<ObjectPtr> Store::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ObjectPtr> all;
  all.reserve(objects_.size());
  for (const auto& [key, object] : objects_) all.push_back(object);
  return all;
}

std::vector<ObjectPtr> Store::byNamespace(const std::string& ns) const {
  std::lock_guard lock(mutex_);
  return lookupLocked(by_namespace_, ns);
}

std::vector<ObjectPtr> Store::byLabel(const std::string& label, const std::string& value) const {
  std::lock_guard lock(mutex_);
  return lookupLocked(by_label_, label + "=" + value);
}

std::vector<ObjectPtr> Store::byOwner(const std::string& owner_uid) const {
  std::lock_guard lock(mutex_);
  return lookupLocked(by_owner_, owner_uid);
}

std::vector<ObjectPtr> Store::byIndex(const std::string& index, const std::string& value) const {
  std::lock_guard lock(mutex_);
  const auto found = custom_.find(index);
  if (found == custom_.end()) return {};
  return lookupLocked(found->second.entries, value);
}

void Store::addIndex(const std::string& name, IndexFunction function) {
  std::lock_guard lock(mutex_);
  CustomIndex& index = custom_[name];
  index = {.function = std::move(function), .entries = {}};
  for (const auto& [key, object] : objects_) indexCustomLocked(index, key, *object);
}

std::size_t Store::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

ObjectPtr Store::upsert(ObjectPtr object) {
  const std::string key = objectKey(*object);
  std::lock_guard lock(mutex_);
  ObjectPtr& slot = objects_[key];
  ObjectPtr previous = std::move(slot);
  if (previous) unindexLocked(key, *previous);
  indexLocked(key, *object);
  slot = std::move(object);
  return previous;
}

ObjectPtr Store::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(key);
  if (found == objects_.end()) return nullptr;
  ObjectPtr previous = std::move(found->second);
  objects_.erase(found);
  unindexLocked(key, *previous);
  return previous;
}

StoreDiff Store::replace(std::vector<ObjectPtr> objects) {
  StoreDiff diff;
  std::unordered_map<std::string, ObjectPtr> fresh;
  fresh.reserve(objects.size());
  for (auto& object : objects) fresh.emplace(objectKey(*object), std::move(object));

  std::lock_guard lock(mutex_);
  for (const auto& [key, old] : objects_) {
    if (!fresh.contains(key)) diff.deleted.push_back(old);
  }
  for (const auto& [key, object] : fresh) {
    const auto old = objects_.find(key);
    if (old == objects_.end()) {
      diff.added.push_back(object);
    } else if (resourceVersionOf(*old->second) != resourceVersionOf(*object)) {
      diff.updated.emplace_back(old->second, object);
    }
  }
  objects_ = std::move(fresh);
  by_namespace_.clear();
  by_label_.clear();
  by_owner_.clear();
  for (auto& [name, index] : custom_) index.entries.clear();
  for (const auto& [key, object] : objects_) indexLocked(key, *object);
  return diff;
}

}  // namespace kube::runtime
