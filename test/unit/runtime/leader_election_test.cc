#include "runtime/leader_election.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;
using ::testing::HasSubstr;

constexpr auto kBound = 5s;  // real time allowed for another thread to react; reached only on bugs

WallTime wallAt(std::chrono::sys_days day, Duration time_of_day = {}) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(day.time_since_epoch() + time_of_day));
}

LeaderElectionOptions validOptions() {
  return {.lease_namespace = "kube-system", .lease_name = "aphex", .identity = "me"};
}

// ---- Options ----

TEST(LeaderElectionOptions, DefaultsAreClientGosAndValid) {
  const LeaderElectionOptions options = validOptions();
  EXPECT_EQ(options.lease_duration, 15s);
  EXPECT_EQ(options.renew_deadline, 10s);
  EXPECT_EQ(options.retry_period, 2s);
  EXPECT_TRUE(options.release_on_cancel);
  EXPECT_TRUE(validate(options));
}

TEST(LeaderElectionOptions, ValidationNamesTheOffendingField) {
  auto expectInvalid = [](LeaderElectionOptions options, const std::string& field) {
    auto valid = validate(options);
    ASSERT_FALSE(valid) << field;
    EXPECT_THAT(valid.error().message, HasSubstr(field));
    EXPECT_EQ(valid.error().kind, kube::ErrorKind::kInvalidConfig);
  };
  auto options = validOptions();
  options.identity = "";
  expectInvalid(options, "identity");
  options = validOptions();
  options.lease_namespace = "";
  expectInvalid(options, "lease_namespace");
  options = validOptions();
  options.lease_name = "";
  expectInvalid(options, "lease_name");
  options = validOptions();
  options.retry_period = 0s;
  expectInvalid(options, "retry_period");
  options = validOptions();
  options.lease_duration = -1s;
  expectInvalid(options, "lease_duration");
  options = validOptions();
  options.renew_deadline = 15s;
  expectInvalid(options, "lease_duration (15s) must be greater than renew_deadline (15s)");
  options = validOptions();
  options.renew_deadline = 2400ms;
  expectInvalid(options, "renew_deadline (2.4s) must be greater than 1.2 × retry_period (2s)");
  options.renew_deadline = 2401ms;
  EXPECT_TRUE(validate(options));
}

TEST(LeaderElector, RefusesInvalidOptions) {
  FakeClock clock;
  auto options = validOptions();
  options.identity = "";
  auto elector = LeaderElector::create(nullptr, clock, options);
  ASSERT_FALSE(elector);
  EXPECT_THAT(elector.error().message, HasSubstr("identity"));
}

// ---- MicroTime ----

TEST(MicroTime, FormatsAsRfc3339WithExactlySixFractionalDigitsInUtc) {
  using namespace std::chrono;
  const auto day = sys_days(2026y / January / 2);
  EXPECT_EQ(formatMicroTime(wallAt(day, 3h + 4min + 5s)), "2026-01-02T03:04:05.000000Z");
  EXPECT_EQ(formatMicroTime(wallAt(day, 23h + 59min + 59s + 123456789ns)), "2026-01-02T23:59:59.123456Z")
      << "sub-microsecond digits are truncated, not rounded";
  EXPECT_EQ(formatMicroTime(wallAt(sys_days(1970y / January / 1), -1us)), "1969-12-31T23:59:59.999999Z");
}

TEST(MicroTime, ParsesWhatItFormats) {
  using namespace std::chrono;
  const WallTime time = wallAt(sys_days(2031y / July / 15), 12h + 30min + 7s + 654321us);
  auto parsed = parseMicroTime(formatMicroTime(time));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, time);
}

TEST(MicroTime, ParsesOtherRfc3339Forms) {
  using namespace std::chrono;
  const auto day = sys_days(2026y / January / 2);
  auto expectParses = [](const std::string& text, WallTime expected) {
    auto parsed = parseMicroTime(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, expected) << text;
  };
  expectParses("2026-01-02T03:04:05Z", wallAt(day, 3h + 4min + 5s));
  expectParses("2026-01-02t03:04:05.5z", wallAt(day, 3h + 4min + 5s + 500ms));
  expectParses("2026-01-02T03:04:05.123456789Z", wallAt(day, 3h + 4min + 5s + 123456789ns));
  expectParses("2026-01-02T04:34:05+01:30", wallAt(day, 3h + 4min + 5s));
  expectParses("2026-01-01T23:04:05-04:00", wallAt(day, 3h + 4min + 5s));
}

