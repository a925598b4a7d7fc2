// FakeObjectApi: an in-memory kube::ObjectApi, so that code written against the API server's
// verbs (informers, reconcilers) runs in unit tests in milliseconds, and tests see exactly what
// it wrote.
//
// What it keeps, as the API server does: objects per (resource, namespace, name); one
// resourceVersion counter across all of them, bumped by every change (a write that changes
// nothing bumps nothing and emits no event); a uid and creationTimestamp on create;
// metadata.generation, bumped when anything outside metadata and status changes (the rule for
// custom resources); deletion with finalizers (remove() sets deletionTimestamp, and the object
// vanishes once a write leaves its finalizers empty); delete preconditions; create →
// AlreadyExists, get → NotFound, stale resourceVersion → Conflict, as the same Error and ApiStatus
// shapes kube::Client produces; a change history that watches stream from any resourceVersion
// not yet compacted.
//
// Simplifications, on purpose:
//  - apply() merges the applied object into the stored one (RFC 7386, as mergePatch does), so a
//    field the manager stops applying is kept, not removed; no managedFields, no conflicts
//    between managers.
//  - A write to the status subresource changes only .status; a write to the object itself
//    changes everything it names, status included (as for a kind without a status subresource).
//  - list() pages as the API server does when a limit is set: each page is cut from a snapshot
//    taken by the first, carries its resourceVersion, and names the next in metadata.continue
//    (with remainingItemCount); a token is single-use, refused with 400 alongside a
//    resourceVersion, and answered 410 Expired once the history is compacted past its snapshot.
//    Label selectors take the `k=v,k2==v2,k3!=v3` forms only; field selectors and
//    resourceVersionMatch "Exact" for an older version are refused with 400 rather than
//    half-supported.
//  - A watch filters events by its label selector; an object that stops matching is not
//    reported as deleted. No bookmarks. A watch ends only when asked (stop, the handler,
//    endWatches(), expireWatches()): the server-side timeout is not modelled.
//  - No garbage collection (propagation policies are ignored), no admission, no validation
//    beyond names.
//
// Test controls: failNext() makes the next calls of a verb fail; endWatches() and
// expireWatches() end open watches cleanly or with 410 Expired; compact() forgets history;
// calls() and writes() record every call in order. A call whose stop token is already requested
// fails as kube::Client's does (ErrorKind::kTransport, "stopped"); an open watch ends when it is.
// The API server's rules on objects and errors live in fake_kube_rules.h.
//
// Thread safety: every method may be called from any thread. Watch handlers run on the watching
// thread without the fake's lock held, so they may call the fake.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kube/clock.h"
#include "kube/object_api.h"

namespace kube::testing {

namespace apiserver {
class LabelSelector;
}  // namespace apiserver

enum class Verb { kGet, kList, kCreate, kUpdate, kRemove, kMergePatch, kApply, kWatch };

// kubectl's verb names: "get", "list", "create", "update", "delete", "patch", "apply", "watch".
std::string_view toString(Verb verb);

// "configmaps" for the core group, "organizations.aphex.io" otherwise.
std::string resourceName(const ResourceType& type);

// One call as the fake received it, failed ones included.
struct Call {
  Verb verb = Verb::kGet;
  std::string resource;          // resourceName(), with "/status" for a status write
  std::string ns;                // "" for cluster-scoped kinds and all-namespace lists
  std::string name;              // "" for list and watch
  std::string resource_version;  // list and watch: the version asked for
  std::string resource_version_match;  // list: "NotOlderThan", "Exact" or ""
  std::string continue_token;          // list: the token of a later page; "" for a first page
};

// A write call, in the form tests compare: Write{Verb::kApply, "configmaps", "team", "settings"}.
struct Write {
  Verb verb = Verb::kApply;
  std::string resource;
  std::string ns;
  std::string name;
  bool operator==(const Write&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Write& write);  // "apply configmaps team/settings"

// An Error as kube::Client returns it for an API answer: kind kApi with the Status.
Error statusError(int code, std::string reason, std::string message);
// An Error as kube::Client returns it when no answer came.
Error transportError(std::string message);

class FakeObjectApi final : public ObjectApi {
 public:
  // `clock` supplies creationTimestamp and deletionTimestamp; it must outlive the fake.
  explicit FakeObjectApi(Clock& clock = realClock()) : clock_(clock) {}

  // ---- ObjectApi ----
  Result<Json> get(const ResourceType& type, std::string_view ns, std::string_view name,
                   std::stop_token stop = {}) override;
  Result<Json> list(const ResourceType& type, std::string_view ns, const ListOptions& options = {},
                    std::stop_token stop = {}) override;
  Result<Json> create(const ResourceType& type, std::string_view ns, const Json& object,
                      const CreateOptions& options = {}, std::stop_token stop = {}) override;
  Result<Json> update(const ResourceType& type, std::string_view ns, const Json& object,
                      std::stop_token stop = {}) override;
  Result<Json> remove(const ResourceType& type, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {}, std::stop_token stop = {}) override;
  Result<Json> mergePatch(const ResourceType& type, std::string_view ns, std::string_view name, const Json& patch,
                          const PatchOptions& options = {}, std::stop_token stop = {}) override;
  Result<Json> apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                     std::stop_token stop = {}) override;
  Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const WatchHandler& handler, std::stop_token stop = {}) override;

