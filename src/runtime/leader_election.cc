#include "runtime/leader_election.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <condition_variable>
#include <cstdio>
#include <thread>

namespace kube::runtime {

namespace {

kube::Error decodeError(std::string message) {
  return kube::Error{.kind = kube::ErrorKind::kDecode, .message = std::move(message), .status = {}};
}

std::string describe(Duration duration) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%gs", std::chrono::duration<double>(duration).count());
  return buffer;
}

// Waits until `deadline` on `clock`, or until `stop`; false when stopped.
bool sleepUntil(Clock& clock, MonoTime deadline, std::stop_token stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  while (!stop.stop_requested()) {
    if (clock.now() >= deadline) return true;
    clock.waitUntil(lock, cv, deadline, stop);  // may return early: the loop re-checks
  }
  return false;
}

// ---- RFC 3339 parsing ----

// Consumes exactly `count` decimal digits.
std::optional<int> takeDigits(std::string_view& text, std::size_t count) {
  if (text.size() < count) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  text.remove_prefix(count);
  return value;
}

// Consumes `c` exactly.
bool takeChar(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

// Consumes the upper-case letter `c` in either case, as RFC 3339 allows for 'T' and 'Z'.
bool takeLetter(std::string_view& text, char c) {
  return takeChar(text, c) || takeChar(text, static_cast<char>(c - 'A' + 'a'));
}

// ".123456" → nanoseconds; nothing when there is no fraction.
std::optional<std::chrono::nanoseconds> takeFraction(std::string_view& text) {
  if (!takeChar(text, '.')) return std::chrono::nanoseconds(0);
  std::int64_t nanos = 0;
  std::size_t digits = 0;
  while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
    if (++digits > 9) return std::nullopt;
    nanos = nanos * 10 + (text.front() - '0');
    text.remove_prefix(1);
  }
  if (digits == 0) return std::nullopt;
  for (std::size_t i = digits; i < 9; ++i) nanos *= 10;
  return std::chrono::nanoseconds(nanos);
}

// "Z" or "±hh:mm" → the offset east of UTC.
std::optional<std::chrono::minutes> takeZone(std::string_view& text) {
  if (takeLetter(text, 'Z')) return std::chrono::minutes(0);
  if (text.empty() || (text.front() != '+' && text.front() != '-')) return std::nullopt;
  const int sign = text.front() == '-' ? -1 : 1;
  text.remove_prefix(1);
  const auto hours = takeDigits(text, 2);
  if (!hours || !takeChar(text, ':')) return std::nullopt;
  const auto minutes = takeDigits(text, 2);
  if (!minutes || *hours > 23 || *minutes > 59) return std::nullopt;
  return std::chrono::minutes(sign * (*hours * 60 + *minutes));
}

// ---- Reading the Lease spec ----

kube::Result<std::string> stringField(const kube::Json& spec, const char* name) {
  const auto it = spec.find(name);
  if (it == spec.end() || it->is_null()) return std::string();
  if (!it->is_string()) return decodeError(std::string("Lease spec.") + name + " is not a string: " + it->dump());
  return it->get<std::string>();
}

kube::Result<int> intField(const kube::Json& spec, const char* name) {
  const auto it = spec.find(name);
  if (it == spec.end() || it->is_null()) return 0;
  std::int64_t value = std::int64_t{INT_MAX} + 1;  // out of range unless a fitting integer follows
  if (it->is_number_unsigned()) {
    value = static_cast<std::int64_t>(std::min(it->get<std::uint64_t>(), static_cast<std::uint64_t>(value)));
  } else if (it->is_number_integer()) {
    value = it->get<std::int64_t>();
  }
  if (value > INT_MAX || value < INT_MIN) {
    return decodeError(std::string("Lease spec.") + name + " is not a 32-bit integer: " + it->dump());
  }
  return static_cast<int>(value);
}

kube::Result<std::optional<WallTime>> timeField(const kube::Json& spec, const char* name) {
  const auto it = spec.find(name);
  if (it == spec.end() || it->is_null()) return std::optional<WallTime>();
  if (!it->is_string()) return decodeError(std::string("Lease spec.") + name + " is not a string: " + it->dump());
  auto time = parseMicroTime(it->get<std::string>());
  if (!time) return decodeError(std::string("Lease spec.") + name + ": " + time.error().message);
  return std::optional<WallTime>(*time);
}

class ClientLeaseApi final : public LeaseApi {
 public:
  ClientLeaseApi(kube::Client& client, std::string ns, std::string name)
      : client_(client), ns_(std::move(ns)), name_(std::move(name)) {}
  kube::Result<kube::Json> get() override { return client_.get(kLeases, ns_, name_); }
  kube::Result<kube::Json> create(const kube::Json& lease) override { return client_.create(kLeases, ns_, lease); }
  kube::Result<kube::Json> update(const kube::Json& lease) override { return client_.update(kLeases, ns_, lease); }

