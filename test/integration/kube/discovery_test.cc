// Discovery against a real kube-apiserver: built-in kinds, a CRD installed after the first
// lookup, and unknown kinds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "kube/discovery.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::eventually;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const kube::ResourceType kCrds{.group = "apiextensions.k8s.io", .version = "v1",
                               .plural = "customresourcedefinitions", .namespaced = false};

kube::Json gadgetCrd(const std::string& group) {
  return {{"apiVersion", "apiextensions.k8s.io/v1"},
          {"kind", "CustomResourceDefinition"},
          {"metadata", {{"name", "gadgets." + group}}},
          {"spec",
           {{"group", group},
            {"scope", "Cluster"},
            {"names", {{"plural", "gadgets"}, {"singular", "gadget"}, {"kind", "Gadget"}, {"listKind", "GadgetList"}}},
            {"versions",
             {{{"name", "v1"},
               {"served", true},
               {"storage", true},
               {"schema", {{"openAPIV3Schema", {{"type", "object"}}}}}}}}}}};
}

TEST(DiscoveryIntegration, ResolvesBuiltInKindsWithTheirScope) {
  auto client = clientFor(adminConfig());
  kube::Discovery discovery(*client);
  const auto config_maps = discovery.resourceFor("v1", "ConfigMap");
  ASSERT_TRUE(config_maps) << config_maps.error().message;
  EXPECT_EQ(config_maps->plural, "configmaps");
  EXPECT_TRUE(config_maps->namespaced);
  const auto roles = discovery.resourceFor("rbac.authorization.k8s.io/v1", "ClusterRole");
  ASSERT_TRUE(roles) << roles.error().message;
  EXPECT_EQ(roles->plural, "clusterroles");
  EXPECT_FALSE(roles->namespaced);
  EXPECT_EQ(roles->apiVersion(), "rbac.authorization.k8s.io/v1");
}

TEST(DiscoveryIntegration, AnUnknownKindIsNotFoundWithAHint) {
  auto client = clientFor(adminConfig());
  kube::Discovery discovery(*client);
  const auto missing_kind = discovery.resourceFor("v1", "Gizmo");
  ASSERT_FALSE(missing_kind);
  EXPECT_TRUE(missing_kind.error().isNotFound());
  EXPECT_THAT(missing_kind.error().message, HasSubstr("kind Gizmo in v1"));
  const auto missing_group = discovery.resourceFor("absent.example.com/v1", "Gizmo");
  ASSERT_FALSE(missing_group);
  EXPECT_TRUE(missing_group.error().isNotFound());
  EXPECT_THAT(missing_group.error().message, HasSubstr("CRD is installed"));
}

TEST(DiscoveryIntegration, ACrdInstalledAfterTheFirstLookupIsFoundWithoutARestart) {
  auto client = clientFor(adminConfig());
  kube::Discovery discovery(*client, 200ms);
  const std::string group = uniqueName("disc") + ".example.com";
  ASSERT_FALSE(discovery.resourceFor(group + "/v1", "Gadget"));

  ASSERT_TRUE(client->create(kCrds, "", gadgetCrd(group)));
  kube::Result<kube::ResourceType> found = kube::Error{};
  EXPECT_TRUE(eventually([&] { return static_cast<bool>(found = discovery.resourceFor(group + "/v1", "Gadget")); }, 30s));
  if (found) {
    EXPECT_EQ(found->plural, "gadgets");
    EXPECT_FALSE(found->namespaced);
  }
  (void)client->remove(kCrds, "", "gadgets." + group);
}

}  // namespace