TEST(MicroTime, RejectsMalformedTimes) {
  for (const char* text : {"", "2026-01-02", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05.Z",
                           "2026-01-02T03:04:05.1234567890Z", "2026-13-02T03:04:05Z", "2026-02-30T03:04:05Z",
                           "2026-01-02T24:00:00Z", "2026-01-02T03:04:05Zjunk", "2026-01-02T03:04:05+0100",
                           "2026-01-02T03:04:05:00Z", "26-01-02T03:04:05Z"}) {
    auto parsed = parseMicroTime(text);
    EXPECT_FALSE(parsed) << '"' << text << "\" parsed";
    if (!parsed) {
      EXPECT_THAT(parsed.error().message, HasSubstr(text));
    }
  }
}

// ---- The record in a Lease ----

TEST(LeaseRecord, RoundTripsThroughALeaseKeepingEverythingElse) {
  const kube::Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                            {"kind", "Lease"},
                            {"metadata", {{"name", "aphex"}, {"resourceVersion", "42"}}},
                            {"spec", {{"holderIdentity", "old"}, {"strategy", "OldestEmulationVersion"}}}};
  const LeaderElectionRecord record{.holder_identity = "me",
                                    .lease_duration_seconds = 15,
                                    .acquire_time = wallAt(std::chrono::sys_days(std::chrono::year(2026) / 1 / 2)),
                                    .renew_time = wallAt(std::chrono::sys_days(std::chrono::year(2026) / 1 / 3)),
                                    .lease_transitions = 3};
  const kube::Json written = leaseWithRecord(lease, record);
  EXPECT_EQ(written["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(written["spec"]["strategy"], "OldestEmulationVersion");
  EXPECT_EQ(written["spec"]["holderIdentity"], "me");
  EXPECT_EQ(written["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(written["spec"]["acquireTime"], "2026-01-02T00:00:00.000000Z");
  EXPECT_EQ(written["spec"]["renewTime"], "2026-01-03T00:00:00.000000Z");
  EXPECT_EQ(written["spec"]["leaseTransitions"], 3);
  auto read = recordFromLease(written);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, record);
}

TEST(LeaseRecord, MissingFieldsReadAsZeroValues) {
  auto read = recordFromLease({{"metadata", {{"name", "x"}}}});
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, LeaderElectionRecord{});
}

TEST(LeaseRecord, AMalformedFieldIsAnErrorNamingIt) {
  auto bad_time = recordFromLease({{"spec", {{"renewTime", "yesterday"}}}});
  ASSERT_FALSE(bad_time);
  EXPECT_THAT(bad_time.error().message, HasSubstr("spec.renewTime"));
  auto bad_duration = recordFromLease({{"spec", {{"leaseDurationSeconds", "15"}}}});
  ASSERT_FALSE(bad_duration);
  EXPECT_THAT(bad_duration.error().message, HasSubstr("spec.leaseDurationSeconds"));
  auto too_large = recordFromLease({{"spec", {{"leaseTransitions", 1LL << 40}}}});
  ASSERT_FALSE(too_large);
  EXPECT_THAT(too_large.error().message, HasSubstr("spec.leaseTransitions"));
}

TEST(LeaseRecord, ANewLeaseIsACompleteCoordinationV1Object) {
  const kube::Json lease = newLease("ns", "name", {.holder_identity = "me", .lease_duration_seconds = 15});
  EXPECT_EQ(lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lease["kind"], "Lease");
  EXPECT_EQ(lease["metadata"]["name"], "name");
  EXPECT_EQ(lease["metadata"]["namespace"], "ns");
  EXPECT_EQ(lease["spec"]["holderIdentity"], "me");
  EXPECT_FALSE(lease["spec"].contains("renewTime"));
}

// ---- Decisions ----

class ElectionDecision : public ::testing::Test {
 protected:
  FakeClock clock_;
  // Another holder's record whose renewTime is years in the past by this machine's clock.
  LeaderElectionRecord others_ = {.holder_identity = "other",
                                  .lease_duration_seconds = 15,
                                  .acquire_time = wallAt(std::chrono::sys_days(std::chrono::year(2001) / 1 / 1)),
                                  .renew_time = wallAt(std::chrono::sys_days(std::chrono::year(2001) / 1 / 1)),
                                  .lease_transitions = 4};
};

TEST_F(ElectionDecision, AnAbsentLeaseIsCreated) {
  EXPECT_EQ(decideElection(std::nullopt, clock_.now(), "me"), ElectionAction::kCreate);
}

TEST_F(ElectionDecision, OurOwnLeaseIsRenewed) {
  LeaderElectionRecord ours = others_;
  ours.holder_identity = "me";
  EXPECT_EQ(decideElection(observe(std::nullopt, ours, clock_.now()), clock_.now() + 1h, "me"), ElectionAction::kRenew);
}

TEST_F(ElectionDecision, AReleasedLeaseIsTakenAtOnce) {
  const auto observed = observe(std::nullopt, releasedRecord(others_), clock_.now());
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kAcquire);
}