 private:
  kube::Client& client_;
  std::string ns_;
  std::string name_;
};

}  // namespace

kube::Result<void> validate(const LeaderElectionOptions& options) {
  auto invalid = [](const std::string& message) { return kube::configError("leader election: " + message); };
  if (options.lease_namespace.empty()) return invalid("lease_namespace is empty: name the Lease's namespace");
  if (options.lease_name.empty()) return invalid("lease_name is empty: name the Lease");
  if (options.identity.empty()) return invalid("identity is empty: give each candidate a unique identity");
  if (options.lease_duration <= Duration::zero()) return invalid("lease_duration must be positive");
  if (options.renew_deadline <= Duration::zero()) return invalid("renew_deadline must be positive");
  if (options.retry_period <= Duration::zero()) return invalid("retry_period must be positive");
  if (options.lease_duration <= options.renew_deadline) {
    return invalid("lease_duration (" + describe(options.lease_duration) + ") must be greater than renew_deadline (" +
                   describe(options.renew_deadline) + "): a leader must stop before others may take over");
  }
  const auto jittered_retry = std::chrono::duration<double>(options.retry_period) * kLeaderElectionJitter;
  if (std::chrono::duration<double>(options.renew_deadline) <= jittered_retry) {
    return invalid("renew_deadline (" + describe(options.renew_deadline) + ") must be greater than 1.2 × retry_period (" +
                   describe(options.retry_period) + "): a leader needs room for more than one renewal attempt");
  }
  return {};
}

// ---- MicroTime ----

std::string formatMicroTime(WallTime time) {
  using namespace std::chrono;
  const auto micros = floor<microseconds>(time);
  const auto day = floor<days>(micros);
  const year_month_day date{day};
  const hh_mm_ss clock_time{micros - day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock_time.hours().count()), static_cast<int>(clock_time.minutes().count()),
                static_cast<int>(clock_time.seconds().count()),
                static_cast<long long>(clock_time.subseconds().count()));
  return buffer;
}

kube::Result<WallTime> parseMicroTime(std::string_view text) {
  using namespace std::chrono;
  const std::string_view original = text;
  const auto bad = [&] { return decodeError("\"" + std::string(original) + "\" is not an RFC 3339 time"); };
  const auto y = takeDigits(text, 4);
  if (!y || !takeChar(text, '-')) return bad();
  const auto mo = takeDigits(text, 2);
  if (!mo || !takeChar(text, '-')) return bad();
  const auto d = takeDigits(text, 2);
  if (!d || !takeLetter(text, 'T')) return bad();
  const auto h = takeDigits(text, 2);
  if (!h || !takeChar(text, ':')) return bad();
  const auto mi = takeDigits(text, 2);
  if (!mi || !takeChar(text, ':')) return bad();
  const auto s = takeDigits(text, 2);
  const auto fraction = s ? takeFraction(text) : std::nullopt;
  const auto zone = fraction ? takeZone(text) : std::nullopt;
  if (!zone || !text.empty()) return bad();
  const year_month_day date{year(*y), month(static_cast<unsigned>(*mo)), day(static_cast<unsigned>(*d))};
  if (!date.ok() || *h > 23 || *mi > 59 || *s > 59) return bad();
  const auto utc = sys_days(date) + hours(*h) + minutes(*mi) + seconds(*s) + *fraction - *zone;
  return WallTime(duration_cast<WallTime::duration>(utc.time_since_epoch()));
}

