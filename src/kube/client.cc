#include "kube/client.h"

#include <curl/curl.h>

#include <algorithm>

namespace kube {

namespace {

std::string percentEncode(std::string_view text) {
  // The handle argument is ignored since libcurl 7.82.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  return out;
}

void appendParam(std::string& query, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  query += query.empty() ? '?' : '&';
  query.append(key).append("=").append(percentEncode(value));
}

std::string_view propagationName(PropagationPolicy policy) {
  switch (policy) {
    case PropagationPolicy::kOrphan: return "Orphan";
    case PropagationPolicy::kBackground: return "Background";
    case PropagationPolicy::kForeground: return "Foreground";
  }
  return "Background";
}

Json deleteOptionsBody(const DeleteOptions& options) {
  Json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (options.propagation) body["propagationPolicy"] = propagationName(*options.propagation);
  if (options.precondition_uid) body["preconditions"]["uid"] = *options.precondition_uid;
  if (options.precondition_resource_version) {
    body["preconditions"]["resourceVersion"] = *options.precondition_resource_version;
  }
  return body;
}

std::string objectName(const Json& object) {
  return object.value("/metadata/name"_json_pointer, std::string{});
}

std::string objectNamespace(const Json& object) {
  return object.value("/metadata/namespace"_json_pointer, std::string{});
}

std::string subresourceSuffix(Subresource subresource) {
  switch (subresource) {
    case Subresource::kNone: return "";
    case Subresource::kStatus: return "/status";
  }
  return "";
}

bool asksToRetry(const HttpRequest& request, const HttpResponse& response) {
  // 429: the server did not process the request (API Priority and Fairness), safe for any verb.
  // 503 may come after a write was applied, so only reads are repeated.
  return response.status == 429 || (response.status == 503 && request.method == "GET");
}

}  // namespace

std::string resourcePath(const ResourceType& type, std::string_view ns, std::string_view name) {
  std::string path = type.group.empty() ? "/api/" + type.version : "/apis/" + type.group + "/" + type.version;
  if (type.namespaced && !ns.empty()) path.append("/namespaces/").append(ns);
  path.append("/").append(type.plural);
  if (!name.empty()) path.append("/").append(name);
  return path;
}

std::string listQuery(const ListOptions& options) {
  std::string query;
  appendParam(query, "labelSelector", options.label_selector);
  appendParam(query, "fieldSelector", options.field_selector);
  if (options.limit > 0) appendParam(query, "limit", std::to_string(options.limit));
  appendParam(query, "continue", options.continue_token);
  appendParam(query, "resourceVersion", options.resource_version);
  appendParam(query, "resourceVersionMatch", options.resource_version_match);
  return query;
}

std::string watchQuery(const WatchOptions& options) {
  std::string query;
  appendParam(query, "watch", "1");
  appendParam(query, "resourceVersion", options.resource_version);
  appendParam(query, "labelSelector", options.label_selector);
  appendParam(query, "fieldSelector", options.field_selector);
  if (options.allow_bookmarks) appendParam(query, "allowWatchBookmarks", "true");
  if (options.timeout.count() > 0) appendParam(query, "timeoutSeconds", std::to_string(options.timeout.count()));
  return query;
}

ApiStatus parseStatus(long http_code, std::string_view body) {
  ApiStatus status{.code = static_cast<int>(http_code), .reason = {}, .message = {}, .details = nullptr};
  const Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.value("kind", "") == "Status") {
    status.reason = parsed.value("reason", "");
    status.message = parsed.value("message", "");
    if (parsed.contains("details")) status.details = parsed["details"];
    if (parsed.contains("code") && parsed["code"].is_number_integer()) status.code = parsed["code"].get<int>();
    return status;
  }
  // Proxies and some error paths answer with plain text; keep a bounded excerpt.
  status.message = std::string(body.substr(0, 512));
  return status;
}

