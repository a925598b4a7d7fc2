#include "support/fake_kube.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "support/fake_kube_rules.h"

namespace kube::testing {

using namespace apiserver;

// ---- Free functions ----

std::string_view toString(Verb verb) {
  switch (verb) {
    case Verb::kGet: return "get";
    case Verb::kList: return "list";
    case Verb::kCreate: return "create";
    case Verb::kUpdate: return "update";
    case Verb::kRemove: return "delete";
    case Verb::kMergePatch: return "patch";
    case Verb::kApply: return "apply";
    case Verb::kWatch: return "watch";
  }
  return "?";
}

std::string resourceName(const ResourceType& type) {
  return type.group.empty() ? type.plural : type.plural + "." + type.group;
}

std::ostream& operator<<(std::ostream& out, const Write& write) {
  out << toString(write.verb) << " " << write.resource << " ";
  if (!write.ns.empty()) out << write.ns << "/";
  return out << write.name;
}

Error statusError(int code, std::string reason, std::string message) {
  std::string text = std::to_string(code) + " " + reason + ": " + message;
  return Error{.kind = ErrorKind::kApi,
               .message = std::move(text),
               .status = ApiStatus{.code = code, .reason = std::move(reason), .message = std::move(message),
                                   .details = nullptr}};
}

Error transportError(std::string message) {
  return Error{.kind = ErrorKind::kTransport, .message = std::move(message), .status = {}};
}

// ---- Bookkeeping ----

std::optional<Error> FakeObjectApi::begin(Call call, const std::stop_token& stop) {
  const Verb verb = call.verb;
  calls_.push_back(std::move(call));
  if (auto& queued = failures_[verb]; !queued.empty()) {
    Error error = std::move(queued.front());
    queued.erase(queued.begin());
    return error;
  }
  if (stop.stop_requested()) return transportError(std::string(toString(verb)) + ": stopped before it was sent");
  return std::nullopt;
}

FakeObjectApi::Key FakeObjectApi::keyOf(const ResourceType& type, std::string_view ns, std::string_view name) const {
  return {resourceName(type), type.namespaced ? std::string(ns) : std::string{}, std::string(name)};
}

void FakeObjectApi::commit(const Key& key, Json& object, WatchEventType type) {
  object["metadata"]["resourceVersion"] = std::to_string(++revision_);
  history_.push_back({.revision = revision_, .resource = std::get<0>(key), .ns = std::get<1>(key),
                      .event = WatchEvent{.type = type, .object = object}});
  if (type == WatchEventType::kDeleted) {
    objects_.erase(key);
  } else {
    objects_[key] = object;
  }
  changed_.notify_all();
}

Json FakeObjectApi::storeNew(const ResourceType& type, Key key, Json object) {
  if (!object.contains("apiVersion")) object["apiVersion"] = type.apiVersion();
  if (object.contains("kind") && object["kind"].is_string()) kinds_[std::get<0>(key)] = object["kind"].get<std::string>();
  Json& metadata = object["metadata"];
  metadata["name"] = std::get<2>(key);
  if (type.namespaced) {
    metadata["namespace"] = std::get<1>(key);
  } else {
    metadata.erase("namespace");
  }
  metadata["uid"] = "fake-uid-" + std::to_string(next_uid_++);
  metadata["creationTimestamp"] = rfc3339(clock_.wallNow());
  metadata["generation"] = 1;
  metadata.erase("deletionTimestamp");
  commit(key, object, WatchEventType::kAdded);
  return object;
}

Json FakeObjectApi::storeChanged(const Key& key, const Json& before, Json after) {
  keepServerFields(after, before);
  if (deletionComplete(after)) {
    commit(key, after, WatchEventType::kDeleted);
    return after;
  }
  if (after == before) return after;  // the API server writes nothing for a no-op
  if (specOf(after) != specOf(before)) after["metadata"]["generation"] = before.at("metadata").value("generation", 0) + 1;
  commit(key, after, WatchEventType::kModified);
  return after;
}

// ---- ObjectApi ----

Result<Json> FakeObjectApi::get(const ResourceType& type, std::string_view ns, std::string_view name,
                                std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const Key key = keyOf(type, ns, name);
  if (auto failure = begin({Verb::kGet, std::get<0>(key), std::get<1>(key), std::string(name), ""}, stop)) {
    return std::move(*failure);
  }
  const auto found = objects_.find(key);
  if (found == objects_.end()) return notFound(Verb::kGet, type, ns, name);
  return found->second;
}

Result<Json> FakeObjectApi::list(const ResourceType& type, std::string_view ns, const ListOptions& options,
                                 std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const std::string resource = resourceName(type);
  const std::string scope = type.namespaced ? std::string(ns) : std::string{};
  if (auto failure = begin({Verb::kList, resource, scope, "", options.resource_version,
                             options.resource_version_match, options.continue_token},
                            stop)) {
    return std::move(*failure);
  }
  if (!options.continue_token.empty()) return nextPage(type, ns, options);
  const auto selector = LabelSelector::parse(options.label_selector);
  if (!selector) return badRequest(Verb::kList, type, ns, "the fake takes only k=v, k==v and k!=v label selectors");
  if (!options.field_selector.empty()) return badRequest(Verb::kList, type, ns, "the fake takes no field selectors");
  if (!options.resource_version.empty()) {
    const auto asked = parseVersion(options.resource_version);
    if (!asked) return badRequest(Verb::kList, type, ns, "invalid resourceVersion " + options.resource_version);
    if (options.resource_version_match == "Exact" && *asked != revision_) {
      if (*asked < compacted_) {
        return answered(Verb::kList, type, ns, "", 410, "Expired",
                        expiredStatus(*asked, compacted_)["message"].get<std::string>());
      }
      return badRequest(Verb::kList, type, ns, "the fake lists only the current version exactly");
    }
    if (*asked > revision_) {
      return answered(Verb::kList, type, ns, "", 504, "Timeout",
                      "Too large resource version: " + options.resource_version + ", current: " + std::to_string(revision_));
    }
  }
  Json items = Json::array();
  for (const auto& event : currentState(resource, scope, *selector)) {
    Json item = event.object;
    item.erase("apiVersion");  // as the API server sends list items
    item.erase("kind");
    items.push_back(std::move(item));
  }
  const auto kind = kinds_.find(resource);
  Json list{{"apiVersion", type.apiVersion()},
            {"kind", kind == kinds_.end() ? std::string("List") : kind->second + "List"},
            {"metadata", {{"resourceVersion", std::to_string(revision_)}}},
            {"items", std::move(items)}};
  return pageOf({.revision = revision_, .resource = resource, .list = std::move(list), .offset = 0}, options.limit);
}

Result<Json> FakeObjectApi::nextPage(const ResourceType& type, std::string_view ns, const ListOptions& options) {
  if (!options.resource_version.empty()) {
    return badRequest(Verb::kList, type, ns, "specifying resource version is not allowed when using continue");
  }
  const auto found = paged_.find(options.continue_token);
  if (found == paged_.end() || found->second.resource != resourceName(type)) {
    return badRequest(Verb::kList, type, ns, "continue key is not valid");
  }
  PagedList paged = std::move(found->second);
  paged_.erase(found);
  if (paged.revision < compacted_) {
    return answered(Verb::kList, type, ns, "", 410, "Expired",
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.");
  }
  return pageOf(std::move(paged), options.limit);
}

Json FakeObjectApi::pageOf(PagedList paged, std::int64_t limit) {
  const Json& items = paged.list["items"];
  const std::size_t end =
      limit > 0 ? std::min(items.size(), paged.offset + static_cast<std::size_t>(limit)) : items.size();
  Json page{{"apiVersion", paged.list["apiVersion"]},
            {"kind", paged.list["kind"]},
            {"metadata", {{"resourceVersion", paged.list["metadata"]["resourceVersion"]}}},
            {"items", Json(items.begin() + static_cast<std::ptrdiff_t>(paged.offset),
                           items.begin() + static_cast<std::ptrdiff_t>(end))}};
  if (end < items.size()) {
    std::string token = "fake-continue-" + std::to_string(next_token_++);
    page["metadata"]["continue"] = token;
    page["metadata"]["remainingItemCount"] = items.size() - end;
    paged.offset = end;
    paged_.emplace(std::move(token), std::move(paged));
  }
  return page;
}

Result<Json> FakeObjectApi::create(const ResourceType& type, std::string_view ns, const Json& object,
                                   const CreateOptions&, std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const std::string object_ns = metadataString(object, "namespace");
  const std::string scope = type.namespaced ? (object_ns.empty() ? std::string(ns) : object_ns) : std::string{};
  std::string name = metadataString(object, "name");
  if (auto failure = begin({Verb::kCreate, resourceName(type), scope, name, ""}, stop)) return std::move(*failure);
  if (type.namespaced && !ns.empty() && !object_ns.empty() && ns != object_ns) {
    return badRequest(Verb::kCreate, type, ns,
                      "the namespace of the provided object does not match the namespace sent on the request");
  }
  if (type.namespaced && scope.empty()) return badRequest(Verb::kCreate, type, ns, "a namespace is required");
  if (name.empty() && !metadataString(object, "generateName").empty()) {
    name = metadataString(object, "generateName") + std::to_string(next_uid_);
  }
  if (name.empty()) {
    return answered(Verb::kCreate, type, scope, "", 422, "Invalid", "name or generateName is required");
  }
  Key key = keyOf(type, scope, name);
  if (objects_.contains(key)) {
    return alreadyExists(Verb::kCreate, type, scope, name);
  }
  return storeNew(type, std::move(key), object);
}

Result<Json> FakeObjectApi::update(const ResourceType& type, std::string_view ns, const Json& object,
                                   std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const std::string name = metadataString(object, "name");
  const Key key = keyOf(type, ns, name);
  if (auto failure = begin({Verb::kUpdate, std::get<0>(key), std::get<1>(key), name, ""}, stop)) {
    return std::move(*failure);
  }
  const auto found = objects_.find(key);
  if (found == objects_.end()) return notFound(Verb::kUpdate, type, ns, name);
  if (staleVersion(object, found->second)) return staleWrite(Verb::kUpdate, type, ns, name);
  return storeChanged(key, found->second, object);
}

Result<Json> FakeObjectApi::remove(const ResourceType& type, std::string_view ns, std::string_view name,
                                   const DeleteOptions& options, std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const Key key = keyOf(type, ns, name);
  if (auto failure = begin({Verb::kRemove, std::get<0>(key), std::get<1>(key), std::string(name), ""}, stop)) {
    return std::move(*failure);
  }
  const auto found = objects_.find(key);
  if (found == objects_.end()) return notFound(Verb::kRemove, type, ns, name);
  Json object = found->second;
  const std::string uid = metadataString(object, "uid");
  if (options.precondition_uid && *options.precondition_uid != uid) {
    return conflict(Verb::kRemove, type, ns, name,
                    "Precondition failed: UID in precondition: " + *options.precondition_uid +
                        ", UID in object meta: " + uid);
  }
  if (options.precondition_resource_version &&
      *options.precondition_resource_version != metadataString(object, "resourceVersion")) {
    return conflict(Verb::kRemove, type, ns, name, "Precondition failed: resourceVersion does not match");
  }
  if (object["metadata"].contains("deletionTimestamp")) return object;  // being deleted already
  object["metadata"]["deletionTimestamp"] = rfc3339(clock_.wallNow());
  if (deletionComplete(object)) {
    commit(key, object, WatchEventType::kDeleted);
    return Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Success"},
                {"details", {{"name", name}, {"group", type.group}, {"kind", type.plural}, {"uid", uid}}}};
  }
  commit(key, object, WatchEventType::kModified);  // finalizers hold it: only marked
  return object;
}

Result<Json> FakeObjectApi::mergePatch(const ResourceType& type, std::string_view ns, std::string_view name,
                                       const Json& patch, const PatchOptions& options, std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const Key key = keyOf(type, ns, name);
  const std::string resource = withSubresource(std::get<0>(key), options.subresource);
  if (auto failure = begin({Verb::kMergePatch, resource, std::get<1>(key), std::string(name), ""}, stop)) {
    return std::move(*failure);
  }
  const auto found = objects_.find(key);
  if (found == objects_.end()) return notFound(Verb::kMergePatch, type, ns, name);
  if (staleVersion(patch, found->second)) return staleWrite(Verb::kMergePatch, type, ns, name);
  Json after = found->second;
  after.merge_patch(options.subresource == Subresource::kStatus ? statusPart(patch) : patch);
  return storeChanged(key, found->second, std::move(after));
}

Result<Json> FakeObjectApi::apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                                  std::stop_token stop) {
  std::lock_guard lock(mutex_);
  const std::string name = metadataString(object, "name");
  const Key key = keyOf(type, metadataString(object, "namespace"), name);
  const std::string resource = withSubresource(std::get<0>(key), options.subresource);
  if (auto failure = begin({Verb::kApply, resource, std::get<1>(key), name, ""}, stop)) return std::move(*failure);
  // The checks kube::Client makes before sending.
  if (options.field_manager.empty() || options.field_manager.size() > 128) {
    return Error{.kind = ErrorKind::kInvalidConfig,
                 .message = "server-side apply needs a field manager name of 1 to 128 characters", .status = {}};
  }
  if (name.empty()) {
    return Error{.kind = ErrorKind::kInvalidConfig, .message = "server-side apply: metadata.name is required",
                 .status = {}};
  }
  if (type.namespaced && std::get<1>(key).empty()) {
    return badRequest(Verb::kApply, type, "", "apply to a namespaced kind needs metadata.namespace");
  }
  return applyTo(type, key, object, options);
}

