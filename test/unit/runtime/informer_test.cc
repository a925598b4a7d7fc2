// The informer's list/watch protocol (relist after 410, re-watch after a clean end, backoff
// after failures) against the in-memory FakeObjectApi on a FakeClock; its exception barrier
// against a stand-in API server (httplib on the loopback interface) through a real kube::Client.
// test/integration/runtime runs the protocol against a real API server too.
#include "runtime/informer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "support/fake_clock.h"
#include "support/fake_kube.h"

namespace kube::runtime {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using namespace std::chrono_literals;
using kube::testing::Call;
using kube::testing::FakeClock;
using kube::testing::FakeObjectApi;
using kube::testing::Verb;

// Polls `condition` in real time: for waiting on the informer's thread, never for its delays.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

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

// ---- The list/watch protocol, on the fake API and a fake clock ----

Json configMapIn(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}}}};
}

class InformerOnFakeApi : public ::testing::Test {
 protected:
  // Jitter 0: every backoff is exactly 800 ms, the first step of client-go's reflector backoff.
  InformerOnFakeApi() { clock_.setRandom(0.0); }

  void start() {
    informer_.addHandler({.on_add = [this](const ObjectPtr& object) { note("add", *object); },
                          .on_update = [this](const ObjectPtr&, const ObjectPtr& object) { note("update", *object); },
                          .on_delete = [this](const ObjectPtr& object) { note("delete", *object); }});
    runner_ = std::jthread([this](std::stop_token stop) { informer_.run(stop); });
  }

  void note(const std::string& what, const Json& object) {
    std::lock_guard lock(mutex_);
    seen_.push_back(what + " " + objectKey(object));
  }

  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  // The resourceVersion and resourceVersionMatch of every list and watch, in order.
  std::vector<std::string> requests(Verb verb) const {
    std::vector<std::string> found;
    for (const Call& call : api_.calls()) {
      if (call.verb != verb) continue;
      found.push_back(call.resource_version_match.empty() ? "rv=" + call.resource_version
                                                          : "rv=" + call.resource_version + " " +
                                                                call.resource_version_match);
    }
    return found;
  }

  // The informer is waiting on the clock (a backoff), not on the API.
  bool backingOff() const { return clock_.waiters() > 0; }

  FakeClock clock_;
  FakeObjectApi api_{clock_};
  Informer informer_{api_, clock_, {.type = resources::kConfigMaps, .ns = "team"}};
  std::mutex mutex_;
  std::vector<std::string> seen_;  // guarded by mutex_
  std::jthread runner_;            // last: stopped and joined before anything it uses goes
};

TEST_F(InformerOnFakeApi, AWatchThatExpiresRelistsNotOlderThanItsVersionAndReportsWhatVanishedAsDeletes) {
  api_.seed(resources::kConfigMaps, configMapIn("team", "kept"));
  api_.seed(resources::kConfigMaps, configMapIn("team", "vanishing"));
  api_.failNext(Verb::kWatch, kube::testing::transportError("connection reset"));
  start();
  ASSERT_TRUE(eventually([&] { return informer_.hasSynced() && backingOff(); }));
  const std::string listed = informer_.lastSyncResourceVersion();

  // While the informer is away, an object goes and the history it would have watched is compacted.
  ASSERT_TRUE(api_.remove(resources::kConfigMaps, "team", "vanishing"));
  api_.compact();
  clock_.advance(800ms);

  ASSERT_TRUE(eventually([&] { return informer_.stats().relists_after_expiry == 1 && api_.openWatches() == 1; }));
  EXPECT_THAT(requests(Verb::kList), ElementsAre("rv=", "rv=" + listed + " NotOlderThan"));
  EXPECT_THAT(requests(Verb::kWatch), ElementsAre("rv=" + listed, "rv=" + listed, "rv=" + api_.resourceVersion()));
  ASSERT_THAT(seen(), UnorderedElementsAre("add team/kept", "add team/vanishing", "delete team/vanishing"));
  EXPECT_EQ(seen().back(), "delete team/vanishing");
  EXPECT_EQ(informer_.store().size(), 1U);
  EXPECT_EQ(informer_.lastSyncResourceVersion(), api_.resourceVersion());
}

