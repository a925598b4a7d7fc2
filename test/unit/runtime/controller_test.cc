#include "runtime/controller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/informer.h"
#include "support/fake_clock.h"
#include "support/fake_kube.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

TEST(Request, RoundTripsThroughItsKey) {
  EXPECT_EQ(Request::fromKey("team/app"), (Request{.ns = "team", .name = "app"}));
  EXPECT_EQ(Request::fromKey("cluster-wide"), (Request{.ns = "", .name = "cluster-wide"}));
  EXPECT_EQ((Request{.ns = "team", .name = "app"}).key(), "team/app");
}

class ApplyOutcome : public ::testing::Test {
 protected:
  FakeClock clock_;
  Workqueue queue_{clock_};
};

TEST_F(ApplyOutcome, DoneForgetsTheFailureHistory) {
  queue_.addRateLimited("k");
  EXPECT_EQ(queue_.retries("k"), 1);
  EXPECT_EQ(applyOutcome(queue_, "k", Done{}), "success");
  EXPECT_EQ(queue_.retries("k"), 0);
}

TEST_F(ApplyOutcome, RetryBacksOffPerKey) {
  EXPECT_EQ(applyOutcome(queue_, "k", Retry{"transient"}), "error");
  EXPECT_EQ(applyOutcome(queue_, "k", Retry{"transient"}), "error");
  EXPECT_EQ(queue_.retries("k"), 2);
}

TEST_F(ApplyOutcome, RequeueAfterAddsTheKeyOnlyOnceTheDelayHasPassed) {
  EXPECT_EQ(applyOutcome(queue_, "k", RequeueAfter{5min}), "requeue_after");
  EXPECT_EQ(queue_.len(), 0U);
  clock_.advance(5min);
  auto item = queue_.get();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->key(), "k");
}

TEST_F(ApplyOutcome, TerminalIsNotRetried) {
  EXPECT_EQ(applyOutcome(queue_, "k", Terminal{"bad input"}), "error");
  EXPECT_EQ(queue_.retries("k"), 0);
  clock_.advance(1h);
  EXPECT_EQ(queue_.len(), 0U);
}

TEST_F(ApplyOutcome, TerminalWithARecheckComesBackAfterItWithoutBackoff) {
  EXPECT_EQ(applyOutcome(queue_, "k", Terminal{.reason = "name taken", .recheck = 10s}), "error");
  EXPECT_EQ(queue_.retries("k"), 0) << "no backoff";
  clock_.advance(9s);
  EXPECT_EQ(queue_.len(), 0U);
  clock_.advance(1s);
  auto item = queue_.get();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->key(), "k");
}

// Runs a Controller on a FakeClock with metrics and a captured log.
class ControllerRun : public ::testing::Test {
 protected:
  ~ControllerRun() override {
    if (runner_.joinable()) {
      runner_.request_stop();
      runner_.join();
    }
  }

  void start(Reconciler reconciler, std::function<void()> on_reconciled = {}) {
    Logger logger({.level = LogLevel::kInfo, .sink = [this](std::string_view line) {
      std::lock_guard lock(mutex_);
      lines_.emplace_back(line);
    }});
    controller_ = std::make_unique<Controller>(
        clock_,
        ControllerOptions{
            .name = "test", .concurrency = 1, .metrics = &metrics_, .logger = logger, .on_reconciled = std::move(on_reconciled)},
        std::move(reconciler));
    runner_ = std::jthread([this](std::stop_token stop) { controller_->run(stop); });
  }

  static bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  std::string log() {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& line : lines_) all += line + "\n";
    return all;
  }

  double counter(CounterFamily& family, std::initializer_list<std::string_view> labels) {
    return family.with(labels).value();
  }

  FakeClock clock_;
  MetricsRegistry registry_;
  ControllerMetrics metrics_{registry_};
  std::unique_ptr<Controller> controller_;
  std::jthread runner_;
  std::mutex mutex_;
  std::vector<std::string> lines_;  // guarded by mutex_
};

TEST_F(ControllerRun, AReconcilerThatThrowsIsCountedLoggedAndRetriedWithBackoff) {
  std::atomic<int> calls = 0;
  start([&calls](const Request&, std::stop_token) -> Outcome {
    // nlohmann::type_error, what a tenant's object of an unexpected shape causes.
    if (++calls == 1) (void)Json(5).get<std::string>();
    return Done{};
  });
  controller_->enqueue({.ns = "team", .name = "app"});
  ASSERT_TRUE(eventually([&] { return counter(metrics_.reconcile_panics_total, {"test"}) == 1; }));
  ASSERT_TRUE(eventually([&] { return counter(metrics_.reconcile_total, {"test", "error"}) == 1; }));
  EXPECT_EQ(counter(metrics_.reconcile_errors_total, {"test"}), 1);
  EXPECT_EQ(controller_->queue().retries("team/app"), 1) << "retried through the rate limiter";
  EXPECT_THAT(log(), ::testing::HasSubstr("reconciler threw"));
  EXPECT_THAT(log(), ::testing::HasSubstr("team/app"));
  EXPECT_THAT(log(), ::testing::HasSubstr("type must be string"));
  // The per-key backoff (5 ms first) passes: the key comes back and succeeds.
  ASSERT_TRUE(eventually([&] {
    clock_.advance(10ms);
    return counter(metrics_.reconcile_total, {"test", "success"}) == 1;
  }));
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(controller_->queue().retries("team/app"), 0);
  EXPECT_THAT(registry_.text(), ::testing::HasSubstr(R"(controller_runtime_reconcile_panics_total{controller="test"} 1)"));
}

