#include "runtime/workqueue.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kube::runtime {

namespace {

// Orders the delayed heap so that its front is the earliest due time.
bool dueLater(const auto& a, const auto& b) { return a.due > b.due; }

}  // namespace

// ---- Rate limiters ----

Duration ItemExponentialRateLimiter::when(const std::string& key) {
  std::lock_guard lock(mutex_);
  int& failures = failures_[key];
  const int exponent = failures;
  if (failures < std::numeric_limits<int>::max()) ++failures;
  // In floating point, so that a long failure streak saturates at max instead of overflowing.
  const double delay = static_cast<double>(options_.base.count()) * std::ldexp(1.0, exponent);
  if (delay >= static_cast<double>(options_.max.count())) return options_.max;
  return Duration(static_cast<Duration::rep>(delay));
}

void ItemExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ItemExponentialRateLimiter::retries(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(Clock& clock, BucketOptions options)
    : clock_(clock),
      options_{.qps = options.qps, .burst = std::max(1, options.burst)},
      tokens_(options_.burst),
      refilled_(clock.now()) {}

Duration BucketRateLimiter::when(const std::string&) {
  if (options_.qps <= 0) return Duration::zero();
  std::lock_guard lock(mutex_);
  const MonoTime now = clock_.now();
  const double elapsed = std::chrono::duration<double>(now - refilled_).count();
  tokens_ = std::min(static_cast<double>(options_.burst), tokens_ + elapsed * options_.qps);
  refilled_ = now;
  // Take a token even when there is none: the debt makes the next callers wait longer still.
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Duration::zero();
  return std::chrono::round<Duration>(std::chrono::duration<double>(-tokens_ / options_.qps));
}

Duration MaxOfRateLimiter::when(const std::string& key) {
  Duration longest = Duration::zero();
  // Every limiter is asked, so that each records the failure.
  for (const auto& limiter : limiters_) longest = std::max(longest, limiter->when(key));
  return longest;
}

void MaxOfRateLimiter::forget(const std::string& key) {
  for (const auto& limiter : limiters_) limiter->forget(key);
}

int MaxOfRateLimiter::retries(const std::string& key) {
  int most = 0;
  for (const auto& limiter : limiters_) most = std::max(most, limiter->retries(key));
  return most;
}

std::unique_ptr<RateLimiter> defaultControllerRateLimiter(Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>());
  limiters.push_back(std::make_unique<BucketRateLimiter>(clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

// ---- WorkItem ----

WorkItem::WorkItem(WorkItem&& other) noexcept
    : queue_(std::exchange(other.queue_, nullptr)), key_(std::move(other.key_)) {}

WorkItem& WorkItem::operator=(WorkItem&& other) noexcept {
  if (this != &other) {
    done();
    queue_ = std::exchange(other.queue_, nullptr);
    key_ = std::move(other.key_);
  }
  return *this;
}

void WorkItem::done() {
  if (queue_ != nullptr) std::exchange(queue_, nullptr)->done(key_);
}

// ---- Workqueue ----

Workqueue::Workqueue(Clock& clock, WorkqueueOptions options)
    : clock_(clock),
      rate_limiter_(options.rate_limiter ? std::move(options.rate_limiter) : defaultControllerRateLimiter(clock)),
      metrics_(std::move(options.metrics)) {}

void Workqueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  addLocked(key, clock_.now());
}

void Workqueue::addAfter(const std::string& key, Duration delay) {
  if (delay <= Duration::zero()) return add(key);
  std::lock_guard lock(mutex_);
  if (shutting_down_) return;
  // Waiting to be handed out already: that round reads the caches as they are then, which covers
  // whatever made this add. (A key being processed is different: its round may have read them
  // before the change.)
  if (dirty_.contains(key) && !processing_.contains(key)) return;
  const MonoTime due = clock_.now() + delay;
  const auto [it, inserted] = delayed_due_.try_emplace(key, due);
  if (!inserted) {
    if (it->second <= due) return;
    // The later heap entry stays behind; promoteDueLocked skips it as stale.
    it->second = due;
  }
  delayed_.push_back({.due = due, .key = key});
  std::push_heap(delayed_.begin(), delayed_.end(), dueLater<Delayed, Delayed>);
  wakeAllLocked();  // sleeping workers recompute their deadline
}

void Workqueue::addRateLimited(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) return;  // do not count a failure for a retry that will never happen
    if (metrics_.retried) metrics_.retried();
  }
  addAfter(key, rate_limiter_->when(key));
}

