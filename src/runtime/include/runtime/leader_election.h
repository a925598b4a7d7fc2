// Leader election on a coordination.k8s.io/v1 Lease, interoperable with client-go's.
//
// Candidates poll the Lease every RetryPeriod (jittered). A candidate creates it when absent,
// takes it over when it names nobody or its holder has let it expire, and otherwise waits. The
// leader renews it every RetryPeriod and stops leading when it has not renewed for RenewDeadline,
// which is shorter than LeaseDuration so it stops before anyone else may start.
//
// Expiry follows client-go's clock discipline: a candidate never compares the record's renewTime
// with its own clock (the machines' clocks may disagree). It notes, on its own monotonic clock,
// when it saw the record change, and treats the lease as expired once leaseDurationSeconds pass
// without a change.
//
// The pure decisions (decideElection, nextRecord, releasedRecord, ...) are free functions, so
// tests can check them with exact times; LeaderElector runs them against the API server.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "kube/client.h"
#include "kube/result.h"
#include "runtime/clock.h"
#include "runtime/log.h"

namespace kube::runtime {

// client-go's defaults (as kube-controller-manager and kube-scheduler use them): a crashed
// leader is replaced within about 15 s, a leader survives 10 s of API-server trouble, and the
// Lease is written every 2 s.
inline constexpr Duration kDefaultLeaseDuration = std::chrono::seconds(15);
inline constexpr Duration kDefaultRenewDeadline = std::chrono::seconds(10);
inline constexpr Duration kDefaultRetryPeriod = std::chrono::seconds(2);
// client-go's JitterFactor: candidates wait RetryPeriod × [1, 2.2) between attempts, so those
// started together do not poll in lockstep.
inline constexpr double kLeaderElectionJitter = 1.2;

inline const kube::ResourceType kLeases{
    .group = "coordination.k8s.io", .version = "v1", .plural = "leases", .namespaced = true};

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. the pod name
  Duration lease_duration = kDefaultLeaseDuration;
  Duration renew_deadline = kDefaultRenewDeadline;
  Duration retry_period = kDefaultRetryPeriod;
  // On stop, hand the Lease back (holder cleared, 1 s duration) so a successor need not wait
  // out the lease. Only safe when the leader's work has really stopped, which run() ensures.
  bool release_on_cancel = true;

  // Runs on its own thread once this candidate leads. `leading` is stopped when leadership ends
  // (lost or run() stopped); the callback must then return promptly: run() waits for it before
  // releasing the Lease, so no two leaders' work ever overlaps through a release.
  std::function<void(std::stop_token leading)> on_started_leading;
  // After leadership ends and on_started_leading has returned. Not called if it never led.
  std::function<void()> on_stopped_leading;
  // When the observed holder changes to a non-empty identity (this one included). Called on the
  // election thread: keep it quick.
  std::function<void(const std::string& identity)> on_new_leader;
  // A Lease that cannot be read or written (say, RBAC refuses it) is logged here as a warning,
  // each failed attempt: otherwise a candidate would stand for election for ever in silence.
  Logger logger = defaultLogger().named("leader-election");
};

// Checks what client-go checks, naming the offending field: all durations > 0, lease_duration >
// renew_deadline > 1.2 × retry_period, non-empty identity, namespace and name.
kube::Result<void> validate(const LeaderElectionOptions& options);

// ---- The Lease record and MicroTime ----

// The fields of a LeaseSpec that election reads and writes.
struct LeaderElectionRecord {
  std::string holder_identity;  // empty: released, free to take
  int lease_duration_seconds = 0;
  std::optional<WallTime> acquire_time;
  std::optional<WallTime> renew_time;
  int lease_transitions = 0;

  bool operator==(const LeaderElectionRecord&) const = default;
};

// metav1.MicroTime as the API server writes it: RFC 3339 in UTC with exactly six fractional
// digits, e.g. "2026-01-02T03:04:05.000000Z". Sub-microsecond precision is truncated.
std::string formatMicroTime(WallTime time);
// RFC 3339: 'Z' or a ±hh:mm offset, with any number (0–9) of fractional digits.
kube::Result<WallTime> parseMicroTime(std::string_view text);

// The record in a Lease object's spec (missing fields take their zero values).
kube::Result<LeaderElectionRecord> recordFromLease(const kube::Json& lease);
// `lease` with its spec's election fields set from `record`; everything else (metadata with its
// resourceVersion, other spec fields) is kept.
kube::Json leaseWithRecord(kube::Json lease, const LeaderElectionRecord& record);
// A new Lease object for create.
kube::Json newLease(std::string_view ns, std::string_view name, const LeaderElectionRecord& record);

// ---- Pure decisions ----

// A candidate's knowledge of the Lease: the record it last read, and the local monotonic time
// at which it first saw that record (its last change, as far as this candidate can tell).
struct LeaseObservation {
  LeaderElectionRecord record;
  MonoTime changed_at;
};

// Folds a freshly read record into the observation: changed_at moves only when the record differs.
LeaseObservation observe(const std::optional<LeaseObservation>& previous, LeaderElectionRecord record, MonoTime now);

// True once the record has gone unchanged for its own leaseDurationSeconds, as measured on the
// local clock from `changed_at`. renewTime is deliberately not consulted.
bool leaseExpired(const LeaseObservation& observed, MonoTime now);

