// The manager's pure parts and the REST request metrics; the lifecycle itself is tested against
// the real API server in test/integration/runtime/manager_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "runtime/signals.h"

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
