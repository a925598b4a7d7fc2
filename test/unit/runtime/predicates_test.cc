#include "runtime/predicates.h"

#include <gtest/gtest.h>

namespace kube::runtime {
namespace {

Json organization() {
  return Json::parse(R"({"apiVersion": "aphex.io/v1alpha1", "kind": "Organization",
    "metadata": {"name": "acme", "generation": 1, "resourceVersion": "10", "labels": {"tier": "gold"},
                 "managedFields": [{"manager": "kubectl"}]},
    "spec": {"adminUsers": ["ada@example.test"]},
    "status": {"phase": "Ready"}})");
}

TEST(ChangedApartFromStatus, IgnoresTheControllersOwnStatusWrites) {
  const Json before = organization();
  Json after = before;
  after["status"]["phase"] = "Provisioning";
  after["metadata"]["resourceVersion"] = "11";
  after["metadata"]["managedFields"].push_back({{"manager", "aphex-controller"}});
  EXPECT_FALSE(changedApartFromStatus()(before, after));
}

TEST(ChangedApartFromStatus, SeesSpecMetadataAndDeletion) {
  const Json before = organization();
  for (const auto& change : {Json::parse(R"({"spec": {"adminUsers": []}})"),
                             Json::parse(R"({"metadata": {"labels": {"tier": "silver"}}})"),
                             Json::parse(R"({"metadata": {"finalizers": ["aphex.io/cleanup"]}})"),
                             Json::parse(R"({"metadata": {"deletionTimestamp": "2026-12-06T10:00:00Z"}})"),
                             Json::parse(R"({"metadata": {"labels": null}})")}) {
    Json after = before;
    after.merge_patch(change);
    EXPECT_TRUE(changedApartFromStatus()(before, after)) << change.dump();
  }
}

TEST(MetadataPredicates, EachWatchesItsOwnField) {
  const Json before = organization();
  Json relabelled = before;
  relabelled["metadata"]["labels"]["tier"] = "silver";
  Json respecced = before;
  respecced["metadata"]["generation"] = 2;
  EXPECT_TRUE(labelsChanged()(before, relabelled));
  EXPECT_FALSE(generationChanged()(before, relabelled));
  EXPECT_FALSE(annotationsChanged()(before, relabelled));
  EXPECT_TRUE(generationChanged()(before, respecced));
  Json annotated = before;
  annotated["metadata"]["annotations"] = {{"note", "x"}};
  EXPECT_TRUE(annotationsChanged()(before, annotated));
  Json deleting = before;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_TRUE(deletionChanged()(before, deleting));
  EXPECT_FALSE(deletionChanged()(before, relabelled));
  EXPECT_FALSE(generationChanged()(before, deleting));
}

TEST(ProjectionChanged, LooksOnlyAtWhatTheProjectionKeeps) {
  const auto phase = projectionChanged([](const Json& object) { return object.value("status", Json::object()).value("phase", ""); });
  const Json before = organization();
  Json relabelled = before;
  relabelled["metadata"]["labels"]["tier"] = "silver";
  Json failed = before;
  failed["status"]["phase"] = "Failed";
  EXPECT_FALSE(phase(before, relabelled));
  EXPECT_TRUE(phase(before, failed));
  EXPECT_TRUE(anyOf({labelsChanged(), phase})(before, relabelled));
  EXPECT_FALSE(anyOf({})(before, failed));
}

}  // namespace
}  // namespace kube::runtime
