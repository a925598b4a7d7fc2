// The manager's pure parts and the REST request metrics; the lifecycle itself is tested against
// the real API server in test/integration/runtime/manager_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <httplib.h>

#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "runtime/signals.h"
#include "support/fake_clock.h"

namespace {

using ::testing::HasSubstr;
namespace rt = kube::runtime;

TEST(InformerScopeKey, DiffersByEveryScopingOption) {
  const rt::InformerOptions base{.type = kube::resources::kConfigMaps, .ns = "a", .label_selector = "x=1"};
  rt::InformerOptions other_ns = base;
  other_ns.ns = "b";
  rt::InformerOptions other_labels = base;
  other_labels.label_selector = "x=2";
  rt::InformerOptions other_fields = base;
  other_fields.field_selector = "metadata.name=n";
  rt::InformerOptions other_type = base;
  other_type.type = kube::resources::kSecrets;
  rt::InformerOptions other_page = base;
  other_page.page_size = 10;  // not a scope: shared
  const std::string key = rt::informerScopeKey(base);
  EXPECT_NE(key, rt::informerScopeKey(other_ns));
  EXPECT_NE(key, rt::informerScopeKey(other_labels));
  EXPECT_NE(key, rt::informerScopeKey(other_fields));
  EXPECT_NE(key, rt::informerScopeKey(other_type));
  EXPECT_EQ(key, rt::informerScopeKey(other_page));
}

TEST(HostOfServer, KeepsHostAndPortOnly) {
  EXPECT_EQ(rt::hostOfServer("https://10.0.0.1:6443"), "10.0.0.1:6443");
  EXPECT_EQ(rt::hostOfServer("https://api.example.com/prefix/path"), "api.example.com");
  EXPECT_EQ(rt::hostOfServer("127.0.0.1:8443"), "127.0.0.1:8443");
}

TEST(CountRestRequests, CountsByCodeMethodAndHostWithErrorForNoAnswer) {
  rt::MetricsRegistry registry;
  rt::ControllerMetrics metrics(registry);
  const auto observe = rt::countRestRequests(metrics, "10.0.0.1:6443");
  observe({.method = "GET", .status = 200});
  observe({.method = "GET", .status = 200});
  observe({.method = "PATCH", .status = 409});
  observe({.method = "GET", .status = 0});
  const std::string text = registry.text();
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="200",method="GET",host="10.0.0.1:6443"} 2)"));
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="409",method="PATCH",host="10.0.0.1:6443"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"(rest_client_requests_total{code="<error>",method="GET",host="10.0.0.1:6443"} 1)"));
}

TEST(LeaderWriteGate, TheElectionsLeaseAlwaysPassesOtherWritesOnlyWhileLeading) {
  bool leading = false;
  const rt::LeaderElectionOptions election{.lease_namespace = "kube-system", .lease_name = "aphex", .identity = "me"};
  const kube::WriteGate gate = rt::leaderWriteGate(election, [&leading] { return leading; });
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
  EXPECT_TRUE(gate("PUT", leases + "/aphex"));
  EXPECT_TRUE(gate("POST", leases));
  EXPECT_FALSE(gate("PUT", leases + "/another"));
  EXPECT_FALSE(gate("PATCH", "/api/v1/namespaces/team/configmaps/app?fieldManager=aphex&force=true"));
  EXPECT_FALSE(gate("DELETE", "/api/v1/namespaces/team"));
  leading = true;
  EXPECT_TRUE(gate("PATCH", "/api/v1/namespaces/team/configmaps/app?fieldManager=aphex&force=true"));
}

