// The informer against the real API server: event order, a partition that hides changes, and an
// expired resourceVersion that forces a relist.
#include "runtime/informer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "integration/support/cluster.h"
#include "integration/support/etcd.h"
#include "integration/support/tcp_proxy.h"

namespace {

using namespace std::chrono_literals;
using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::clusterPort;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::TcpProxy;
using kube::Json;
using kube::runtime::Informer;
using kube::runtime::ObjectPtr;

const kube::ResourceType kPodTemplates{.group = "", .version = "v1", .plural = "podtemplates", .namespaced = true};

// Labelled, so the informers below can be scoped to what the test creates (and not see, say,
// the kube-root-ca.crt ConfigMap that kube-controller-manager adds to every namespace).
const kube::Json kTestLabels = {{"aphex.io/test", "informer"}};

Json configMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"labels", kTestLabels}}},
          {"data", {{"v", value}}}};
}

Json podTemplate(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "PodTemplate"},
          {"metadata", {{"name", name}, {"labels", kTestLabels}}},
          {"template", {{"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "busybox"}}})}}}}}};
}

// Records what an informer reports, and lets a test wait for a condition on it.
class Recorder {
 public:
  kube::runtime::EventHandler handler() {
    return {.on_add = [this](const ObjectPtr& o) { record("ADDED", *o); },
            .on_update = [this](const ObjectPtr&, const ObjectPtr& o) { record("MODIFIED", *o); },
            .on_delete = [this](const ObjectPtr& o) { record("DELETED", *o); }};
  }
  // Waits up to `timeout` for `done(events)` to hold.
  template <typename Predicate>
  bool waitFor(Predicate done, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return done(events_); });
  }
  struct Seen {
    std::string type;
    std::string name;
    std::string version;
    Json data;
  };

 private:
  void record(const std::string& type, const Json& object) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back({type, object["metadata"]["name"], object["metadata"]["resourceVersion"],
                         object.value("data", Json::object())});
    }
    cv_.notify_all();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Seen> events_;
};

bool saw(const std::vector<Recorder::Seen>& events, const std::string& type, const std::string& name) {
  return std::any_of(events.begin(), events.end(), [&](const auto& e) { return e.type == type && e.name == name; });
}

class InformerIntegration : public ::testing::Test {
 protected:
  // Short timeouts and backoff so reconnects happen within a test's patience.
  kube::runtime::InformerOptions options(const kube::ResourceType& type, const std::string& ns) {
    return {.type = type,
            .ns = ns,
            .label_selector = "aphex.io/test=informer",
            .min_watch_timeout = 2s,
            .backoff = {.initial = 50ms, .max = 500ms, .factor = 2.0, .jitter = 0.2, .reset_after = 2min}};
  }
  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
};

TEST_F(InformerIntegration, DeliversEveryChangeToAnObjectInOrder) {
  ScopedNamespace ns(*admin_, "it-informer-order");
  Informer informer(*admin_, kube::runtime::realClock(), options(kube::resources::kConfigMaps, ns.name()));
  Recorder recorder;
  informer.addHandler(recorder.handler());
  std::jthread runner([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(informer.waitForSync({}, 30s));

  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns.name(), configMap("ordered", "0")));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(admin_->mergePatch(kube::resources::kConfigMaps, ns.name(), "ordered", {{"data", {{"v", std::to_string(i)}}}}));
  }
  ASSERT_TRUE(admin_->remove(kube::resources::kConfigMaps, ns.name(), "ordered"));
  std::vector<Recorder::Seen> seen;
  ASSERT_TRUE(recorder.waitFor([&](const auto& events) {
    seen = events;
    return saw(events, "DELETED", "ordered");
  }));
  ASSERT_EQ(seen.size(), 5U);
  EXPECT_EQ(seen[0].type, "ADDED");
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(seen[static_cast<size_t>(i)].type, "MODIFIED");
    EXPECT_EQ(seen[static_cast<size_t>(i)].data["v"], std::to_string(i));
  }
  for (size_t i = 1; i < 4; ++i) EXPECT_LT(std::stoll(seen[i - 1].version), std::stoll(seen[i].version));
  EXPECT_EQ(informer.store().size(), 0U);
}

