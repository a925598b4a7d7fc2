#include "runtime/store.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace kube::runtime {
namespace {

ObjectPtr object(const std::string& ns, const std::string& name, const std::string& version,
                 Json labels = Json::object(), const std::string& owner_uid = "") {
  Json value = {{"metadata", {{"name", name}, {"resourceVersion", version}, {"labels", labels}}}};
  if (!ns.empty()) value["metadata"]["namespace"] = ns;
  if (!owner_uid.empty()) value["metadata"]["ownerReferences"] = Json::array({{{"uid", owner_uid}}});
  return std::make_shared<const Json>(std::move(value));
}

std::vector<std::string> names(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> result;
  for (const auto& item : objects) result.push_back((*item)["metadata"]["name"]);
  std::sort(result.begin(), result.end());
  return result;
}

TEST(ObjectKey, IsNamespaceSlashNameOrJustTheName) {
  EXPECT_EQ(objectKey(*object("team", "a", "1")), "team/a");
  EXPECT_EQ(objectKey(*object("", "cluster-wide", "1")), "cluster-wide");
}

TEST(DropManagedFields, RemovesOnlyManagedFields) {
  Json value = {{"metadata", {{"name", "a"}, {"managedFields", Json::array({{{"manager", "x"}}})}}}};
  dropManagedFields(value);
  EXPECT_FALSE(value["metadata"].contains("managedFields"));
  EXPECT_EQ(value["metadata"]["name"], "a");
}

TEST(Store, IndexesByNamespaceLabelAndOwner) {
  Store store;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}, "owner-1"));
  store.upsert(object("a", "two", "2", {{"tier", "db"}}));
  store.upsert(object("b", "three", "3", {{"tier", "web"}}, "owner-1"));
  EXPECT_EQ(names(store.byNamespace("a")), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(names(store.byLabel("tier", "web")), (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(names(store.byOwner("owner-1")), (std::vector<std::string>{"one", "three"}));
  EXPECT_TRUE(store.byLabel("tier", "cache").empty());
}

TEST(Store, AnUpdateMovesTheObjectBetweenIndexEntries) {
  Store store;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}));
  const ObjectPtr previous = store.upsert(object("a", "one", "2", {{"tier", "db"}}));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ((*previous)["metadata"]["resourceVersion"], "1");
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_EQ(names(store.byLabel("tier", "db")), (std::vector<std::string>{"one"}));
}

TEST(Store, EraseReturnsTheLastStateAndUnindexes) {
  Store store;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}));
  const ObjectPtr erased = store.erase("a/one");
  ASSERT_NE(erased, nullptr);
  EXPECT_EQ(store.size(), 0U);
  EXPECT_TRUE(store.byNamespace("a").empty());
  EXPECT_EQ(store.erase("a/one"), nullptr);
}

TEST(Store, ReplaceReportsAddsChangesAndObjectsThatVanished) {
  Store store;
  store.upsert(object("a", "kept", "1"));
  store.upsert(object("a", "changed", "1"));
  store.upsert(object("a", "vanished", "1", {{"tier", "web"}}));
  const StoreDiff diff =
      store.replace({object("a", "kept", "1"), object("a", "changed", "2"), object("a", "new", "3")});
  EXPECT_EQ(names(diff.added), (std::vector<std::string>{"new"}));
  ASSERT_EQ(diff.updated.size(), 1U);
  EXPECT_EQ((*diff.updated[0].second)["metadata"]["resourceVersion"], "2");
  EXPECT_EQ(names(diff.deleted), (std::vector<std::string>{"vanished"}));
  EXPECT_EQ(store.size(), 3U);
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
}

TEST(Store, ReadersKeepTheirSnapshotWhileTheWriterMovesOn) {
  Store store;
  store.upsert(object("a", "one", "1"));
  const ObjectPtr held = store.get("a/one");
  store.upsert(object("a", "one", "2"));
  EXPECT_EQ((*held)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*store.get("a/one"))["metadata"]["resourceVersion"], "2");
}

}  // namespace
}  // namespace kube::runtime

namespace kube::runtime {
namespace {

// RepoBindings by spec.aphexOrg, the index the Organization controller looks its bindings up by.
std::vector<std::string> orgOf(const Json& object) {
  if (!object.contains("spec") || !object["spec"].contains("org")) return {};
  return {object["spec"]["org"].get<std::string>()};
}

ObjectPtr binding(const std::string& name, const std::string& org, const std::string& version) {
  return std::make_shared<const Json>(Json{{"metadata", {{"namespace", "p"}, {"name", name}, {"resourceVersion", version}}},
                                           {"spec", {{"org", org}}}});
}

TEST(StoreCustomIndex, FilesObjectsUnderTheValuesItsFunctionReturns) {
  Store store;
  store.upsert(binding("before", "acme", "1"));
  store.addIndex("org", orgOf);  // objects already stored are indexed at once
  store.upsert(binding("after", "acme", "2"));
  store.upsert(binding("other", "globex", "3"));
  EXPECT_EQ(names(store.byIndex("org", "acme")), (std::vector<std::string>{"after", "before"}));
  EXPECT_EQ(names(store.byIndex("org", "globex")), std::vector<std::string>{"other"});
  EXPECT_TRUE(store.byIndex("org", "initech").empty());
  EXPECT_TRUE(store.byIndex("no-such-index", "acme").empty());
}

TEST(StoreCustomIndex, FollowsUpdatesDeletesAndRelists) {
  Store store;
  store.addIndex("org", orgOf);
  store.upsert(binding("moves", "acme", "1"));
  store.upsert(binding("moves", "globex", "2"));
  EXPECT_TRUE(store.byIndex("org", "acme").empty());
  EXPECT_EQ(names(store.byIndex("org", "globex")), std::vector<std::string>{"moves"});
  store.erase("p/moves");
  EXPECT_TRUE(store.byIndex("org", "globex").empty());
  store.upsert(binding("stale", "acme", "3"));
  store.replace({binding("fresh", "acme", "4")});
  EXPECT_EQ(names(store.byIndex("org", "acme")), std::vector<std::string>{"fresh"});
}

}  // namespace
}  // namespace kube::runtime
