// Kubernetes Events (events.k8s.io/v1) about the objects a controller manages, the way
// `kubectl describe` and `kubectl events` show them.
//
// record() never waits for the API server: it queues the occurrence (dropping it, and counting
// the drop, when the bounded queue is full) and a background thread writes it. Repeats are
// aggregated as client-go's events broadcaster does: an occurrence identical (same object, type,
// reason, action and note) to one seen less than the aggregation window ago does not create a new
// Event but raises the existing Event's `series.count` with a merge patch, so a failure retried
// every few seconds is one Event with a count, not hundreds of objects in etcd. The window slides:
// each repeat restarts it.
//
// The pure parts (truncation, naming, the Event's JSON, the aggregation decisions) are public so
// they can be tested without a cluster.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "kube/client.h"
#include "kube/result.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

namespace kube::runtime {

inline const kube::ResourceType kEventsV1{
    .group = "events.k8s.io", .version = "v1", .plural = "events", .namespaced = true};

// Limits the API server enforces on events.k8s.io/v1 Events, in bytes.
inline constexpr std::size_t kMaxEventNoteBytes = 1024;
inline constexpr std::size_t kMaxEventReasonBytes = 128;  // also action

enum class EventType { kNormal, kWarning };
std::string_view toString(EventType type);  // "Normal", "Warning"

// The object an Event is about (its `regarding`).
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  std::string uid;
  std::string resource_version;

  // From an object as the API server returns it (apiVersion, kind, metadata).
  static ObjectReference of(const kube::Json& object);
  kube::Json toJson() const;  // empty fields left out
};

struct EventDetails {
  EventType type = EventType::kNormal;
  std::string reason;  // UpperCamelCase, why this happened: "ApplyFailed"
  std::string action;  // what was done or attempted: "Apply"; empty: the reason
  std::string note;    // for people; truncated to kMaxEventNoteBytes
};

struct EventRecorderOptions {
  std::string reporting_controller;  // a qualified name, e.g. "aphex.io/aphex-controller"
  std::string reporting_instance;    // this replica, e.g. the pod's name (at most 128 bytes)
  Duration aggregation_window = std::chrono::minutes(10);
  std::size_t cache_size = 4096;  // aggregated Events remembered (least recently seen forgotten first)
  std::size_t queue_size = 1024;  // occurrences waiting to be written before record() drops
  // Counted here too when given (e.g. children of MetricsRegistry counters), so that lost Events
  // show on /metrics; they must outlive the recorder.
  Counter* dropped_total = nullptr;
  Counter* failed_total = nullptr;
};

// One call to record(), with its text already truncated, as it waits to be written.
struct EventOccurrence {
  ObjectReference regarding;
  EventDetails details;
  WallTime time;
  MonoTime mono_time;
};

// The first `max_bytes` bytes of `text` or less, cut at a character boundary, with invalid
// UTF-8 replaced by U+FFFD (the API server and the JSON encoder reject it).
std::string truncateUtf8(std::string_view text, std::size_t max_bytes);

// "<regarding name>.<16 hex digits>", the name made a valid DNS subdomain if it is not one.
std::string eventName(std::string_view regarding_name, std::uint64_t random);

// Where an Event about `regarding` lives: its namespace, or "default" for cluster-scoped objects.
std::string eventNamespace(const ObjectReference& regarding);

// The Event to create for a first occurrence.
kube::Json eventObject(const EventOccurrence& occurrence, const std::string& name, const EventRecorderOptions& options);

// The merge patch that records the `count`th occurrence (count >= 2).
kube::Json seriesPatch(std::int64_t count, WallTime last_observed);

// Two occurrences are aggregated exactly when their keys are equal.
std::string aggregationKey(const EventOccurrence& occurrence);

// How to write one occurrence.
struct EventWrite {
  enum class Kind { kCreate, kPatchSeries } kind = Kind::kCreate;
  std::string key;  // aggregationKey
  std::string ns;
  std::string name;
  std::int64_t count = 1;  // this occurrence's number in its series
};

// Remembers recently written Events and decides whether an occurrence creates a new one or
// extends an existing series. Bounded: the least recently seen entry is evicted first.
//
// Thread safety: none; the recorder's writer thread owns it.
class EventAggregator {
 public:
  EventAggregator(Duration window, std::size_t capacity) : window_(window), capacity_(capacity) {}

  // `fresh_name` names the Event if this occurrence needs a new one.
  EventWrite plan(const EventOccurrence& occurrence, std::string fresh_name);
  // After a create failed or the Event disappeared (expired, deleted): start the series afresh.
  void forget(const std::string& key);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string key;
    std::string ns;
    std::string name;
    std::int64_t count = 1;
    MonoTime last_seen;
  };
  Duration window_;
  std::size_t capacity_;
  std::list<Entry> entries_;  // most recently seen first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// Where the recorder writes: the API server, or a fake in tests.
class EventWriter {
 public:
  virtual ~EventWriter() = default;
  virtual kube::Result<kube::Json> create(const std::string& ns, const kube::Json& event) = 0;
  virtual kube::Result<kube::Json> patch(const std::string& ns, const std::string& name, const kube::Json& patch) = 0;
};

// Writes through `client` (which must outlive the writer) to events.k8s.io/v1.
std::unique_ptr<EventWriter> apiEventWriter(kube::Client& client);

// Thread safety: record(), normal(), warning(), flush() and the counters may be called from any
// thread. One background thread does all writing; the destructor stops it after the write in
// progress (if any), and counts what was still queued as dropped.
class EventRecorder {
 public:
  // `client` must outlive the recorder.
  EventRecorder(kube::Client& client, Clock& clock, EventRecorderOptions options,
                Logger logger = defaultLogger().named("events"));
  EventRecorder(std::unique_ptr<EventWriter> writer, Clock& clock, EventRecorderOptions options,
                Logger logger = defaultLogger().named("events"));
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void record(const ObjectReference& regarding, EventDetails details);
  void normal(const ObjectReference& regarding, std::string reason, std::string action, std::string note);
  void warning(const ObjectReference& regarding, std::string reason, std::string action, std::string note);

  // Blocks until every occurrence recorded before the call has been written or has failed. For
  // tests and orderly shutdown; each write is bounded by the client's request timeout.
  void flush();

  std::uint64_t dropped() const { return dropped_.load(); }  // the queue was full, or shut down
  std::uint64_t failed() const { return failed_.load(); }    // the API server refused or was unreachable

 private:
  void run(std::stop_token stop);
  void write(const EventOccurrence& occurrence);
  bool writeOnce(const EventOccurrence& occurrence);  // false: the series' Event is gone, plan anew
  void fail(const EventOccurrence& occurrence, std::string_view verb, const kube::Error& error);

  std::unique_ptr<EventWriter> writer_;
  Clock& clock_;
  const EventRecorderOptions options_;
  const Logger logger_;

  std::mutex mutex_;
  std::condition_variable_any queued_;    // signalled when the queue grows
  std::condition_variable_any finished_;  // signalled when an occurrence is done
  std::deque<EventOccurrence> queue_;     // guarded by mutex_
  std::uint64_t accepted_ = 0;            // guarded by mutex_: occurrences queued so far
  std::uint64_t done_ = 0;                // guarded by mutex_: occurrences written, failed or dropped
  bool stopping_ = false;                 // guarded by mutex_
  void countDropped(std::uint64_t count, bool stopping);

  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};

  // Used only by the writer thread.
  EventAggregator aggregator_;
  std::mt19937_64 random_{std::random_device{}()};

  std::jthread thread_;  // last: starts after, and stops before, everything above
};

}  // namespace kube::runtime