TEST_F(InformerIntegration, ChangesMadeWhileTheConnectionIsCutAreNotMissed) {
  ScopedNamespace ns(*admin_, "it-informer-partition");
  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns.name(), configMap("changed", "before")));
  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns.name(), configMap("deleted", "x")));

  TcpProxy proxy(clusterPort("API_PORT"));
  kube::ClientConfig through_proxy = adminConfig();
  through_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto client = clientFor(through_proxy);
  Informer informer(*client, kube::runtime::realClock(), options(kube::resources::kConfigMaps, ns.name()));
  Recorder recorder;
  informer.addHandler(recorder.handler());
  std::jthread runner([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(informer.waitForSync({}, 30s));
  ASSERT_EQ(informer.store().size(), 2U);

  proxy.cut();
  ASSERT_TRUE(admin_->mergePatch(kube::resources::kConfigMaps, ns.name(), "changed", {{"data", {{"v", "after"}}}}));
  ASSERT_TRUE(admin_->remove(kube::resources::kConfigMaps, ns.name(), "deleted"));
  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns.name(), configMap("created", "x")));
  std::this_thread::sleep_for(1s);  // let the informer notice the cut and start backing off
  proxy.restore();

  ASSERT_TRUE(recorder.waitFor([](const auto& events) {
    return saw(events, "DELETED", "deleted") && saw(events, "ADDED", "created") && saw(events, "MODIFIED", "changed");
  })) << "the informer did not catch up after the partition";
  EXPECT_EQ((*informer.store().get(ns.name() + "/changed"))["data"]["v"], "after");
  EXPECT_EQ(informer.store().get(ns.name() + "/deleted"), nullptr);
  EXPECT_EQ(informer.store().size(), 2U);
  EXPECT_GE(informer.stats().failures, 1U) << "the cut should have broken at least one watch";
}

// PodTemplates bypass the API server's watch cache in the local cluster (--watch-cache-sizes),
// so compacting etcd makes an old resourceVersion unavailable exactly as it would in production
// after a long disconnection.
TEST_F(InformerIntegration, AnExpiredResourceVersionLeadsToARelistThatReportsDeletions) {
  ScopedNamespace ns(*admin_, "it-informer-expired");
  ASSERT_TRUE(admin_->create(kPodTemplates, ns.name(), podTemplate("kept")));
  ASSERT_TRUE(admin_->create(kPodTemplates, ns.name(), podTemplate("deleted")));

  TcpProxy proxy(clusterPort("API_PORT"));
  kube::ClientConfig through_proxy = adminConfig();
  through_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  auto client = clientFor(through_proxy);
  Informer informer(*client, kube::runtime::realClock(), options(kPodTemplates, ns.name()));
  Recorder recorder;
  informer.addHandler(recorder.handler());
  std::jthread runner([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(informer.waitForSync({}, 30s));

  proxy.cut();
  ASSERT_TRUE(admin_->remove(kPodTemplates, ns.name(), "deleted"));
  ASSERT_TRUE(admin_->create(kPodTemplates, ns.name(), podTemplate("created")));
  ASSERT_TRUE(admin_->create(kube::resources::kConfigMaps, ns.name(), configMap("bump", "1")));
  ::aphex::testing::compactEtcd();
  proxy.restore();

  ASSERT_TRUE(recorder.waitFor([](const auto& events) {
    return saw(events, "DELETED", "deleted") && saw(events, "ADDED", "created");
  })) << "the informer did not recover from the expired resourceVersion";
  EXPECT_GE(informer.stats().relists_after_expiry, 1U);
  EXPECT_NE(informer.store().get(ns.name() + "/kept"), nullptr);
  EXPECT_EQ(informer.store().get(ns.name() + "/deleted"), nullptr);
  EXPECT_EQ(informer.store().size(), 2U);
}

}  // namespace