TEST_F(ElectionDecision, ExpiryIsJudgedFromLocalObservationNotFromRenewTime) {
  // renewTime is 25 years old, yet the record was first seen now: it is valid for 15 s more.
  const auto observed = observe(std::nullopt, others_, clock_.now());
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kWait);
  clock_.advance(15s - 1ns);
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kWait);
  clock_.advance(1ns);
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kAcquire);
}

TEST_F(ElectionDecision, ARenewTimeInTheFutureDoesNotKeepAnUnchangedLeaseAlive) {
  others_.renew_time = clock_.wallNow() + 24h;  // the holder's clock runs a day ahead
  const auto observed = observe(std::nullopt, others_, clock_.now());
  clock_.advance(15s);
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kAcquire);
}

TEST_F(ElectionDecision, EveryChangeOfTheRecordRestartsTheExpiryClock) {
  auto observed = observe(std::nullopt, others_, clock_.now());
  clock_.advance(10s);
  observed = observe(observed, others_, clock_.now());  // unchanged: the clock keeps running
  EXPECT_EQ(observed.changed_at, clock_.now() - 10s);
  others_.renew_time = *others_.renew_time + 10s;      // renewed: judged from now on
  observed = observe(observed, others_, clock_.now());
  EXPECT_EQ(observed.changed_at, clock_.now());
  clock_.advance(10s);
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kWait);
  clock_.advance(5s);
  EXPECT_EQ(decideElection(observed, clock_.now(), "me"), ElectionAction::kAcquire);
}

TEST_F(ElectionDecision, ALeaseWithoutADurationHasExpired) {
  others_.lease_duration_seconds = 0;
  EXPECT_EQ(decideElection(observe(std::nullopt, others_, clock_.now()), clock_.now(), "me"), ElectionAction::kAcquire);
}

TEST_F(ElectionDecision, CreatingStartsAtZeroTransitions) {
  const auto record = nextRecord(std::nullopt, "me", 15s, clock_.wallNow());
  EXPECT_EQ(record.holder_identity, "me");
  EXPECT_EQ(record.lease_duration_seconds, 15);
  EXPECT_EQ(record.acquire_time, clock_.wallNow());
  EXPECT_EQ(record.renew_time, clock_.wallNow());
  EXPECT_EQ(record.lease_transitions, 0);
}

TEST_F(ElectionDecision, RenewalKeepsAcquireTimeAndTransitions) {
  const auto acquired = nextRecord(others_, "me", 15s, clock_.wallNow());
  clock_.advance(2s);
  const auto renewed = nextRecord(acquired, "me", 15s, clock_.wallNow());
  EXPECT_EQ(renewed.acquire_time, acquired.acquire_time);
  EXPECT_EQ(renewed.renew_time, clock_.wallNow());
  EXPECT_EQ(renewed.lease_transitions, acquired.lease_transitions);
}