Result<Json> FakeObjectApi::applyTo(const ResourceType& type, const Key& key, const Json& object,
                                    const ApplyOptions& options) {
  const std::string& ns = std::get<1>(key);
  const std::string& name = std::get<2>(key);
  const auto found = objects_.find(key);
  if (found == objects_.end()) {
    if (options.subresource == Subresource::kStatus) return notFound(Verb::kApply, type, ns, name);
    if (options.dry_run) return object;
    return storeNew(type, key, object);
  }
  if (staleVersion(object, found->second)) return staleWrite(Verb::kApply, type, ns, name);
  Json after = found->second;
  after.merge_patch(options.subresource == Subresource::kStatus ? statusPart(object) : object);
  if (options.dry_run) {
    keepServerFields(after, found->second);
    return after;
  }
  return storeChanged(key, found->second, std::move(after));
}

// ---- Watch ----

std::vector<WatchEvent> FakeObjectApi::currentState(const std::string& resource, std::string_view ns,
                                                    const LabelSelector& selector) const {
  std::vector<WatchEvent> events;
  for (const auto& [key, object] : objects_) {
    const bool in_scope = std::get<0>(key) == resource && (ns.empty() || std::get<1>(key) == ns);
    if (!in_scope || !selector.matches(object)) continue;
    events.push_back({.type = WatchEventType::kAdded, .object = object});
  }
  return events;
}