TEST_F(ControllerRun, OnReconciledIsCalledAfterEveryReconcileWhateverItsOutcome) {
  std::atomic<int> reconciled = 0;
  std::atomic<int> calls = 0;
  start(
      [&calls](const Request&, std::stop_token) -> Outcome {
        if (++calls == 1) throw std::runtime_error("first pass fails");
        return Done{};
      },
      [&reconciled] { ++reconciled; });
  controller_->enqueue({.ns = "team", .name = "app"});
  controller_->enqueue({.ns = "team", .name = "other"});
  EXPECT_TRUE(eventually([&] {
    clock_.advance(10ms);  // the failed key's backoff
    return reconciled.load() == 3;
  })) << "two keys, one of them retried once: " << reconciled.load();
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(ControllerRun, AnythingThrownIsCaughtAndALongMessageIsCut) {
  std::atomic<int> calls = 0;
  start([&calls](const Request& request, std::stop_token) -> Outcome {
    ++calls;
    if (request.name == "odd") throw 42;
    throw std::runtime_error(std::string(5000, 'x'));
  });
  controller_->enqueue({.ns = "", .name = "odd"});
  controller_->enqueue({.ns = "team", .name = "long"});
  ASSERT_TRUE(eventually([&] { return counter(metrics_.reconcile_panics_total, {"test"}) == 2; }));
  EXPECT_THAT(log(), ::testing::HasSubstr("an exception not derived from std::exception"));
  EXPECT_THAT(log(), ::testing::HasSubstr(std::string(200, 'x') + "..."));
  EXPECT_THAT(log(), ::testing::Not(::testing::HasSubstr(std::string(201, 'x'))));
}

TEST(RequestsFor, OneRequestPerObjectSkippingWhatHasNoMetadata) {
  const std::vector<ObjectPtr> objects{
      std::make_shared<const Json>(Json::parse(R"({"metadata": {"namespace": "a", "name": "x"}})")),
      std::make_shared<const Json>(Json::parse(R"({"metadata": {"name": "cluster-wide"}})")),
      std::make_shared<const Json>(Json::parse(R"({"kind": "NoMetadata"})"))};
  EXPECT_EQ(requestsFor(objects), (std::vector<Request>{{.ns = "a", .name = "x"}, {.ns = "", .name = "cluster-wide"}}));
}

TEST(OwnersOfKind, FindsOnlyTheControllingOwnerOfThatKind) {
  const Json child = Json::parse(R"({"metadata": {"namespace": "team", "ownerReferences": [
      {"kind": "RepoBinding", "name": "app", "controller": true},
      {"kind": "RepoBinding", "name": "other", "controller": false},
      {"kind": "Organization", "name": "acme", "controller": true}]}})");
  const auto owners = ownersOfKind(child, "RepoBinding");
  ASSERT_EQ(owners.size(), 1U);
  EXPECT_EQ(owners[0], (Request{.ns = "team", .name = "app"}));
  EXPECT_TRUE(ownersOfKind(Json::parse(R"({"metadata": {}})"), "RepoBinding").empty());
}

}  // namespace
}  // namespace kube::runtime

namespace kube::runtime {
namespace {

class TerminalRun : public ControllerRun {};

TEST_F(TerminalRun, ATerminalOutcomeIsAnErrorCountedAsTerminalAndNotRetried) {
  start([](const Request&, std::stop_token) -> Outcome { return Terminal{"spec.branch: not a ref"}; });
  controller_->enqueue({.ns = "team", .name = "app"});
  ASSERT_TRUE(eventually([&] { return counter(metrics_.terminal_reconcile_errors_total, {"test"}) == 1; }));
  EXPECT_EQ(counter(metrics_.reconcile_total, {"test", "error"}), 1);
  EXPECT_EQ(counter(metrics_.reconcile_total, {"test", "success"}), 0) << "a permanent failure is never success";
  EXPECT_EQ(controller_->queue().retries("team/app"), 0);
}

// A mapped watch with a batch delay: a burst of changes to the watched objects makes one
// reconcile of the object they map to, once the delay has passed, not one per change.
TEST(BatchedWatch, ABurstOfChangesMakesOneReconcileAfterTheDelay) {
  FakeClock clock;
  kube::testing::FakeObjectApi api(clock);
  Informer informer(api, clock, {.type = resources::kConfigMaps, .ns = "team"});
  std::atomic<int> reconciles{0};
  Controller controller(clock, ControllerOptions{.name = "batched", .concurrency = 1},
                        [&](const Request& request, std::stop_token) -> Outcome {
                          EXPECT_EQ(request.key(), "platform/follower");
                          ++reconciles;
                          return Done{};
                        });
  controller.watchMapped(
      informer, [](const Json&) { return std::vector<Request>{{.ns = "platform", .name = "follower"}}; }, {}, 1s);
  std::jthread informer_thread([&](std::stop_token stop) { informer.run(stop); });
  std::jthread controller_thread([&](std::stop_token stop) { controller.run(stop); });
  auto settled = [&](const std::function<bool()>& condition) {
    for (int i = 0; i < 2000 && !condition(); ++i) std::this_thread::sleep_for(1ms);
    return condition();
  };
  ASSERT_TRUE(settled([&] { return informer.hasSynced(); }));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(api.create(resources::kConfigMaps, "team",
                           {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                            {"metadata", {{"name", "cm-" + std::to_string(i)}, {"namespace", "team"}}}}));
  }
  ASSERT_TRUE(settled([&] { return informer.store().list().size() == 5; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(reconciles.load(), 0) << "nothing before the delay has passed";
  clock.advance(1s);
  EXPECT_TRUE(settled([&] { return reconciles.load() == 1; }));
  std::this_thread::sleep_for(20ms);
  clock.advance(1s);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(reconciles.load(), 1) << "the five changes made one reconcile";
}

}  // namespace
}  // namespace kube::runtime
