#include "runtime/store.h"

#include <algorithm>

#include <cstring>
#include <iterator>

namespace kube::runtime {

namespace {

// Plain member lookups: building a JSON pointer from a literal parses it on every call, several
// times slower than the lookups themselves (docs/benchmarks.md).
const Json& metadataOf(const Json& object) {
  static const Json kNoMetadata = Json::object();
  if (!object.is_object()) return kNoMetadata;
  const auto found = object.find("metadata");
  return found != object.end() && found->is_object() ? *found : kNoMetadata;
}

// The string member `name` of `object`; null when absent or not a string.
const std::string* stringMember(const Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(name);
  return found != object.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
}

std::string_view stringIn(const Json& object, std::string_view name) {
  const std::string* value = stringMember(object, name);
  return value != nullptr ? std::string_view(*value) : std::string_view{};
}

enum class Index { kNamespace, kLabel, kOwner };

bool indexed(const std::vector<std::string>& label_keys, const std::string& key) {
  return label_keys.empty() || std::find(label_keys.begin(), label_keys.end(), key) != label_keys.end();
}

// Calls fn(index, value) for every index entry `object` belongs to; labels only those whose key
// is in `label_keys` (all when it is empty).
template <typename Fn>
void forEachIndexEntry(const Json& object, const std::vector<std::string>& label_keys, Fn&& fn) {
  const Json& metadata = metadataOf(object);
  fn(Index::kNamespace, std::string(stringIn(metadata, "namespace")));
  if (const auto labels = metadata.find("labels"); labels != metadata.end() && labels->is_object()) {
    for (auto label = labels->begin(); label != labels->end(); ++label) {
      if (!label->is_string() || !indexed(label_keys, label.key())) continue;
      fn(Index::kLabel, label.key() + "=" + label->template get_ref<const std::string&>());
    }
  }
  if (const auto owners = metadata.find("ownerReferences"); owners != metadata.end() && owners->is_array()) {
    for (const auto& owner : *owners) {
      if (const std::string* uid = stringMember(owner, "uid")) fn(Index::kOwner, *uid);
    }
  }
}

// Index entries count on their slot (Entry::indexed) so that erasing a slot can tell whether
// any entry still points at it.
template <typename IndexMap, typename Slot>
void addEntry(IndexMap& map, const std::string& value, Slot& slot) {
  if (map[value].insert(&slot).second) ++slot.second.indexed;
}

template <typename IndexMap, typename Slot>
void removeEntry(IndexMap& map, const std::string& value, Slot& slot) {
  const auto entry = map.find(value);
  if (entry == map.end()) return;
  if (entry->second.erase(&slot) != 0) --slot.second.indexed;
  if (entry->second.empty()) map.erase(entry);
}

}  // namespace

std::string objectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  return key.append(ns).append("/").append(name);
}

std::string objectKey(const Json& object) {
  const Json& metadata = metadataOf(object);
  return objectKey(stringIn(metadata, "namespace"), stringIn(metadata, "name"));
}

std::string resourceVersionOf(const Json& object) {
  return std::string(stringIn(metadataOf(object), "resourceVersion"));
}

void dropManagedFields(Json& object) {
  if (auto metadata = object.find("metadata"); metadata != object.end() && metadata->is_object()) {
    metadata->erase("managedFields");
  }
}

// ---- Encoding ----

Store::Entry Store::entryOf(ObjectPtr object) const {
  if (encoding_ == CacheEncoding::kTree) return {.tree = std::move(object)};
  // `replace`: a string a transform filled with invalid UTF-8 is stored with U+FFFD rather than
  // throwing in the middle of a relist. JSON from the API server is always valid.
  const std::string text = object->dump(-1, ' ', false, Json::error_handler_t::replace);
  if (encoding_ == CacheEncoding::kCompressed) {
    if (const TextDictionary* dictionary = dictionaryFor(text)) {
      Entry entry = sharedText(dictionary->compress(text));
      entry.dictionary = dictionary;
      entry.text_size = static_cast<std::uint32_t>(text.size());
      return entry;
    }
  }
  return sharedText(text);
}