std::vector<WatchEvent> FakeObjectApi::changesSince(std::size_t& cursor, const std::string& resource,
                                                    std::string_view ns, const LabelSelector& selector) const {
  std::vector<WatchEvent> events;
  for (; cursor < history_.size(); ++cursor) {
    const Change& change = history_[cursor];
    if (change.resource != resource || (!ns.empty() && change.ns != ns) || !selector.matches(change.event.object)) {
      continue;
    }
    events.push_back(change.event);
  }
  return events;
}

std::size_t FakeObjectApi::firstChangeAfter(std::uint64_t revision) const {
  const auto after = std::find_if(history_.begin(), history_.end(),
                                  [&](const Change& change) { return change.revision > revision; });
  return static_cast<std::size_t>(after - history_.begin());
}

namespace {

// Hands `events` to the handler without the fake's lock held; false when the handler said stop.
bool deliver(std::unique_lock<std::mutex>& lock, std::vector<WatchEvent> events, const WatchHandler& handler) {
  lock.unlock();
  bool keep_going = true;
  for (auto& event : events) {
    if (keep_going) keep_going = handler(std::move(event));
  }
  lock.lock();
  return keep_going;
}

}  // namespace

Result<void> FakeObjectApi::watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                                  const WatchHandler& handler, std::stop_token stop) {
  std::unique_lock lock(mutex_);
  const std::string resource = resourceName(type);
  const std::string scope = type.namespaced ? std::string(ns) : std::string{};
  if (auto failure = begin({Verb::kWatch, resource, scope, "", options.resource_version}, stop)) {
    return std::move(*failure);
  }
  const auto selector = LabelSelector::parse(options.label_selector);
  if (!selector) return badRequest(Verb::kWatch, type, ns, "the fake takes only k=v, k==v and k!=v label selectors");
  if (!options.field_selector.empty()) return badRequest(Verb::kWatch, type, ns, "the fake takes no field selectors");

  std::vector<WatchEvent> first;
  std::size_t cursor = history_.size();
  if (options.resource_version.empty() || options.resource_version == "0") {
    first = currentState(resource, scope, *selector);
  } else {
    const auto from = parseVersion(options.resource_version);
    if (!from) return badRequest(Verb::kWatch, type, ns, "invalid resourceVersion " + options.resource_version);
    if (*from < compacted_) {
      deliver(lock, {WatchEvent{.type = WatchEventType::kError, .object = expiredStatus(*from, compacted_)}}, handler);
      return {};
    }
    cursor = firstChangeAfter(*from);
  }

  const std::uint64_t ended = ended_epoch_;
  const std::uint64_t expired = expired_epoch_;
  ++open_watches_;
  changed_.notify_all();
  bool open = deliver(lock, std::move(first), handler);
  while (open && !stop.stop_requested()) {
    if (auto events = changesSince(cursor, resource, scope, *selector); !events.empty()) {
      open = deliver(lock, std::move(events), handler);
      continue;
    }
    if (expired_epoch_ != expired) {
      deliver(lock, {WatchEvent{.type = WatchEventType::kError, .object = expiredStatus(revision_, compacted_)}},
              handler);
      break;
    }
    if (ended_epoch_ != ended) break;
    changed_.wait(lock, stop, [&] {
      return cursor < history_.size() || ended_epoch_ != ended || expired_epoch_ != expired;
    });
  }
  --open_watches_;
  changed_.notify_all();
  return {};
}