void Workqueue::forget(const std::string& key) { rate_limiter_->forget(key); }

int Workqueue::retries(const std::string& key) { return rate_limiter_->retries(key); }

std::optional<WorkItem> Workqueue::get(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (true) {
    const MonoTime now = clock_.now();
    promoteDueLocked(now);
    if (shutting_down_ || stop.stop_requested()) return std::nullopt;
    if (!ready_.empty()) {
      std::string key = std::move(ready_.front());
      ready_.pop_front();
      dirty_.erase(key);
      if (const auto added = added_at_.extract(key); added && metrics_.queue_latency) {
        metrics_.queue_latency(now - added.mapped());
      }
      processing_[key] = now;
      reportDepthLocked();
      return WorkItem(this, std::move(key));
    }
    sleepLocked(lock, delayed_.empty() ? MonoTime::max() : delayed_.front().due, stop);
  }
}

void Workqueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto leased = processing_.extract(key);
  if (!leased) return;
  if (metrics_.work_duration) metrics_.work_duration(clock_.now() - leased.mapped());
  if (shutting_down_) {
    if (processing_.empty()) wakeAllLocked();  // a drain may be waiting for the last lease
    return;
  }
  // Added again while it was being processed: its next round starts now.
  if (dirty_.contains(key)) {
    ready_.push_back(key);
    reportDepthLocked();
    wakeAllLocked();
  }
}

void Workqueue::shutDown() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  wakeAllLocked();
}

bool Workqueue::shutDownWithDrain(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  shutting_down_ = true;
  wakeAllLocked();
  while (!processing_.empty()) {
    if (stop.stop_requested()) return false;
    sleepLocked(lock, MonoTime::max(), stop);
  }
  return true;
}

bool Workqueue::shuttingDown() {
  std::lock_guard lock(mutex_);
  return shutting_down_;
}

std::size_t Workqueue::len() {
  std::lock_guard lock(mutex_);
  promoteDueLocked(clock_.now());
  return ready_.size();
}

void Workqueue::addLocked(const std::string& key, MonoTime now) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already waiting: the adds coalesce
  added_at_[key] = now;
  if (metrics_.added) metrics_.added();
  if (processing_.contains(key)) return;  // done() queues it, so no two workers hold it
  ready_.push_back(key);
  reportDepthLocked();
  wakeAllLocked();
}

void Workqueue::promoteDueLocked(MonoTime now) {
  while (!delayed_.empty() && delayed_.front().due <= now) {
    std::pop_heap(delayed_.begin(), delayed_.end(), dueLater<Delayed, Delayed>);
    Delayed next = std::move(delayed_.back());
    delayed_.pop_back();
    const auto live = delayed_due_.find(next.key);
    if (live == delayed_due_.end() || live->second != next.due) continue;  // superseded entry
    delayed_due_.erase(live);
    addLocked(next.key, now);
  }
}

void Workqueue::reportDepthLocked() {
  if (metrics_.depth) metrics_.depth(ready_.size());
}

void Workqueue::sleepLocked(std::unique_lock<std::mutex>& lock, MonoTime deadline, std::stop_token stop) {
  // Clock::waitUntil returns early only when its stop token fires (RealClock's wait ignores a
  // bare notify), so each sleeper waits on a stop source of its own: wakeAllLocked() requests it,
  // and the caller's `stop` is forwarded to it.
  std::stop_source wake;
  std::stop_callback forward(stop, [&wake] { wake.request_stop(); });
  sleepers_.push_back(&wake);
  clock_.waitUntil(lock, cv_, deadline, wake.get_token());
  std::erase(sleepers_, &wake);
}

void Workqueue::wakeAllLocked() {
  // All, not one: a woken worker that finds nothing re-sleeps, but one that was woken and then
  // stopped would strand a ready key if it had been the only one told. Worker pools are small.
  for (std::stop_source* sleeper : sleepers_) sleeper->request_stop();
  sleepers_.clear();
}

}  // namespace kube::runtime
