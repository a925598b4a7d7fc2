// The informer's cache: the latest state of every watched object, with secondary indexes: by
// namespace, label and owner uid always, and any custom index a controller adds (client-go's
// Indexers), e.g. RepoBindings by spec.aphexOrg, so that a lookup never scans every object.
//
// Objects are immutable once stored (std::shared_ptr<const Json>): a reader keeps a consistent
// object for as long as it holds the pointer, while the writer swaps in newer versions. Before an
// object is stored a transform may trim it; the default drops metadata.managedFields, which is
// often half of an object's size and is never needed by a controller.
//
// Encoding, chosen per store (the informer's InformerOptions::encoding):
//  - kTree (the default) keeps the Json tree and hands readers that very pointer: a read costs a
//    map lookup and a reference count. nlohmann's tree costs ~96 B per object member and ~48 B
//    per string value on top of the text, so an object takes several times its JSON size.
//  - kText keeps each object as its compact JSON text (dump() after the transform), about a
//    third of the tree's heap, and parses it into a fresh tree on every read (get, list, by*,
//    and the old objects upsert, erase and replace return): a few µs for a 300–500-byte object,
//    20–30 µs for a 3 KB one (bench/store_benchmark.cc), and each reader gets its own copy. A
//    write dumps the object. It suits big caches read seldom per object, e.g. children trimmed
//    to their metadata. Indexes are computed from the tree when an object is stored, so lookups
//    do not parse; only what they return is parsed. Objects must survive a dump and parse
//    unchanged as far as index functions can tell (any JSON from the API server does); should
//    one not, its index entries are still all removed with it.
//  - kCompressed is kText with each text compressed by zstd against a dictionary made of the
//    store's first four objects (runtime/text_dictionary.h): objects of one kind in one cache are
//    near copies of each other, so a child's text takes 6–17 % of its size. The first objects
//    stay plain text. A read decompresses (about 1 µs per KB) before it parses.
//
// Index entries point at their object's node in the object map (nodes never move), so no entry
// holds a copy of the object's key.
//
// Thread safety: every method may be called from any thread. Writes come from one informer
// thread; reads from reconcilers. A single mutex guards the maps — reads copy out pointers and
// parse (kText) after releasing it, so the lock is held only for map lookups. A writer parses the
// object it replaces (kText) before taking the lock too; addIndex() and replaceEncoded() parse
// under it, to index objects whose tree is gone (a relist, ~3 µs per 500-byte object).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kube/result.h"
#include "runtime/text_dictionary.h"

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

// How a Store keeps its objects (see the top of this file).
enum class CacheEncoding { kTree, kText, kCompressed };

// What replace() changed, so the informer can tell its handlers.
struct StoreDiff {
  std::vector<ObjectPtr> added;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;  // {old, new}, only if resourceVersion differs
  std::vector<ObjectPtr> deleted;                         // present before, absent from the new list
};

class Store {
 private:
  // One stored object: the tree (kTree) or its compact JSON text (kText). Shared, so a reader
  // copies it out under the lock and parses after; and a writer can tell that the entry it
  // parsed is still the one stored.
  struct Entry {
    ObjectPtr tree;
    std::shared_ptr<const char[]> text;
    std::uint32_t size = 0;     // of text
    std::uint32_t indexed = 0;  // index entries pointing at this object's slot
    // kCompressed: the dictionary `text` is compressed with (owned by the store, which outlives
    // every read) and the size of the JSON text it holds; null for a text stored as it is.
    const TextDictionary* dictionary = nullptr;
    std::uint32_t text_size = 0;
  };

 public:
  // An object made ready for replaceEncoded() by encode(): its key and its encoding. In kText it
  // holds the text alone, so a caller collecting a whole list (the informer, page by page) never
  // holds every object as a tree: the heap that trees free while the list arrives is reused by
  // the next page, instead of staying around the texts once the list is stored.
  class Encoded {
   private:
    friend class Store;
    std::string key_;
    Entry entry_;
    ObjectPtr tree_;  // kText: only when the caller keeps the tree anyway (replace())
  };

  // What replaceEncoded() changed, kept encoded and decoded one object at a time as it is walked,
  // so that reporting a relist never parses every object at once (kText).
  class Changes {
   public:
    void forEachDeleted(const std::function<void(const ObjectPtr&)>& fn) const;
    void forEachAdded(const std::function<void(const ObjectPtr&)>& fn) const;
    // Only objects whose resourceVersion changed.
    void forEachUpdated(const std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)>& fn) const;

