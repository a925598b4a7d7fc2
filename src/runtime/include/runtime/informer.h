// An informer keeps a Store in step with the API server by listing, then watching, one kind
// (optionally within a namespace or label selector), and tells handlers what changed.
//
// The loop follows client-go's reflector:
//  1. List in pages (consistent read), replace the store, remember the list's resourceVersion,
//     and mark the informer synced. Each page's items are transformed and encoded for the store
//     as soon as the page arrives, and the page is dropped, so a big list is never held whole
//     as JSON (nor, with CacheEncoding::kText, as trees). Handlers then hear of each change one
//     object at a time.
//  2. Watch from that version with bookmarks and a timeout drawn at random from [min, 2×min), so
//     that many informers do not reconnect in lockstep. Every event, bookmarks included,
//     advances the remembered version.
//  3. When a watch ends cleanly, watch again from the remembered version: no relist.
//  4. When the server says the version is gone (410 Expired, as an ERROR event or a status),
//     relist "not older than" the remembered version, falling back to a fresh consistent list
//     if that is gone too; the store is replaced and objects that vanished meanwhile are
//     reported as deletes.
//  5. On any other failure (connection refused, 429, 5xx, TLS), wait with exponential backoff
//     and jitter, then watch again (or list again, if the list failed).
//
// A handler that throws is logged (with the object's key and the exception's what()) and counted
// in options.handler_panics; the other handlers still see the event and the watch goes on. An
// event the informer itself cannot process (a transform that throws) is logged and skipped; a
// list that cannot be processed counts as a failed list and is retried with backoff. One bad
// object never stops the informer.
//
// The informer needs only list and watch, through kube::ObjectApi: a kube::Client against the API
// server, or an in-memory fake in tests (test/support/fake_kube.h). run()'s stop token reaches
// every call, so stopping never waits on a slow list.
//
// Thread safety: run() executes on one thread and calls the handlers on it, in event order;
// handlers must be quick (enqueue a key, no API calls). store(), hasSynced() and waitForSync()
// may be used from any thread. Handlers must be added before run() starts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kube/object_api.h"
#include "runtime/backoff.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "runtime/store.h"

namespace kube::runtime {

struct InformerOptions {
  ResourceType type;
  std::string ns;              // empty: all namespaces
  std::string label_selector;  // scope the cache: only what the controller needs
  std::string field_selector;
  std::int64_t page_size = 500;
  Duration min_watch_timeout = std::chrono::minutes(5);  // client-go: 5 min × (1 + rand)
  Duration idle_timeout = std::chrono::seconds(300);     // no byte, not even a bookmark: reconnect
  BackoffOptions backoff;
  Transform transform = dropManagedFields;
  // How the store keeps objects (store.h): kText trades a parse per read for a fraction of the
  // memory; for big caches of small (transformed) objects.
  CacheEncoding encoding = CacheEncoding::kTree;
  // The label keys the store indexes for byLabel(); empty: every label (store.h).
  std::vector<std::string> indexed_labels;
  Logger logger = defaultLogger().named("informer");
  // Counts handlers that threw, labelled with resourceLabel(type); optional (the Manager sets it).
  CounterFamily* handler_panics = nullptr;
};

// "configmaps" for the core group, "deployments.apps" otherwise: kubectl's resource names.
std::string resourceLabel(const ResourceType& type);

struct EventHandler {
  std::function<void(const ObjectPtr&)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr&)> on_delete;  // the last state the informer knew
};

// What an informer has done, for tests, logs and metrics.
struct InformerStats {
  std::uint64_t lists = 0;
  std::uint64_t relists_after_expiry = 0;
  std::uint64_t watches = 0;
  std::uint64_t events = 0;
  std::uint64_t failures = 0;
};

class Informer {
 public:
  // `api` (a kube::Client, say) and `clock` must outlive the informer.
  Informer(ObjectApi& api, Clock& clock, InformerOptions options);

  void addHandler(EventHandler handler);
  // Adds a custom index to the store (see Store::addIndex); before run().
  void addIndex(const std::string& name, IndexFunction function) { store_.addIndex(name, std::move(function)); }
  // Blocks, keeping the store current, until `stop` is requested.
  void run(std::stop_token stop);

  const Store& store() const { return store_; }
  bool hasSynced() const { return synced_.load(); }
  // Waits until the first list has been stored; false if `stop` or `timeout` came first.
  bool waitForSync(std::stop_token stop, Duration timeout);
  std::string lastSyncResourceVersion() const;
  InformerStats stats() const;
  const InformerOptions& options() const { return options_; }

 private:
  enum class WatchEnd { kClean, kExpired, kFailed, kStopped };

  // A whole list: its items encoded for the store, and its resourceVersion.
  struct Listed {
    std::vector<Store::Encoded> objects;
    std::string resource_version;
  };

  Result<void> listAndReplace(std::stop_token stop, bool after_expiry);
  Result<Listed> listAll(const std::string& resource_version, const std::stop_token& stop);
  // Adds the page's items, stamped, transformed and encoded, to `listed` (the first page also
  // gives the list's resourceVersion); returns the continue token, "" after the last page.
  Result<std::string> addPage(Json page, bool first, Listed& listed) const;
  WatchEnd watchOnce(std::stop_token stop);
  bool handleEvent(WatchEvent&& event, WatchEnd& end);
  void setLastResourceVersion(std::string version);
  ObjectPtr transformed(Json object) const;
  void notifyDiff(const Store::Changes& changes);
  // Runs `call` (one handler on one object); a throw is logged and counted, never propagated.
  template <typename Call>
  void dispatch(std::string_view event, const ObjectPtr& object, const Call& call);
  void handlerThrew(std::string_view event, const ObjectPtr& object);
  bool processEvent(WatchEvent&& event, WatchEnd& end);
  void sleepFor(Duration delay, std::stop_token stop);
  Duration watchTimeout();

  ObjectApi& api_;
  Clock& clock_;
  InformerOptions options_;
  Store store_;
  std::vector<EventHandler> handlers_;
  std::atomic<bool> synced_{false};
  mutable std::mutex mutex_;
  std::condition_variable_any cv_;       // signals sync; also interrupts backoff sleeps
  std::string last_resource_version_;   // guarded by mutex_
  InformerStats stats_;                  // guarded by mutex_
};

}  // namespace kube::runtime
