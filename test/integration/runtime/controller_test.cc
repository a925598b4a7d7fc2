// A controller end to end on the real API server: it creates a child for every primary object,
// and because it watches the children, a deleted child comes back.
#include "runtime/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/support/cluster.h"

namespace {

using namespace std::chrono_literals;
using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::eventually;
using ::aphex::testing::ScopedNamespace;
using kube::Json;
using namespace kube::runtime;

const Json kPrimaryLabels = {{"aphex.io/test", "controller-primary"}};
const Json kChildLabels = {{"aphex.io/test", "controller-child"}};

TEST(ControllerIntegration, CreatesChildrenAndRepairsThemWhenDeleted) {
  auto client = clientFor(adminConfig());
  ScopedNamespace ns(*client, "it-controller");
  Clock& clock = realClock();
  Informer primaries(*client, clock, {.type = kube::resources::kConfigMaps, .ns = ns.name(),
                                      .label_selector = "aphex.io/test=controller-primary"});
  Informer children(*client, clock, {.type = kube::resources::kConfigMaps, .ns = ns.name(),
                                     .label_selector = "aphex.io/test=controller-child"});
  std::atomic<int> reconciles = 0;
  Controller controller(clock, {.name = "child-maker", .concurrency = 2}, [&](const Request& request, std::stop_token) -> Outcome {
    ++reconciles;
    const ObjectPtr primary = primaries.store().get(request.key());
    if (!primary) return Done{};  // deleted: the child goes with it (owner reference)
    const Json child = {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                        {"metadata", {{"name", request.name + "-child"}, {"namespace", request.ns}, {"labels", kChildLabels},
                                      {"ownerReferences", Json::array({{{"apiVersion", "v1"}, {"kind", "ConfigMap"},
                                                                         {"name", request.name}, {"uid", (*primary)["metadata"]["uid"]},
                                                                         {"controller", true}}})}}},
                        {"data", {{"source", request.name}}}};
    auto applied = client->apply(kube::resources::kConfigMaps, child, {.field_manager = "aphex-test-controller"});
    if (!applied) return Retry{applied.error().message};
    return Done{};
  });
  controller.watchPrimary(primaries);
  controller.watchOwned(children, "ConfigMap");

  std::jthread primaries_runner([&](std::stop_token stop) { primaries.run(stop); });
  std::jthread children_runner([&](std::stop_token stop) { children.run(stop); });
  ASSERT_TRUE(primaries.waitForSync({}, 30s));
  ASSERT_TRUE(children.waitForSync({}, 30s));
  std::jthread controller_runner([&](std::stop_token stop) { controller.run(stop); });

  for (const char* name : {"alpha", "beta", "gamma"}) {
    ASSERT_TRUE(client->create(kube::resources::kConfigMaps, ns.name(),
                               {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"labels", kPrimaryLabels}}}}));
  }
  ASSERT_TRUE(eventually([&] { return children.store().size() == 3; }, 30s)) << "children were not created";

  ASSERT_TRUE(client->remove(kube::resources::kConfigMaps, ns.name(), "beta-child"));
  ASSERT_TRUE(eventually([&] {
    auto child = client->get(kube::resources::kConfigMaps, ns.name(), "beta-child");
    return child && (*child)["data"]["source"] == "beta";
  }, 30s)) << "the deleted child was not restored";
  EXPECT_GE(reconciles.load(), 4);
}

}  // namespace