   private:
    friend class Store;
    std::vector<Entry> deleted_;                   // present before, absent from the new list
    std::vector<Entry> added_;
    std::vector<std::pair<Entry, Entry>> changed_;  // {old, new} whose versions may differ
  };

  // `indexed_labels`: the label keys byLabel() may be asked for; empty indexes every label. Each
  // indexed label costs an entry per object, and children carry half a dozen nobody looks up.
  explicit Store(CacheEncoding encoding = CacheEncoding::kTree, std::vector<std::string> indexed_labels = {})
      : encoding_(encoding), indexed_labels_(std::move(indexed_labels)) {}
  Store(const Store&) = delete;  // index entries point into the object map
  Store& operator=(const Store&) = delete;

  CacheEncoding encoding() const { return encoding_; }
  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::vector<ObjectPtr> byNamespace(const std::string& ns) const;
  // Objects whose label `label` has `value`; empty for a label key the store does not index.
  std::vector<ObjectPtr> byLabel(const std::string& label, const std::string& value) const;
  // The same, within namespace `ns`: only the objects in both index entries are decoded, so a
  // lookup in one namespace costs what that namespace holds, not what the whole cache holds.
  std::vector<ObjectPtr> byLabelIn(const std::string& ns, const std::string& label, const std::string& value) const;
  // Objects with an ownerReference to this uid.
  std::vector<ObjectPtr> byOwner(const std::string& owner_uid) const;
  // Objects that `index` (added by addIndex) files under `value`; empty for an unknown index.
  std::vector<ObjectPtr> byIndex(const std::string& index, const std::string& value) const;
  std::size_t size() const;
  // Bytes of the stored texts (kText, kCompressed; 0 in kTree): what a cache's texts cost,
  // which the tests of compression check.
  std::size_t storedBytes() const;

  // Adds a custom index (objects already stored are indexed at once). Adding a name twice
  // replaces the earlier function.
  void addIndex(const std::string& name, IndexFunction function);

  // Stores `object` and returns the version it replaced (null if new).
  ObjectPtr upsert(ObjectPtr object);
  // Removes the object at `key` and returns it (null if absent).
  ObjectPtr erase(const std::string& key);
  // Makes the store exactly `objects` (after a relist) and reports the difference.
  StoreDiff replace(std::vector<ObjectPtr> objects);
  // The same for objects encoded beforehand, with the difference decoded only as it is walked.
  // kText parses each object once here to index it.
  Changes replaceEncoded(std::vector<Encoded> objects);
  // `object` encoded for this store (kText: dumped; the tree is not kept).
  Encoded encode(ObjectPtr object) const;

 private:
  using Objects = std::unordered_map<std::string, Entry>;
  using Slot = Objects::value_type;
  using SlotSet = std::unordered_set<Slot*>;
  using IndexMap = std::unordered_map<std::string, SlotSet>;
  struct CustomIndex {
    IndexFunction function;
    IndexMap entries;
  };

  Entry entryOf(ObjectPtr object) const;
  static Entry sharedText(std::string_view bytes);
  // kCompressed: the store's dictionary once it has one (offering `text` as a sample before).
  const TextDictionary* dictionaryFor(std::string_view text) const;
  static ObjectPtr decode(const Entry& entry);
  static ObjectPtr decode(Entry&& entry);  // kTree: moves the pointer out, no count change
  static std::vector<ObjectPtr> decodeAll(std::vector<Entry> entries);
  static bool sameEntry(const Entry& a, const Entry& b);
  // False when `fresh` certainly holds the same resourceVersion as `old`.
  static bool mayDiffer(const Entry& old, const Entry& fresh);
  // The entry stored at `key` (empty if none) and its object, parsed outside the lock.
  std::pair<Entry, ObjectPtr> current(const std::string& key) const;

  IndexMap& indexMapLocked(int index);
  void indexLocked(Slot& slot, const Json& object);
  void unindexLocked(Slot& slot, const Json& object);
  void indexCustomLocked(CustomIndex& index, Slot& slot, const Json& object);
  // Removes every index entry pointing at `slot`, whatever the values: a safety net for an
  // object whose index values changed through a dump and parse, so no entry outlives its node.
  void sweepLocked(Slot& slot);
  void clearIndexesLocked();
  std::vector<Entry> lookupLocked(const IndexMap& index, const std::string& value) const;
  std::vector<Entry> lookupBothLocked(const IndexMap& first, const std::string& first_value, const IndexMap& second,
                                      const std::string& second_value) const;

  const CacheEncoding encoding_;
  const std::vector<std::string> indexed_labels_;
  // kCompressed: the first objects' texts, then the dictionary made of them.
  mutable std::mutex sampler_mutex_;
  mutable DictionarySampler sampler_;  // guarded by sampler_mutex_
  mutable std::mutex mutex_;
  Objects objects_;                                      // guarded by mutex_
  IndexMap by_namespace_;                                // guarded by mutex_
  IndexMap by_label_;                                    // "key=value"; guarded by mutex_
  IndexMap by_owner_;                                    // owner uid; guarded by mutex_
  std::unordered_map<std::string, CustomIndex> custom_;  // by index name; guarded by mutex_
};

}  // namespace kube::runtime
