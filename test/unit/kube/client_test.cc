#include "kube/client.h"

#include <gtest/gtest.h>

namespace kube {
namespace {

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
