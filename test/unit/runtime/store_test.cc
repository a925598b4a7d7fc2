#include "runtime/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

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

// Every Store test runs against every encoding: kText and kCompressed must behave exactly as kTree.
class StoreTest : public ::testing::TestWithParam<CacheEncoding> {
 protected:
  Store store_{GetParam()};
};

std::string encodingName(const ::testing::TestParamInfo<CacheEncoding>& info) {
  switch (info.param) {
    case CacheEncoding::kTree: return "Tree";
    case CacheEncoding::kText: return "Text";
    case CacheEncoding::kCompressed: return "Compressed";
  }
  return "Unknown";
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

TEST_P(StoreTest, IndexesByNamespaceLabelAndOwner) {
  Store& store = store_;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}, "owner-1"));
  store.upsert(object("a", "two", "2", {{"tier", "db"}}));
  store.upsert(object("b", "three", "3", {{"tier", "web"}}, "owner-1"));
  EXPECT_EQ(names(store.byNamespace("a")), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(names(store.byLabel("tier", "web")), (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(names(store.byOwner("owner-1")), (std::vector<std::string>{"one", "three"}));
  EXPECT_TRUE(store.byLabel("tier", "cache").empty());
}

TEST_P(StoreTest, ALabelLookupInANamespaceFindsOnlyThatNamespacesObjects) {
  Store& store = store_;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}));
  store.upsert(object("a", "two", "2", {{"tier", "db"}}));
  store.upsert(object("b", "three", "3", {{"tier", "web"}}));
  store.upsert(object("b", "four", "4", {{"tier", "web"}}));
  EXPECT_EQ(names(store.byLabelIn("a", "tier", "web")), (std::vector<std::string>{"one"}));
  EXPECT_EQ(names(store.byLabelIn("b", "tier", "web")), (std::vector<std::string>{"four", "three"}));
  EXPECT_TRUE(store.byLabelIn("b", "tier", "db").empty());
  EXPECT_TRUE(store.byLabelIn("c", "tier", "web").empty());
  store.upsert(object("b", "three", "5", {{"tier", "db"}}));
  EXPECT_EQ(names(store.byLabelIn("b", "tier", "db")), (std::vector<std::string>{"three"}));
  EXPECT_EQ(names(store.byLabelIn("b", "tier", "web")), (std::vector<std::string>{"four"}));
}

TEST_P(StoreTest, OnlyTheLabelKeysItWasGivenAreIndexed) {
  Store store(GetParam(), {"tier"});
  store.upsert(object("a", "one", "1", {{"tier", "web"}, {"team", "blue"}}));
  store.upsert(object("a", "one", "2", {{"tier", "db"}, {"team", "blue"}}));
  EXPECT_EQ(names(store.byLabel("tier", "db")), (std::vector<std::string>{"one"}));
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_TRUE(store.byLabel("team", "blue").empty()) << "not an indexed key";
  store.erase("a/one");
  EXPECT_TRUE(store.byLabel("tier", "db").empty());
}

TEST_P(StoreTest, AnUpdateMovesTheObjectBetweenIndexEntries) {
  Store& store = store_;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}));
  const ObjectPtr previous = store.upsert(object("a", "one", "2", {{"tier", "db"}}));
  ASSERT_NE(previous, nullptr);
  EXPECT_EQ((*previous)["metadata"]["resourceVersion"], "1");
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_EQ(names(store.byLabel("tier", "db")), (std::vector<std::string>{"one"}));
}

TEST_P(StoreTest, EraseReturnsTheLastStateAndUnindexes) {
  Store& store = store_;
  store.upsert(object("a", "one", "1", {{"tier", "web"}}));
  const ObjectPtr erased = store.erase("a/one");
  ASSERT_NE(erased, nullptr);
  EXPECT_EQ(store.size(), 0U);
  EXPECT_TRUE(store.byNamespace("a").empty());
  EXPECT_EQ(store.erase("a/one"), nullptr);
}