TEST_F(ElectionDecision, ATakeOverCountsATransitionAndStampsANewAcquireTime) {
  const auto record = nextRecord(others_, "me", 15s, clock_.wallNow());
  EXPECT_EQ(record.lease_transitions, 5);
  EXPECT_EQ(record.acquire_time, clock_.wallNow());
  const auto after_release = nextRecord(releasedRecord(record), "other", 15s, clock_.wallNow());
  EXPECT_EQ(after_release.lease_transitions, 6);
}

TEST_F(ElectionDecision, AFractionalLeaseDurationIsRoundedUpSoOthersNeverWaitLess) {
  EXPECT_EQ(nextRecord(std::nullopt, "me", 2500ms, clock_.wallNow()).lease_duration_seconds, 3);
}

TEST_F(ElectionDecision, ReleasingClearsTheHolderAndShortensTheLeaseKeepingTheRest) {
  const auto released = releasedRecord(others_);
  EXPECT_EQ(released.holder_identity, "");
  EXPECT_EQ(released.lease_duration_seconds, 1);
  EXPECT_EQ(released.acquire_time, others_.acquire_time);
  EXPECT_EQ(released.renew_time, others_.renew_time);
  EXPECT_EQ(released.lease_transitions, others_.lease_transitions);
}

TEST_F(ElectionDecision, ALeaderStopsExactlyAtTheRenewDeadline) {
  const MonoTime renewed = clock_.now();
  EXPECT_FALSE(renewDeadlinePassed(renewed, renewed + 10s - 1ns, 10s));
  EXPECT_TRUE(renewDeadlinePassed(renewed, renewed + 10s, 10s));
}

TEST_F(ElectionDecision, RetriesAreJitteredUpTo2Point2TimesTheRetryPeriod) {
  EXPECT_EQ(jitteredRetryPeriod(2s, 0.0), 2s);
  EXPECT_EQ(jitteredRetryPeriod(2s, 0.5), 3200ms);
  EXPECT_LT(jitteredRetryPeriod(2s, 0.9999), 4400ms);
}

// ---- The election loop against a scripted API server ----

kube::Error apiError(int code, const std::string& reason) {
  return kube::Error{.kind = kube::ErrorKind::kApi,
                     .message = reason,
                     .status = kube::ApiStatus{.code = code, .reason = reason, .message = reason, .details = nullptr}};
}

// An in-memory Lease with the API server's optimistic concurrency.
struct FakeLeaseServer {
  std::mutex mutex;
  std::optional<kube::Json> lease;
  int resource_version = 0;
  int gets = 0;
  int updates = 0;
  bool fail_writes = false;  // as if the API server were unreachable for writes

  kube::Json stored(kube::Json object) {
    object["metadata"]["resourceVersion"] = std::to_string(++resource_version);
    lease = object;
    return object;
  }
  kube::Json current() {
    std::lock_guard lock(mutex);
    return lease.value_or(kube::Json());
  }
  void setSpec(const std::string& field, kube::Json value) {
    std::lock_guard lock(mutex);
    kube::Json changed = *lease;
    changed["spec"][field] = std::move(value);
    stored(changed);
  }
};

class FakeLeaseApi final : public LeaseApi {
 public:
  explicit FakeLeaseApi(FakeLeaseServer& server) : server_(server) {}
  kube::Result<kube::Json> get() override {
    std::lock_guard lock(server_.mutex);
    ++server_.gets;
    if (!server_.lease) return apiError(404, "NotFound");
    return *server_.lease;
  }
  kube::Result<kube::Json> create(const kube::Json& lease) override {
    std::lock_guard lock(server_.mutex);
    if (server_.fail_writes) return apiError(503, "ServiceUnavailable");
    if (server_.lease) return apiError(409, "AlreadyExists");
    return server_.stored(lease);
  }
  kube::Result<kube::Json> update(const kube::Json& lease) override {
    std::lock_guard lock(server_.mutex);
    ++server_.updates;
    if (server_.fail_writes) return apiError(503, "ServiceUnavailable");
    if (!server_.lease) return apiError(404, "NotFound");
    if (lease["metadata"]["resourceVersion"] != (*server_.lease)["metadata"]["resourceVersion"]) {
      return apiError(409, "Conflict");
    }
    return server_.stored(lease);
  }

 private:
  FakeLeaseServer& server_;
};