// ---- The record in a Lease ----

kube::Result<LeaderElectionRecord> recordFromLease(const kube::Json& lease) {
  if (!lease.is_object()) return decodeError("a Lease must be a JSON object, got " + lease.dump());
  const auto spec_it = lease.find("spec");
  const kube::Json spec = spec_it == lease.end() || spec_it->is_null() ? kube::Json::object() : *spec_it;
  if (!spec.is_object()) return decodeError("Lease spec is not an object: " + spec.dump());
  auto holder = stringField(spec, "holderIdentity");
  if (!holder) return std::move(holder).error();
  auto duration = intField(spec, "leaseDurationSeconds");
  if (!duration) return std::move(duration).error();
  auto acquired = timeField(spec, "acquireTime");
  if (!acquired) return std::move(acquired).error();
  auto renewed = timeField(spec, "renewTime");
  if (!renewed) return std::move(renewed).error();
  auto transitions = intField(spec, "leaseTransitions");
  if (!transitions) return std::move(transitions).error();
  return LeaderElectionRecord{.holder_identity = std::move(*holder),
                              .lease_duration_seconds = *duration,
                              .acquire_time = *acquired,
                              .renew_time = *renewed,
                              .lease_transitions = *transitions};
}

kube::Json leaseWithRecord(kube::Json lease, const LeaderElectionRecord& record) {
  kube::Json& spec = lease["spec"];
  if (!spec.is_object()) spec = kube::Json::object();
  spec["holderIdentity"] = record.holder_identity;
  spec["leaseDurationSeconds"] = record.lease_duration_seconds;
  spec["leaseTransitions"] = record.lease_transitions;
  const auto setTime = [&spec](const char* name, const std::optional<WallTime>& time) {
    if (time) {
      spec[name] = formatMicroTime(*time);
    } else {
      spec.erase(name);
    }
  };
  setTime("acquireTime", record.acquire_time);
  setTime("renewTime", record.renew_time);
  return lease;
}

kube::Json newLease(std::string_view ns, std::string_view name, const LeaderElectionRecord& record) {
  const kube::Json lease = {{"apiVersion", kLeases.apiVersion()},
                            {"kind", "Lease"},
                            {"metadata", {{"name", std::string(name)}, {"namespace", std::string(ns)}}}};
  return leaseWithRecord(lease, record);
}

// ---- Pure decisions ----

LeaseObservation observe(const std::optional<LeaseObservation>& previous, LeaderElectionRecord record, MonoTime now) {
  if (previous && previous->record == record) return {.record = std::move(record), .changed_at = previous->changed_at};
  return {.record = std::move(record), .changed_at = now};
}

bool leaseExpired(const LeaseObservation& observed, MonoTime now) {
  return now >= observed.changed_at + std::chrono::seconds(observed.record.lease_duration_seconds);
}

ElectionAction decideElection(const std::optional<LeaseObservation>& observed, MonoTime now,
                              std::string_view identity) {
  if (!observed) return ElectionAction::kCreate;
  const std::string& holder = observed->record.holder_identity;
  if (holder == identity) return ElectionAction::kRenew;
  if (holder.empty() || leaseExpired(*observed, now)) return ElectionAction::kAcquire;
  return ElectionAction::kWait;
}

LeaderElectionRecord nextRecord(const std::optional<LeaderElectionRecord>& current, std::string_view identity,
                                Duration lease_duration, WallTime now) {
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(lease_duration).count();
  LeaderElectionRecord next{.holder_identity = std::string(identity),
                            .lease_duration_seconds = static_cast<int>(std::min<std::int64_t>(seconds, INT_MAX)),
                            .acquire_time = now,
                            .renew_time = now,
                            .lease_transitions = 0};
  if (!current) return next;
  if (current->holder_identity == identity) {
    if (current->acquire_time) next.acquire_time = current->acquire_time;
    next.lease_transitions = current->lease_transitions;
  } else {
    next.lease_transitions = current->lease_transitions + 1;
  }
  return next;
}

