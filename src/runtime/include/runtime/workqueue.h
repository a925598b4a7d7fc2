// A rate-limited, de-duplicating queue of string keys for controllers' workers.
//
// Controllers enqueue the key of an object ("namespace/name") whenever it may need reconciling,
// and a pool of workers takes keys off with get(). The queue guarantees:
//   - a key that is waiting is queued once, however often it is added (events coalesce);
//   - a key is never handed to two workers at once: adding it while a worker holds it marks it
//     for another round, which starts when that worker is done;
//   - delayed adds (addAfter) become ready when the injected Clock passes their due time;
//   - failures back off per key through a RateLimiter (addRateLimited), until forget().
//
// Layers: RateLimiter decides how long a key waits; Workqueue holds ready, delayed and in-flight
// keys; WorkItem is the lease a worker holds while processing one key.
//
// Thread safety: RateLimiter implementations here and every Workqueue method may be called from
// any thread. A WorkItem may be moved to and finished on any thread, but must not outlive its
// queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "runtime/clock.h"

namespace kube::runtime {

// How long a key should wait before its next attempt.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // The delay for this attempt; counts it as a failure where the limiter tracks failures.
  virtual Duration when(const std::string& key) = 0;
  // The key succeeded: stop tracking it, so its next failure starts from the shortest delay.
  virtual void forget(const std::string& key) = 0;
  // How many times when() was called for the key since it was last forgotten.
  virtual int retries(const std::string& key) = 0;
};

// client-go's DefaultControllerRateLimiter values: a failing key retries quickly at first (5 ms
// covers a conflict that a re-read fixes) and, doubling, reaches the cap after about 18 failures;
// 1000 s keeps a permanently failing key from spinning while still retrying it every ~17 min.
inline constexpr Duration kDefaultItemBaseDelay = std::chrono::milliseconds(5);
inline constexpr Duration kDefaultItemMaxDelay = std::chrono::seconds(1000);
// Also client-go's: overall 10 retries per second with bursts of 100, so that many keys failing
// together (an API server outage) cannot turn into a retry storm against the server.
inline constexpr double kDefaultBucketQps = 10.0;
inline constexpr int kDefaultBucketBurst = 100;

struct ItemExponentialOptions {
  Duration base = kDefaultItemBaseDelay;
  Duration max = kDefaultItemMaxDelay;
};

// Per key: base × 2^failures, capped at max.
class ItemExponentialRateLimiter final : public RateLimiter {
 public:
  explicit ItemExponentialRateLimiter(ItemExponentialOptions options = {}) : options_(options) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int retries(const std::string& key) override;

 private:
  ItemExponentialOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, int> failures_;  // guarded by mutex_
};

struct BucketOptions {
  double qps = kDefaultBucketQps;  // tokens added per second; <= 0 means no limit
  int burst = kDefaultBucketBurst;  // bucket size (at least 1)
};

// One token bucket shared by all keys. A call that finds the bucket empty reserves a future
// token and is told how long until it is due, so callers are spaced out at `qps`.
class BucketRateLimiter final : public RateLimiter {
 public:
  explicit BucketRateLimiter(Clock& clock, BucketOptions options = {});
  Duration when(const std::string& key) override;
  void forget(const std::string&) override {}
  int retries(const std::string&) override { return 0; }

 private:
  Clock& clock_;
  BucketOptions options_;
  std::mutex mutex_;
  double tokens_;      // guarded by mutex_; negative when future tokens are reserved
  MonoTime refilled_;  // guarded by mutex_
};

// The longest delay any of its limiters asks for.
class MaxOfRateLimiter final : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters) : limiters_(std::move(limiters)) {}
  Duration when(const std::string& key) override;
  void forget(const std::string& key) override;
  int retries(const std::string& key) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// Per-key exponential backoff combined with the overall bucket, as client-go controllers use.
std::unique_ptr<RateLimiter> defaultControllerRateLimiter(Clock& clock);

// Hooks for a metrics registry; each is optional. They are called with the queue's lock held,
// so that depth reports arrive in order: keep them quick and never call back into the queue.
struct WorkqueueMetrics {
  std::function<void(std::size_t depth)> depth;          // ready keys, after every change
  std::function<void()> added;                           // an add that was not a duplicate
  std::function<void()> retried;                         // every addRateLimited
  std::function<void(Duration)> queue_latency;           // from add to get
  std::function<void(Duration)> work_duration;           // from get to done
};