Store::Entry Store::sharedText(std::string_view bytes) {
  // Exactly the bytes' size, no slack capacity, one allocation with the reference count.
  auto shared = std::make_shared_for_overwrite<char[]>(bytes.size());
  std::memcpy(shared.get(), bytes.data(), bytes.size());
  return {.text = std::move(shared), .size = static_cast<std::uint32_t>(bytes.size())};
}

const TextDictionary* Store::dictionaryFor(std::string_view text) const {
  std::lock_guard lock(sampler_mutex_);
  return sampler_.offer(text);
}

ObjectPtr Store::decode(const Entry& entry) {
  if (!entry.text) return entry.tree;
  if (entry.dictionary != nullptr) {
    const std::string text = entry.dictionary->decompress(entry.text.get(), entry.size, entry.text_size);
    return std::make_shared<const Json>(Json::parse(text));
  }
  const char* text = entry.text.get();
  return std::make_shared<const Json>(Json::parse(text, text + entry.size));
}

ObjectPtr Store::decode(Entry&& entry) { return entry.text ? decode(entry) : std::move(entry.tree); }

std::vector<ObjectPtr> Store::decodeAll(std::vector<Entry> entries) {
  std::vector<ObjectPtr> objects;
  objects.reserve(entries.size());
  for (auto& entry : entries) objects.push_back(decode(std::move(entry)));
  return objects;
}

bool Store::sameEntry(const Entry& a, const Entry& b) { return a.tree == b.tree && a.text == b.text; }

bool Store::mayDiffer(const Entry& old, const Entry& fresh) {
  if (!fresh.text) return resourceVersionOf(*old.tree) != resourceVersionOf(*fresh.tree);
  // The same text means the same version; different text is parsed later to compare versions.
  // Compressed with the same dictionary, the same text gives the same bytes.
  return old.dictionary != fresh.dictionary || old.size != fresh.size ||
         std::memcmp(old.text.get(), fresh.text.get(), fresh.size) != 0;
}

std::pair<Store::Entry, ObjectPtr> Store::current(const std::string& key) const {
  Entry entry;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = objects_.find(key); found != objects_.end()) entry = found->second;
  }
  ObjectPtr object = decode(entry);
  return {std::move(entry), std::move(object)};
}

// ---- Indexes ----

Store::IndexMap& Store::indexMapLocked(int index) {
  switch (static_cast<Index>(index)) {
    case Index::kNamespace: return by_namespace_;
    case Index::kLabel: return by_label_;
    case Index::kOwner: return by_owner_;
  }
  return by_owner_;
}

void Store::indexLocked(Slot& slot, const Json& object) {
  forEachIndexEntry(object, indexed_labels_, [&](Index index, const std::string& value) {
    addEntry(indexMapLocked(static_cast<int>(index)), value, slot);
  });
  for (auto& [name, index] : custom_) indexCustomLocked(index, slot, object);
}

void Store::indexCustomLocked(CustomIndex& index, Slot& slot, const Json& object) {
  for (const auto& value : index.function(object)) addEntry(index.entries, value, slot);
}

void Store::unindexLocked(Slot& slot, const Json& object) {
  forEachIndexEntry(object, indexed_labels_, [&](Index index, const std::string& value) {
    removeEntry(indexMapLocked(static_cast<int>(index)), value, slot);
  });
  for (auto& [name, index] : custom_) {
    for (const auto& value : index.function(object)) removeEntry(index.entries, value, slot);
  }
  if (slot.second.indexed != 0) sweepLocked(slot);
}

void Store::sweepLocked(Slot& slot) {
  const auto sweep = [&slot](IndexMap& map) {
    for (auto entry = map.begin(); entry != map.end();) {
      entry->second.erase(&slot);
      entry = entry->second.empty() ? map.erase(entry) : std::next(entry);
    }
  };
  sweep(by_namespace_);
  sweep(by_label_);
  sweep(by_owner_);
  for (auto& [name, index] : custom_) sweep(index.entries);
  slot.second.indexed = 0;
}

void Store::clearIndexesLocked() {
  by_namespace_.clear();
  by_label_.clear();
  by_owner_.clear();
  for (auto& [name, index] : custom_) index.entries.clear();
  for (auto& [key, entry] : objects_) entry.indexed = 0;
}

