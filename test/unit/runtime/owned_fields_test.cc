// The compact child and its digest, on managedFields shaped as kube-apiserver 1.37 writes them
// (captured from the local control plane), and the Applier's comparison of compact objects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_kube.h"
#include "runtime/apply.h"
#include "runtime/owned_fields.h"

namespace {

using kube::Json;
using kube::testing::FakeObjectApi;
using kube::testing::Verb;
namespace rt = kube::runtime;

constexpr const char* kManager = "aphex-controller";

// A RoleBinding as applied by kManager: roleRef and subjects are atomic (one leaf each).
Json appliedRoleBinding() {
  return Json::parse(R"({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
    "metadata": {"name": "rb", "namespace": "team", "uid": "u-1", "resourceVersion": "7", "creationTimestamp": "2026-12-06T11:46:38Z",
      "labels": {"app.kubernetes.io/managed-by": "aphex-controller", "added-by-someone": "x"},
      "annotations": {"aphex.io/applied-hash": "h1"},
      "managedFields": [
        {"manager": "aphex-controller", "operation": "Apply", "apiVersion": "rbac.authorization.k8s.io/v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}, "f:annotations": {"f:aphex.io/applied-hash": {}}},
                      "f:roleRef": {}, "f:subjects": {}}},
        {"manager": "kubectl-label", "operation": "Update", "apiVersion": "rbac.authorization.k8s.io/v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:labels": {"f:added-by-someone": {}}}}}]},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team"}]})");
}

Json desiredRoleBinding() {
  return Json::parse(R"({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
    "metadata": {"name": "rb", "namespace": "team", "labels": {"app.kubernetes.io/managed-by": "aphex-controller"},
                 "annotations": {"aphex.io/applied-hash": "h1"}},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team"}]})");
}

TEST(OwnedFields, TheDigestOfWhatTheManagerAppliedEqualsTheDesiredDigest) {
  EXPECT_EQ(rt::ownedFieldsDigest(appliedRoleBinding(), kManager), rt::desiredFieldsDigest(desiredRoleBinding()))
      << "another manager's label and the server's metadata are not in the projection";
}

TEST(OwnedFields, AFieldSomeoneElseChangedMovesToThemAndTheDigestDiffers) {
  Json live = appliedRoleBinding();
  live["subjects"][0]["name"] = "intruder";
  // kubectl edit: the Update takes the field from the applier.
  live["metadata"]["managedFields"][0]["fieldsV1"].erase("f:subjects");
  live["metadata"]["managedFields"][1]["fieldsV1"]["f:subjects"] = Json::object();
  EXPECT_NE(rt::ownedFieldsDigest(live, kManager), rt::desiredFieldsDigest(desiredRoleBinding()));
}

TEST(OwnedFields, TheStatusSubresourceDoesNotCountAnUpdateEntryOfTheManagerDoes) {
  Json live = appliedRoleBinding();
  live["metadata"]["managedFields"].push_back(Json::parse(
      R"({"manager": "aphex-controller", "operation": "Apply", "subresource": "status", "fieldsV1": {"f:status": {"f:phase": {}}}})"));
  live["status"] = {{"phase", "Active"}};
  EXPECT_EQ(rt::ownedFieldsDigest(live, kManager), rt::desiredFieldsDigest(desiredRoleBinding()));
  // As a create records it: the manager's Update entry names fields too.
  live["metadata"]["managedFields"].push_back(Json::parse(
      R"({"manager": "aphex-controller", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:added-by-someone": {}}}}})"));
  Json desired = desiredRoleBinding();
  desired["metadata"]["labels"]["added-by-someone"] = "x";
  EXPECT_EQ(rt::ownedFieldsDigest(live, kManager), rt::desiredFieldsDigest(desired));
  live["metadata"].erase("managedFields");
  EXPECT_EQ(rt::ownedFieldsDigest(live, kManager), "") << "nothing applied by this manager";
}

TEST(OwnedFields, ListElementsAreProjectedByTheirKeysInTheLiveOrder) {
  const Json live = Json::parse(R"({"spec": {"containers": [
      {"name": "b", "image": "y", "imagePullPolicy": "IfNotPresent"},
      {"name": "a", "image": "x", "terminationMessagePath": "/dev/termination-log"},
      {"name": "sidecar", "image": "z"}],
    "finalizers": ["one", "two"]}})");
  const Json fields = Json::parse(R"({"f:spec": {
      "f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:image": {}},
                       "k:{\"name\":\"b\"}": {".": {}, "f:name": {}, "f:image": {}}},
      "f:finalizers": {"v:\"two\"": {}}}})");
  EXPECT_EQ(rt::projectOntoFields(live, fields), Json::parse(R"({"spec": {
      "containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}],
      "finalizers": ["two"]}})"));
}

