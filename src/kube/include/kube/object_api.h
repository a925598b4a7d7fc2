// The narrow object API the runtime and the reconcilers use: read, list, write and watch objects
// of a ResourceType. kube::Client implements it against the API server; tests may implement it
// in memory (test/support/fake_kube.h), so that decisions built on it are tested without one.
//
// Every verb takes a stop token: a call in flight when it is requested ends soon after, failing
// with ErrorKind::kTransport ("stopped"), so shutting down never waits on a slow request.
//
// Thread safety: implementations must allow every method to be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "kube/result.h"
#include "kube/watch.h"

namespace kube {

// Where a kind lives in the REST API.
struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "configmaps"
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

namespace resources {
inline const ResourceType kNamespaces{.group = "", .version = "v1", .plural = "namespaces", .namespaced = false};
inline const ResourceType kConfigMaps{.group = "", .version = "v1", .plural = "configmaps", .namespaced = true};
inline const ResourceType kSecrets{.group = "", .version = "v1", .plural = "secrets", .namespaced = true};
}  // namespace resources

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::int64_t limit = 0;        // 0: no paging
  std::string continue_token;    // from the previous page's metadata.continue
  std::string resource_version;  // empty: the most recent (a quorum read)
  std::string resource_version_match;  // "NotOlderThan" or "Exact"; only with resource_version
};

struct WatchOptions {
  std::string resource_version;  // start after this version; empty: current state as ADDED events
  std::string label_selector;
  std::string field_selector;
  std::chrono::seconds timeout{std::chrono::minutes(5)};  // the server ends the watch cleanly then
  bool allow_bookmarks = true;
  std::chrono::seconds idle_timeout{std::chrono::seconds(300)};  // no byte for this long: reconnect
};

// Receives each event; returns false to end the watch.
using WatchHandler = std::function<bool(WatchEvent&&)>;

enum class PropagationPolicy { kOrphan, kBackground, kForeground };

// Which part of an object a write addresses.
enum class Subresource { kNone, kStatus };

struct ApplyOptions {
  std::string field_manager;  // required: who owns the applied fields (at most 128 characters)
  // Take ownership of fields another manager set; controllers should, for objects they own.
  bool force = true;
  Subresource subresource = Subresource::kNone;
  bool dry_run = false;
};

struct CreateOptions {
  std::string field_manager;  // optional: who owns the fields the create sets
};

struct PatchOptions {
  std::string field_manager;  // optional for patches
  Subresource subresource = Subresource::kNone;
};

struct DeleteOptions {
  std::optional<PropagationPolicy> propagation;
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
};

class ObjectApi {
 public:
  virtual ~ObjectApi() = default;

  virtual Result<Json> get(const ResourceType& type, std::string_view ns, std::string_view name,
                           std::stop_token stop = {}) = 0;
  // One page when options.limit is set, else the whole collection.
  virtual Result<Json> list(const ResourceType& type, std::string_view ns, const ListOptions& options = {},
                            std::stop_token stop = {}) = 0;
  // A POST: fails with isAlreadyExists() when an object of that name exists, so it never touches
  // anyone else's object (a create-only write, unlike apply).
  virtual Result<Json> create(const ResourceType& type, std::string_view ns, const Json& object,
                              const CreateOptions& options = {}, std::stop_token stop = {}) = 0;
  // A PUT with the object's metadata.resourceVersion: a stale one fails with isConflict().
  virtual Result<Json> update(const ResourceType& type, std::string_view ns, const Json& object,
                              std::stop_token stop = {}) = 0;
  // The object as the server returned it: being deleted (finalizers) or the final Status.
  virtual Result<Json> remove(const ResourceType& type, std::string_view ns, std::string_view name,
                              const DeleteOptions& options = {}, std::stop_token stop = {}) = 0;
  // RFC 7386 JSON merge patch (null deletes a key).
  virtual Result<Json> mergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                                  const Json& patch, const PatchOptions& options = {}, std::stop_token stop = {}) = 0;
  // Server-side apply: create or update to the fully specified intent `object` (apiVersion,
  // kind, metadata.name and only the fields this manager owns). Fields the manager applied before
  // and leaves out now are removed. An unchanged intent writes nothing on the server.
  virtual Result<Json> apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                             std::stop_token stop = {}) = 0;
  // Streams events until the server ends the watch (ok), `stop` is requested (ok), the handler
  // returns false (ok), or an error. An expired resource version arrives as an ERROR event with
  // a 410 Status, for the handler to act on.
  virtual Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                             const WatchHandler& handler, std::stop_token stop = {}) = 0;
};

}  // namespace kube