TEST_P(StoreTest, ReplaceReportsAddsChangesAndObjectsThatVanished) {
  Store& store = store_;
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

TEST_P(StoreTest, ReadersKeepTheirSnapshotWhileTheWriterMovesOn) {
  Store& store = store_;
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

TEST_P(StoreTest, CustomIndexFilesObjectsUnderTheValuesItsFunctionReturns) {
  Store& store = store_;
  store.upsert(binding("before", "acme", "1"));
  store.addIndex("org", orgOf);  // objects already stored are indexed at once
  store.upsert(binding("after", "acme", "2"));
  store.upsert(binding("other", "globex", "3"));
  EXPECT_EQ(names(store.byIndex("org", "acme")), (std::vector<std::string>{"after", "before"}));
  EXPECT_EQ(names(store.byIndex("org", "globex")), std::vector<std::string>{"other"});
  EXPECT_TRUE(store.byIndex("org", "initech").empty());
  EXPECT_TRUE(store.byIndex("no-such-index", "acme").empty());
}

TEST_P(StoreTest, CustomIndexFollowsUpdatesDeletesAndRelists) {
  Store& store = store_;
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


// ---- Index entries refer to the stored object's slot: they must follow every write ----

TEST_P(StoreTest, AnUpsertOfAnExistingKeyReindexesLabelsOwnerAndCustomValues) {
  Store& store = store_;
  store.addIndex("org", orgOf);
  Json first = *object("p", "one", "1", {{"tier", "web"}, {"team", "a"}}, "owner-1");
  first["spec"] = {{"org", "acme"}};
  Json second = *object("p", "one", "2", {{"tier", "db"}, {"team", "a"}}, "owner-2");
  second["spec"] = {{"org", "globex"}};
  store.upsert(std::make_shared<const Json>(first));
  store.upsert(std::make_shared<const Json>(second));

  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_EQ(names(store.byLabel("tier", "db")), std::vector<std::string>{"one"});
  EXPECT_EQ(names(store.byLabel("team", "a")), std::vector<std::string>{"one"}) << "a label kept: one entry";
  EXPECT_EQ(names(store.byNamespace("p")), std::vector<std::string>{"one"});
  EXPECT_TRUE(store.byOwner("owner-1").empty());
  EXPECT_EQ(names(store.byOwner("owner-2")), std::vector<std::string>{"one"});
  EXPECT_TRUE(store.byIndex("org", "acme").empty());
  EXPECT_EQ(names(store.byIndex("org", "globex")), std::vector<std::string>{"one"});
  EXPECT_EQ((*store.byLabel("team", "a").front())["metadata"]["resourceVersion"], "2");
}

TEST_P(StoreTest, AnErasedObjectLeavesNoIndexEntryAndItsKeyCanComeBack) {
  Store& store = store_;
  store.addIndex("org", orgOf);
  store.upsert(object("p", "one", "1", {{"tier", "web"}}, "owner-1"));
  store.upsert(binding("two", "acme", "2"));
  ASSERT_NE(store.erase("p/one"), nullptr);
  ASSERT_NE(store.erase("p/two"), nullptr);
  EXPECT_TRUE(store.byNamespace("p").empty());
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_TRUE(store.byOwner("owner-1").empty());
  EXPECT_TRUE(store.byIndex("org", "acme").empty());

  store.upsert(object("p", "one", "3", {{"tier", "web"}}));
  EXPECT_EQ(names(store.byLabel("tier", "web")), std::vector<std::string>{"one"});
  EXPECT_EQ(names(store.list()), std::vector<std::string>{"one"});
}

TEST_P(StoreTest, ReplaceIndexesKeptChangedAndNewObjectsAndForgetsVanishedOnes) {
  Store& store = store_;
  store.addIndex("org", orgOf);
  store.upsert(object("a", "kept", "1", {{"tier", "web"}}));
  store.upsert(object("a", "changed", "1", {{"tier", "web"}}, "owner-1"));
  store.upsert(object("a", "vanished", "1", {{"tier", "web"}}));
  store.upsert(binding("bound", "acme", "1"));
  (void)store.replace({object("a", "kept", "1", {{"tier", "web"}}), object("a", "changed", "2", {{"tier", "db"}}, "owner-2"),
                       object("b", "new", "3", {{"tier", "web"}}), binding("bound", "globex", "2")});
  EXPECT_EQ(names(store.byLabel("tier", "web")), (std::vector<std::string>{"kept", "new"}));
  EXPECT_EQ(names(store.byLabel("tier", "db")), std::vector<std::string>{"changed"});
  EXPECT_EQ(names(store.byNamespace("a")), (std::vector<std::string>{"changed", "kept"}));
  EXPECT_TRUE(store.byOwner("owner-1").empty());
  EXPECT_EQ(names(store.byOwner("owner-2")), std::vector<std::string>{"changed"});
  EXPECT_TRUE(store.byIndex("org", "acme").empty());
  EXPECT_EQ(names(store.byIndex("org", "globex")), std::vector<std::string>{"bound"});

  // The slots made by replace() are updated and erased like any other.
  store.upsert(object("a", "kept", "4", {{"tier", "db"}}));
  ASSERT_NE(store.erase("b/new"), nullptr);
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
  EXPECT_EQ(names(store.byLabel("tier", "db")), (std::vector<std::string>{"changed", "kept"}));
}

TEST_P(StoreTest, ReplaceCallsAnObjectUpdatedOnlyWhenItsResourceVersionChanged) {
  Store& store = store_;
  store.upsert(object("a", "same-version", "1", {{"tier", "web"}}));
  store.upsert(object("a", "new-version", "1"));
  const StoreDiff diff = store.replace({object("a", "same-version", "1", {{"tier", "db"}}), object("a", "new-version", "2")});
  ASSERT_EQ(diff.updated.size(), 1U);
  EXPECT_EQ((*diff.updated[0].first)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*diff.updated[0].second)["metadata"]["resourceVersion"], "2");
  EXPECT_TRUE(diff.added.empty());
  EXPECT_TRUE(diff.deleted.empty());
  // The store holds the listed content all the same.
  EXPECT_EQ(names(store.byLabel("tier", "db")), std::vector<std::string>{"same-version"});
}

TEST_P(StoreTest, ReplaceKeepsTheFirstOfAKeyListedTwice) {
  Store& store = store_;
  (void)store.replace({object("a", "twice", "1", {{"tier", "web"}}), object("a", "twice", "2", {{"tier", "db"}})});
  EXPECT_EQ(store.size(), 1U);
  EXPECT_EQ((*store.get("a/twice"))["metadata"]["resourceVersion"], "1");
  EXPECT_TRUE(store.byLabel("tier", "db").empty());
  ASSERT_NE(store.erase("a/twice"), nullptr);
  EXPECT_TRUE(store.byLabel("tier", "web").empty());
}

TEST_P(StoreTest, AddingAnIndexAgainReplacesItsFunctionAndItsEntries) {
  Store& store = store_;
  store.addIndex("org", orgOf);
  store.upsert(binding("one", "acme", "1"));
  store.addIndex("org", [](const Json& object) { return std::vector<std::string>{objectKey(object)}; });
  EXPECT_TRUE(store.byIndex("org", "acme").empty());
  EXPECT_EQ(names(store.byIndex("org", "p/one")), std::vector<std::string>{"one"});
  ASSERT_NE(store.erase("p/one"), nullptr);
  EXPECT_TRUE(store.byIndex("org", "p/one").empty());
}

TEST_P(StoreTest, AnIndexFunctionMayFileAnObjectTwiceUnderOneValue) {
  Store& store = store_;
  store.addIndex("dup", [](const Json&) { return std::vector<std::string>{"x", "x"}; });
  store.upsert(object("a", "one", "1"));
  EXPECT_EQ(names(store.byIndex("dup", "x")), std::vector<std::string>{"one"});
  store.upsert(object("a", "one", "2"));
  ASSERT_NE(store.erase("a/one"), nullptr);
  EXPECT_TRUE(store.byIndex("dup", "x").empty());
}

TEST_P(StoreTest, ReplaceEncodedReportsEachChangeAsItIsWalked) {
  Store& store = store_;
  store.addIndex("org", orgOf);
  store.upsert(object("a", "kept", "1"));
  store.upsert(object("a", "changed", "1"));
  store.upsert(object("a", "same-version", "1", {{"tier", "web"}}));
  store.upsert(object("a", "vanished", "1"));
  std::vector<Store::Encoded> encoded;
  for (const auto& item : {object("a", "kept", "1"), object("a", "changed", "2"), object("a", "same-version", "1", {{"tier", "db"}}),
                           binding("new", "acme", "3")}) {
    encoded.push_back(store.encode(item));
  }
  const Store::Changes changes = store.replaceEncoded(std::move(encoded));

  std::vector<std::string> seen;
  changes.forEachDeleted([&](const ObjectPtr& item) { seen.push_back("delete " + objectKey(*item)); });
  changes.forEachAdded([&](const ObjectPtr& item) { seen.push_back("add " + objectKey(*item)); });
  changes.forEachUpdated([&](const ObjectPtr& old_object, const ObjectPtr& new_object) {
    seen.push_back("update " + objectKey(*new_object) + " " + resourceVersionOf(*old_object) + "->" +
                   resourceVersionOf(*new_object));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"delete a/vanished", "add p/new", "update a/changed 1->2"}));
  EXPECT_EQ(store.size(), 4U);
  EXPECT_EQ(names(store.byLabel("tier", "db")), std::vector<std::string>{"same-version"});
  EXPECT_EQ(names(store.byIndex("org", "acme")), std::vector<std::string>{"new"});
  EXPECT_EQ(names(store.byNamespace("a")), (std::vector<std::string>{"changed", "kept", "same-version"}));
}

// What the informer collects while a list arrives: in kText the text only, the tree let go.
TEST_P(StoreTest, AnEncodedObjectHoldsTheTreeOnlyInTreeEncoding) {
  const ObjectPtr item = object("a", "one", "1");
  const Store::Encoded encoded = store_.encode(item);
  EXPECT_EQ(item.use_count(), GetParam() == CacheEncoding::kTree ? 2 : 1);
}

// Readers copy entries out under the lock and decode after; writers re-read if the entry they
// decoded was replaced meanwhile. Whatever interleaving, a reader sees whole, indexed objects.
TEST_P(StoreTest, ReadersOnOtherThreadsSeeWholeObjectsWhileWritersWork) {
  Store& store = store_;
  std::atomic<bool> done = false;
  std::atomic<int> bad = 0;
  const auto check = [&bad](const ObjectPtr& item, const std::string& label) {
    if (item && (*item)["metadata"]["labels"]["tier"] != label) ++bad;
  };
  std::vector<std::jthread> threads;
  for (int reader = 0; reader < 2; ++reader) {
    threads.emplace_back([&] {
      while (!done) {
        for (const auto& item : store.byLabel("tier", "web")) check(item, "web");
        for (const auto& item : store.byLabel("tier", "db")) check(item, "db");
        (void)store.get("a/x-1");
        (void)store.list();
      }
    });
  }
  const auto write = [&store](int from) {
    for (int i = 0; i < 300; ++i) {
      const std::string name = "x-" + std::to_string((from + i) % 7);
      (void)store.upsert(object("a", name, std::to_string(i), {{"tier", i % 2 == 0 ? "web" : "db"}}));
      if (i % 5 == 0) (void)store.erase("a/" + name);
      if (i % 50 == 0) (void)store.replace({object("a", "x-1", std::to_string(i), {{"tier", "web"}})});
    }
  };
  {
    std::jthread other_writer([&] { write(3); });
    write(0);
  }
  done = true;
  threads.clear();
  EXPECT_EQ(bad, 0);
  // Every stored object is indexed exactly once under its label.
  std::size_t indexed = store.byLabel("tier", "web").size() + store.byLabel("tier", "db").size();
  EXPECT_EQ(indexed, store.size());
  EXPECT_EQ(store.byNamespace("a").size(), store.size());
}

INSTANTIATE_TEST_SUITE_P(Encodings, StoreTest,
                         ::testing::Values(CacheEncoding::kTree, CacheEncoding::kText, CacheEncoding::kCompressed),
                         encodingName);

// ---- kText against kTree: the same answers from every read ----

// A read's objects as sorted compact JSON, to compare two stores' answers.
std::vector<std::string> dumps(const std::vector<ObjectPtr>& objects) {
  std::vector<std::string> result;
  for (const auto& item : objects) result.push_back(item ? item->dump() : "null");
  std::sort(result.begin(), result.end());
  return result;
}

std::string dumpOf(const ObjectPtr& item) { return item ? item->dump() : "null"; }

ObjectPtr richObject(const std::string& name, const std::string& version, const std::string& org) {
  Json value = *object("p", name, version, {{"tier", "web"}, {"app", name}}, "owner-" + org);
  value["apiVersion"] = "aphex.io/v1alpha1";
  value["kind"] = "RepoBinding";
  value["spec"] = {{"org", org}, {"replicas", 3}, {"ratio", 0.25}, {"enabled", true}, {"note", nullptr},
                   {"text", "ünïcödé \"quoted\" \\ line\nbreak"}, {"list", Json::array({1, "two", Json::object()})}};
  return std::make_shared<const Json>(std::move(value));
}

// kText and kCompressed; kCompressed's first four objects make its dictionary and stay plain
// text, so what follows mixes plain and compressed entries.
class StoreTextEncodings : public ::testing::TestWithParam<CacheEncoding> {};

TEST_P(StoreTextEncodings, AnswerEveryReadAndWriteAsTreeEncodingDoes) {
  Store tree(CacheEncoding::kTree);
  Store text(GetParam());
  ASSERT_EQ(text.encoding(), GetParam());
  for (Store* store : {&tree, &text}) {
    store->addIndex("org", orgOf);
    (void)store->replace({richObject("a", "1", "acme"), richObject("b", "2", "acme"), richObject("c", "3", "globex")});
  }
  EXPECT_EQ(dumpOf(text.get("p/a")), dumpOf(tree.get("p/a")));
  EXPECT_EQ(dumpOf(text.get("p/missing")), "null");
  EXPECT_EQ(dumps(text.list()), dumps(tree.list()));
  EXPECT_EQ(dumps(text.byNamespace("p")), dumps(tree.byNamespace("p")));
  EXPECT_EQ(dumps(text.byLabel("app", "b")), dumps(tree.byLabel("app", "b")));
  EXPECT_EQ(dumps(text.byOwner("owner-acme")), dumps(tree.byOwner("owner-acme")));
  EXPECT_EQ(dumps(text.byIndex("org", "globex")), dumps(tree.byIndex("org", "globex")));
  EXPECT_EQ(text.byIndex("org", "acme").size(), 2U);

  EXPECT_EQ(dumpOf(text.upsert(richObject("a", "4", "globex"))), dumpOf(tree.upsert(richObject("a", "4", "globex"))));
  EXPECT_EQ(dumps(text.byIndex("org", "globex")), dumps(tree.byIndex("org", "globex")));
  EXPECT_EQ(dumpOf(text.upsert(richObject("d", "5", "acme"))), "null");
  (void)tree.upsert(richObject("d", "5", "acme"));
  EXPECT_EQ(dumpOf(text.erase("p/b")), dumpOf(tree.erase("p/b")));

  const std::vector<ObjectPtr> relist = {richObject("a", "4", "globex"), richObject("c", "6", "acme"),
                                         richObject("e", "7", "acme")};
  const StoreDiff from_text = text.replace(relist);
  const StoreDiff from_tree = tree.replace(relist);
  EXPECT_EQ(dumps(from_text.added), dumps(from_tree.added));
  EXPECT_EQ(dumps(from_text.deleted), dumps(from_tree.deleted));
  ASSERT_EQ(from_text.updated.size(), 1U);
  ASSERT_EQ(from_tree.updated.size(), 1U);
  EXPECT_EQ(dumpOf(from_text.updated[0].first), dumpOf(from_tree.updated[0].first));
  EXPECT_EQ(dumpOf(from_text.updated[0].second), dumpOf(from_tree.updated[0].second));
  EXPECT_EQ(dumps(text.byIndex("org", "acme")), dumps(tree.byIndex("org", "acme")));
}

INSTANTIATE_TEST_SUITE_P(Encodings, StoreTextEncodings,
                         ::testing::Values(CacheEncoding::kText, CacheEncoding::kCompressed), encodingName);

// Children of one kind differ in little but their names: once the dictionary is made, each takes
// a fraction of its text.
TEST(StoreCompressedEncoding, KeepsObjectsOfOneKindInAFractionOfTheirText) {
  Store text(CacheEncoding::kText);
  Store compressed(CacheEncoding::kCompressed);
  for (int i = 0; i < 200; ++i) {
    const ObjectPtr item = richObject("binding-" + std::to_string(i), std::to_string(1000 + i), "org-" + std::to_string(i % 7));
    (void)text.upsert(item);
    (void)compressed.upsert(item);
  }
  EXPECT_LT(compressed.storedBytes() * 4, text.storedBytes())
      << compressed.storedBytes() << " B compressed, " << text.storedBytes() << " B of text";
  EXPECT_EQ(dumps(compressed.list()), dumps(text.list()));
  EXPECT_EQ(dumpOf(compressed.get("p/binding-150")), dumpOf(text.get("p/binding-150")));
}

// A tenant's huge object is not taken into the dictionary, and is stored and read back whole.
TEST(StoreCompressedEncoding, StoresObjectsTooBigToSampleAndObjectsUnlikeTheSamples) {
  Store compressed(CacheEncoding::kCompressed);
  Json huge = *richObject("huge", "1", "acme");
  huge["spec"]["text"] = std::string(200'000, 'x');
  (void)compressed.upsert(std::make_shared<const Json>(huge));
  for (int i = 0; i < 6; ++i) (void)compressed.upsert(richObject("b-" + std::to_string(i), "2", "acme"));
  Json other = *object("q", "other", "9");
  other["data"] = {{"binary", "\u0001\u00ff"}, {"number", -1.5e300}};
  (void)compressed.upsert(std::make_shared<const Json>(other));
  EXPECT_EQ(*compressed.get("p/huge"), huge);
  EXPECT_EQ(*compressed.get("q/other"), other);
  EXPECT_EQ(compressed.size(), 8U);
}

TEST(StoreTextEncoding, HandsEachReaderItsOwnCopy) {
  Store text(CacheEncoding::kText);
  Store tree;
  const ObjectPtr stored = object("a", "one", "1");
  (void)text.upsert(stored);
  (void)tree.upsert(stored);
  EXPECT_NE(text.get("a/one"), text.get("a/one"));
  EXPECT_NE(text.get("a/one"), stored);
  EXPECT_EQ(*text.get("a/one"), *stored);
  EXPECT_EQ(tree.get("a/one"), stored) << "kTree shares the stored tree";
}

// An index function that tells a signed from an unsigned number sees another value once the
// object went through its text (5 parses back unsigned): the entries it filed must still go.
TEST(StoreTextEncoding, RemovesEveryIndexEntryOfAnObjectWhoseValuesChangedThroughItsText) {
  Store text(CacheEncoding::kText);
  text.addIndex("sign", [](const Json& object) {
    return std::vector<std::string>{object.at("spec").at("n").is_number_unsigned() ? "unsigned" : "signed"};
  });
  Json value = *object("a", "one", "1", {{"tier", "web"}});
  value["spec"] = {{"n", std::int64_t{5}}};
  (void)text.upsert(std::make_shared<const Json>(value));
  EXPECT_EQ(names(text.byIndex("sign", "signed")), std::vector<std::string>{"one"});

  ASSERT_NE(text.erase("a/one"), nullptr);
  EXPECT_TRUE(text.byIndex("sign", "signed").empty());
  EXPECT_TRUE(text.byIndex("sign", "unsigned").empty());
  EXPECT_TRUE(text.byLabel("tier", "web").empty());
  EXPECT_EQ(text.size(), 0U);
}

}  // namespace
}  // namespace kube::runtime
