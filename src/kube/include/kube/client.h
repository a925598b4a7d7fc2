// A typed-path, JSON-bodied client for the Kubernetes REST API.
//
// Objects are nlohmann::json values exactly as the API server sends them; the client builds
// resource paths, encodes options into query strings and turns every non-success answer into an
// Error carrying the server's metav1.Status.
//
// Thread safety: all methods may be called concurrently (the transport pools connections).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "kube/config.h"
#include "kube/http.h"
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

// How a client retries answers that ask it to (429, or 503 on reads, with Retry-After).
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds max_wait{std::chrono::seconds(10)};  // caps each Retry-After
};

// What a client reports about each HTTP exchange, for metrics (client-go's
// rest_client_requests_total): the method, the status code, or 0 when no answer came.
struct RequestRecord {
  std::string_view method;
  long status = 0;
};
// Called after every request, streams included, on the calling thread: keep it cheap.
using RequestObserver = std::function<void(const RequestRecord&)>;

// Decides, just before it is sent, whether a request that is not a GET (a write) may go out;
// `path` is the request's path with its query. Called on the calling thread: keep it cheap.
// Used to stop a controller that lost its leader election from writing (Manager sets one).
using WriteGate = std::function<bool(std::string_view method, std::string_view path)>;

struct ClientOptions {
  RetryPolicy retry;
  RequestObserver on_request;  // optional
  WriteGate write_gate;        // optional; see Client::setWriteGate
};

struct DeleteOptions {
  std::optional<PropagationPolicy> propagation;
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
};

// "/api/v1/namespaces/ns/configmaps/name"; empty namespace or name leave those parts out.
std::string resourcePath(const ResourceType& type, std::string_view ns, std::string_view name = {});

// "?labelSelector=...&limit=..." with values percent-encoded; "" when no option is set.
std::string listQuery(const ListOptions& options);
std::string watchQuery(const WatchOptions& options);

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(const ClientConfig& config, ClientOptions options = {});
  static Result<std::unique_ptr<Client>> create(const ClientConfig& config, RetryPolicy retry) {
    return create(config, ClientOptions{.retry = retry});
  }

  Result<Json> get(const ResourceType& type, std::string_view ns, std::string_view name);
  // A GET of any API path ("/apis/apps/v1"), for discovery and other non-object endpoints.
  Result<Json> getPath(std::string path);
  // One page when options.limit is set, else the whole collection.
  Result<Json> list(const ResourceType& type, std::string_view ns, const ListOptions& options = {});
  // A POST: fails with isAlreadyExists() when an object of that name exists, so it never touches
  // anyone else's object (a create-only write, unlike apply).
  Result<Json> create(const ResourceType& type, std::string_view ns, const Json& object,
                      const CreateOptions& options = {});
  // A PUT with the object's metadata.resourceVersion: a stale one fails with isConflict().
  Result<Json> update(const ResourceType& type, std::string_view ns, const Json& object);
  // The object as the server returned it: being deleted (finalizers) or the final Status.
  Result<Json> remove(const ResourceType& type, std::string_view ns, std::string_view name,
                      const DeleteOptions& options = {});
  // Streams events until the server ends the watch (ok), `stop` is requested (ok), the handler
  // returns false (ok), or an error. An expired resource version arrives as an ERROR event with
  // a 410 Status, for the handler to act on.
  Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const WatchHandler& handler, std::stop_token stop = {});
  // RFC 7386 JSON merge patch (null deletes a key).
  Result<Json> mergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                          const Json& patch, const PatchOptions& options = {});
  // Server-side apply: create or update to the fully specified intent `object` (apiVersion,
  // kind, metadata.name and only the fields this manager owns). Fields the manager applied before
  // and leaves out now are removed. An unchanged intent writes nothing on the server.
  Result<Json> apply(const ResourceType& type, const Json& object, const ApplyOptions& options);

  // Replaces the write gate (empty: none). Every request but GET asks the gate first, repeats
  // after a 429 included; a refused one is not sent and fails as ErrorKind::kTransport (it never
  // reached the server) with the message "not the leader any more; write refused: <METHOD>
  // <path>". May be called while other threads use the client: each request sees either the old
  // gate or the new one. A request that passed the gate is not recalled if the gate closes while
  // it is in flight.
  void setWriteGate(WriteGate gate);

  // Every request, streaming ones included, goes through this transport. Requests sent on it
  // directly bypass the write gate.
  HttpTransport& transport() { return *transport_; }

  const std::string& defaultNamespace() const { return default_namespace_; }

 private:
  Client(std::unique_ptr<HttpTransport> transport, std::string default_namespace, ClientOptions options);
  Result<Json> call(HttpRequest request);
  Result<HttpResponse> send(const HttpRequest& request);
  void record(const HttpRequest& request, const Result<HttpResponse>& response) const;
  // The refusal when the write gate closes on `request`, else nullopt.
  std::optional<Error> refusedByGate(const HttpRequest& request) const;

  std::unique_ptr<HttpTransport> transport_;
  std::string default_namespace_;
  const ClientOptions options_;
  mutable std::mutex gate_mutex_;
  std::shared_ptr<const WriteGate> write_gate_;  // guarded by gate_mutex_; null: no gate
};

// How long a 429/503 answer asks the client to wait (Retry-After in seconds), if it does.
std::optional<std::chrono::seconds> retryAfter(const HttpResponse& response);

// Runs a read-modify-write `attempt` again while it loses optimistic-concurrency races (409
// Conflict), up to `max_attempts` times; any other outcome is returned as it is.
Result<Json> retryOnConflict(const std::function<Result<Json>()>& attempt, int max_attempts = 10);

// The Error for a non-success answer to the request described by `what` ("GET /api/v1/...").
Error apiError(const std::string& what, const HttpResponse& response);

// The metav1.Status in an error response body, or a synthesised one for non-Status bodies.
ApiStatus parseStatus(long http_code, std::string_view body);

}  // namespace kube