// ---- Test controls ----

Json FakeObjectApi::seed(const ResourceType& type, const Json& object) {
  std::lock_guard lock(mutex_);
  const std::string name = metadataString(object, "name");
  Key key = keyOf(type, metadataString(object, "namespace"), name);
  if (name.empty() || objects_.contains(key)) {
    throw std::invalid_argument("seed: " + resourceName(type) + " \"" + name + "\" has no name or exists already");
  }
  return storeNew(type, std::move(key), object);
}

void FakeObjectApi::failNext(Verb verb, Error error, int times) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < times; ++i) failures_[verb].push_back(error);
}

void FakeObjectApi::endWatches() {
  std::lock_guard lock(mutex_);
  ++ended_epoch_;
  changed_.notify_all();
}

void FakeObjectApi::expireWatches() {
  std::lock_guard lock(mutex_);
  compacted_ = revision_;
  ++expired_epoch_;
  changed_.notify_all();
}

void FakeObjectApi::compact() {
  std::lock_guard lock(mutex_);
  compacted_ = revision_;
}

int FakeObjectApi::openWatches() const {
  std::lock_guard lock(mutex_);
  return open_watches_;
}

bool FakeObjectApi::awaitOpenWatches(int count, std::chrono::milliseconds within) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, within, [&] { return open_watches_ >= count; });
}

std::vector<Call> FakeObjectApi::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

std::vector<Write> FakeObjectApi::writes() const {
  std::lock_guard lock(mutex_);
  std::vector<Write> writes;
  for (const Call& call : calls_) {
    if (isWrite(call.verb)) writes.push_back({call.verb, call.resource, call.ns, call.name});
  }
  return writes;
}

int FakeObjectApi::count(Verb verb) const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(std::count_if(calls_.begin(), calls_.end(), [&](const Call& call) { return call.verb == verb; }));
}

std::string FakeObjectApi::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return std::to_string(revision_);
}

std::optional<Json> FakeObjectApi::find(const ResourceType& type, std::string_view ns, std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto found = objects_.find(keyOf(type, ns, name));
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

}  // namespace kube::testing