TEST_F(InformerOnFakeApi, AnExpiredOpenWatchRelistsAndWatchesOnWithoutReportingTheSameObjectsAgain) {
  api_.seed(resources::kConfigMaps, configMapIn("team", "a"));
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  ASSERT_TRUE(api_.create(resources::kConfigMaps, "team", configMapIn("team", "b")));
  const std::string last = api_.resourceVersion();
  api_.expireWatches();

  ASSERT_TRUE(eventually([&] { return api_.count(Verb::kWatch) == 2 && api_.openWatches() == 1; }));
  EXPECT_THAT(requests(Verb::kList), ElementsAre("rv=", "rv=" + last + " NotOlderThan"));
  EXPECT_EQ(informer_.stats().relists_after_expiry, 1U);
  EXPECT_THAT(seen(), ElementsAre("add team/a", "add team/b"));
}

TEST_F(InformerOnFakeApi, ARelistWhoseVersionIsGoneFallsBackToAFreshList) {
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  const std::string listed = informer_.lastSyncResourceVersion();
  api_.failNext(Verb::kList, kube::testing::statusError(410, "Expired", "too old resource version"));
  api_.expireWatches();

  ASSERT_TRUE(eventually([&] { return api_.count(Verb::kWatch) == 2 && api_.openWatches() == 1; }));
  EXPECT_THAT(requests(Verb::kList), ElementsAre("rv=", "rv=" + listed + " NotOlderThan", "rv="));
  EXPECT_EQ(informer_.stats().failures, 0U);
}

TEST_F(InformerOnFakeApi, AWatchThatEndsCleanlyIsResumedFromTheLastVersionWithoutARelist) {
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  const std::string listed = informer_.lastSyncResourceVersion();
  ASSERT_TRUE(api_.create(resources::kConfigMaps, "team", configMapIn("team", "a")));
  const std::string last = api_.resourceVersion();
  api_.endWatches();  // as at the server's timeout, after delivering "a"

  ASSERT_TRUE(eventually([&] { return api_.count(Verb::kWatch) == 2 && api_.openWatches() == 1; }));
  EXPECT_THAT(requests(Verb::kWatch), ElementsAre("rv=" + listed, "rv=" + last));
  EXPECT_EQ(api_.count(Verb::kList), 1);
  EXPECT_EQ(informer_.stats().relists_after_expiry, 0U);
  EXPECT_THAT(seen(), ElementsAre("add team/a"));
}

TEST_F(InformerOnFakeApi, AWatchThatEndsAtOnceWithNothingIsResumedOnlyAfterABackoff) {
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  api_.endWatches();
  ASSERT_TRUE(eventually([&] { return backingOff(); }));
  EXPECT_EQ(api_.count(Verb::kWatch), 1);

  clock_.advance(800ms);
  ASSERT_TRUE(eventually([&] { return api_.count(Verb::kWatch) == 2 && api_.openWatches() == 1; }));
  EXPECT_EQ(api_.count(Verb::kList), 1);
}

TEST_F(InformerOnFakeApi, AFailedListIsRetriedOnceTheBackoffHasPassedOnTheClock) {
  api_.seed(resources::kConfigMaps, configMapIn("team", "a"));
  api_.failNext(Verb::kList, kube::testing::statusError(500, "InternalError", "etcd is unavailable"));
  start();
  ASSERT_TRUE(eventually([&] { return backingOff(); }));
  EXPECT_EQ(api_.count(Verb::kList), 1);
  EXPECT_FALSE(informer_.hasSynced());

  clock_.advance(799ms);
  EXPECT_FALSE(eventually([&] { return api_.count(Verb::kList) > 1; }, 100ms)) << "listed before the backoff passed";
  clock_.advance(1ms);
  ASSERT_TRUE(eventually([&] { return informer_.hasSynced(); }));
  EXPECT_EQ(api_.count(Verb::kList), 2);
  EXPECT_EQ(informer_.stats().failures, 1U);
  EXPECT_THAT(seen(), ElementsAre("add team/a"));
}

TEST_F(InformerOnFakeApi, StoppingEndsTheRunWhileItWatches) {
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  runner_.request_stop();
  runner_.join();
  EXPECT_EQ(api_.openWatches(), 0);
}

// ---- Paged lists ----

