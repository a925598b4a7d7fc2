#include "runtime/events.h"

#include <algorithm>
#include <cstdio>
#include <exception>

namespace kube::runtime {
namespace {

// The largest cut at or below `max_bytes` that does not split a UTF-8 sequence.
std::size_t characterBoundary(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text.size();
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // 10xxxxxx: continuation
  return cut;
}

// nlohmann's decoder is exactly as strict as the one that later encodes the request body, so a
// round trip through it (replacing what it rejects) yields text the client can always send.
std::string validUtf8(std::string_view text) {
  const std::string quoted = kube::Json(std::string(text)).dump(-1, ' ', false, kube::Json::error_handler_t::replace);
  return kube::Json::parse(quoted).get<std::string>();
}

bool isAlphanumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Event names must be DNS subdomains (lower case, digits, '-', '.', alphanumeric at both ends);
// most object names already are, but some (RBAC's "system:controller:…") are not.
std::string subdomainPrefix(std::string_view name, std::size_t max_length) {
  std::string out;
  for (char c : name) {
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    out += (isAlphanumeric(lower) || lower == '-' || lower == '.') ? lower : '-';
  }
  if (out.size() > max_length) out.resize(max_length);
  const auto first = std::find_if(out.begin(), out.end(), isAlphanumeric);
  const auto last = std::find_if(out.rbegin(), out.rend(), isAlphanumeric).base();
  return first < last ? std::string(first, last) : std::string("event");
}

void appendKeyPart(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

class ApiEventWriter final : public EventWriter {
 public:
  explicit ApiEventWriter(kube::Client& client) : client_(client) {}
  kube::Result<kube::Json> create(const std::string& ns, const kube::Json& event) override {
    return client_.create(kEventsV1, ns, event);
  }
  kube::Result<kube::Json> patch(const std::string& ns, const std::string& name, const kube::Json& patch) override {
    return client_.mergePatch(kEventsV1, ns, name, patch);
  }

 private:
  kube::Client& client_;
};

}  // namespace

std::string_view toString(EventType type) { return type == EventType::kWarning ? "Warning" : "Normal"; }

ObjectReference ObjectReference::of(const kube::Json& object) {
  if (!object.is_object()) return {};
  const kube::Json metadata = object.value("metadata", kube::Json::object());
  if (!metadata.is_object()) return {.api_version = object.value("apiVersion", ""), .kind = object.value("kind", "")};
  return {.api_version = object.value("apiVersion", ""),
          .kind = object.value("kind", ""),
          .ns = metadata.value("namespace", ""),
          .name = metadata.value("name", ""),
          .uid = metadata.value("uid", ""),
          .resource_version = metadata.value("resourceVersion", "")};
}

kube::Json ObjectReference::toJson() const {
  kube::Json out = kube::Json::object();
  const auto put = [&out](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  put("apiVersion", api_version);
  put("kind", kind);
  put("namespace", ns);
  put("name", name);
  put("uid", uid);
  put("resourceVersion", resource_version);
  return out;
}

std::string truncateUtf8(std::string_view text, std::size_t max_bytes) {
  // Cut first, so a megabyte of input costs no more than a kilobyte; cut again, because each
  // replacement character is three bytes where the invalid input may have been one.
  const std::string valid = validUtf8(text.substr(0, characterBoundary(text, max_bytes)));
  return valid.substr(0, characterBoundary(valid, max_bytes));
}

std::string eventName(std::string_view regarding_name, std::uint64_t random) {
  constexpr std::size_t kMaxName = 253;
  constexpr std::size_t kSuffix = 17;  // ".%016x"
  char suffix[kSuffix + 1];
  std::snprintf(suffix, sizeof suffix, ".%016llx", static_cast<unsigned long long>(random));
  return subdomainPrefix(regarding_name, kMaxName - kSuffix) + suffix;
}

std::string eventNamespace(const ObjectReference& regarding) { return regarding.ns.empty() ? "default" : regarding.ns; }

kube::Json eventObject(const EventOccurrence& occurrence, const std::string& name,
                       const EventRecorderOptions& options) {
  const EventDetails& details = occurrence.details;
  kube::Json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", eventNamespace(occurrence.regarding)}}},
      {"eventTime", formatTimestamp(occurrence.time, 6)},
      {"type", toString(details.type)},
      {"reason", details.reason},
      {"action", details.action},
      {"regarding", occurrence.regarding.toJson()},
      {"reportingController", options.reporting_controller},
      {"reportingInstance", options.reporting_instance},
  };
  if (!details.note.empty()) event["note"] = details.note;
  return event;
}

kube::Json seriesPatch(std::int64_t count, WallTime last_observed) {
  return {{"series", {{"count", count}, {"lastObservedTime", formatTimestamp(last_observed, 6)}}}};
}

std::string aggregationKey(const EventOccurrence& occurrence) {
  const ObjectReference& regarding = occurrence.regarding;
  const EventDetails& details = occurrence.details;
  // Length-prefixed, so no choice of field contents can make two different tuples collide.
  std::string key;
  for (std::string_view part : {std::string_view(regarding.api_version), std::string_view(regarding.kind),
                                std::string_view(regarding.ns), std::string_view(regarding.name),
                                std::string_view(regarding.uid), toString(details.type),
                                std::string_view(details.reason), std::string_view(details.action),
                                std::string_view(details.note)}) {
    appendKeyPart(key, part);
  }
  return key;
}

EventWrite EventAggregator::plan(const EventOccurrence& occurrence, std::string fresh_name) {
  std::string key = aggregationKey(occurrence);
  if (auto found = index_.find(key); found != index_.end()) {
    Entry& entry = *found->second;
    if (occurrence.mono_time - entry.last_seen < window_) {
      ++entry.count;
      entry.last_seen = occurrence.mono_time;
      entries_.splice(entries_.begin(), entries_, found->second);
      return {.kind = EventWrite::Kind::kPatchSeries, .key = key, .ns = entry.ns, .name = entry.name,
              .count = entry.count};
    }
    forget(key);  // too old: a new Event, as if never seen
  }
  EventWrite create{.kind = EventWrite::Kind::kCreate, .key = key, .ns = eventNamespace(occurrence.regarding),
                    .name = std::move(fresh_name), .count = 1};
  entries_.push_front({.key = std::move(key), .ns = create.ns, .name = create.name, .count = 1,
                       .last_seen = occurrence.mono_time});
  index_[entries_.front().key] = entries_.begin();
  while (entries_.size() > capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  return create;
}

void EventAggregator::forget(const std::string& key) {
  if (auto found = index_.find(key); found != index_.end()) {
    entries_.erase(found->second);
    index_.erase(found);
  }
}

std::unique_ptr<EventWriter> apiEventWriter(kube::Client& client) { return std::make_unique<ApiEventWriter>(client); }

EventRecorder::EventRecorder(kube::Client& client, Clock& clock, EventRecorderOptions options, Logger logger)
    : EventRecorder(apiEventWriter(client), clock, std::move(options), std::move(logger)) {}

EventRecorder::EventRecorder(std::unique_ptr<EventWriter> writer, Clock& clock, EventRecorderOptions options,
                             Logger logger)
    : writer_(std::move(writer)),
      clock_(clock),
      options_(std::move(options)),
      logger_(std::move(logger)),
      aggregator_(options_.aggregation_window, options_.cache_size),
      thread_([this](std::stop_token stop) { run(stop); }) {}

EventRecorder::~EventRecorder() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::record(const ObjectReference& regarding, EventDetails details) {
  details.reason = truncateUtf8(details.reason, kMaxEventReasonBytes);
  details.action = truncateUtf8(details.action.empty() ? details.reason : details.action, kMaxEventReasonBytes);
  details.note = truncateUtf8(details.note, kMaxEventNoteBytes);
  EventOccurrence occurrence{.regarding = regarding, .details = std::move(details), .time = clock_.wallNow(),
                             .mono_time = clock_.now()};
  {
    std::lock_guard guard(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_size) {
      countDropped(1, stopping_);
      return;
    }
    queue_.push_back(std::move(occurrence));
    ++accepted_;
  }
  queued_.notify_one();
}

void EventRecorder::normal(const ObjectReference& regarding, std::string reason, std::string action, std::string note) {
  record(regarding, {.type = EventType::kNormal, .reason = std::move(reason), .action = std::move(action),
                     .note = std::move(note)});
}

void EventRecorder::warning(const ObjectReference& regarding, std::string reason, std::string action,
                            std::string note) {
  record(regarding, {.type = EventType::kWarning, .reason = std::move(reason), .action = std::move(action),
                     .note = std::move(note)});
}

void EventRecorder::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  finished_.wait(lock, [&] { return done_ >= target || stopping_; });
}

void EventRecorder::run(std::stop_token stop) {
  while (true) {
    EventOccurrence occurrence;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, stop, [this] { return !queue_.empty(); });
      if (stop.stop_requested()) {
        stopping_ = true;
        countDropped(queue_.size(), true);
        done_ += queue_.size();
        queue_.clear();
        finished_.notify_all();
        return;
      }
      occurrence = std::move(queue_.front());
      queue_.pop_front();
    }
    write(occurrence);
    {
      std::lock_guard guard(mutex_);
      ++done_;
    }
    finished_.notify_all();
  }
}

