// The manager against a real kube-apiserver: start-up order, readiness, metrics, shared
// informers, leader-gated controllers and graceful shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "runtime/clock.h"
#include "runtime/manager.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::eventually;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace rt = kube::runtime;

kube::Json configMap(const std::string& ns, const std::string& name, const std::string& label) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"test", label}}}}},
          {"data", {{"k", "v"}}}};
}

// What one replica reconciled, by object key.
class Recorder {
 public:
  rt::Outcome reconcile(const rt::Request& request) {
    std::lock_guard lock(mutex_);
    keys_.insert(request.key());
    ++count_;
    return rt::Done{};
  }
  int count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::set<std::string> keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> keys_;
  int count_ = 0;
};

// One replica: its own client (with request metrics), registry, manager and thread.
class Replica {
 public:
  Replica(const std::string& ns, const std::string& label, std::optional<rt::LeaderElectionOptions> election,
          rt::ProbeServerOptions probes = {.metrics_address = "", .probe_address = ""})
      : client_(makeClient()) {
    auto manager = rt::Manager::create(*client_, rt::realClock(), registry_,
                                       {.probes = probes, .leader_election = std::move(election),
                                        .cache_sync_timeout = 30s});
    if (!manager) throw std::runtime_error(manager.error().message);
    manager_ = std::move(manager).value();
    auto& informer = manager_->informer({.type = kube::resources::kConfigMaps, .ns = ns,
                                         .label_selector = "test=" + label});
    auto& controller = manager_->addController(
        {.name = "configmaps-" + label},
        [this](const rt::Request& request, std::stop_token) { return recorder_.reconcile(request); });
    controller.watchPrimary(informer);
  }

  void start() {
    thread_ = std::jthread([this](std::stop_token stop) {
      result_ = manager_->run(stop);
      done_ = true;
    });
  }
  void stop() {
    thread_.request_stop();
    thread_.join();
  }

  rt::Manager& manager() { return *manager_; }
  rt::MetricsRegistry& registry() { return registry_; }
  const Recorder& recorder() const { return recorder_; }
  bool done() const { return done_; }
  const kube::Result<void>& result() const { return result_; }

 private:
  std::unique_ptr<kube::Client> makeClient() {
    const auto config = adminConfig();
    auto client = kube::Client::create(
        config, kube::ClientOptions{.on_request = rt::countRestRequests(metrics_, rt::hostOfServer(config.server))});
    if (!client) throw std::runtime_error(client.error().message);
    return std::move(client).value();
  }

  rt::MetricsRegistry registry_;
  rt::ControllerMetrics metrics_{registry_};
  std::unique_ptr<kube::Client> client_;
  Recorder recorder_;
  std::unique_ptr<rt::Manager> manager_;
  kube::Result<void> result_;
  std::atomic<bool> done_ = false;
  std::jthread thread_;  // last: joined before the rest is destroyed
};

rt::LeaderElectionOptions election(const std::string& ns, const std::string& identity) {
  return {.lease_namespace = ns, .lease_name = "manager-test", .identity = identity,
          .lease_duration = 3s, .renew_deadline = 2s, .retry_period = 500ms};
}

class ManagerIntegration : public ::testing::Test {
 protected:
  void createConfigMaps(const std::string& label, int count) {
    for (int i = 0; i < count; ++i) {
      auto created = admin_->create(kube::resources::kConfigMaps, ns_.name(),
                                    configMap(ns_.name(), label + "-" + std::to_string(i), label));
      ASSERT_TRUE(created) << created.error().message;
    }
  }
  std::string key(const std::string& name) const { return ns_.name() + "/" + name; }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  ScopedNamespace ns_{*admin_, "it-manager"};
};

TEST_F(ManagerIntegration, ReconcilesOnceSyncedAndExportsMetrics) {
  const std::string label = uniqueName("ready");
  createConfigMaps(label, 3);
  Replica replica(ns_.name(), label, std::nullopt,
                  {.metrics_address = "127.0.0.1:0", .probe_address = "127.0.0.1:0"});
  replica.start();

  ASSERT_TRUE(eventually([&] { return replica.recorder().count() >= 3; }, 20s));
  EXPECT_TRUE(replica.manager().hasSynced());
  EXPECT_TRUE(replica.manager().isLeader());  // no election: always leads
  EXPECT_EQ(replica.recorder().keys(), (std::set<std::string>{key(label + "-0"), key(label + "-1"), key(label + "-2")}));

  const std::string metrics = replica.registry().text();
  EXPECT_THAT(metrics, HasSubstr("controller_runtime_reconcile_total{controller=\"configmaps-" + label +
                                 "\",result=\"success\"}"));
  EXPECT_THAT(metrics, HasSubstr("rest_client_requests_total{code=\"200\",method=\"GET\""));
  replica.stop();
  EXPECT_TRUE(replica.result()) << replica.result().error().message;
}

int readyzStatus(int port) {
  httplib::Client http("127.0.0.1", port);
  const auto response = http.Get("/readyz");
  return response ? response->status : -1;
}