struct WorkqueueOptions {
  std::unique_ptr<RateLimiter> rate_limiter;  // null: defaultControllerRateLimiter
  WorkqueueMetrics metrics;
};

class Workqueue;

// A worker's lease on one key: while it lives, the queue hands the key to no one else. Its
// destructor (or an earlier done()) tells the queue the work is finished, so an early return or
// an exception in a worker cannot leave a key stuck as "processing".
class WorkItem {
 public:
  WorkItem(WorkItem&& other) noexcept;
  WorkItem& operator=(WorkItem&& other) noexcept;
  WorkItem(const WorkItem&) = delete;
  WorkItem& operator=(const WorkItem&) = delete;
  ~WorkItem() { done(); }

  const std::string& key() const { return key_; }
  // Finishes the lease now; later calls, and the destructor, do nothing.
  void done();

 private:
  friend class Workqueue;
  WorkItem(Workqueue* queue, std::string key) : queue_(queue), key_(std::move(key)) {}

  Workqueue* queue_;  // null once done
  std::string key_;
};

class Workqueue {
 public:
  explicit Workqueue(Clock& clock, WorkqueueOptions options = {});
  Workqueue(const Workqueue&) = delete;
  Workqueue& operator=(const Workqueue&) = delete;

  // Marks the key as needing work. Ignored after shutdown.
  void add(const std::string& key);
  // Adds the key once `delay` has passed on the clock. A key already waiting keeps the earlier
  // of its two due times; a key already ready to hand out (and not being processed) is left as
  // it is, since its coming round covers the add. Zero or negative delays add at once.
  void addAfter(const std::string& key, Duration delay);
  // Adds the key after the rate limiter's delay for it (a retry after failure).
  void addRateLimited(const std::string& key);
  // Clears the key's failure history in the rate limiter (call after success). Does not remove
  // the key from the queue.
  void forget(const std::string& key);
  // Failures recorded for the key since it was last forgotten.
  int retries(const std::string& key);

  // Blocks until a key is ready, then leases it to the caller. nullopt when the queue is shut
  // down or `stop` is requested.
  std::optional<WorkItem> get(std::stop_token stop = {});

  // Stops handing out keys: get() returns nullopt from now on, even for keys still queued, and
  // adds are ignored. In-flight leases may still finish.
  void shutDown();
  // shutDown(), then waits until every in-flight lease is done. False if `stop` ended the wait
  // first.
  bool shutDownWithDrain(std::stop_token stop = {});
  bool shuttingDown();

  // Keys ready to be handed out (delayed keys count once due; in-flight keys do not).
  std::size_t len();

 private:
  friend class WorkItem;
  struct Delayed {
    MonoTime due;
    std::string key;
  };

  void done(const std::string& key);
  void addLocked(const std::string& key, MonoTime now);
  void promoteDueLocked(MonoTime now);
  void reportDepthLocked();
  // Sleeps on the clock until `deadline`, `stop`, or wakeAllLocked().
  void sleepLocked(std::unique_lock<std::mutex>& lock, MonoTime deadline, std::stop_token stop);
  void wakeAllLocked();

  Clock& clock_;
  std::unique_ptr<RateLimiter> rate_limiter_;
  WorkqueueMetrics metrics_;

  std::mutex mutex_;
  std::condition_variable_any cv_;
  // All below guarded by mutex_.
  std::deque<std::string> ready_;                           // FIFO of keys to hand out
  std::unordered_set<std::string> dirty_;                   // keys needing work: ready, or re-added while processing
  std::unordered_map<std::string, MonoTime> added_at_;      // when each dirty key was added
  std::unordered_map<std::string, MonoTime> processing_;    // leased keys and when they were leased
  std::vector<Delayed> delayed_;                            // min-heap by due time; may hold stale entries
  std::unordered_map<std::string, MonoTime> delayed_due_;   // the live due time of each delayed key
  std::vector<std::stop_source*> sleepers_;                 // one per thread blocked in sleepLocked
  bool shutting_down_ = false;
};

}  // namespace kube::runtime