// Runs an elector on a FakeClock. Time only moves when a test calls nextPoll(), which first
// waits until the elector has made its previous poll and gone back to sleep, so each advance
// lands on a known schedule: with random() == 0 candidates poll exactly every retry_period.
class ElectionLoop : public ::testing::Test {
 protected:
  ElectionLoop() { clock_.setRandom(0.0); }
  ~ElectionLoop() override {
    // Joined here, before the members its callbacks use are destroyed.
    if (runner_.joinable()) {
      runner_.request_stop();
      runner_.join();
    }
  }

  void start(bool release_on_cancel = true) {
    auto options = validOptions();
    options.release_on_cancel = release_on_cancel;
    options.on_started_leading = [this](std::stop_token leading) {
      started_ = true;
      // Runs inside request_stop(), so it sees the state at the very moment of the stop.
      std::stop_callback on_stop(leading, [this] { work_saw_leader_after_stop_ = isLeaderNow(); });
      std::mutex mutex;
      std::condition_variable_any cv;
      std::unique_lock lock(mutex);
      cv.wait(lock, leading, [] { return false; });
      work_stopped_ = true;
    };
    options.on_stopped_leading = [this] {
      stopped_work_first_ = work_stopped_.load();
      ++stopped_calls_;
    };
    options.on_new_leader = [this](const std::string& identity) {
      std::lock_guard lock(mutex_);
      new_leaders_.push_back(identity);
    };
    options.logger = Logger({.level = LogLevel::kInfo, .sink = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      log_ += std::string(line) + "\n";
    }});
    auto elector = LeaderElector::create(std::make_unique<FakeLeaseApi>(server_), clock_, options);
    ASSERT_TRUE(elector) << elector.error().message;
    elector_ = std::move(*elector);
    runner_ = std::jthread([this](std::stop_token stop) {
      elector_->run(stop);
      returned_ = true;
    });
  }

  bool isLeaderNow() const { return elector_->isLeader(); }

  static bool eventually(const std::function<bool()>& condition) {
    const MonoTime deadline = realClock().now() + kBound;
    while (!condition()) {
      if (realClock().now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  int gets() {
    std::lock_guard lock(server_.mutex);
    return server_.gets;
  }

  // Waits until the elector has made its next poll (the first happens at once, each later one
  // after an advance) and gone back to sleep. While leading, the deadline watchdog is a second
  // sleeper.
  void awaitPoll() {
    ++polls_;
    const int sleepers = isLeaderNow() ? 2 : 1;
    ASSERT_TRUE(eventually([&] { return gets() >= polls_ && clock_.waiters() >= sleepers; }))
        << "poll " << polls_ << " did not happen; gets=" << gets();
    ASSERT_EQ(gets(), polls_) << "the elector polled more often than every retry period";
  }

  // awaitPoll(), then moves the clock one retry period on, which triggers the next poll.
  void nextPoll() {
    ASSERT_NO_FATAL_FAILURE(awaitPoll());
    clock_.advance(2s);
  }

  void stop() {
    runner_.request_stop();
    ASSERT_TRUE(eventually([&] { return returned_.load(); })) << "run() did not return after stop";
    runner_.join();
  }

  FakeClock clock_;
  FakeLeaseServer server_;
  std::unique_ptr<LeaderElector> elector_;
  std::jthread runner_;
  int polls_ = 0;
  std::atomic<bool> returned_ = false;
  std::atomic<bool> started_ = false;
  std::atomic<bool> work_stopped_ = false;
  std::atomic<bool> work_saw_leader_after_stop_ = true;
  std::atomic<bool> stopped_work_first_ = false;
  std::atomic<int> stopped_calls_ = 0;
  std::mutex mutex_;
  std::vector<std::string> new_leaders_;  // guarded by mutex_
  std::string log_;                       // guarded by mutex_

  std::string log() {
    std::lock_guard lock(mutex_);
    return log_;
  }
};

TEST_F(ElectionLoop, ACandidateCreatesAnAbsentLeaseAndLeads) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow() && started_; }));
  const kube::Json spec = server_.current()["spec"];
  EXPECT_EQ(spec["holderIdentity"], "me");
  EXPECT_EQ(spec["leaseDurationSeconds"], 15);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  EXPECT_EQ(spec["renewTime"], formatMicroTime(clock_.wallNow()));
  EXPECT_EQ(elector_->observedLeader(), "me");
  std::lock_guard lock(mutex_);
  EXPECT_EQ(new_leaders_, std::vector<std::string>{"me"});
}

