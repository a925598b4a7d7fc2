#include <gtest/gtest.h>

#include "runtime/apply.h"

namespace {

using kube::Json;
using kube::runtime::containsAll;
using kube::runtime::intentHash;

TEST(ContainsAll, ExtraFieldsInTheLiveObjectDoNotCount) {
  const Json live{{"metadata", {{"name", "a"}, {"uid", "1"}, {"labels", {{"x", "1"}, {"y", "2"}}}}}, {"spec", {{"n", 1}}}};
  EXPECT_TRUE(containsAll(live, {{"metadata", {{"labels", {{"x", "1"}}}}}}));
  EXPECT_TRUE(containsAll(live, {{"spec", {{"n", 1}}}}));
}

TEST(ContainsAll, AMissingOrDifferentFieldCounts) {
  const Json live{{"spec", {{"n", 1}, {"s", "a"}}}};
  EXPECT_FALSE(containsAll(live, {{"spec", {{"n", 2}}}}));
  EXPECT_FALSE(containsAll(live, {{"spec", {{"m", 1}}}}));
  EXPECT_FALSE(containsAll(live, {{"status", Json::object()}}));
  EXPECT_FALSE(containsAll(Json(nullptr), {{"spec", Json::object()}}));
}

TEST(ContainsAll, ListsMustMatchInLengthAndElementWise) {
  const Json live{{"rules", {{{"verbs", {"get"}}, {"extra", true}}, {{"verbs", {"list"}}}}}};
  EXPECT_TRUE(containsAll(live, {{"rules", {{{"verbs", {"get"}}}, {{"verbs", {"list"}}}}}}));
  EXPECT_FALSE(containsAll(live, {{"rules", {{{"verbs", {"get"}}}}}})) << "a shorter list is a different list";
  EXPECT_FALSE(containsAll(live, {{"rules", {{{"verbs", {"list"}}}, {{"verbs", {"get"}}}}}})) << "order matters";
}

TEST(IntentHash, IsStableAndSensitiveToContent) {
  const Json a{{"spec", {{"n", 1}}}};
  EXPECT_EQ(intentHash(a), intentHash(Json{{"spec", {{"n", 1}}}}));
  EXPECT_NE(intentHash(a), intentHash(Json{{"spec", {{"n", 2}}}}));
  EXPECT_EQ(intentHash(a).size(), 16u);
}

}  // namespace