std::vector<Store::Entry> Store::lookupLocked(const IndexMap& index, const std::string& value) const {
  std::vector<Entry> found;
  const auto entry = index.find(value);
  if (entry == index.end()) return found;
  found.reserve(entry->second.size());
  for (const Slot* slot : entry->second) found.push_back(slot->second);
  return found;
}

// The entries filed under both values: walks the smaller set and probes the larger.
std::vector<Store::Entry> Store::lookupBothLocked(const IndexMap& first, const std::string& first_value,
                                                  const IndexMap& second, const std::string& second_value) const {
  std::vector<Entry> found;
  const auto a = first.find(first_value);
  const auto b = second.find(second_value);
  if (a == first.end() || b == second.end()) return found;
  const bool a_smaller = a->second.size() <= b->second.size();
  const SlotSet& walked = a_smaller ? a->second : b->second;
  const SlotSet& probed = a_smaller ? b->second : a->second;
  for (Slot* slot : walked) {
    if (probed.contains(slot)) found.push_back(slot->second);
  }
  return found;
}

// ---- Reads: entries are copied out under the lock and decoded after ----

ObjectPtr Store::get(const std::string& key) const {
  Entry entry;
  {
    std::lock_guard lock(mutex_);
    const auto found = objects_.find(key);
    if (found == objects_.end()) return nullptr;
    entry = found->second;
  }
  return decode(std::move(entry));
}

std::vector<ObjectPtr> Store::list() const {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mutex_);
    entries.reserve(objects_.size());
    for (const auto& [key, entry] : objects_) entries.push_back(entry);
  }
  return decodeAll(std::move(entries));
}

std::vector<ObjectPtr> Store::byNamespace(const std::string& ns) const {
  std::unique_lock lock(mutex_);
  std::vector<Entry> entries = lookupLocked(by_namespace_, ns);
  lock.unlock();
  return decodeAll(std::move(entries));
}

std::vector<ObjectPtr> Store::byLabel(const std::string& label, const std::string& value) const {
  std::unique_lock lock(mutex_);
  std::vector<Entry> entries = lookupLocked(by_label_, label + "=" + value);
  lock.unlock();
  return decodeAll(std::move(entries));
}

std::vector<ObjectPtr> Store::byLabelIn(const std::string& ns, const std::string& label,
                                        const std::string& value) const {
  std::unique_lock lock(mutex_);
  std::vector<Entry> entries = lookupBothLocked(by_namespace_, ns, by_label_, label + "=" + value);
  lock.unlock();
  return decodeAll(std::move(entries));
}

std::vector<ObjectPtr> Store::byOwner(const std::string& owner_uid) const {
  std::unique_lock lock(mutex_);
  std::vector<Entry> entries = lookupLocked(by_owner_, owner_uid);
  lock.unlock();
  return decodeAll(std::move(entries));
}

std::vector<ObjectPtr> Store::byIndex(const std::string& index, const std::string& value) const {
  std::unique_lock lock(mutex_);
  const auto found = custom_.find(index);
  if (found == custom_.end()) return {};
  std::vector<Entry> entries = lookupLocked(found->second.entries, value);
  lock.unlock();
  return decodeAll(std::move(entries));
}

std::size_t Store::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::size_t Store::storedBytes() const {
  std::lock_guard lock(mutex_);
  std::size_t bytes = 0;
  for (const auto& [key, entry] : objects_) bytes += entry.size;
  return bytes;
}

// ---- Writes ----

void Store::addIndex(const std::string& name, IndexFunction function) {
  std::lock_guard lock(mutex_);
  CustomIndex& index = custom_[name];
  for (auto& [value, slots] : index.entries) {
    for (Slot* slot : slots) --slot->second.indexed;
  }
  index = {.function = std::move(function), .entries = {}};
  // kText parses every stored object here, under the lock; indexes are added before the
  // informer runs, when the store is still empty.
  for (auto& slot : objects_) indexCustomLocked(index, slot, *decode(slot.second));
}

// The replaced object is read (and, in kText, parsed) before the lock is taken for the write;
// should another writer have changed the entry meanwhile, it is read again.
ObjectPtr Store::upsert(ObjectPtr object) {
  const std::string key = objectKey(*object);
  Entry entry = entryOf(object);
  while (true) {
    auto [seen, previous] = current(key);
    std::lock_guard lock(mutex_);
    Slot& slot = *objects_.try_emplace(key).first;
    if (!sameEntry(slot.second, seen)) continue;
    // The slot stays: its index entries go with the old object's values, and come back with
    // the new one's.
    if (previous) unindexLocked(slot, *previous);
    slot.second = std::move(entry);
    indexLocked(slot, *object);
    return std::move(previous);
  }
}