// Forwards to the fake, calling `before_list` (on the informer's thread) before each list: room
// to change things between the pages of one list.
class ListHook final : public ObjectApi {
 public:
  explicit ListHook(FakeObjectApi& api) : api_(api) {}
  std::function<void(const ListOptions&)> before_list;

  Result<Json> list(const ResourceType& type, std::string_view ns, const ListOptions& options,
                    std::stop_token stop) override {
    if (before_list) before_list(options);
    return api_.list(type, ns, options, std::move(stop));
  }
  Result<void> watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                     const WatchHandler& handler, std::stop_token stop) override {
    return api_.watch(type, ns, options, handler, std::move(stop));
  }
  Result<Json> get(const ResourceType& type, std::string_view ns, std::string_view name, std::stop_token stop) override {
    return api_.get(type, ns, name, std::move(stop));
  }
  Result<Json> create(const ResourceType& type, std::string_view ns, const Json& object, const CreateOptions& options,
                      std::stop_token stop) override {
    return api_.create(type, ns, object, options, std::move(stop));
  }
  Result<Json> update(const ResourceType& type, std::string_view ns, const Json& object, std::stop_token stop) override {
    return api_.update(type, ns, object, std::move(stop));
  }
  Result<Json> remove(const ResourceType& type, std::string_view ns, std::string_view name, const DeleteOptions& options,
                      std::stop_token stop) override {
    return api_.remove(type, ns, name, options, std::move(stop));
  }
  Result<Json> mergePatch(const ResourceType& type, std::string_view ns, std::string_view name, const Json& patch,
                          const PatchOptions& options, std::stop_token stop) override {
    return api_.mergePatch(type, ns, name, patch, options, std::move(stop));
  }
  Result<Json> apply(const ResourceType& type, const Json& object, const ApplyOptions& options,
                     std::stop_token stop) override {
    return api_.apply(type, object, options, std::move(stop));
  }

 private:
  FakeObjectApi& api_;
};

class InformerPagedList : public ::testing::Test {
 protected:
  InformerPagedList() { clock_.setRandom(0.0); }

  // Seven ConfigMaps, listed three to a page: pages of 3, 3 and 1.
  void seed() {
    for (int i = 0; i < 7; ++i) api_.seed(resources::kConfigMaps, configMapIn("team", "cm-" + std::to_string(i)));
  }

  // Starts an informer over the hook whose transform notes, per item, how many lists had been
  // asked for when it ran.
  void start(std::function<void(Json&)> also = {}) {
    informer_ = std::make_unique<Informer>(
        hook_, clock_,
        InformerOptions{.type = resources::kConfigMaps,
                        .ns = "team",
                        .page_size = 3,
                        .transform = [this, also = std::move(also)](Json& object) {
                          if (also) also(object);
                          std::lock_guard lock(mutex_);
                          lists_when_transformed_.push_back(api_.count(Verb::kList));
                        },
                        .encoding = CacheEncoding::kText});
    informer_->addHandler({.on_add = [this](const ObjectPtr& object) {
      std::lock_guard lock(mutex_);
      added_.push_back(objectKey(*object));
    }});
    runner_ = std::jthread([this](std::stop_token stop) { informer_->run(stop); });
  }

  // Each list call as "rv=<version> continue=<token>".
  std::vector<std::string> lists() const {
    std::vector<std::string> found;
    for (const Call& call : api_.calls()) {
      if (call.verb == Verb::kList) found.push_back("rv=" + call.resource_version + " continue=" + call.continue_token);
    }
    return found;
  }

  // The informer is waiting on the clock (a backoff), not on the API.
  bool backingOff() const { return clock_.waiters() > 0; }

  std::vector<int> listsWhenTransformed() {
    std::lock_guard lock(mutex_);
    return lists_when_transformed_;
  }

  std::vector<std::string> added() {
    std::lock_guard lock(mutex_);
    return added_;
  }

  FakeClock clock_;
  FakeObjectApi api_{clock_};
  ListHook hook_{api_};
  std::mutex mutex_;
  std::vector<int> lists_when_transformed_;  // guarded by mutex_
  std::vector<std::string> added_;            // guarded by mutex_
  std::unique_ptr<Informer> informer_;
  std::jthread runner_;  // last: stopped and joined before the informer goes
};