void EventRecorder::write(const EventOccurrence& occurrence) {
  try {
    if (!writeOnce(occurrence)) (void)writeOnce(occurrence);  // the second attempt always creates
  } catch (const std::exception& e) {
    // Nothing may escape the writer thread: it would terminate the process over an Event.
    fail(occurrence, "write", Error{.kind = ErrorKind::kTransport, .message = e.what(), .status = {}});
  }
}

bool EventRecorder::writeOnce(const EventOccurrence& occurrence) {
  const EventWrite plan = aggregator_.plan(occurrence, eventName(occurrence.regarding.name, random_()));
  if (plan.kind == EventWrite::Kind::kPatchSeries) {
    auto patched = writer_->patch(plan.ns, plan.name, seriesPatch(plan.count, occurrence.time));
    if (patched) return true;
    if (patched.error().isNotFound()) {  // expired (the API server's event TTL) or deleted
      aggregator_.forget(plan.key);
      return false;
    }
    // Keep the entry: the next repeat's patch carries the full count again.
    fail(occurrence, "patch", patched.error());
    return true;
  }
  auto created = writer_->create(plan.ns, eventObject(occurrence, plan.name, options_));
  if (!created) {
    aggregator_.forget(plan.key);  // nothing to patch: the next repeat must create
    fail(occurrence, "create", created.error());
  }
  return true;
}

// Dropping is how the recorder protects reconcilers from a slow API server, but it must not go
// unseen: counted, exported when a counter is given, and logged on the first and every 100th drop
// of a full queue.
void EventRecorder::countDropped(std::uint64_t count, bool stopping) {
  if (count == 0) return;
  const std::uint64_t before = dropped_.fetch_add(count);
  if (options_.dropped_total != nullptr) options_.dropped_total->inc(static_cast<double>(count));
  if (!stopping && (before == 0 || (before + count) / 100 != before / 100)) {
    logger_.warn("event queue full: events dropped", {{"dropped_total", std::to_string(before + count)},
                                                      {"queue_size", std::to_string(options_.queue_size)}});
  }
}

void EventRecorder::fail(const EventOccurrence& occurrence, std::string_view verb, const kube::Error& error) {
  ++failed_;
  if (options_.failed_total != nullptr) options_.failed_total->inc();
  logger_.warn("cannot write event", {{"verb", verb},
                                      {"namespace", occurrence.regarding.ns},
                                      {"name", occurrence.regarding.name},
                                      {"kind", occurrence.regarding.kind},
                                      {"reason", occurrence.details.reason},
                                      {"error", error.message}});
}

}  // namespace kube::runtime