// A stand-in API server on the loopback interface that answers every request with "{}" and
// counts the writes that reach it.
class ManagerWriteGate : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto answer = [this](const httplib::Request& request, httplib::Response& response) {
      if (request.method != "GET") ++writes_;
      response.set_content("{}", "application/json");
    };
    server_.Get(".*", answer);
    server_.Post(".*", answer);
    server_.Put(".*", answer);
    server_.Patch(".*", answer);
    server_.Delete(".*", answer);
    const int port = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(server_.is_running());
    kube::ClientConfig config;
    config.server = "http://127.0.0.1:" + std::to_string(port);
    auto client = kube::Client::create(config);
    ASSERT_TRUE(client) << client.error().message;
    client_ = std::move(*client);
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<rt::Manager> manager(std::optional<rt::LeaderElectionOptions> election) {
    auto created = rt::Manager::create(*client_, clock_, registry_,
                                       {.probes = {.metrics_address = "", .probe_address = ""},
                                        .leader_election = std::move(election)});
    EXPECT_TRUE(created) << created.error().message;
    return created ? std::move(*created) : nullptr;
  }

  static kube::Json configMap() {
    return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "app"}, {"namespace", "team"}}}};
  }

  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> writes_ = 0;
  std::unique_ptr<kube::Client> client_;
  kube::testing::FakeClock clock_;
  rt::MetricsRegistry registry_;
};

TEST_F(ManagerWriteGate, ALeaderElectedManagerGatesItsClientsWritesUntilItIsDestroyed) {
  auto elected = manager(rt::LeaderElectionOptions{.lease_namespace = "kube-system", .lease_name = "aphex",
                                                   .identity = "me"});
  ASSERT_TRUE(elected);
  EXPECT_FALSE(elected->stillLeading()) << "not running, so not leading";
  auto created = client_->create(kube::resources::kConfigMaps, "team", configMap());
  ASSERT_FALSE(created);
  EXPECT_THAT(created.error().message, HasSubstr("not the leader any more; write refused: POST /api/v1/namespaces/team/configmaps"));
  auto applied = client_->apply(kube::resources::kConfigMaps, configMap(), {.field_manager = "test"});
  ASSERT_FALSE(applied);
  EXPECT_EQ(writes_.load(), 0) << "a refused write must not reach the server";
  EXPECT_TRUE(client_->get(kube::resources::kConfigMaps, "team", "app")) << "reads are never gated";
  const kube::Json lease = rt::newLease("kube-system", "aphex", {.holder_identity = "me"});
  EXPECT_TRUE(client_->update(rt::kLeases, "kube-system", lease)) << "the election writes its own Lease";
  EXPECT_EQ(writes_.load(), 1);
  elected.reset();
  EXPECT_TRUE(client_->create(kube::resources::kConfigMaps, "team", configMap())) << "the gate went with the manager";
  EXPECT_EQ(writes_.load(), 2);
}

TEST_F(ManagerWriteGate, WithoutLeaderElectionNothingIsGated) {
  auto single = manager(std::nullopt);
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->stillLeading());
  EXPECT_TRUE(client_->create(kube::resources::kConfigMaps, "team", configMap()));
  EXPECT_EQ(writes_.load(), 1);
}

TEST_F(ManagerWriteGate, ARefusedWriteNamesTheRequestAndIsATransportError) {
  client_->setWriteGate([](std::string_view, std::string_view) { return false; });
  auto removed = client_->remove(kube::resources::kConfigMaps, "team", "app");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().kind, kube::ErrorKind::kTransport);
  EXPECT_EQ(removed.error().message,
            "not the leader any more; write refused: DELETE /api/v1/namespaces/team/configmaps/app");
  client_->setWriteGate({});
  EXPECT_TRUE(client_->remove(kube::resources::kConfigMaps, "team", "app"));
}

TEST(ShutdownSignals, SigtermRequestsAStop) {
  rt::ShutdownSignals signals;
  EXPECT_FALSE(signals.token().stop_requested());
  // Sent to the process, not the thread: every thread blocks it, so only sigtimedwait takes it.
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!signals.token().stop_requested() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(signals.token().stop_requested());
  EXPECT_EQ(signals.received(), SIGTERM);
}

}  // namespace