enum class ElectionAction {
  kCreate,   // there is no Lease: create one naming us
  kAcquire,  // it names nobody, or a holder that let it expire: write ourselves in
  kRenew,    // it names us: refresh renewTime
  kWait,     // another holder's lease is still valid
};

// `observed` is nullopt when the Lease does not exist.
ElectionAction decideElection(const std::optional<LeaseObservation>& observed, MonoTime now, std::string_view identity);

// The record to write when `identity` acquires or renews at `now`. Acquire time and transitions
// carry over on renewal; a change of holder stamps a new acquire time and counts a transition.
// The duration is rounded up to whole seconds so that others never wait less than configured.
LeaderElectionRecord nextRecord(const std::optional<LeaderElectionRecord>& current, std::string_view identity,
                                Duration lease_duration, WallTime now);

// What a leader writes when it steps down: no holder and a 1 s lease, the rest unchanged.
LeaderElectionRecord releasedRecord(LeaderElectionRecord current);

// Whether a leader whose last successful renewal started at `last_renewed` must stop leading.
bool renewDeadlinePassed(MonoTime last_renewed, MonoTime now, Duration renew_deadline);

// The wait before a candidate's next attempt: retry_period × (1 + 1.2 × random), random in [0, 1).
Duration jitteredRetryPeriod(Duration retry_period, double random);

// ---- Running an election ----

// The three calls election makes on its Lease. An interface so that tests can stand in for the
// API server; leaseApiFor() is the real one.
class LeaseApi {
 public:
  virtual ~LeaseApi() = default;
  virtual kube::Result<kube::Json> get() = 0;
  virtual kube::Result<kube::Json> create(const kube::Json& lease) = 0;
  // A PUT carrying the object's resourceVersion: a stale one fails with isConflict().
  virtual kube::Result<kube::Json> update(const kube::Json& lease) = 0;
};

// The Lease `ns`/`name` through `client`, which must outlive the returned object.
std::unique_ptr<LeaseApi> leaseApiFor(kube::Client& client, std::string ns, std::string name);

// Thread safety: run() is called from one thread at a time (it may be called again after it
// returns, to stand again). isLeader() and observedLeader() may be called from any thread.
// Callbacks run as described on LeaderElectionOptions.
class LeaderElector {
 public:
  // Validates the options. `client` and `clock` must outlive the elector.
  static kube::Result<std::unique_ptr<LeaderElector>> create(kube::Client& client, Clock& clock,
                                                             LeaderElectionOptions options);
  static kube::Result<std::unique_ptr<LeaderElector>> create(std::unique_ptr<LeaseApi> api, Clock& clock,
                                                             LeaderElectionOptions options);

  // Stands for election until `stop` is requested, or until leadership, once won, is lost: a
  // leader that lost the Lease may hold stale state, so the caller decides whether to stand again
  // (client-go's callers usually exit). On stop, a leader's work is stopped first and then, with
  // release_on_cancel, the Lease is released.
  void run(std::stop_token stop);

  bool isLeader() const { return leading_.load(); }
  // Stricter than isLeader(), for gating writes: false as soon as the renew deadline has passed
  // on the clock, even before the watchdog thread has woken to end the term. Others may take the
  // Lease lease_duration after our last renewal; stopping writes at the renew deadline leaves
  // lease_duration - renew_deadline (5 s by default) for a write already in flight to land.
  bool holdsLease() const;
  // Whether the Lease has been read (or found absent) at least once, so that isLeader() is an
  // answer rather than a default: /readyz waits for this.
  bool leadershipKnown() const { return lease_known_.load(); }
  // The holder named by the last record read, empty if none.
  std::string observedLeader() const;

 private:
  enum class Attempt { kHeld, kHeldByOther, kFailed };

  LeaderElector(std::unique_ptr<LeaseApi> api, Clock& clock, LeaderElectionOptions options)
      : api_(std::move(api)), clock_(clock), options_(std::move(options)) {}

  // The start time of the attempt that won the Lease, or nullopt when stopped first.
  std::optional<MonoTime> acquire(std::stop_token stop);
  void lead(std::stop_token stop, MonoTime acquired_at);
  void renewUntilTermEnds(std::stop_token term);
  Attempt tryAcquireOrRenew(MonoTime now);
  Attempt write(ElectionAction action);
  // Logs why an attempt failed (a Lease refused or unreachable), and says it failed.
  Attempt failed(std::string_view what, const kube::Error& error) const;
  void noteObserved(LeaderElectionRecord record, kube::Json lease, MonoTime now);
  void watchRenewDeadline(std::stop_source& term);
  void endTerm(std::stop_source& term);
  void release();

  std::unique_ptr<LeaseApi> api_;
  Clock& clock_;
  const LeaderElectionOptions options_;

  // Touched by the run() thread only.
  std::optional<LeaseObservation> observed_;
  kube::Json observed_lease_;  // the object last read or written, for its resourceVersion

  std::atomic<bool> leading_ = false;
  std::atomic<bool> lease_known_ = false;
  std::atomic<bool> term_lost_ = false;  // the current term ended by deadline or takeover
  mutable std::mutex mutex_;
  std::string observed_leader_;  // guarded by mutex_
  MonoTime renewed_at_{};        // guarded by mutex_: start of the last successful write
};

}  // namespace kube::runtime