std::optional<std::chrono::seconds> retryAfter(const HttpResponse& response) {
  const auto header = response.headers.find("retry-after");
  if (header == response.headers.end()) return std::nullopt;
  // The API server sends whole seconds; an HTTP date or garbage counts as "no advice".
  const std::string& value = header->second;
  if (value.empty() || value.size() > 6 || value.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stoi(value));
}

Error apiError(const std::string& what, const HttpResponse& response) {
  ApiStatus status = parseStatus(response.status, response.body);
  std::string message = what + ": " + std::to_string(status.code) + " " + status.reason + ": " + status.message;
  return Error{.kind = ErrorKind::kApi, .message = std::move(message), .status = std::move(status)};
}

Result<Json> retryOnConflict(const std::function<Result<Json>()>& attempt, int max_attempts) {
  auto result = attempt();
  for (int tries = 1; tries < max_attempts && !result && result.error().isConflict(); ++tries) result = attempt();
  return result;
}

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config, ClientOptions options) {
  auto transport = HttpTransport::create(config, *options.clock);
  if (!transport) return std::move(transport).error();
  return std::unique_ptr<Client>(new Client(std::move(*transport), config.default_namespace, std::move(options)));
}

Client::Client(std::unique_ptr<HttpTransport> transport, std::string default_namespace, ClientOptions options)
    : transport_(std::move(transport)), default_namespace_(std::move(default_namespace)), options_(std::move(options)) {
  if (options_.write_gate) write_gate_ = std::make_shared<const WriteGate>(options_.write_gate);
}

void Client::setWriteGate(WriteGate gate) {
  auto shared = gate ? std::make_shared<const WriteGate>(std::move(gate)) : nullptr;
  std::lock_guard lock(gate_mutex_);
  write_gate_ = std::move(shared);
}

std::optional<Error> Client::refusedByGate(const HttpRequest& request) const {
  if (request.method == "GET") return std::nullopt;
  std::shared_ptr<const WriteGate> gate;
  {
    std::lock_guard lock(gate_mutex_);
    gate = write_gate_;  // called outside the lock: a gate may be slow or take locks of its own
  }
  if (!gate || (*gate)(request.method, request.path)) return std::nullopt;
  return Error{.kind = ErrorKind::kTransport,
               .message = "not the leader any more; write refused: " + request.method + " " + request.path,
               .status = {}};
}

void Client::record(const HttpRequest& request, const Result<HttpResponse>& response) const {
  if (!options_.on_request) return;
  options_.on_request({.method = request.method, .status = response ? response->status : 0});
}

Result<HttpResponse> Client::send(const HttpRequest& request, const std::stop_token& stop) {
  if (auto refused = refusedByGate(request)) return std::move(*refused);
  auto response = transport_->send(request, stop);
  record(request, response);
  return response;
}

Result<HttpResponse> Client::sendWithRetries(const HttpRequest& request, const std::stop_token& stop) {
  auto response = send(request, stop);
  const RetryPolicy& retry = options_.retry;
  for (int attempt = 1; response && attempt < retry.max_attempts && asksToRetry(request, *response); ++attempt) {
    const auto advice = retryAfter(*response);
    if (!advice) break;
    if (!options_.clock->sleepFor(std::min<std::chrono::milliseconds>(*advice, retry.max_wait), stop)) {
      return Error{.kind = ErrorKind::kTransport,
                   .message = request.method + " " + request.path + ": stopped while waiting to retry after " +
                              std::to_string(response->status),
                   .status = {}};
    }
    response = send(request, stop);
  }
  return response;
}

Result<Json> Client::call(const HttpRequest& request, const std::stop_token& stop) {
  const std::string what = request.method + " " + request.path;
  auto response = sendWithRetries(request, stop);
  if (!response) return std::move(response).error();
  if (response->status < 200 || response->status >= 300) {
    return apiError(what, *response);
  }
  Json body = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Error{.kind = ErrorKind::kDecode, .message = what + ": the response is not JSON", .status = {}};
  }
  return body;
}

Result<Json> Client::getPath(std::string path, std::stop_token stop) {
  return call({.method = "GET", .path = std::move(path)}, stop);
}