  // ---- Arranging ----
  // Stores `object` as create() would, without recording a call or honouring failNext().
  Json seed(const ResourceType& type, const Json& object);
  // The next `times` calls of `verb` fail with `error` (after being recorded), before anything
  // else is checked. Repeated calls queue up in order.
  void failNext(Verb verb, Error error, int times = 1);

  // ---- Watches ----
  // Every open watch ends cleanly, after delivering the changes made before this call (as when
  // the server's timeout ends a watch).
  void endWatches();
  // Every open watch receives an ERROR event with a 410 Expired Status and ends, after the changes
  // made before this call; the history is compacted (see compact()).
  void expireWatches();
  // Forgets the history: a watch from a version older than the current one gets an ERROR event
  // with a 410 Expired Status, as does a list at such a version with resourceVersionMatch Exact.
  void compact();
  int openWatches() const;
  // Waits (real time) until at least `count` watches are open; false after `within`.
  bool awaitOpenWatches(int count, std::chrono::milliseconds within = std::chrono::seconds(5)) const;

  // ---- Observing ----
  std::vector<Call> calls() const;
  std::vector<Write> writes() const;  // the write calls (create, update, delete, patch, apply)
  int count(Verb verb) const;
  std::string resourceVersion() const;  // the current one, as a list would report it
  // The stored object, without recording a call; nullopt when there is none.
  std::optional<Json> find(const ResourceType& type, std::string_view ns, std::string_view name) const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // resource, namespace, name
  // A list being paged through: the snapshot the first page was cut from.
  struct PagedList {
    std::uint64_t revision = 0;
    std::string resource;
    Json list;                // the whole list, every item
    std::size_t offset = 0;   // the next page's first item
  };
  struct Change {
    std::uint64_t revision;
    std::string resource;
    std::string ns;
    WatchEvent event;
  };

  // Records the call; the injected failure for it, if any. mutex_ held.
  std::optional<Error> begin(Call call, const std::stop_token& stop);
  Key keyOf(const ResourceType& type, std::string_view ns, std::string_view name) const;
  Json storeNew(const ResourceType& type, Key key, Json object);
  // Stores `after` in place of `before` (or removes it, when deletion is complete) and reports
  // what the server would return. A no-op when nothing changed.
  Json storeChanged(const Key& key, const Json& before, Json after);
  void commit(const Key& key, Json& object, WatchEventType type);
  Result<Json> applyTo(const ResourceType& type, const Key& key, const Json& object, const ApplyOptions& options);
  std::vector<WatchEvent> currentState(const std::string& resource, std::string_view ns,
                                       const apiserver::LabelSelector& selector) const;
  std::vector<WatchEvent> changesSince(std::size_t& cursor, const std::string& resource, std::string_view ns,
                                       const apiserver::LabelSelector& selector) const;
  std::size_t firstChangeAfter(std::uint64_t revision) const;
  // The page of `paged` from its offset, `limit` items at most (all when 0), with a continue
  // token for the rest. mutex_ held.
  Json pageOf(PagedList paged, std::int64_t limit);
  Result<Json> nextPage(const ResourceType& type, std::string_view ns, const ListOptions& options);

  Clock& clock_;
  mutable std::mutex mutex_;
  mutable std::condition_variable_any changed_;  // a change, a watch opened, or watches told to end
  std::map<Key, Json> objects_;                  // guarded by mutex_
  std::map<std::string, std::string> kinds_;     // guarded by mutex_: resource → kind, for lists
  std::vector<Change> history_;                  // guarded by mutex_
  std::uint64_t revision_ = 1;                   // guarded by mutex_; never "0", which means "any"
  std::uint64_t compacted_ = 0;                  // guarded by mutex_: older versions are gone
  std::uint64_t next_uid_ = 1;                   // guarded by mutex_
  std::uint64_t ended_epoch_ = 0;                // guarded by mutex_: bumped by endWatches()
  std::uint64_t expired_epoch_ = 0;              // guarded by mutex_: bumped by expireWatches()
  int open_watches_ = 0;                         // guarded by mutex_
  std::vector<Call> calls_;                      // guarded by mutex_
  std::map<Verb, std::vector<Error>> failures_;  // guarded by mutex_: injected, in order
  std::map<std::string, PagedList> paged_;       // guarded by mutex_: by continue token
  std::uint64_t next_token_ = 1;                 // guarded by mutex_
};

}  // namespace kube::testing