LeaderElectionRecord releasedRecord(LeaderElectionRecord current) {
  current.holder_identity.clear();
  // client-go writes 1 rather than 0: a successor that reads the record takes it at once (no
  // holder), while tools that only look at the duration still see a valid, expiring lease.
  current.lease_duration_seconds = 1;
  return current;
}

bool renewDeadlinePassed(MonoTime last_renewed, MonoTime now, Duration renew_deadline) {
  return now - last_renewed >= renew_deadline;
}

Duration jitteredRetryPeriod(Duration retry_period, double random) {
  const auto stretched = std::chrono::duration<double>(retry_period) * (1.0 + kLeaderElectionJitter * random);
  return std::chrono::round<Duration>(stretched);
}

// ---- LeaderElector ----

std::unique_ptr<LeaseApi> leaseApiFor(kube::Client& client, std::string ns, std::string name) {
  return std::make_unique<ClientLeaseApi>(client, std::move(ns), std::move(name));
}

kube::Result<std::unique_ptr<LeaderElector>> LeaderElector::create(kube::Client& client, Clock& clock,
                                                                   LeaderElectionOptions options) {
  auto api = leaseApiFor(client, options.lease_namespace, options.lease_name);
  return create(std::move(api), clock, std::move(options));
}

kube::Result<std::unique_ptr<LeaderElector>> LeaderElector::create(std::unique_ptr<LeaseApi> api, Clock& clock,
                                                                   LeaderElectionOptions options) {
  if (auto valid = validate(options); !valid) return std::move(valid).error();
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(api), clock, std::move(options)));
}

std::string LeaderElector::observedLeader() const {
  std::lock_guard lock(mutex_);
  return observed_leader_;
}

bool LeaderElector::holdsLease() const {
  if (!leading_.load()) return false;
  std::lock_guard lock(mutex_);
  return !renewDeadlinePassed(renewed_at_, clock_.now(), options_.renew_deadline);
}

void LeaderElector::run(std::stop_token stop) {
  if (const auto acquired_at = acquire(stop)) lead(stop, *acquired_at);
}

std::optional<MonoTime> LeaderElector::acquire(std::stop_token stop) {
  while (!stop.stop_requested()) {
    const MonoTime started = clock_.now();
    if (tryAcquireOrRenew(started) == Attempt::kHeld) return started;
    const Duration wait = jitteredRetryPeriod(options_.retry_period, clock_.random());
    if (!sleepUntil(clock_, clock_.now() + wait, stop)) break;
  }
  return std::nullopt;
}

void LeaderElector::lead(std::stop_token stop, MonoTime acquired_at) {
  {
    std::lock_guard lock(mutex_);
    renewed_at_ = acquired_at;
  }
  term_lost_ = false;
  leading_ = true;
  std::stop_source term;
  {
    // The caller's stop ends the term as well, so everything below waits on the term alone.
    std::stop_callback forward(stop, [this, &term] { endTerm(term); });
    std::jthread watchdog([this, &term] { watchRenewDeadline(term); });
    std::jthread work;
    if (options_.on_started_leading) {
      work = std::jthread([this, token = term.get_token()] { options_.on_started_leading(token); });
    }
    renewUntilTermEnds(term.get_token());
    endTerm(term);
  }  // joins the work and the watchdog: the work has stopped before any release
  if (stop.stop_requested() && !term_lost_ && options_.release_on_cancel) release();
  if (options_.on_stopped_leading) options_.on_stopped_leading();
}

void LeaderElector::renewUntilTermEnds(std::stop_token term) {
  while (sleepUntil(clock_, clock_.now() + options_.retry_period, term)) {
    // The attempt's start, not its end, counts as the renewal: others may have seen the write
    // as early as that, so the deadline must run from there.
    const MonoTime started = clock_.now();
    switch (tryAcquireOrRenew(started)) {
      case Attempt::kHeld: {
        std::lock_guard lock(mutex_);
        renewed_at_ = started;
        break;
      }
      case Attempt::kHeldByOther:
        term_lost_ = true;  // someone else took it: no point waiting for the deadline
        return;
      case Attempt::kFailed:
        break;  // retried next period; the watchdog ends the term at the renew deadline
    }
  }
}