TEST(OwnedFields, AnUnreadableKeyMatchesNothing) {
  const Json live = Json::parse(R"({"items": [{"name": "a"}]})");
  EXPECT_EQ(rt::projectOntoFields(live, Json::parse(R"({"f:items": {"k:{not json": {}}})")),
            Json::parse(R"({"items": []})"));
}

TEST(CompactChild, KeepsIdentityMetadataAndNamedFieldsAndTheDigestOnly) {
  Json object = appliedRoleBinding();
  rt::compactChild(object, {.field_manager = kManager, .kept_fields = {"roleRef"}});
  EXPECT_TRUE(rt::isCompact(object));
  EXPECT_EQ(object.value(std::string(rt::kOwnedFieldsDigest), ""), rt::desiredFieldsDigest(desiredRoleBinding()));
  EXPECT_EQ(object["metadata"]["uid"], "u-1");
  EXPECT_EQ(object["metadata"]["labels"]["added-by-someone"], "x");
  EXPECT_FALSE(object["metadata"].contains("managedFields"));
  EXPECT_FALSE(object["metadata"].contains("creationTimestamp"));
  EXPECT_FALSE(object.contains("subjects"));
  EXPECT_EQ(object["roleRef"]["name"], "view");
  EXPECT_EQ(object["kind"], "RoleBinding");
}

const kube::ResourceType kRoleBindings{.group = "rbac.authorization.k8s.io", .version = "v1", .plural = "rolebindings"};

class CompactApplyTest : public ::testing::Test {
 protected:
  rt::Applier applier_{api_, {.field_manager = kManager, .hash_annotation = "aphex.io/applied-hash"}};

  Json desired() const {
    Json object = desiredRoleBinding();
    object["metadata"].erase("annotations");  // the Applier stamps the hash itself
    return object;
  }
  // The object as the server holds it after the applier's apply, and its compact form.
  Json seedApplied() {
    Json stamped = desired();
    stamped["metadata"]["annotations"]["aphex.io/applied-hash"] = rt::intentHash(desired());
    return api_.seed(kRoleBindings, stamped);
  }
  Json compactOf(Json whole, bool digest_matches) const {
    rt::compactChild(whole, {.field_manager = kManager});
    Json stamped = desired();
    stamped["metadata"]["annotations"]["aphex.io/applied-hash"] = rt::intentHash(desired());
    whole[std::string(rt::kOwnedFieldsDigest)] = digest_matches ? rt::desiredFieldsDigest(stamped) : "other";
    return whole;
  }
  std::size_t reads() const {
    std::size_t n = 0;
    for (const auto& call : api_.calls()) n += call.verb == Verb::kGet ? 1 : 0;
    return n;
  }

  FakeObjectApi api_;
};

TEST_F(CompactApplyTest, AMatchingDigestIsUpToDateWithoutARequest) {
  const Json live = compactOf(seedApplied(), true);
  auto applied = applier_.apply(kRoleBindings, desired(), &live);
  ASSERT_TRUE(applied);
  EXPECT_FALSE(applied->written);
  EXPECT_TRUE(api_.calls().empty());
}

TEST_F(CompactApplyTest, ADigestThatDiffersIsSettledByOneReadThenRemembered) {
  const Json live = compactOf(seedApplied(), false);  // as when the server defaulted inside an atomic field
  ASSERT_FALSE(applier_.apply(kRoleBindings, desired(), &live)->written);
  ASSERT_FALSE(applier_.apply(kRoleBindings, desired(), &live)->written);
  EXPECT_EQ(reads(), 1u) << "the second pass knows this resourceVersion";
  EXPECT_TRUE(api_.writes().empty());
}

TEST_F(CompactApplyTest, DriftFoundByTheReadIsApplied) {
  Json whole = seedApplied();
  const Json live = compactOf(whole, false);
  whole["subjects"][0]["name"] = "intruder";
  ASSERT_TRUE(api_.update(kRoleBindings, "team", whole));
  auto applied = applier_.apply(kRoleBindings, desired(), &live);
  ASSERT_TRUE(applied);
  EXPECT_TRUE(applied->written);
  EXPECT_EQ(api_.writes().back().verb, Verb::kApply);
}

TEST_F(CompactApplyTest, AnotherIntentIsAppliedWithoutReading) {
  const Json live = compactOf(seedApplied(), true);
  Json changed = desired();
  changed["roleRef"]["name"] = "edit";
  ASSERT_TRUE(applier_.apply(kRoleBindings, changed, &live)->written);
  EXPECT_EQ(reads(), 0u);
}

}  // namespace
