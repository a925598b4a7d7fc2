// The informer's exception barrier, against a stand-in API server (httplib on the loopback
// interface) that serves one list and one watch of ConfigMaps. The informer's list/watch
// protocol itself is tested against the real API server (test/integration/runtime).
#include "runtime/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

namespace kube::runtime {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

Json configMap(const std::string& name, const std::string& version) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "team"}, {"resourceVersion", version}}}};
}

class InformerHandlers : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/api/v1/configmaps", [this](const httplib::Request& request, httplib::Response& response) {
      if (!request.has_param("watch")) {
        const Json list = {{"apiVersion", "v1"},
                           {"kind", "ConfigMapList"},
                           {"metadata", {{"resourceVersion", "10"}}},
                           {"items", {configMap("good", "5"), configMap("bad", "6")}}};
        response.set_content(list.dump(), "application/json");
        return;
      }
      // The first watch delivers a bad object, then a good one; later ones stay empty.
      std::string events;
      if (watches_++ == 0) {
        for (const auto& [name, version] : {std::pair{"bad-too", "11"}, std::pair{"late", "12"}}) {
          events += Json{{"type", "ADDED"}, {"object", configMap(name, version)}}.dump() + "\n";
        }
      } else {
        std::this_thread::sleep_for(100ms);
      }
      response.set_content(events, "application/json");
    });
    const int port = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(2ms);
    ASSERT_TRUE(server_.is_running());
    ClientConfig config;
    config.server = "http://127.0.0.1:" + std::to_string(port);
    auto client = Client::create(config);
    ASSERT_TRUE(client) << client.error().message;
    client_ = std::move(*client);
  }

  void TearDown() override {
    if (runner_.joinable()) {
      runner_.request_stop();
      runner_.join();
    }
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  static bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  httplib::Server server_;
  std::thread thread_;
  std::atomic<int> watches_ = 0;
  std::unique_ptr<Client> client_;
  std::jthread runner_;
  std::mutex mutex_;
  std::vector<std::string> seen_;  // guarded by mutex_: what the second handler saw
};

TEST_F(InformerHandlers, AHandlerThatThrowsIsCountedAndTheWatchGoesOn) {
  MetricsRegistry registry;
  ControllerMetrics metrics(registry);
  std::mutex log_mutex;
  std::string log;
  Logger logger({.level = LogLevel::kInfo, .sink = [&](std::string_view line) {
    std::lock_guard lock(log_mutex);
    log.append(line).append("\n");
  }});
  Informer informer(*client_, realClock(),
                    {.type = resources::kConfigMaps,
                     .logger = logger,
                     .handler_panics = &metrics.informer_handler_panics_total});
  // The first handler throws on "bad" objects, once with a standard exception, once without.
  informer.addHandler({.on_add = [](const ObjectPtr& object) {
    const auto name = object->at("metadata").at("name").get<std::string>();
    if (name == "bad") (void)object->at("metadata").at("name").get<int>();  // nlohmann::type_error
    if (name == "bad-too") throw 7;
  }});
  informer.addHandler({.on_add = [this](const ObjectPtr& object) {
    std::lock_guard lock(mutex_);
    seen_.push_back(object->at("metadata").at("name").get<std::string>());
  }});
  runner_ = std::jthread([&informer](std::stop_token stop) { informer.run(stop); });

  ASSERT_TRUE(eventually([&] { return seen().size() == 4; })) << "handlers after a throw still ran";
  EXPECT_THAT(seen(), Contains("late")) << "the watch went on after the throw";
  EXPECT_THAT(seen(), Contains("bad"));
  EXPECT_TRUE(informer.hasSynced());
  EXPECT_EQ(informer.store().size(), 4U);
  EXPECT_EQ(metrics.informer_handler_panics_total.with({"configmaps"}).value(), 2);
  runner_.request_stop();
  runner_.join();
  std::lock_guard lock(log_mutex);
  EXPECT_THAT(log, HasSubstr("event handler threw"));
  EXPECT_THAT(log, HasSubstr("team/bad"));
  EXPECT_THAT(log, HasSubstr("type must be number"));
  EXPECT_THAT(log, HasSubstr("an exception not derived from std::exception"));
}

TEST(ResourceLabel, IsKubectlsResourceName) {
  EXPECT_EQ(resourceLabel(resources::kConfigMaps), "configmaps");
  EXPECT_EQ(resourceLabel({.group = "apps", .version = "v1", .plural = "deployments"}), "deployments.apps");
}

}  // namespace
}  // namespace kube::runtime
