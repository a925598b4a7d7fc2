#include "kube/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "support/fake_clock.h"

namespace kube {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const ResourceType kDeployments{.group = "apps", .version = "v1", .plural = "deployments", .namespaced = true};

TEST(ResourcePath, CoreGroupUsesApiPrefix) {
  EXPECT_EQ(resourcePath(resources::kConfigMaps, "team-a", "settings"),
            "/api/v1/namespaces/team-a/configmaps/settings");
  EXPECT_EQ(resourcePath(resources::kConfigMaps, "", ""), "/api/v1/configmaps");
}

TEST(ResourcePath, NamedGroupsUseApisPrefix) {
  EXPECT_EQ(resourcePath(kDeployments, "ns", ""), "/apis/apps/v1/namespaces/ns/deployments");
}

TEST(ResourcePath, ClusterScopedKindsIgnoreTheNamespace) {
  EXPECT_EQ(resourcePath(resources::kNamespaces, "ignored", "org-a"), "/api/v1/namespaces/org-a");
}

TEST(ListQuery, EmptyOptionsGiveNoQuery) { EXPECT_EQ(listQuery({}), ""); }

TEST(ListQuery, EncodesSelectorsAndPaging) {
  const std::string query = listQuery({.label_selector = "app in (a,b),tier!=db",
                                       .field_selector = "metadata.name=x",
                                       .limit = 500,
                                       .continue_token = "abc==",
                                       .resource_version = "42"});
  EXPECT_EQ(query,
            "?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb&fieldSelector=metadata.name%3Dx"
            "&limit=500&continue=abc%3D%3D&resourceVersion=42");
}

TEST(ParseStatus, ReadsTheApiServersStatusObject) {
  const ApiStatus status = parseStatus(409, R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"configmaps \"x\" already exists","reason":"AlreadyExists",
    "details":{"name":"x","kind":"configmaps"},"code":409})");
  EXPECT_EQ(status.code, 409);
  EXPECT_EQ(status.reason, "AlreadyExists");
  EXPECT_EQ(status.message, "configmaps \"x\" already exists");
  EXPECT_EQ(status.details["name"], "x");
}

TEST(ParseStatus, KeepsAnExcerptOfBodiesThatAreNotStatus) {
  const ApiStatus status = parseStatus(502, std::string(2000, 'x'));
  EXPECT_EQ(status.code, 502);
  EXPECT_TRUE(status.reason.empty());
  EXPECT_EQ(status.message.size(), 512U);
}

TEST(ErrorPredicates, DistinguishConflictFromAlreadyExists) {
  const Error conflict{.kind = ErrorKind::kApi, .message = "", .status = ApiStatus{.code = 409, .reason = "Conflict", .message = "", .details = nullptr}};
  const Error exists{.kind = ErrorKind::kApi, .message = "", .status = ApiStatus{.code = 409, .reason = "AlreadyExists", .message = "", .details = nullptr}};
  EXPECT_TRUE(conflict.isConflict());
  EXPECT_FALSE(conflict.isAlreadyExists());
  EXPECT_TRUE(exists.isAlreadyExists());
  EXPECT_FALSE(exists.isConflict());
  const Error transport{.kind = ErrorKind::kTransport, .message = "refused", .status = {}};
  EXPECT_FALSE(transport.isNotFound());
  EXPECT_EQ(transport.httpCode(), 0);
}

}  // namespace
}  // namespace kube