TEST_F(ElectionLoop, TheLeaderRenewsEveryRetryPeriodKeepingItsAcquireTime) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  const kube::Json acquired = server_.current()["spec"];
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(nextPoll());
  // The third advance put the clock at 6 s; the renewal it triggered writes that time.
  ASSERT_TRUE(eventually([&] { return server_.current()["spec"]["renewTime"] == formatMicroTime(clock_.wallNow()); }));
  EXPECT_EQ(gets(), 4);
  const kube::Json renewed = server_.current()["spec"];
  EXPECT_EQ(renewed["acquireTime"], acquired["acquireTime"]);
  EXPECT_EQ(renewed["leaseTransitions"], 0);
  EXPECT_TRUE(isLeaderNow());
}

TEST_F(ElectionLoop, AFollowerWaitsOutTheLeaseOnItsOwnClockThoughRenewTimeIsAncient) {
  server_.stored(newLease("kube-system", "aphex",
                          {.holder_identity = "other",
                           .lease_duration_seconds = 15,
                           .acquire_time = wallAt(std::chrono::sys_days(std::chrono::year(2001) / 1 / 1)),
                           .renew_time = wallAt(std::chrono::sys_days(std::chrono::year(2001) / 1 / 1)),
                           .lease_transitions = 2}));
  start();
  // Polls at 0, 2, …, 14 s see the same record: 15 s have not passed since it was first seen.
  for (int i = 0; i < 7; ++i) ASSERT_NO_FATAL_FAILURE(nextPoll());
  ASSERT_NO_FATAL_FAILURE(awaitPoll());
  EXPECT_FALSE(isLeaderNow());
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "other");
  EXPECT_EQ(elector_->observedLeader(), "other");
  // The poll at 16 s finds it expired.
  clock_.advance(2s);
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  EXPECT_EQ(gets(), 9);
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "me");
  EXPECT_EQ(server_.current()["spec"]["leaseTransitions"], 3);
}

TEST_F(ElectionLoop, AFollowerNeverTakesOverWhileTheHolderKeepsRenewing) {
  server_.stored(newLease("kube-system", "aphex", nextRecord(std::nullopt, "other", 15s, clock_.wallNow())));
  start();
  for (int i = 0; i < 20; ++i) {
    ASSERT_NO_FATAL_FAILURE(nextPoll());
    if (i % 5 == 4) server_.setSpec("renewTime", formatMicroTime(clock_.wallNow()));  // renewed every 10 s
  }
  ASSERT_NO_FATAL_FAILURE(awaitPoll());
  EXPECT_FALSE(isLeaderNow());
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "other");
}

TEST_F(ElectionLoop, TheLeaderStopsLeadingWhenItCannotRenewWithinTheRenewDeadline) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  {
    std::lock_guard lock(server_.mutex);
    server_.fail_writes = true;
  }
  // Renewals at 2, 4, 6 and 8 s fail; the deadline is 10 s after the acquiring attempt.
  for (int i = 0; i < 4; ++i) ASSERT_NO_FATAL_FAILURE(nextPoll());
  ASSERT_NO_FATAL_FAILURE(awaitPoll());
  EXPECT_TRUE(isLeaderNow()) << "gave up before the renew deadline";
  EXPECT_FALSE(work_stopped_);
  clock_.advance(2s);
  ASSERT_TRUE(eventually([&] { return returned_.load(); })) << "run() did not return after losing the lease";
  EXPECT_FALSE(isLeaderNow());
  EXPECT_TRUE(work_stopped_);
  EXPECT_FALSE(work_saw_leader_after_stop_);
  EXPECT_EQ(stopped_calls_, 1);
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "me") << "a leader that lost the lease must not release it";
  EXPECT_THAT(log(), HasSubstr("renewing the Lease failed")) << "each failed renewal says why";
  EXPECT_THAT(log(), HasSubstr("kube-system/aphex"));
}