LeaderElector::Attempt LeaderElector::tryAcquireOrRenew(MonoTime now) {
  auto lease = api_->get();
  if (lease || lease.error().isNotFound()) lease_known_ = true;
  if (!lease) {
    if (!lease.error().isNotFound()) return failed("reading the Lease", lease.error());
    observed_.reset();
    return write(ElectionAction::kCreate);
  }
  auto record = recordFromLease(*lease);
  if (!record) return Attempt::kFailed;
  noteObserved(std::move(*record), std::move(*lease), now);
  const ElectionAction action = decideElection(observed_, now, options_.identity);
  if (action == ElectionAction::kWait) return Attempt::kHeldByOther;
  return write(action);
}

LeaderElector::Attempt LeaderElector::write(ElectionAction action) {
  const bool creating = action == ElectionAction::kCreate;
  const auto current = creating || !observed_ ? std::nullopt : std::optional(observed_->record);
  const LeaderElectionRecord next = nextRecord(current, options_.identity, options_.lease_duration, clock_.wallNow());
  // AlreadyExists or Conflict mean another candidate wrote first; anything else is retried too.
  auto written = creating ? api_->create(newLease(options_.lease_namespace, options_.lease_name, next))
                          : api_->update(leaseWithRecord(observed_lease_, next));
  // AlreadyExists or Conflict: another candidate wrote first, the ordinary course of an election.
  if (!written && (written.error().isAlreadyExists() || written.error().isConflict())) return Attempt::kFailed;
  if (!written) return failed(creating ? "creating the Lease" : "renewing the Lease", written.error());
  auto record = recordFromLease(*written);
  noteObserved(record ? std::move(*record) : next, std::move(*written), clock_.now());
  return Attempt::kHeld;
}

LeaderElector::Attempt LeaderElector::failed(std::string_view what, const kube::Error& error) const {
  options_.logger.warn("leader election: " + std::string(what) + " failed; trying again",
                       {{"lease", options_.lease_namespace + "/" + options_.lease_name}, {"error", error.message}});
  return Attempt::kFailed;
}

void LeaderElector::noteObserved(LeaderElectionRecord record, kube::Json lease, MonoTime now) {
  observed_ = observe(observed_, std::move(record), now);
  observed_lease_ = std::move(lease);
  const std::string& holder = observed_->record.holder_identity;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = holder != observed_leader_;
    if (changed) observed_leader_ = holder;
  }
  if (changed && !holder.empty() && options_.on_new_leader) options_.on_new_leader(holder);
}

void LeaderElector::watchRenewDeadline(std::stop_source& term) {
  const std::stop_token token = term.get_token();
  std::condition_variable_any cv;
  std::unique_lock lock(mutex_);
  while (!token.stop_requested()) {
    // Re-read each time: renewals move the deadline while this thread sleeps.
    if (renewDeadlinePassed(renewed_at_, clock_.now(), options_.renew_deadline)) {
      term_lost_ = true;
      lock.unlock();
      endTerm(term);
      return;
    }
    clock_.waitUntil(lock, cv, renewed_at_ + options_.renew_deadline, token);
  }
}

void LeaderElector::endTerm(std::stop_source& term) {
  // Cleared first, so that work woken by the stop already sees isLeader() == false.
  leading_ = false;
  term.request_stop();
}

void LeaderElector::release() {
  if (!observed_ || observed_->record.holder_identity != options_.identity) return;
  auto released = api_->update(leaseWithRecord(observed_lease_, releasedRecord(observed_->record)));
  if (!released) return;  // someone wrote in between: it is not ours to release any more
  auto record = recordFromLease(*released);
  if (record) noteObserved(std::move(*record), std::move(*released), clock_.now());
}

}  // namespace kube::runtime
