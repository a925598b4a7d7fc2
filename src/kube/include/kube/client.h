// A typed-path, JSON-bodied client for the Kubernetes REST API.
//
// Objects are nlohmann::json values exactly as the API server sends them; the client builds
// resource paths, encodes options into query strings and turns every non-success answer into an
// Error carrying the server's metav1.Status.
//
// Every verb honours its stop token (see ObjectApi): a request in flight, or a wait before a
// retry, ends within about a second of the request, as an ErrorKind::kTransport error whose
// message says it was stopped.
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

#include "kube/clock.h"
#include "kube/config.h"
#include "kube/http.h"
#include "kube/result.h"
#include "kube/object_api.h"
#include "kube/watch.h"

namespace kube {

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
  // Times Retry-After waits, token file refreshes and exec credentials; must outlive the client.
  Clock* clock = &realClock();
};

// "/api/v1/namespaces/ns/configmaps/name"; empty namespace or name leave those parts out.
std::string resourcePath(const ResourceType& type, std::string_view ns, std::string_view name = {});

// "?labelSelector=...&limit=..." with values percent-encoded; "" when no option is set.
std::string listQuery(const ListOptions& options);
std::string watchQuery(const WatchOptions& options);

class Client final : public ObjectApi {
 public:
  static Result<std::unique_ptr<Client>> create(const ClientConfig& config, ClientOptions options = {});
  static Result<std::unique_ptr<Client>> create(const ClientConfig& config, RetryPolicy retry) {
    return create(config, ClientOptions{.retry = retry});
  }

  // The verbs of ObjectApi, against the API server.
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
  // A GET of any API path ("/apis/apps/v1"), for discovery and other non-object endpoints.
  Result<Json> getPath(std::string path, std::stop_token stop = {});

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
  Result<Json> call(const HttpRequest& request, const std::stop_token& stop);
  // Sends `request`, and again while the server asks for a retry (RetryPolicy).
  Result<HttpResponse> sendWithRetries(const HttpRequest& request, const std::stop_token& stop);
  Result<HttpResponse> send(const HttpRequest& request, const std::stop_token& stop);
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