// The write gate's predicate: false the moment the renew deadline passes on the clock, without
// waiting for the watchdog thread to wake and end the term.
TEST_F(ElectionLoop, HoldsLeaseEndsExactlyAtTheRenewDeadline) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  EXPECT_TRUE(elector_->holdsLease());
  {
    std::lock_guard lock(server_.mutex);
    server_.fail_writes = true;
  }
  for (int i = 0; i < 4; ++i) ASSERT_NO_FATAL_FAILURE(nextPoll());
  ASSERT_NO_FATAL_FAILURE(awaitPoll());
  EXPECT_TRUE(elector_->holdsLease()) << "8 s after the last renewal, within the 10 s deadline";
  clock_.advance(2s);
  EXPECT_FALSE(elector_->holdsLease()) << "checked at once, before the watchdog can have run";
  ASSERT_TRUE(eventually([&] { return returned_.load(); }));
  EXPECT_FALSE(elector_->holdsLease());
}

TEST_F(ElectionLoop, ACandidateDoesNotHoldTheLease) {
  server_.stored(newLease("kube-system", "aphex", nextRecord(std::nullopt, "other", 15s, clock_.wallNow())));
  start();
  ASSERT_NO_FATAL_FAILURE(awaitPoll());
  EXPECT_FALSE(elector_->holdsLease());
}

TEST_F(ElectionLoop, TheLeaderStopsAtOnceWhenItFindsAnotherHolder) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  server_.setSpec("holderIdentity", "thief");
  ASSERT_NO_FATAL_FAILURE(nextPoll());
  ASSERT_TRUE(eventually([&] { return returned_.load(); }));
  EXPECT_FALSE(isLeaderNow());
  EXPECT_EQ(stopped_calls_, 1);
  EXPECT_EQ(elector_->observedLeader(), "thief");
  std::lock_guard lock(mutex_);
  EXPECT_EQ(new_leaders_, (std::vector<std::string>{"me", "thief"}));
}

TEST_F(ElectionLoop, StoppingTheLeaderStopsItsWorkThenReleasesTheLease) {
  start();
  ASSERT_TRUE(eventually([&] { return isLeaderNow() && started_; }));
  const kube::Json before = server_.current()["spec"];
  ASSERT_NO_FATAL_FAILURE(stop());
  EXPECT_FALSE(isLeaderNow());
  EXPECT_TRUE(work_stopped_);
  EXPECT_FALSE(work_saw_leader_after_stop_) << "work woken by the stop must see isLeader() == false";
  EXPECT_TRUE(stopped_work_first_) << "on_stopped_leading ran before the work had returned";
  EXPECT_EQ(stopped_calls_, 1);
  const kube::Json after = server_.current()["spec"];
  EXPECT_EQ(after["holderIdentity"], "");
  EXPECT_EQ(after["leaseDurationSeconds"], 1);
  EXPECT_EQ(after["acquireTime"], before["acquireTime"]);
  EXPECT_EQ(after["renewTime"], before["renewTime"]);
  EXPECT_EQ(after["leaseTransitions"], before["leaseTransitions"]);
}

TEST_F(ElectionLoop, WithoutReleaseOnCancelAStoppedLeaderLeavesTheLeaseToExpire) {
  start(/*release_on_cancel=*/false);
  ASSERT_TRUE(eventually([&] { return isLeaderNow(); }));
  ASSERT_NO_FATAL_FAILURE(stop());
  EXPECT_FALSE(isLeaderNow());
  EXPECT_EQ(stopped_calls_, 1);
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "me");
  EXPECT_EQ(server_.current()["spec"]["leaseDurationSeconds"], 15);
}

TEST_F(ElectionLoop, ACandidateStoppedBeforeWinningNeverCallsTheLeadershipCallbacks) {
  server_.stored(newLease("kube-system", "aphex", nextRecord(std::nullopt, "other", 15s, clock_.wallNow())));
  start();
  ASSERT_NO_FATAL_FAILURE(nextPoll());
  ASSERT_NO_FATAL_FAILURE(stop());
  EXPECT_FALSE(started_);
  EXPECT_EQ(stopped_calls_, 0);
  EXPECT_EQ(server_.current()["spec"]["holderIdentity"], "other");
}

}  // namespace
}  // namespace kube::runtime
