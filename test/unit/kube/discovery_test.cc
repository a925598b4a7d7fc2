#include <gtest/gtest.h>

#include "kube/discovery.h"

namespace {

TEST(GroupVersion, ParsesCoreAndNamedGroups) {
  const auto core = kube::GroupVersion::parse("v1");
  EXPECT_EQ(core.group, "");
  EXPECT_EQ(core.version, "v1");
  EXPECT_EQ(core.path(), "/api/v1");
  const auto apps = kube::GroupVersion::parse("apps/v1");
  EXPECT_EQ(apps.group, "apps");
  EXPECT_EQ(apps.path(), "/apis/apps/v1");
}

TEST(ParseResourceList, KeepsKindsAndScopeAndSkipsSubresources) {
  const auto list = kube::Json::parse(R"({
    "kind": "APIResourceList", "groupVersion": "tekton.dev/v1",
    "resources": [
      {"name": "pipelines", "namespaced": true, "kind": "Pipeline"},
      {"name": "pipelines/status", "namespaced": true, "kind": "Pipeline"},
      {"name": "clustertasks", "namespaced": false, "kind": "ClusterTask"},
      {"name": "", "kind": "Broken"}
    ]})");
  const auto kinds = kube::parseResourceList(kube::GroupVersion::parse("tekton.dev/v1"), list);
  ASSERT_TRUE(kinds);
  ASSERT_EQ(kinds->size(), 2u);
  EXPECT_EQ(kinds->at("Pipeline").plural, "pipelines");
  EXPECT_TRUE(kinds->at("Pipeline").namespaced);
  EXPECT_EQ(kinds->at("Pipeline").apiVersion(), "tekton.dev/v1");
  EXPECT_FALSE(kinds->at("ClusterTask").namespaced);
}

TEST(ParseResourceList, ABodyWithoutResourcesIsADecodeError) {
  const auto kinds = kube::parseResourceList(kube::GroupVersion::parse("v1"), kube::Json::object());
  ASSERT_FALSE(kinds);
  EXPECT_EQ(kinds.error().kind, kube::ErrorKind::kDecode);
}

}  // namespace