TEST_F(InformerPagedList, StoresEveryPageAndTransformsEachItemAsItsPageArrives) {
  seed();
  const std::string listed = api_.resourceVersion();
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));

  EXPECT_THAT(lists(), ElementsAre("rv= continue=", "rv= continue=fake-continue-1", "rv= continue=fake-continue-2"));
  EXPECT_THAT(listsWhenTransformed(), ElementsAre(1, 1, 1, 2, 2, 2, 3)) << "each page transformed before the next";
  EXPECT_EQ(informer_->store().size(), 7U);
  EXPECT_EQ(added().size(), 7U);
  EXPECT_EQ(informer_->lastSyncResourceVersion(), listed);
  EXPECT_EQ(api_.calls().back().resource_version, listed) << "the watch starts from the list's version";
  EXPECT_EQ(informer_->stats().lists, 1U);
  EXPECT_EQ(informer_->stats().failures, 0U);
}

TEST_F(InformerPagedList, WatchesFromTheFirstPagesVersionSoWhatChangedWhilePagingArrivesByTheWatch) {
  seed();
  const std::string listed = api_.resourceVersion();
  hook_.before_list = [this](const ListOptions& options) {
    if (options.continue_token == "fake-continue-1") {
      ASSERT_TRUE(api_.create(resources::kConfigMaps, "team", configMapIn("team", "late")));
    }
  };
  start();
  ASSERT_TRUE(eventually([&] {
    return added().size() == 8 && informer_->lastSyncResourceVersion() == api_.resourceVersion();
  }));

  EXPECT_EQ(informer_->store().size(), 8U);
  std::vector<std::string> watched;
  for (const Call& call : api_.calls()) {
    if (call.verb == Verb::kWatch) watched.push_back(call.resource_version);
  }
  EXPECT_THAT(watched, ElementsAre(listed));
  EXPECT_EQ(added().back(), "team/late");
  EXPECT_EQ(added().size(), 8U) << "late arrived by the watch from the list's version";
}

TEST_F(InformerPagedList, AnExpiredContinueTokenStartsTheListOver) {
  seed();
  hook_.before_list = [this](const ListOptions& options) {
    // The history is compacted past the list's snapshot while it is paged through.
    if (options.continue_token == "fake-continue-1") {
      ASSERT_TRUE(api_.create(resources::kConfigMaps, "team", configMapIn("team", "late")));
      api_.compact();
    }
  };
  start();
  ASSERT_TRUE(api_.awaitOpenWatches(1));

  EXPECT_THAT(lists(), ElementsAre("rv= continue=", "rv= continue=fake-continue-1", "rv= continue=",
                                   "rv= continue=fake-continue-2", "rv= continue=fake-continue-3"));
  EXPECT_EQ(informer_->store().size(), 8U);
  EXPECT_EQ(informer_->lastSyncResourceVersion(), api_.resourceVersion());
  EXPECT_EQ(informer_->stats().lists, 1U);
  EXPECT_EQ(informer_->stats().failures, 0U);
  EXPECT_EQ(added().size(), 8U) << "nothing from the abandoned first page was stored";
}

TEST_F(InformerPagedList, ATransformThatThrowsOnALaterPageFailsTheListWhichIsRetriedAfterABackoff) {
  seed();
  std::atomic<int> throws = 1;
  start([&throws](Json& object) {
    if (object["metadata"]["name"] == "cm-4" && throws-- > 0) throw std::runtime_error("cannot trim cm-4");
  });
  ASSERT_TRUE(eventually([&] { return backingOff(); }));
  EXPECT_FALSE(informer_->hasSynced());
  EXPECT_EQ(informer_->store().size(), 0U) << "a list is stored whole or not at all";
  EXPECT_EQ(informer_->stats().failures, 1U);

  clock_.advance(800ms);
  ASSERT_TRUE(eventually([&] { return informer_->hasSynced(); }));
  EXPECT_EQ(informer_->store().size(), 7U);
  EXPECT_EQ(api_.count(Verb::kList), 5);
}

TEST(ResourceLabel, IsKubectlsResourceName) {
  EXPECT_EQ(resourceLabel(resources::kConfigMaps), "configmaps");
  EXPECT_EQ(resourceLabel({.group = "apps", .version = "v1", .plural = "deployments"}), "deployments.apps");
}

}  // namespace
}  // namespace kube::runtime
