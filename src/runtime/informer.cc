#include "runtime/informer.h"

namespace kube::runtime {

namespace {

// client-go treats a watch that ends within a second having delivered nothing as a failure, so
// a server that keeps closing watches at once is not hammered in a tight loop.
constexpr Duration kVeryShortWatch = std::chrono::seconds(1);

// Whether a relist "not older than" our version failed only because that version is no longer
// (or not yet) available, so a fresh consistent list is the way forward.
bool resourceVersionUnavailable(const Error& error) {
  return error.isGone() ||
         (error.status && error.status->message.find("Too large resource version") != std::string::npos);
}

// List items carry no apiVersion/kind; watch events do. Give them the same shape.
void stampKind(Json& item, const std::string& api_version, const std::string& kind) {
  if (!item.contains("apiVersion")) item["apiVersion"] = api_version;
  if (!item.contains("kind")) item["kind"] = kind;
}

std::string itemKind(const Json& list) {
  std::string kind = list.value("kind", "");
  constexpr std::string_view kSuffix = "List";
  if (kind.size() > kSuffix.size() && kind.ends_with(kSuffix)) kind.resize(kind.size() - kSuffix.size());
  return kind;
}

}  // namespace

std::string resourceLabel(const ResourceType& type) {
  return type.group.empty() ? type.plural : type.plural + "." + type.group;
}

Informer::Informer(ObjectApi& api, Clock& clock, InformerOptions options)
    : api_(api), clock_(clock), options_(std::move(options)), store_(options_.encoding, options_.indexed_labels) {}

template <typename Call>
void Informer::dispatch(std::string_view event, const ObjectPtr& object, const Call& call) {
  try {
    call();
  } catch (...) {
    handlerThrew(event, object);
  }
}

void Informer::handlerThrew(std::string_view event, const ObjectPtr& object) {
  const std::string resource = resourceLabel(options_.type);
  options_.logger.error("event handler threw; the informer goes on",
                        {{"resource", resource}, {"event", event}, {"key", objectKey(*object)},
                         {"exception", currentExceptionSummary()}});
  if (options_.handler_panics != nullptr) options_.handler_panics->with({resource}).inc();
}

void Informer::addHandler(EventHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::run(std::stop_token stop) {
  Backoff backoff(clock_, options_.backoff);
  bool need_list = true;
  bool after_expiry = false;
  while (!stop.stop_requested()) {
    if (need_list) {
      if (auto listed = listAndReplace(stop, after_expiry); !listed) {
        sleepFor(backoff.next(), stop);
        continue;
      }
      need_list = false;
      after_expiry = false;
    }
    const MonoTime started = clock_.now();
    const std::uint64_t events_before = stats().events;
    switch (watchOnce(stop)) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kExpired:
        need_list = true;
        after_expiry = true;
        break;
      case WatchEnd::kClean:
        if (clock_.now() - started >= kVeryShortWatch || stats().events > events_before) {
          backoff.reset();
          break;
        }
        [[fallthrough]];
      case WatchEnd::kFailed:
        sleepFor(backoff.next(), stop);
        break;
    }
  }
}

Result<Informer::Listed> Informer::listAll(const std::string& resource_version, const std::stop_token& stop) {
  ListOptions page{.label_selector = options_.label_selector,
                   .field_selector = options_.field_selector,
                   .limit = options_.page_size,
                   .resource_version = resource_version,
                   .resource_version_match = resource_version.empty() ? "" : "NotOlderThan"};
  Listed all;
  while (true) {
    auto listed = api_.list(options_.type, options_.ns, page, stop);
    if (!listed) return std::move(listed).error();
    // The page is dropped once its items are stored objects: only one page is ever held as
    // received, next to the objects (much smaller once transformed).
    auto next = addPage(std::move(*listed), page.continue_token.empty(), all);
    if (!next) return std::move(next).error();
    if (next->empty()) return all;
    // Later pages come from the snapshot the token names; a version would conflict with it.
    page.continue_token = std::move(*next);
    page.resource_version.clear();
    page.resource_version_match.clear();
  }
}

Result<void> Informer::listAndReplace(std::stop_token stop, bool after_expiry) {
  const std::string from = after_expiry ? lastSyncResourceVersion() : std::string{};
  auto listed = listAll(from, stop);
  if (!listed && !from.empty() && resourceVersionUnavailable(listed.error())) listed = listAll("", stop);
  // An expired continue token mid-way also means: start over with a fresh list.
  if (!listed && listed.error().isGone()) listed = listAll("", stop);
  {
    std::lock_guard lock(mutex_);
    ++stats_.lists;
    if (after_expiry) ++stats_.relists_after_expiry;
    if (!listed) ++stats_.failures;
  }
  if (!listed) return std::move(listed).error();
  if (stop.stop_requested()) return {};

  const Store::Changes changes = store_.replaceEncoded(std::move(listed->objects));
  setLastResourceVersion(std::move(listed->resource_version));
  {
    std::lock_guard lock(mutex_);  // a waiter checks synced_ under this lock: no lost wakeup
    synced_ = true;
  }
  cv_.notify_all();
  notifyDiff(changes);
  return {};
}

Result<std::string> Informer::addPage(Json page, bool first, Listed& listed) const {
  try {
    const std::string api_version = page.value("apiVersion", options_.type.apiVersion());
    const std::string kind = itemKind(page);
    Json& items = page["items"];
    Json& metadata = page["metadata"];
    if (first) listed.resource_version = metadata.value("resourceVersion", "");
    for (auto& item : items) {
      stampKind(item, api_version, kind);
      listed.objects.push_back(store_.encode(transformed(std::move(item))));
    }
    return metadata.value("continue", "");
  } catch (...) {
    // A list the transform (or an odd shape) trips over: a failed list, retried with backoff.
    return Error{.kind = ErrorKind::kDecode,
                 .message = "listing " + resourceLabel(options_.type) + ": " + currentExceptionSummary(),
                 .status = {}};
  }
}

Informer::WatchEnd Informer::watchOnce(std::stop_token stop) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.watches;
  }
  WatchEnd end = WatchEnd::kClean;
  const WatchOptions options{
      .resource_version = lastSyncResourceVersion(),
      .label_selector = options_.label_selector,
      .field_selector = options_.field_selector,
      .timeout = std::chrono::duration_cast<std::chrono::seconds>(watchTimeout()),
      .allow_bookmarks = true,
      .idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(options_.idle_timeout)};
  auto watched = api_.watch(
      options_.type, options_.ns, options, [&](WatchEvent&& event) { return handleEvent(std::move(event), end); },
      stop);
  if (stop.stop_requested()) return WatchEnd::kStopped;
  if (end != WatchEnd::kClean) return end;
  if (!watched) {
    if (watched.error().isGone()) return WatchEnd::kExpired;
    std::lock_guard lock(mutex_);
    ++stats_.failures;
    return WatchEnd::kFailed;
  }
  return WatchEnd::kClean;
}