ObjectPtr Store::erase(const std::string& key) {
  while (true) {
    auto [seen, previous] = current(key);
    if (!previous) return nullptr;
    std::lock_guard lock(mutex_);
    const auto found = objects_.find(key);
    if (found == objects_.end() || !sameEntry(found->second, seen)) continue;
    unindexLocked(*found, *previous);  // before the node goes: entries point at it
    objects_.erase(found);
    return std::move(previous);
  }
}

Store::Encoded Store::encode(ObjectPtr object) const {
  Encoded encoded;
  encoded.key_ = objectKey(*object);
  encoded.entry_ = entryOf(std::move(object));
  return encoded;
}

StoreDiff Store::replace(std::vector<ObjectPtr> objects) {
  std::vector<Encoded> encoded;
  encoded.reserve(objects.size());
  for (auto& object : objects) {
    encoded.push_back(encode(object));
    encoded.back().tree_ = std::move(object);  // the caller holds it anyway: no parse to index it
  }
  const Changes changes = replaceEncoded(std::move(encoded));
  StoreDiff diff;
  changes.forEachDeleted([&diff](const ObjectPtr& object) { diff.deleted.push_back(object); });
  changes.forEachAdded([&diff](const ObjectPtr& object) { diff.added.push_back(object); });
  changes.forEachUpdated([&diff](const ObjectPtr& old_object, const ObjectPtr& new_object) {
    diff.updated.emplace_back(old_object, new_object);
  });
  return diff;
}

Store::Changes Store::replaceEncoded(std::vector<Encoded> objects) {
  // The new map is built before the lock is taken. After the swap below, `fresh` holds the old
  // objects, which are freed once the lock is released.
  Objects fresh;
  fresh.reserve(objects.size());
  std::vector<std::pair<Slot*, ObjectPtr>> stored;  // each new slot, with its tree if there is one
  stored.reserve(objects.size());
  for (auto& object : objects) {
    const auto [slot, added] = fresh.try_emplace(std::move(object.key_));
    if (!added) continue;  // a key listed twice: the first one wins
    slot->second = std::move(object.entry_);
    stored.emplace_back(&*slot, std::move(object.tree_));
  }
  objects = {};

  Changes changes;
  std::lock_guard lock(mutex_);
  for (const auto& [key, old] : objects_) {
    if (!fresh.contains(key)) changes.deleted_.push_back(old);
  }
  for (const auto& [slot, tree] : stored) {
    // Reported as the caller's tree when there is one, so that it is not parsed again.
    Entry reported = tree ? Entry{.tree = tree} : slot->second;
    const auto old = objects_.find(slot->first);
    if (old == objects_.end()) {
      changes.added_.push_back(std::move(reported));
    } else if (mayDiffer(old->second, slot->second)) {
      changes.changed_.emplace_back(old->second, std::move(reported));
    }
  }
  objects_.swap(fresh);  // nodes keep their addresses: `stored` now points into objects_
  clearIndexesLocked();
  for (const auto& [slot, tree] : stored) indexLocked(*slot, tree ? *tree : *decode(slot->second));
  return changes;
}

void Store::Changes::forEachDeleted(const std::function<void(const ObjectPtr&)>& fn) const {
  for (const auto& entry : deleted_) fn(decode(entry));
}

void Store::Changes::forEachAdded(const std::function<void(const ObjectPtr&)>& fn) const {
  for (const auto& entry : added_) fn(decode(entry));
}

void Store::Changes::forEachUpdated(const std::function<void(const ObjectPtr&, const ObjectPtr&)>& fn) const {
  for (const auto& [old_entry, new_entry] : changed_) {
    const ObjectPtr old_object = decode(old_entry);
    const ObjectPtr new_object = decode(new_entry);
    if (resourceVersionOf(*old_object) != resourceVersionOf(*new_object)) fn(old_object, new_object);
  }
}

}  // namespace kube::runtime