namespace kube {
namespace {

// A stand-in API server on the loopback interface: "slow" answers only when the test ends (or
// after 30 s); "busy" answers 429 with Retry-After: 10 `busy_answers` times, then 200.
class ClientAgainstAStandInServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/api/v1/namespaces/team/configmaps/slow", [this](const httplib::Request&, httplib::Response& response) {
      ++requests_;
      std::unique_lock lock(mutex_);
      released_cv_.wait_for(lock, 30s, [this] { return released_; });
      response.set_content("{}", "application/json");
    });
    server_.Get("/api/v1/namespaces/team/configmaps/busy", [this](const httplib::Request&, httplib::Response& response) {
      if (requests_++ < busy_answers_) {
        response.status = 429;
        response.set_header("Retry-After", "10");
        response.set_content(R"({"kind":"Status","code":429,"reason":"TooManyRequests"})", "application/json");
        return;
      }
      response.set_content(R"({"kind":"ConfigMap"})", "application/json");
    });
    const int port = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(2ms);
    ASSERT_TRUE(server_.is_running());
    config_.server = "http://127.0.0.1:" + std::to_string(port);
  }

  void TearDown() override {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::unique_ptr<Client> client(Clock& clock) {
    auto created = Client::create(config_, ClientOptions{.clock = &clock});
    EXPECT_TRUE(created) << created.error().message;
    return created ? std::move(*created) : nullptr;
  }

  static bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  httplib::Server server_;
  std::thread thread_;
  ClientConfig config_;
  std::atomic<int> requests_ = 0;
  int busy_answers_ = 1;
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;  // guarded by mutex_
};

TEST_F(ClientAgainstAStandInServer, AStopRequestCutsShortARequestInFlight) {
  auto api = client(realClock());
  ASSERT_TRUE(api);
  std::stop_source stop;
  std::optional<Result<Json>> result;
  std::chrono::steady_clock::duration took{};
  std::thread caller([&] {
    const auto started = std::chrono::steady_clock::now();
    result.emplace(api->get(resources::kConfigMaps, "team", "slow", stop.get_token()));
    took = std::chrono::steady_clock::now() - started;
  });
  ASSERT_TRUE(eventually([&] { return requests_ == 1; }));
  const auto stopped_at = std::chrono::steady_clock::now();
  stop.request_stop();
  caller.join();

  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::kTransport);
  EXPECT_THAT(result->error().message, HasSubstr("stopped before the server answered"));
  // libcurl asks its progress callback about once a second while it waits for an answer.
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 3s);
  EXPECT_LT(took, 10s);
}

TEST_F(ClientAgainstAStandInServer, ARequestWhoseStopWasRequestedIsNeverSent) {
  auto api = client(realClock());
  ASSERT_TRUE(api);
  std::stop_source stop;
  stop.request_stop();
  auto result = api->get(resources::kConfigMaps, "team", "slow", stop.get_token());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kTransport);
  EXPECT_THAT(result.error().message, HasSubstr("stopped before it was sent"));
  EXPECT_EQ(requests_, 0);
}

TEST_F(ClientAgainstAStandInServer, RetryAfterIsWaitedOnTheInjectedClock) {
  testing::FakeClock clock;
  auto api = client(clock);
  ASSERT_TRUE(api);
  std::optional<Result<Json>> result;
  std::thread caller([&] { result.emplace(api->get(resources::kConfigMaps, "team", "busy")); });
  ASSERT_TRUE(eventually([&] { return clock.waiters() > 0; })) << "the client waits after the 429";
  EXPECT_EQ(requests_, 1);
  clock.advance(10s);  // RetryPolicy caps each wait at 10 s, which is what the server asked for
  caller.join();

  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(*result) << result->error().message;
  EXPECT_EQ((**result)["kind"], "ConfigMap");
  EXPECT_EQ(requests_, 2);
}

TEST_F(ClientAgainstAStandInServer, AStopRequestEndsTheWaitForRetryAfter) {
  busy_answers_ = 100;
  testing::FakeClock clock;  // never advanced: only the stop request can end the wait
  auto api = client(clock);
  ASSERT_TRUE(api);
  std::stop_source stop;
  std::optional<Result<Json>> result;
  std::thread caller([&] { result.emplace(api->get(resources::kConfigMaps, "team", "busy", stop.get_token())); });
  ASSERT_TRUE(eventually([&] { return clock.waiters() > 0; }));
  stop.request_stop();
  caller.join();

  ASSERT_TRUE(result.has_value());
  ASSERT_FALSE(*result);
  EXPECT_EQ(result->error().kind, ErrorKind::kTransport);
  EXPECT_THAT(result->error().message, HasSubstr("stopped while waiting to retry after 429"));
  EXPECT_EQ(requests_, 1);
}

}  // namespace
}  // namespace kube