bool Informer::handleEvent(WatchEvent&& event, WatchEnd& end) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.events;
  }
  try {
    return processEvent(std::move(event), end);
  } catch (...) {
    // Handlers are guarded one by one; this is the informer's own processing (the transform,
    // the store). Skipping the event keeps the watch alive for every other object.
    options_.logger.error("skipping a watch event that could not be processed",
                          {{"resource", resourceLabel(options_.type)}, {"exception", currentExceptionSummary()}});
    return true;
  }
}

bool Informer::processEvent(WatchEvent&& event, WatchEnd& end) {
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified: {
      std::string version = resourceVersionOf(event.object);
      ObjectPtr object = transformed(std::move(event.object));
      ObjectPtr previous = store_.upsert(object);
      setLastResourceVersion(std::move(version));
      for (const auto& handler : handlers_) {
        if (previous && handler.on_update) dispatch("update", object, [&] { handler.on_update(previous, object); });
        if (!previous && handler.on_add) dispatch("add", object, [&] { handler.on_add(object); });
      }
      return true;
    }
    case WatchEventType::kDeleted: {
      std::string version = resourceVersionOf(event.object);
      ObjectPtr previous = store_.erase(objectKey(event.object));
      ObjectPtr last = previous ? previous : transformed(std::move(event.object));
      setLastResourceVersion(std::move(version));
      for (const auto& handler : handlers_) {
        if (handler.on_delete) dispatch("delete", last, [&] { handler.on_delete(last); });
      }
      return true;
    }
    case WatchEventType::kBookmark:
      setLastResourceVersion(resourceVersionOf(event.object));
      return true;
    case WatchEventType::kError: {
      const ApiStatus status = event.errorStatus();
      const bool expired = status.code == 410 || status.reason == "Expired" || status.reason == "Gone";
      end = expired ? WatchEnd::kExpired : WatchEnd::kFailed;
      if (!expired) {
        std::lock_guard lock(mutex_);
        ++stats_.failures;
      }
      return false;
    }
  }
  return true;
}

// Each change goes to every handler before the next is decoded: with kText only one object of a
// relist is parsed at a time. Every handler still sees the deletes, then the adds, then the updates.
void Informer::notifyDiff(const Store::Changes& changes) {
  changes.forEachDeleted([this](const ObjectPtr& object) {
    for (const auto& handler : handlers_) {
      if (handler.on_delete) dispatch("delete", object, [&] { handler.on_delete(object); });
    }
  });
  changes.forEachAdded([this](const ObjectPtr& object) {
    for (const auto& handler : handlers_) {
      if (handler.on_add) dispatch("add", object, [&] { handler.on_add(object); });
    }
  });
  changes.forEachUpdated([this](const ObjectPtr& old_object, const ObjectPtr& new_object) {
    for (const auto& handler : handlers_) {
      if (handler.on_update) dispatch("update", new_object, [&] { handler.on_update(old_object, new_object); });
    }
  });
}

ObjectPtr Informer::transformed(Json object) const {
  if (options_.transform) options_.transform(object);
  return std::make_shared<const Json>(std::move(object));
}

void Informer::setLastResourceVersion(std::string version) {
  if (version.empty()) return;
  std::lock_guard lock(mutex_);
  last_resource_version_ = std::move(version);
}

std::string Informer::lastSyncResourceVersion() const {
  std::lock_guard lock(mutex_);
  return last_resource_version_;
}

InformerStats Informer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

Duration Informer::watchTimeout() {
  const auto min = static_cast<double>(options_.min_watch_timeout.count());
  return Duration(static_cast<Duration::rep>(min * (1.0 + clock_.random())));
}

void Informer::sleepFor(Duration delay, std::stop_token stop) {
  const MonoTime deadline = clock_.now() + delay;
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested() && clock_.now() < deadline) {
    if (!clock_.waitUntil(lock, cv_, deadline, stop)) return;
  }
}

bool Informer::waitForSync(std::stop_token stop, Duration timeout) {
  const MonoTime deadline = clock_.now() + timeout;
  std::unique_lock lock(mutex_);
  while (!synced_.load()) {
    if (stop.stop_requested() || clock_.now() >= deadline) return false;
    clock_.waitUntil(lock, cv_, deadline, stop);
  }
  return true;
}

}  // namespace kube::runtime
