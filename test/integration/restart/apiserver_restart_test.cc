// The API server is killed and restarted while an informer watches and a writer writes: the
// informer must recover by itself and end up with every object, none twice. This runs on a
// cluster of its own, since the outage would disturb other tests.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "integration/support/cluster.h"
#include "runtime/informer.h"

namespace {

using namespace std::chrono_literals;
using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::clusterDir;
using kube::Json;

int restartApiServer(int down_seconds) {
  const std::filesystem::path dir = clusterDir();
  const std::string command = "APHEX_STATE_DIR='" + dir.parent_path().parent_path().string() + "' '" +
                              APHEX_SOURCE_DIR "/scripts/local-cluster' --name '" + dir.filename().string() +
                              "' restart-apiserver --down " + std::to_string(down_seconds);
  return std::system(command.c_str());
}

TEST(ApiServerRestart, TheInformerRecoversAndMissesNothing) {
  auto admin = clientFor(adminConfig());
  const std::string ns = ::aphex::testing::uniqueName("it-restart");
  ASSERT_TRUE(admin->create(kube::resources::kNamespaces, "", ::aphex::testing::namespaceObject(ns)));

  kube::runtime::Informer informer(
      *admin, kube::runtime::realClock(),
      // Scoped by label: kube-controller-manager adds its own ConfigMap (kube-root-ca.crt) to the
      // namespace, and this test counts only what its writer creates.
      {.type = kube::resources::kConfigMaps, .ns = ns, .label_selector = "aphex.io/test=restart", .min_watch_timeout = 30s,
       .backoff = {.initial = 100ms, .max = 1s, .factor = 2.0, .jitter = 0.2, .reset_after = 2min}});
  std::atomic<int> adds = 0;
  informer.addHandler({.on_add = [&](const auto&) { ++adds; }});
  std::jthread runner([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(informer.waitForSync({}, 30s));

  // Writes 40 ConfigMaps, retrying each until the API server takes it (it is down for a while).
  constexpr int kObjects = 40;
  std::jthread writer([&] {
    for (int i = 0; i < kObjects; ++i) {
      const Json object = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm-" + std::to_string(i)}, {"labels", {{"aphex.io/test", "restart"}}}}}};
      while (true) {
        auto created = admin->create(kube::resources::kConfigMaps, ns, object);
        if (created || created.error().isAlreadyExists()) break;
        std::this_thread::sleep_for(200ms);
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(restartApiServer(5), 0);
  writer.join();

  ::aphex::testing::eventually([&] { return informer.store().size() >= kObjects; }, 60s);
  EXPECT_EQ(informer.store().size(), static_cast<size_t>(kObjects));
  EXPECT_EQ(adds.load(), kObjects) << "every object reported exactly once";
  EXPECT_GE(informer.stats().failures, 1U) << "the outage should have broken the watch";
  (void)admin->remove(kube::resources::kNamespaces, "", ns);
}

}  // namespace