Result<Json> Client::get(const ResourceType& type, std::string_view ns, std::string_view name, std::stop_token stop) {
  return call({.method = "GET", .path = resourcePath(type, ns, name)}, stop);
}

Result<Json> Client::list(const ResourceType& type, std::string_view ns, const ListOptions& options,
                          std::stop_token stop) {
  return call({.method = "GET", .path = resourcePath(type, ns) + listQuery(options)}, stop);
}

Result<Json> Client::create(const ResourceType& type, std::string_view ns, const Json& object,
                            const CreateOptions& options, std::stop_token stop) {
  std::string query;
  if (!options.field_manager.empty()) appendParam(query, "fieldManager", options.field_manager);
  return call({.method = "POST", .path = resourcePath(type, ns) + query, .body = object.dump(),
               .content_type = "application/json"},
              stop);
}

Result<Json> Client::update(const ResourceType& type, std::string_view ns, const Json& object,
                            std::stop_token stop) {
  return call({.method = "PUT", .path = resourcePath(type, ns, objectName(object)), .body = object.dump(),
               .content_type = "application/json"},
              stop);
}

Result<Json> Client::remove(const ResourceType& type, std::string_view ns, std::string_view name,
                            const DeleteOptions& options, std::stop_token stop) {
  return call({.method = "DELETE", .path = resourcePath(type, ns, name),
               .body = deleteOptionsBody(options).dump(), .content_type = "application/json"},
              stop);
}

Result<void> Client::watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                           const WatchHandler& handler, std::stop_token stop) {
  HttpRequest request{.method = "GET", .path = resourcePath(type, ns) + watchQuery(options)};
  // The server closes the watch at `timeout`; the client's own limit only guards against a
  // server that never does.
  request.timeout = options.timeout + std::chrono::seconds(60);
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  std::optional<Error> failure;
  const auto on_data = [&](std::string_view bytes) {
    if (auto fed = parser.feed(bytes, events); !fed) {
      failure = std::move(fed).error();
      return false;
    }
    bool keep_going = true;
    for (auto& event : events) {
      if (keep_going) keep_going = handler(std::move(event));
    }
    events.clear();
    return keep_going;
  };
  auto response = transport_->stream(request, on_data, stop, {.idle_timeout = options.idle_timeout});
  record(request, response);
  if (failure) return std::move(*failure);
  if (!response) return std::move(response).error();
  if (response->status < 200 || response->status >= 300) {
    return apiError("watch " + request.path, *response);
  }
  return {};
}

Result<Json> Client::mergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                                const Json& patch, const PatchOptions& options, std::stop_token stop) {
  std::string query;
  appendParam(query, "fieldManager", options.field_manager);
  return call({.method = "PATCH", .path = resourcePath(type, ns, name) + subresourceSuffix(options.subresource) + query,
               .body = patch.dump(), .content_type = "application/merge-patch+json"},
              stop);
}

Result<Json> Client::apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                           std::stop_token stop) {
  if (options.field_manager.empty() || options.field_manager.size() > 128) {
    return Error{.kind = ErrorKind::kInvalidConfig,
                 .message = "server-side apply needs a field manager name of 1 to 128 characters"};
  }
  const std::string name = objectName(object);
  if (name.empty()) {
    return Error{.kind = ErrorKind::kInvalidConfig, .message = "server-side apply: metadata.name is required"};
  }
  std::string query;
  appendParam(query, "fieldManager", options.field_manager);
  if (options.force) appendParam(query, "force", "true");
  if (options.dry_run) appendParam(query, "dryRun", "All");
  // JSON is YAML, so the apply-patch+yaml content type takes the object as nlohmann dumps it.
  return call({.method = "PATCH",
               .path = resourcePath(type, objectNamespace(object), name) + subresourceSuffix(options.subresource) + query,
               .body = object.dump(), .content_type = "application/apply-patch+yaml"},
              stop);
}

}  // namespace kube