TEST_F(ManagerIntegration, ReadyzFailsWhileACacheCannotSyncAndPassesOnceSynced) {
  auto client = clientFor(adminConfig());
  rt::MetricsRegistry registry;
  auto stuck = rt::Manager::create(*client, rt::realClock(), registry,
                                   {.probes = {.metrics_address = "", .probe_address = "127.0.0.1:0"},
                                    .cache_sync_timeout = 60s});
  ASSERT_TRUE(stuck);
  (void)(*stuck)->informer({.type = {.group = "absent.example.com", .version = "v1", .plural = "widgets"}});
  std::stop_source stop;
  std::jthread runner([&] { (void)(*stuck)->run(stop.get_token()); });
  ASSERT_TRUE(eventually([&] { return (*stuck)->probePort() != 0; }, 5s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(readyzStatus((*stuck)->probePort()), 503);
  stop.request_stop();
  runner.join();

  const std::string label = uniqueName("readyz");
  Replica replica(ns_.name(), label, std::nullopt, {.metrics_address = "", .probe_address = "127.0.0.1:0"});
  replica.start();
  ASSERT_TRUE(eventually([&] { return replica.manager().hasSynced(); }, 20s));
  EXPECT_EQ(readyzStatus(replica.manager().probePort()), 200);
  replica.stop();
  EXPECT_TRUE(replica.result());
}

TEST_F(ManagerIntegration, InformersForTheSameScopeAreShared) {
  Replica replica(ns_.name(), "shared", std::nullopt);
  auto& first = replica.manager().informer({.type = kube::resources::kConfigMaps, .ns = ns_.name(),
                                            .label_selector = "test=shared"});
  auto& other_scope = replica.manager().informer({.type = kube::resources::kConfigMaps, .ns = ns_.name(),
                                                  .label_selector = "test=other"});
  auto& again = replica.manager().informer({.type = kube::resources::kConfigMaps, .ns = ns_.name(),
                                            .label_selector = "test=shared"});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &other_scope);
}

TEST_F(ManagerIntegration, OnlyTheLeaderReconcilesAndTheStandbyTakesOverOnStop) {
  const std::string label = uniqueName("leader");
  createConfigMaps(label, 5);
  Replica first(ns_.name(), label, election(ns_.name(), "replica-a"));
  Replica second(ns_.name(), label, election(ns_.name(), "replica-b"));
  first.start();
  second.start();

  ASSERT_TRUE(eventually([&] { return first.manager().isLeader() || second.manager().isLeader(); }, 10s));
  Replica& leader = first.manager().isLeader() ? first : second;
  Replica& standby = &leader == &first ? second : first;
  ASSERT_TRUE(eventually([&] { return leader.recorder().count() >= 5; }, 20s));
  ASSERT_TRUE(eventually([&] { return standby.manager().hasSynced(); }, 20s));
  // Changes reach both caches, but only the leader reconciles them.
  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns_.name(), configMap(ns_.name(), "late", label)));
  ASSERT_TRUE(eventually([&] { return leader.recorder().keys().contains(key("late")); }, 20s));
  std::this_thread::sleep_for(1s);  // time enough for a wrongly running standby to reconcile too
  EXPECT_EQ(standby.recorder().count(), 0);
  EXPECT_FALSE(standby.manager().isLeader());

  // The leader steps down (releasing the Lease); the standby takes over well within the lease
  // duration and reconciles what it saw change while standing by.
  const auto stopped_at = std::chrono::steady_clock::now();
  leader.stop();
  EXPECT_TRUE(leader.result()) << leader.result().error().message;
  ASSERT_TRUE(eventually([&] { return standby.manager().isLeader(); }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 3s);
  ASSERT_TRUE(eventually([&] { return standby.recorder().keys().contains(key("late")); }, 10s));
  EXPECT_EQ(standby.recorder().keys().size(), 6u);
  standby.stop();
}

TEST_F(ManagerIntegration, ShutdownWaitsForTheReconcileInFlight) {
  const std::string label = uniqueName("drain");
  createConfigMaps(label, 1);
  auto client = clientFor(adminConfig());
  rt::MetricsRegistry registry;
  auto manager = rt::Manager::create(*client, rt::realClock(), registry,
                                     {.probes = {.metrics_address = "", .probe_address = ""}});
  ASSERT_TRUE(manager);
  std::atomic<bool> started = false;
  std::atomic<bool> finished = false;
  auto& informer = (*manager)->informer({.type = kube::resources::kConfigMaps, .ns = ns_.name(),
                                          .label_selector = "test=" + label});
  (*manager)->addController({.name = "drain"}, [&](const rt::Request&, std::stop_token) -> rt::Outcome {
    started = true;
    std::this_thread::sleep_for(1500ms);  // ignores its stop token on purpose: shutdown must wait
    finished = true;
    return rt::Done{};
  }).watchPrimary(informer);

  std::stop_source stop;
  kube::Result<void> result;
  std::jthread runner([&] { result = (*manager)->run(stop.get_token()); });
  ASSERT_TRUE(eventually([&] { return started.load(); }, 20s));
  stop.request_stop();
  runner.join();
  EXPECT_TRUE(finished) << "run() returned while a reconcile was still in flight";
  EXPECT_TRUE(result);
}

TEST_F(ManagerIntegration, CachesThatCannotSyncFailTheRunNamingTheCause) {
  auto client = clientFor(adminConfig());
  rt::MetricsRegistry registry;
  auto manager = rt::Manager::create(*client, rt::realClock(), registry,
                                     {.probes = {.metrics_address = "", .probe_address = ""},
                                      .cache_sync_timeout = 2s});
  ASSERT_TRUE(manager);
  (void)(*manager)->informer({.type = {.group = "absent.example.com", .version = "v1", .plural = "widgets"}});
  const auto result = (*manager)->run({});
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message, HasSubstr("caches did not sync"));
  EXPECT_FALSE((*manager)->hasSynced());
}

}  // namespace
